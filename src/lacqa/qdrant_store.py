"""The Qdrant backend of the store protocol (vector_store.py): candidate search on a Qdrant server or cluster.

One collection per generation, ``<prefix>-<index id>-<generation>``, holding one point per chunk (a dense vector
``chunk`` and a sparse vector ``bm25``) and one per sentence (a dense vector ``sentence``). The alias
``<prefix>-<index id>`` names the generation being served: a build uploads its collection first and switches the
alias in one ``update_collection_aliases`` call, so a build that fails or is killed before then never serves.

The sparse vector of a chunk is its row of lacqa's own BM25 matrix (bm25s, Lucene idf, k1=1.5, b=0.75), keyed by
term ids from a vocabulary stored in the generation folder (``qdrant.json``, hash-checked with the rest). A query
is sent as its term counts, so Qdrant's sparse dot product is the BM25 score lacqa computes locally; dense search
is exact (no HNSW approximation), so both backends propose the same candidates up to float rounding and ties.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import IndexCorruptError, LacqaError, StoreError
from .lexical import LexicalIndex
from .load import describe
from .store import Generation, IndexDir
from .text import terms
from .vector_store import KINDS, TIE_MARGIN, Kind, check_dimension, ranked

if TYPE_CHECKING:
    from .config import StoreSettings

VOCABULARY_FILE = "qdrant.json"
SPARSE = "bm25"
SENTENCE_BASE = 1 << 40  #: point id of sentence row 0 (chunks are points 0..n-1)
UPLOAD_BATCH = 256


def bm25_rows(lexical: LexicalIndex) -> tuple[list[str], list[tuple[list[int], list[float]]]]:
    """(vocabulary in term-id order, each text's (term ids, BM25 weights)): the rows of bm25s' precomputed score
    matrix, whose columns are terms. Read here rather than in lexical.py, whose bytes key the stored derived
    tables. A query's bm25s score for a text is the sum of these weights over the query's terms, once per
    occurrence, so the dot product with the query's term counts is that score."""
    retriever = lexical._retriever  # bm25s' own matrix, read once at build time
    vocab = [""] * len(retriever.vocab_dict)
    for term, i in retriever.vocab_dict.items():
        vocab[i] = term
    data = np.asarray(retriever.scores["data"], dtype=np.float32)
    docs = np.asarray(retriever.scores["indices"], dtype=np.int64)
    indptr = np.asarray(retriever.scores["indptr"], dtype=np.int64)
    term_of = np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), np.diff(indptr))
    order = np.lexsort((term_of, docs))  # by text, then by term
    bounds = np.searchsorted(docs[order], np.arange(len(lexical) + 1))
    rows = [(term_of[order[a:b]].tolist(), data[order[a:b]].tolist()) for a, b in itertools.pairwise(bounds)]
    return vocab, rows


def _point_id(kind: Kind, row: int) -> int:
    return row if kind == "chunk" else SENTENCE_BASE + row


def _rows(points: Any, kind: Kind) -> list[tuple[int, float]]:
    base = 0 if kind == "chunk" else SENTENCE_BASE
    return [(int(p.id) - base, float(p.score)) for p in points]


