"""The answer-span reader: which characters of a quote answer the question.

A MiniLM-L6 fine-tuned on SQuAD v1.1 train (``train/train_span.py``) reads (question, quote) and scores every token
as the start or the end of the answer, and the [CLS] token as "no answer in this quote". The fact shape uses the
best span as its short answer text when the model's draft does not hold it: the span is a verbatim range of the
quote, so it needs no verification of its own.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import ModelError
from .ranker import packaged_ranker_path

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


class OnnxSpanReader:
    """The span reader on ONNX Runtime, shipped beside the ranker (span.json in packages/lacqa-ranker), loaded and
    checked against its recorded hashes on first use."""

    def __init__(self, path: Path | None = None, threads: int = 2) -> None:
        self._path = Path(path) if path else None
        self._threads = threads
        self._lock = threading.Lock()
        self._session = None
        self._tokenizer = None
        self.meta: dict = {}

    @staticmethod
    def available(path: Path | None = None) -> bool:
        """Whether the installed ranker package carries a span reader (span.json)."""
        try:
            return ((path or packaged_ranker_path()) / "span.json").is_file()
        except ModelError:
            return False

    @property
    def model_id(self) -> str:
        self._load()
        return str(self.meta.get("model_id", "lacqa-span"))

    def _load(self) -> None:
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            folder = self._path or packaged_ranker_path()
            meta_path = folder / "span.json"
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ModelError(f"the answer-span reader's description {meta_path} is missing or unreadable: {exc}"
                                 ) from exc
            from ..onnxrt import check_files, load_session

            check_files(folder, meta.get("files", {}), "answer-span reader", "span.json",
                        "reinstall packages/lacqa-ranker")
            session, tokenizer = load_session(folder / meta["model"], folder / meta["tokenizer"], self._threads,
                                              "answer-span reader")
            tokenizer.enable_truncation(max_length=int(meta.get("max_tokens", 128)), strategy="only_second")
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            self._inputs = {i.name for i in session.get_inputs()}
            self.meta = meta
            self._tokenizer = tokenizer
            self._session = session

    def read(self, question: str, texts: Sequence[str]) -> list[Span | None]:
        """The best span of each text (character offsets into it), or None when the text was cut before any of
        its tokens."""
        self._load()
        if not texts:
            return []
        assert self._tokenizer is not None and self._session is not None
        enc = self._tokenizer.encode_batch([(question, t) for t in texts])
        feed = {
            "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
        }
        start, end = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[:2]
        out: list[Span | None] = []
        for b, e in enumerate(enc):
            inside = np.array([sid == 1 for sid in e.sequence_ids], dtype=bool)
            a, z, margin = best_span(np.asarray(start[b], float), np.asarray(end[b], float), inside)
            if not inside.any():
                out.append(None)
                continue
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
