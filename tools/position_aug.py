"""Position-robust training: a passage is placed at a random offset among neighbouring text (other passages of the
same corpus) so that the pair fills the training window, with the passage itself kept whole and inside the window.
The model then sees the same answer at the start, the middle and the end of what it reads, and the passage's label
and teacher target stay those of the passage alone: where the answer sits should not change its score.

Counts are in tokens of the model's own tokenizer. BERT-style tokenizers split on whitespace before WordPiece, so the
tokens of `before + " " + passage + " " + after` are the three parts' tokens in a row, and the budget is exact."""

from __future__ import annotations

import random


class PositionAugmenter:
    """`augment(query, passage)` -> the passage, or (with probability `rate`) the passage with filler around it.
    fillers: texts to draw the neighbouring text from; max_length: the training window in tokens (specials
    included); the query is never cut, the filler fills what the query and the passage leave."""

    def __init__(self, tokenizer, fillers: list[str], max_length: int, rate: float, rng: random.Random):
        if not 0.0 <= rate <= 1.0:
            raise SystemExit(f"--position-rate must be within [0, 1], got {rate}")
        self.tokenizer, self.max_length, self.rate, self.rng = tokenizer, max_length, rate, rng
        self.fillers = [f for f in fillers if f.strip()]
        self._words: dict[int, tuple[list[str], list[int]]] = {}
        self._lengths: dict[str, int] = {}

    def length(self, text: str) -> int:
        n = self._lengths.get(text)
        if n is None:
            n = len(self.tokenizer(text, add_special_tokens=False)["input_ids"])
            if len(self._lengths) < 200_000:
                self._lengths[text] = n
        return n

    def _filler_words(self, i: int) -> tuple[list[str], list[int]]:
        """A filler's words and each word's token count, computed once."""
        got = self._words.get(i)
        if got is None:
            words = self.fillers[i].split()
            counts = [len(ids) for ids in self.tokenizer(words, add_special_tokens=False)["input_ids"]] if words else []
            got = (words, counts)
            self._words[i] = got
        return got

    def _take(self, budget: int, from_end: bool, avoid: set[str]) -> str:
        """Whole words of random fillers, at most `budget` tokens: the tail of one (text before the passage) or the
        head of one (text after it); several fillers are chained when one is too short."""
        pieces: list[str] = []
        left = budget
        for _ in range(8):
            if left <= 0 or not self.fillers:
                break
            i = self.rng.randrange(len(self.fillers))
            if self.fillers[i] in avoid:
                continue
            words, counts = self._filler_words(i)
            order = range(len(words) - 1, -1, -1) if from_end else range(len(words))
            kept: list[int] = []
            for j in order:
                if counts[j] > left:
                    break
                left -= counts[j]
                kept.append(j)
            text = " ".join(words[j] for j in sorted(kept))
            if text:
                pieces.insert(0, text) if from_end else pieces.append(text)
            if len(kept) < len(words):
                break
        return " ".join(pieces)

    def budget(self, query: str, passage: str) -> int:
        """Tokens left for filler once [CLS] query [SEP] passage [SEP] is in the window."""
        return self.max_length - 3 - self.length(query) - self.length(passage)

    def augment(self, query: str, passage: str, avoid: set[str] | None = None) -> str:
        if self.rate <= 0 or self.rng.random() >= self.rate:
            return passage
        room = self.budget(query, passage)
        if room <= 0:
            return passage  # the passage alone fills the window: nothing to move it by
        before = self.rng.randint(0, room)
        avoid = (avoid or set()) | {passage}
        head = self._take(before, True, avoid)
        tail = self._take(room - self.length(head) if head else room, False, avoid)
        return " ".join(x for x in (head, passage, tail) if x)
