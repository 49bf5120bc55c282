"""BM25 (bm25s) over chunk texts, beside the dense index. Built at index time and saved in the generation
(bm25s' own numpy/JSON format, no pickles), memory-mapped when a generation is opened."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .text import terms


class LexicalIndex:
    """BM25 over a list of texts; ``search`` returns (row, score) pairs, best first."""

    def __init__(self, texts: Sequence[str]) -> None:
        import bm25s

        self._n = len(texts)
        self._retriever = bm25s.BM25()
        corpus = [terms(t) or ["\u2205"] for t in texts]
        self._df: dict[str, int] = {}
        for doc in corpus:
            for t in set(doc):
                self._df[t] = self._df.get(t, 0) + 1
        self._retriever.index(corpus, show_progress=False)

    def save(self, folder: Path) -> None:
        self._retriever.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, n: int) -> LexicalIndex:
        """A saved index, its score matrix memory-mapped; document frequencies are read off the matrix's columns
        (a term's column holds one score per text that has it)."""
        import bm25s

        self = cls.__new__(cls)
        self._n = n
        self._retriever = bm25s.BM25.load(str(folder), mmap=True, show_progress=False, verbosity=0)
        indptr = np.asarray(self._retriever.scores["indptr"])
        counts = np.diff(indptr)
        self._df = {term: int(counts[i]) for term, i in self._retriever.vocab_dict.items() if i < len(counts)}
        return self

    def __len__(self) -> int:
        return self._n

    def df(self, term: str) -> int:
        """How many texts hold ``term`` (a stemmed term)."""
        return self._df.get(term, 0)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        tokens = terms(query)
        if not tokens or self._n == 0:
            return []
        vocab = self._retriever.vocab_dict
        tokens = [t for t in tokens if t in vocab]
        if not tokens:
            return []
        k = min(k, self._n)
        docs, scores = self._retriever.retrieve([tokens], k=k, show_progress=False, n_threads=1)
        rows = np.asarray(docs[0]).tolist()
        vals = np.asarray(scores[0]).tolist()
        return [(int(r), float(s)) for r, s in zip(rows, vals, strict=True) if s > 0]
