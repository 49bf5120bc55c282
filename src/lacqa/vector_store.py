"""The store protocol: where a generation's candidate passages are searched, and how a generation is published.

lacqa keeps the text, the metadata, the vectors of record and its derived tables in the index folder (store.py)
whatever the backend: quotes need the exact text, and the evidence stage compares a question with every
sentence vector. What a backend does is smaller:

    Candidates (one generation)     dense(kind, vector, k)    nearest chunks or sentences, by inner product
                                    lexical(query, k)         chunks by BM25 score, lacqa's own terms and weights
                                    fetch(kind, rows)         stored vectors by row
    VectorStore (one index)         write(name, ...)          upload a generation before it is published
                                    publish(name)             the one step that makes it serve
                                    holds(name, manifest)     whether it still holds a generation whole
                                    current()                 the published generation's name
                                    prune(keep)               drop all but the newest generations
                                    open(generation)          its Candidates, checked against the folder

Tokenizing, BM25 weighting and rank fusion stay lacqa's (text.py, lexical.py, retrieve.py), so every backend
proposes the same candidates. Backends: LocalStore here (FAISS + bm25s files, CURRENT pointer) and QdrantStore in
qdrant_store.py; ``make_store`` picks one from the settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from .errors import IndexMismatchError
from .store import Generation, IndexDir

if TYPE_CHECKING:
    from .config import Settings

Kind = Literal["chunk", "sentence"]
KINDS: tuple[Kind, ...] = ("chunk", "sentence")


class Candidates(Protocol):
    """Candidate search over one generation; rows are chunk ids / sentence ids of the generation."""

    def dense(self, kind: Kind, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` chunks (or sentences) whose vectors have the largest inner product with ``vector``."""
        ...

    def lexical(self, query: str, k: int) -> list[tuple[int, float]]:
        """The ``k`` chunks with the highest positive BM25 score for ``query``, read as lacqa reads text
        (``text.terms``, a term the query repeats counted each time)."""
        ...

    def fetch(self, kind: Kind, rows: Sequence[int]) -> np.ndarray:
        """The stored vectors of ``rows``, one row of the result each."""
        ...


class VectorStore(Protocol):
    """Where an index's generations are searched and published."""

    @property
    def location(self) -> str:
        """Where the published generation is named (for messages)."""
        ...

    def current(self) -> str | None:
        """The name of the published generation, or None before the first publish."""
        ...

    def write(self, name: str, folder: Path, chunk_texts: Sequence[str], chunk_vectors: np.ndarray,
              sentence_vectors: np.ndarray) -> list[str]:
        """Store a generation being built (written in ``folder``, not yet published); returns the files written
        into ``folder`` (relative names) for the manifest's hash list."""
        ...

    def publish(self, name: str) -> None:
        """Make the installed generation ``name`` the one served, in one atomic step."""
        ...

    def holds(self, name: str, manifest: dict[str, Any]) -> bool:
        """A cheap check that the store still holds generation ``name`` whole (else a build writes it again)."""
        ...

    def prune(self, keep: int) -> list[str]:
        """Remove all but the newest ``keep`` generations (never the published one); returns what went."""
        ...

    def open(self, generation: Generation) -> Candidates:
        """The candidate search of an opened generation; raises IndexCorruptError when the store does not hold
        what the folder says it should."""
        ...


TIE_MARGIN = 8  #: rows asked for beyond k, so that a tie at the cut is decided by row, not by the engine


def ranked(pairs: Sequence[tuple[int, float]], k: int) -> list[tuple[int, float]]:
    """The best ``k`` of (row, score), best first, equal scores (as float32: engines sum in other orders and
    precisions) by row. Every backend orders its candidates so, whatever its engine does with ties."""
    out = [(int(r), float(np.float32(s))) for r, s in pairs]
    out.sort(key=lambda x: (-x[1], x[0]))
    return out[:k]


def check_dimension(generation: Generation, vector: np.ndarray) -> None:
    dim = int(generation.manifest["dimension"])
    if vector.shape[-1] != dim:
        raise IndexMismatchError(
            f"the embedder gives {vector.shape[-1]}-dimensional vectors but index {generation.name} holds "
            f"{dim}: rebuild with `lacqa index`"
        )


class LocalCandidates:
    """Exact inner-product search on the generation's FAISS files, BM25 on its bm25s tables."""

    def __init__(self, generation: Generation) -> None:
        self.generation = generation

    def _index(self, kind: Kind) -> Any:
        g = self.generation
        return g.chunk_vectors_index if kind == "chunk" else g.sentence_vectors_index

    def dense(self, kind: Kind, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        index = self._index(kind)
        if index.ntotal == 0:
            return []
        check_dimension(self.generation, vector)
        scores, rows = index.search(vector.reshape(1, -1).astype(np.float32), min(k + TIE_MARGIN, index.ntotal))
        return ranked([(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0], k)

    def lexical(self, query: str, k: int) -> list[tuple[int, float]]:
        return ranked(self.generation.lexical.search(query, k + TIE_MARGIN), k)

    def fetch(self, kind: Kind, rows: Sequence[int]) -> np.ndarray:
        matrix = self.generation.chunk_vectors() if kind == "chunk" else self.generation.sentence_vectors()
        return matrix[list(rows)]


class LocalStore:
    """The default backend: everything in the index folder, published by replacing its CURRENT pointer."""

    def __init__(self, index_dir: IndexDir) -> None:
        self.index_dir = index_dir

    @property
    def location(self) -> str:
        return str(self.index_dir.pointer)

    def current(self) -> str | None:
        return self.index_dir.current()

    def write(self, name: str, folder: Path, chunk_texts: Sequence[str], chunk_vectors: np.ndarray,
              sentence_vectors: np.ndarray) -> list[str]:
        return []  # the FAISS and BM25 files the generation's folder holds anyway are this store

    def publish(self, name: str) -> None:
        self.index_dir.point(name)

    def holds(self, name: str, manifest: dict[str, Any]) -> bool:
        return True  # the folder's own files, already checked against the manifest's hashes

    def prune(self, keep: int) -> list[str]:
        return self.index_dir.prune(keep)

    def open(self, generation: Generation) -> Candidates:
        return LocalCandidates(generation)


def make_store(settings: Settings, client: Any = None) -> VectorStore:
    """The backend ``settings.store`` names. ``client``: a QdrantClient to use instead of connecting to
    ``settings.store.url`` (an in-process ``:memory:`` one shared by a test's build and its Assistant)."""
    index_dir = IndexDir(Path(settings.index_dir))  # type: ignore[arg-type]
    if settings.store.backend == "qdrant":
        from .qdrant_store import QdrantStore

        return QdrantStore.from_settings(settings.store, index_dir, client=client)
    return LocalStore(index_dir)