class QdrantStore:
    """An index's generations as collections of one Qdrant, the served one named by an alias."""

    def __init__(self, client: Any, index_dir: IndexDir, prefix: str = "lacqa", exact: bool = True,
                 where: str = "Qdrant") -> None:
        self.client = client
        self.index_dir = index_dir
        #: one alias per index folder, so several libraries (and lacqa installations) share a cluster
        index_id = hashlib.sha256(str(index_dir.root.expanduser().resolve()).encode()).hexdigest()[:10]
        self.alias = f"{prefix}-{index_id}"
        self.exact = exact  #: ask the server for exact search (the in-process store always is)
        self.where = where

    @classmethod
    def from_settings(cls, settings: StoreSettings, index_dir: IndexDir, client: Any = None) -> QdrantStore:
        from .errors import ConfigError

        if client is None:
            if not settings.url:
                raise ConfigError("LACQA_STORE__BACKEND=qdrant needs LACQA_STORE__URL: http://host:6333 for a "
                                  "server or cluster (or ':memory:' for an in-process store)")
            try:
                from qdrant_client import QdrantClient
            except ImportError as exc:
                raise ConfigError("the Qdrant backend needs qdrant-client: pip install 'lacqa[qdrant]'") from exc
            key = settings.api_key.get_secret_value() if settings.api_key else None
            if settings.url == ":memory:":
                client = QdrantClient(location=":memory:")
            else:
                client = QdrantClient(url=settings.url, api_key=key, timeout=max(1, round(settings.timeout_s)),
                                      check_compatibility=False)  # a version mismatch shows as a StoreError
        # the in-process store searches exactly anyway (and warns about search parameters)
        return cls(client, index_dir, settings.prefix, exact=settings.url != ":memory:",
                   where=f"Qdrant at {settings.url}" if settings.url else "Qdrant")

    @property
    def location(self) -> str:
        return f"the alias {self.alias} on {self.where}"

    def collection(self, name: str) -> str:
        return f"{self.alias}-{name}"

    @contextlib.contextmanager
    def calls(self, doing: str) -> Iterator[None]:
        """Whatever the client raises (connection refused, timeout, an error answer) as one StoreError."""
        try:
            yield
        except LacqaError:
            raise
        except Exception as exc:  # qdrant-client raises httpx, grpc, its own and (in process) ValueErrors
            raise StoreError(f"{self.where} failed while {doing} ({describe(exc)}) - check that it runs and that "
                             "LACQA_STORE__URL (and LACQA_STORE__API_KEY) point at it") from exc

    # ------------------------------------------------------------------ publishing

    def current(self) -> str | None:
        with self.calls("reading its aliases"):
            aliases = self.client.get_aliases().aliases
        target = next((a.collection_name for a in aliases if a.alias_name == self.alias), None)
        prefix = f"{self.alias}-"
        return target[len(prefix):] if target and target.startswith(prefix) else None

    def write(self, name: str, folder: Path, chunk_texts: Sequence[str], chunk_vectors: np.ndarray,
              sentence_vectors: np.ndarray) -> list[str]:
        from qdrant_client import models

        vocab, weights = bm25_rows(LexicalIndex(chunk_texts))
        dim = int(chunk_vectors.shape[1] if len(chunk_vectors) else sentence_vectors.shape[1])
        collection = self.collection(name)
        with self.calls(f"creating the collection {collection}"):
            if self.client.collection_exists(collection):  # left by a build killed after it chose this name
                self.client.delete_collection(collection)
            self.client.create_collection(
                collection,
                vectors_config={kind: models.VectorParams(size=max(dim, 1), distance=models.Distance.DOT)
                                for kind in KINDS},
                sparse_vectors_config={SPARSE: models.SparseVectorParams()},
            )
        points = itertools.chain(  # made batch by batch: a large library is not held twice in memory
            (models.PointStruct(id=_point_id("chunk", row), vector={
                "chunk": vec.tolist(), SPARSE: models.SparseVector(indices=ids, values=vals)})
             for row, (vec, (ids, vals)) in enumerate(zip(chunk_vectors, weights, strict=True))),
            (models.PointStruct(id=_point_id("sentence", row), vector={"sentence": vec.tolist()})
             for row, vec in enumerate(sentence_vectors)),
        )
        with self.calls(f"uploading to {collection}"):
            while batch := list(itertools.islice(points, UPLOAD_BATCH)):
                self.client.upsert(collection, batch, wait=True)
        (folder / VOCABULARY_FILE).write_text(
            json.dumps({"collection": collection, "vocabulary": vocab}, ensure_ascii=False), encoding="utf-8")
        return [VOCABULARY_FILE]

    def publish(self, name: str) -> None:
        """Point the alias at the generation's collection (delete and create in one request: atomic on the
        server), then CURRENT too, so the folder read with the local backend serves the same generation."""
        from qdrant_client import models

        collection = self.collection(name)
        with self.calls(f"switching the alias {self.alias} to {collection}"):
            ops: list[Any] = []
            if self.current() is not None:
                ops.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=self.alias)))
            ops.append(models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name=collection, alias_name=self.alias)))
            self.client.update_collection_aliases(change_aliases_operations=ops)
        self.index_dir.point(name)

    def holds(self, name: str, manifest: dict[str, Any]) -> bool:
        """The generation's collection is there with one point per chunk and sentence."""
        counts = manifest.get("counts", {})
        collection = self.collection(name)
        with self.calls(f"counting {collection}"):
            if not self.client.collection_exists(collection):
                return False
            count = self.client.count(collection, exact=True).count
        return bool(count == int(counts.get("chunks", -1)) + int(counts.get("sentences", -1)))

    def generations(self) -> list[str]:
        """This index's generations that have a collection, in build order."""
        prefix = f"{self.alias}-"
        with self.calls("listing its collections"):
            names = [c.name[len(prefix):] for c in self.client.get_collections().collections
                     if c.name.startswith(prefix)]
        return sorted(names, key=_build_order)

    def prune(self, keep: int) -> list[str]:
        """Prune the folders as the local backend does (the newest ``keep``, never the published one), then drop
        every collection whose generation has no folder: pruned ones, and those of builds that died before their
        folder was installed (builds are serialised by the lock, so none is under way)."""
        removed = self.index_dir.prune(keep, current=self.current())
        for name in self.generations():
            if not self.index_dir.path_of(name).is_dir():
                with self.calls(f"deleting the collection {self.collection(name)}"):
                    self.client.delete_collection(self.collection(name))
                removed.append(self.collection(name))
        return removed

    # ------------------------------------------------------------------ serving

    def open(self, generation: Generation) -> QdrantCandidates:
        try:
            stored = json.loads((generation.folder / VOCABULARY_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexCorruptError(f"index {generation.name} was not built for Qdrant ({VOCABULARY_FILE}: {exc}) "
                                    "- rebuild with `lacqa index`") from exc
        candidates = QdrantCandidates(self, stored["collection"], stored["vocabulary"])
        candidates.verify(generation)
        return candidates


def _build_order(name: str) -> tuple[int, str]:
    m = re.match(r"g-(\d+)-", name)
    return (int(m.group(1)) if m else 0, name)


class QdrantCandidates:
    """Candidate search over one generation's collection."""

    def __init__(self, store: QdrantStore, collection: str, vocabulary: list[str]) -> None:
        self.store = store
        self.client = store.client
        self.collection = collection
        self.term_ids = {t: i for i, t in enumerate(vocabulary)}
        self._generation: Generation | None = None

    def verify(self, generation: Generation) -> None:
        """The collection holds this generation: as many points, and the same first and last vectors."""
        with self.store.calls(f"counting {self.collection}"):
            count = self.client.count(self.collection, exact=True).count
        expected = len(generation.chunks) + len(generation.sentences)
        if count != expected:
            raise IndexCorruptError(f"the Qdrant collection {self.collection} holds {count} points, index "
                                    f"{generation.name} has {expected} - rebuild with `lacqa index`")
        for kind, matrix in (("chunk", generation.chunk_vectors()), ("sentence", generation.sentence_vectors())):
            rows = sorted({0, len(matrix) - 1}) if len(matrix) else []
            if rows and not np.allclose(self.fetch(kind, rows), matrix[rows], atol=1e-5):  # type: ignore[arg-type]
                raise IndexCorruptError(f"the Qdrant collection {self.collection} does not hold the {kind} vectors "
                                        f"of index {generation.name} - rebuild with `lacqa index`")
        self._generation = generation

    def dense(self, kind: Kind, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        from qdrant_client import models

        if self._generation is not None:
            check_dimension(self._generation, vector)
        params = models.SearchParams(exact=True) if self.store.exact else None
        with self.store.calls(f"searching {self.collection}"):
            found = self.client.query_points(self.collection, query=vector.astype(np.float32).tolist(), using=kind,
                                             limit=k + TIE_MARGIN, search_params=params, with_payload=False).points
        return ranked(_rows(found, kind), k)

    def lexical(self, query: str, k: int) -> list[tuple[int, float]]:
        from qdrant_client import models

        counts = Counter(self.term_ids[t] for t in terms(query) if t in self.term_ids)
        if not counts:
            return []
        ids = sorted(counts)
        sparse = models.SparseVector(indices=ids, values=[float(counts[i]) for i in ids])
        with self.store.calls(f"searching {self.collection}"):
            found = self.client.query_points(self.collection, query=sparse, using=SPARSE, limit=k + TIE_MARGIN,
                                             with_payload=False).points
        return ranked([(row, score) for row, score in _rows(found, "chunk") if score > 0], k)

    def fetch(self, kind: Kind, rows: Sequence[int]) -> np.ndarray:
        with self.store.calls(f"reading vectors from {self.collection}"):
            records = self.client.retrieve(self.collection, ids=[_point_id(kind, r) for r in rows],
                                           with_vectors=[kind], with_payload=False)
        by_id = {int(r.id): r.vector[kind] for r in records if isinstance(r.vector, dict) and kind in r.vector}
        missing = [r for r in rows if _point_id(kind, r) not in by_id]
        if missing:
            raise IndexCorruptError(f"the Qdrant collection {self.collection} lacks {kind} rows {missing[:5]} - "
                                    "rebuild with `lacqa index`")
        return np.asarray([by_id[_point_id(kind, r)] for r in rows], dtype=np.float32)
