// The questions both two-stage examples (the Node one and the browser page) ask of the bundled notes in
// examples/data/docs, each with the file that answers it.
export const BUNDLED_QUESTIONS: readonly { id: string; text: string; relevant: string }[] = [
  { id: 'q1', text: 'How do I get rid of tiny flies living in the pot?', relevant: 'pests.txt' },
  { id: 'q2', text: 'My plant has pale leaves and long thin stems', relevant: 'light.md' },
  { id: 'q3', text: 'How do I grow a new pothos from a cutting?', relevant: 'propagation.md' },
];
