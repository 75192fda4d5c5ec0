// The texts the runtime smoke suite scores, shared by the in-process checks and the server check.
export const QUERY = 'Why does the sea rise and fall twice a day?';
export const PASSAGES = [
  'Ocean tides are caused mainly by the gravitational pull of the Moon on the Earth.',
  'Sourdough bread rises because wild yeast and lactic acid bacteria ferment the dough.',
  'Honey bees communicate the direction of flowers to their hive mates with a waggle dance.',
  'High tide comes roughly every twelve hours and twenty-five minutes at most coasts.',
  'A piano makes sound when felt hammers strike tuned steel strings inside its case.',
];
export const PAIRS = PASSAGES.map((passage) => [QUERY, passage]);
