"""The answer-span reader: which characters of a quote answer the question.

A MiniLM-L6 fine-tuned on SQuAD v1.1 train (``train/train_span.py``) reads (question, quote) and scores every token
as the start or the end of the answer, and the [CLS] token as "no answer in this quote". The fact shape uses the
best span as its short answer text when the model's draft does not hold it: the span is a verbatim range of the
quote, so it needs no verification of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import ModelError
from .ranker import PackagedPairModel, packaged_ranker_path

#: longest answer span, in tokens
MAX_SPAN_TOKENS = 30


@dataclass(frozen=True)
class Span:
    """Characters ``start:end`` of the text read; ``margin``: the span's score less the no-answer score."""

    start: int
    end: int
    margin: float


class SpanReader(Protocol):
    @property
    def model_id(self) -> str: ...

    def read(self, question: str, texts: Sequence[str]) -> list[Span | None]: ...


def best_span(start: np.ndarray, end: np.ndarray, inside: np.ndarray, max_len: int = MAX_SPAN_TOKENS
              ) -> tuple[int, int, float]:
    """The best (start, end) token pair among the ``inside`` tokens, end not before start, at most ``max_len``
    tokens long, and its score less the no-answer ([CLS]) score."""
    idx = np.flatnonzero(inside)
    if not len(idx):
        return 0, 0, float("-inf")
    s, e = start[idx], end[idx]
    score = s[:, None] + e[None, :]
    gap = idx[None, :] - idx[:, None]
    score = np.where((gap >= 0) & (gap < max_len), score, -np.inf)
    a, b = np.unravel_index(int(np.argmax(score)), score.shape)
    return int(idx[a]), int(idx[b]), float(score[a, b] - (start[0] + end[0]))


class OnnxSpanReader(PackagedPairModel):
    """The span reader on ONNX Runtime, shipped beside the ranker (span.json in packages/lacqa-ranker), loaded and
    checked against its recorded hashes on first use."""

    meta_name = "span.json"
    what = "answer-span reader"

    @staticmethod
    def available(path: Path | None = None) -> bool:
        """Whether the installed ranker package carries a span reader (span.json)."""
        try:
            return ((path or packaged_ranker_path()) / "span.json").is_file()
        except ModelError:
            return False

    def read(self, question: str, texts: Sequence[str]) -> list[Span | None]:
        """The best span of each text (character offsets into it), or None when the text was cut before any of
        its tokens."""
        if not texts:
            return []
        enc, (start, end, *_) = self._run(question, texts)
        out: list[Span | None] = []
        for b, e in enumerate(enc):
            inside = np.array([sid == 1 for sid in e.sequence_ids], dtype=bool)
            if not inside.any():
                out.append(None)
                continue
            a, z, margin = best_span(np.asarray(start[b], float), np.asarray(end[b], float), inside)
            out.append(Span(int(e.offsets[a][0]), int(e.offsets[z][1]), margin))
        return out


class MarkedSpanReader:
    """A deterministic stand-in for tests: the span is the first of ``answers`` found in the text (margin 5), else
    no answer (margin -5)."""

    model_id = "marked-span-reader"

    def __init__(self, answers: Sequence[str]) -> None:
        self.answers = list(answers)

    def read(self, question: str, texts: Sequence[str]) -> list[Span | None]:
        out: list[Span | None] = []
        for t in texts:
            hit = next(((t.find(a), len(a)) for a in self.answers if a and t.find(a) >= 0), None)
            out.append(Span(hit[0], hit[0] + hit[1], 5.0) if hit else Span(0, 0, -5.0))
        return out
