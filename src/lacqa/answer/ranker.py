"""The learned evidence ranker: a MiniLM-L6 cross-encoder that reads (question, candidate sentence with the
sentence before it and its document title) and gives the probability that the candidate answers the question.

Trained by ``train/train_ranker.py`` on SQuAD v1.1 train (split by article) plus lacqa's dev set, exported to
ONNX (int8) and shipped in the ``lacqa-ranker`` package inside this repository (``packages/lacqa-ranker``), so it
never comes from a hub. Inference runs on ONNX Runtime with the ``tokenizers`` library: no torch at query time.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import ModelError

#: the candidate's context is cut to this many characters (the start of the sentence before it matters least)
PREV_CHARS = 160
MAX_TOKENS = 128


def candidate_text(sentence: str, prev: str, title: str) -> str:
    """What the ranker reads for one candidate: the sentence first (truncation cuts the context, never the
    sentence), then the document title and the end of the sentence before it. Training and serving share this."""
    prev = " ".join(prev.split())
    if len(prev) > PREV_CHARS:
        prev = "..." + prev[-PREV_CHARS:].split(" ", 1)[-1]
    return f"{' '.join(sentence.split())} [SEP] {title.strip()}: {prev}".rstrip(": ")


class Ranker(Protocol):
    """Anything that scores (question, candidate) pairs with a probability of answering."""

    @property
    def model_id(self) -> str: ...

    def probabilities(self, question: str, candidates: Sequence[str]) -> np.ndarray: ...

    def logits(self, question: str, candidates: Sequence[str]) -> np.ndarray: ...

    def fusion(self, key: str = "fusion") -> dict[str, float]: ...


def packaged_ranker_path() -> Path:
    """Folder of the shipped ranker (the ``lacqa_ranker`` package installed from packages/lacqa-ranker)."""
    try:
        import lacqa_ranker
    except ImportError as exc:
        raise ModelError(
            "the evidence ranker package is missing: run `make install` (it installs packages/lacqa-ranker), "
            "or `pip install ./packages/lacqa-ranker`"
        ) from exc
    return Path(lacqa_ranker.__file__).parent


class PackagedPairModel:
    """A model of the ranker package that reads (question, text) pairs on ONNX Runtime: its description file
    (``meta_name``: model, tokenizer, max_tokens, file hashes) is read, and its files checked against their
    recorded hashes, on first use. The evidence ranker and the answer-span reader share this."""

    meta_name = "ranker.json"
    what = "evidence ranker"

    def __init__(self, path: Path | None = None, threads: int = 2) -> None:
        self._path = Path(path) if path else None
        self._threads = threads
        self._lock = threading.Lock()
        self._session = None
        self._tokenizer = None
        self.meta: dict = {}

    @property
    def model_id(self) -> str:
        self._load()
        return str(self.meta.get("model_id", self.meta_name.split(".")[0]))

    def _load(self) -> None:
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            folder = self._path or packaged_ranker_path()
            meta_path = folder / self.meta_name
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ModelError(f"the {self.what}'s description {meta_path} is missing or unreadable: {exc}") from exc
            from ..onnxrt import check_files, load_session

            check_files(folder, meta.get("files", {}), self.what, self.meta_name, "reinstall packages/lacqa-ranker")

            session, tokenizer = load_session(folder / meta["model"], folder / meta["tokenizer"], self._threads,
                                              self.what)
            tokenizer.enable_truncation(max_length=int(meta.get("max_tokens", MAX_TOKENS)), strategy="only_second")
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            self._inputs = {i.name for i in session.get_inputs()}
            self.meta = meta
            self._tokenizer = tokenizer
            self._session = session

    def _run(self, question: str, texts: Sequence[str]) -> tuple[list, list[np.ndarray]]:
        """The pairs' encodings and the model's outputs for them."""
        self._load()
        assert self._tokenizer is not None and self._session is not None
        enc = self._tokenizer.encode_batch([(question, t) for t in texts])
        feed = {
            "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
        }
        return enc, self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})


class OnnxRanker(PackagedPairModel):
    """The cross-encoder on ONNX Runtime, loaded (and its files checked against their recorded hashes) on first use."""

    def logits(self, question: str, candidates: Sequence[str]) -> np.ndarray:
        self._load()
        if not candidates:
            return np.zeros(0, np.float32)
        _, out = self._run(question, candidates)
        return np.asarray(out[0], dtype=np.float32).reshape(-1)

    def probabilities(self, question: str, candidates: Sequence[str]) -> np.ndarray:
        """Calibrated probability that each candidate answers the question (Platt scaling fitted on held-out
        articles and recorded in ranker.json)."""
        z = self.logits(question, candidates)
        a, b = self.meta.get("platt", [1.0, 0.0])
        return 1.0 / (1.0 + np.exp(-(a * z + b)))

    def fusion(self, key: str = "fusion") -> dict[str, float]:
        """Weights of a fitted combination of candidate features (``hand`` score, ranker ``logit``, answer-span
        reader ``span`` margin, ``intercept``), fitted by bench/fit_fusion.py and stored in ranker.json under
        ``key``: "fusion" for the fused ranker, "rerank" for the fact candidates' order."""
        self._load()
        fit = self.meta.get(key)
        if not fit:
            raise ModelError(f"the evidence ranker {self.model_id} has no fitted weights (ranker.json lacks '{key}'): "
                             "use LACQA_ANSWER__RANKER=off, or fit them with bench/fit_fusion.py --write")
        return {k: float(v) for k, v in fit.items() if k in ("hand", "logit", "span", "intercept")}


class OverlapRanker:
    """A deterministic stand-in for tests: the share of the question's content words a candidate holds."""

    model_id = "overlap-ranker"

    def probabilities(self, question: str, candidates: Sequence[str]) -> np.ndarray:
        from ..text import terms

        q = set(terms(question))
        if not q:
            return np.zeros(len(candidates), np.float32)
        return np.array([len(q & set(terms(c.split(" [SEP] ")[0]))) / len(q) for c in candidates], np.float32)

    def logits(self, question: str, candidates: Sequence[str]) -> np.ndarray:
        p = np.clip(self.probabilities(question, candidates), 1e-4, 1 - 1e-4)
        return np.log(p / (1 - p))

    def fusion(self, key: str = "fusion") -> dict[str, float]:
        return {"hand": 1.0, "logit": 1.0, "intercept": 0.0}
