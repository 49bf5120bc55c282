"""Hybrid retrieval: dense (inner product) and lexical (BM25) candidate lists, proposed by the generation's store
(vector_store.py), fused here by weighted reciprocal-rank fusion. Names, numbers and rare terms favour BM25;
paraphrases favour the dense list."""

from __future__ import annotations

import numpy as np

from . import synonyms
from .aliases import aliases
from .config import RetrieveSettings
from .embed import Embedder
from .store import Generation
from .types import Hit

RARE = 0  #: words in at most this many passages get their synonyms added to the lexical query


def dense_search(generation: Generation, query_vec: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The chunks nearest the question by inner product, from the generation's store."""
    return generation.candidates.dense("chunk", query_vec, k)


def sentence_search(generation: Generation, query_vec: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Chunks ranked by their best-matching sentence: sharper than whole chunks for paraphrases."""
    out: dict[int, float] = {}
    for r, sc in generation.candidates.dense("sentence", query_vec, k):
        for cid in generation.chunks_of_sentence(r):
            out.setdefault(cid, sc)
    return sorted(out.items(), key=lambda x: -x[1])


def fuse(
    dense: list[tuple[int, float]], lexical: list[tuple[int, float]], settings: RetrieveSettings,
    sentences: list[tuple[int, float]] | None = None,
    synonym: list[tuple[int, float]] | None = None,
) -> list[tuple[int, float, int | None, int | None]]:
    """Weighted RRF: score = sum of w/(k+rank) over the lists; returns (row, score, rank_d, rank_l)."""
    table: dict[int, list] = {}  # row -> [score, rank in the dense list, rank in the lexical list]
    lists = [(dense, settings.dense_weight, 1), (lexical, settings.lexical_weight, 2),
             (sentences or [], settings.sentence_weight, None), (synonym or [], settings.synonym_weight, None)]
    for ranked, weight, slot in lists:
        for rank, (row, _) in enumerate(ranked, start=1):
            entry = table.setdefault(row, [0.0, None, None])
            entry[0] += weight / (settings.rrf_k + rank)
            if slot is not None:
                entry[slot] = rank
    fused = [(row, v[0], v[1], v[2]) for row, v in table.items()]
    fused.sort(key=lambda x: (-x[1], x[0]))
    return fused


class Retriever:
    """Finds the chunks of a generation that best match a question."""

    def __init__(self, embedder: Embedder, settings: RetrieveSettings) -> None:
        self.embedder = embedder
        self.settings = settings

    def _lexical(self, generation: Generation, query: str, n: int) -> list[tuple[int, float]]:
        lexical = generation.lexical
        # other names for the question's words: abbreviations the library defines, capitals for countries,
        # and synonyms of the words it seldom uses ("legislature" where passages say "congress")
        query = synonyms.expand(aliases(generation).expand(query), rare=lambda t: lexical.df(t) <= RARE)
        return generation.candidates.lexical(query, n)

    def search(
        self, generation: Generation, query: str, k: int | None = None, query_vec: np.ndarray | None = None,
        reword: bool = False,
    ) -> list[Hit]:
        k = k or self.settings.k
        if query_vec is None:
            query_vec = self.embedder.embed_query(query)
        n = self.settings.candidates
        dense = dense_search(generation, query_vec, n) if self.settings.dense_weight > 0 else []
        lexical = self._lexical(generation, query, n) if self.settings.lexical_weight > 0 else []
        sents = sentence_search(generation, query_vec, n) if self.settings.sentence_weight > 0 else []
        # With ``reword`` (passages shown to a reader, `lacqa search`): BM25 again with synonyms for every word
        # ("credit" also finds "loans"), a weaker list of its own. Evidence gathering does without: it weighs
        # synonyms sentence by sentence, and there the extra list only adds distractors.
        reworded = synonyms.expand(aliases(generation).expand(query)) if reword else query
        syn = (generation.candidates.lexical(reworded, n)
               if self.settings.synonym_weight > 0 and reworded != query and self.settings.lexical_weight > 0 else [])
        fused = fuse(dense, lexical, self.settings, sents, syn)
        top = fused[:k]
        keep = self.settings.keep_top
        if k >= 10 and keep:
            # RRF rewards agreement, so the single best BM25 passage can sit at rank 30 when the dense lists
            # miss it; wide searches (evidence gathering) keep each list's leaders at the tail.
            chosen = {row for row, *_ in top}
            leaders = [row for lst in (lexical, sents, dense) for row, _ in lst[:keep]]
            missing = [row for row in dict.fromkeys(leaders) if row not in chosen]
            if missing:
                by_row = {f[0]: f for f in fused}
                top = top[: k - len(missing)] + [by_row[row] for row in missing][:k]
        return [Hit(generation.chunks[row], score, rd, rl) for row, score, rd, rl in top]
