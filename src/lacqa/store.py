"""The on-disk index: generations, manifest, atomic publish, verification on open.

Layout of an index folder::

    index/
      CURRENT                 name of the generation being served (replaced atomically)
      .lock                   held by the one build allowed at a time
      generations/
        g-20261123T150102-3f2a/
          manifest.json       what built it, counts, per-document hashes, per-file sha256
          index.sqlite        documents (cleaned text), chunks and sentences (offsets, text hashes)
          chunks.faiss        dense vectors of chunks (row = chunk id), FAISS's own format
          sentences.faiss     dense vectors of sentences (row = sentence id)

A generation folder is written under a temporary name, fsynced, renamed, and only then named in
CURRENT (temp file, fsync, os.replace). A build killed at any moment leaves CURRENT untouched.
"""

from __future__ import annotations

import bisect
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import IndexCorruptError, IndexError_, IndexLockedError, IndexMismatchError, IndexMissingError
from .types import Chunk, Document, PageSpan, SectionSpan

if TYPE_CHECKING:
    from .vector_store import Candidates, VectorStore

FORMAT_VERSION = 1
FILES = ("index.sqlite", "chunks.faiss", "sentences.faiss")


@dataclass(frozen=True)
class Sentence:
    """A quote unit: a sentence (or clause of a long one) of a document."""

    sent_id: int
    doc_id: str
    start: int
    end: int


def sentence_chunks(chunks: list[Chunk], sentences: list[Sentence]) -> list[list[int]]:
    """For each sentence, in order, the ids of the chunks that overlap it (sorted)."""
    by_doc: dict[str, list[Chunk]] = {}
    for c in chunks:
        by_doc.setdefault(c.doc_id, []).append(c)
    # per document, chunks by start, with the running maximum of their ends: the chunks that can overlap
    # [s.start, s.end) lie between the first whose running end passes s.start and the last starting before
    # s.end (a scan of every chunk of the document per sentence took 1.5 s on 440 articles)
    spans: dict[str, tuple[list[Chunk], list[int], list[int]]] = {}
    for doc_id, cs in by_doc.items():
        cs.sort(key=lambda c: (c.start, c.chunk_id))
        reach, top = [], -1
        for c in cs:
            top = max(top, c.end)
            reach.append(top)
        spans[doc_id] = (cs, [c.start for c in cs], reach)
    out: list[list[int]] = []
    for s in sentences:
        cs, starts, reach = spans.get(s.doc_id, ([], [], []))
        lo, hi = bisect.bisect_right(reach, s.start), bisect.bisect_left(starts, s.end)
        out.append(sorted(c.chunk_id for c in cs[lo:hi] if c.start < s.end and s.start < c.end))
    return out


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class IndexDir:
    """An index folder: knows its generations, its pointer and its lock."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.generations = self.root / "generations"
        self.pointer = self.root / "CURRENT"

    def current(self) -> str | None:
        try:
            name = self.pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return name or None

    def path_of(self, generation: str) -> Path:
        return self.generations / generation

    @contextlib.contextmanager
    def lock(self, timeout: float = 0.0) -> Iterator[None]:
        """Exclusive build lock. Waits up to ``timeout`` seconds, then raises IndexLockedError."""
        self.root.mkdir(parents=True, exist_ok=True)
        fh = open(self.root / ".lock", "a+")  # noqa: SIM115 - held for the whole block
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise IndexLockedError(
                            f"another build is running on {self.root} (lock held); wait for it to finish"
                        ) from None
                    time.sleep(0.1)
            fh.seek(0)
            fh.truncate()
            fh.write(str(os.getpid()))
            fh.flush()
            yield
        finally:
            fh.close()  # closing releases the flock

    def new_generation_dir(self) -> tuple[str, Path]:
        """A fresh, empty temporary folder for a generation being built."""
        self.generations.mkdir(parents=True, exist_ok=True)
        # a sequence number first: generation names sort in build order whatever the clock does
        # (builds are serialised by the lock, so reading the highest number here is safe)
        seqs = [int(m.group(1)) for p in self.generations.iterdir() if (m := re.match(r"g-(\d+)-", p.name))]
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        name = f"g-{max(seqs, default=0) + 1:06d}-{stamp}-{os.urandom(2).hex()}"
        tmp = self.generations / f".tmp-{name}"
        tmp.mkdir()
        return name, tmp

    def publish(self, name: str, tmp: Path) -> None:
        """Rename the finished folder into place, then point CURRENT at it atomically."""
        self.install(name, tmp)
        self.point(name)

    def install(self, name: str, tmp: Path) -> None:
        """Rename the finished folder into place (durably); it serves only once a pointer names it."""
        for f in tmp.iterdir():
            _fsync_path(f)
        final = self.path_of(name)
        os.replace(tmp, final)
        _fsync_path(self.generations)

    def point(self, name: str) -> None:
        """Point CURRENT at an installed generation atomically (temp file, fsync, rename)."""
        pointer_tmp = self.root / f".CURRENT.{os.getpid()}.tmp"
        with open(pointer_tmp, "w", encoding="utf-8") as fh:
            fh.write(name + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(pointer_tmp, self.pointer)
        _fsync_path(self.root)

    def prune(self, keep: int, current: str | None = None) -> list[str]:
        """Remove unfinished folders and all but the newest ``keep`` generations (never the serving one:
        ``current``, by default the one CURRENT names)."""
        if not self.generations.is_dir():
            return []
        current = current or self.current()
        removed = []
        for tmp in self.generations.glob(".tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp.name)
        done = sorted((p for p in self.generations.iterdir() if p.name.startswith("g-")), key=_build_order)
        for old in done[: max(0, len(done) - max(1, keep))]:
            if old.name != current:
                shutil.rmtree(old, ignore_errors=True)
                removed.append(old.name)
        return removed


def _build_order(path: Path) -> tuple[int, str]:
    m = re.match(r"g-(\d+)-", path.name)
    return (int(m.group(1)) if m else 0, path.name)


# --------------------------------------------------------------------------- writing


def write_generation(
    folder: Path,
    manifest: dict[str, Any],
    docs: list[Document],
    chunks: list[tuple[Chunk, str]],
    chunk_vectors: np.ndarray,
    sentences: list[tuple[Sentence, str]],
    sentence_vectors: np.ndarray,
    extra_files: list[str] | None = None,
) -> dict[str, Any]:
    """Write every file of a generation into ``folder`` and return the completed manifest. ``extra_files``
    (already written into ``folder`` by later stages' index-time work) are hash-checked with the rest."""
    import faiss

    db = sqlite3.connect(folder / "index.sqlite")
    with db:
        db.executescript(
            """
            CREATE TABLE documents (doc_id TEXT PRIMARY KEY, ord INTEGER, source TEXT, title TEXT, text TEXT,
                sha256 TEXT, pages TEXT, date TEXT, author TEXT, sections TEXT);
            CREATE TABLE chunks (id INTEGER PRIMARY KEY, doc_id TEXT, start INTEGER, "end" INTEGER,
                page INTEGER, text_hash TEXT);
            CREATE TABLE sentences (id INTEGER PRIMARY KEY, doc_id TEXT, start INTEGER, "end" INTEGER,
                text_hash TEXT);
            """
        )
        db.executemany(
            "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (d.doc_id, i, d.source, d.title, d.text, d.sha256,
                 json.dumps([[p.start, p.end, p.page] for p in d.pages]), d.date, d.author,
                 json.dumps([[s.start, s.end, s.title] for s in d.sections], ensure_ascii=False))
                for i, d in enumerate(docs)
            ],
        )
        db.executemany(
            "INSERT INTO chunks VALUES (?,?,?,?,?,?)",
            [(c.chunk_id, c.doc_id, c.start, c.end, c.page, h) for c, h in chunks],
        )
        db.executemany(
            "INSERT INTO sentences VALUES (?,?,?,?,?)",
            [(s.sent_id, s.doc_id, s.start, s.end, h) for s, h in sentences],
        )
    db.close()
    dim = int(manifest["dimension"])
    for name, vectors in (("chunks.faiss", chunk_vectors), ("sentences.faiss", sentence_vectors)):
        index = faiss.IndexFlatIP(dim)
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        faiss.write_index(index, str(folder / name))
    manifest = dict(manifest)
    manifest["files"] = {name: sha256_file(folder / name) for name in (*FILES, *(extra_files or []))}
    with open(folder / "manifest.json", "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2, sort_keys=True)
    return manifest


# --------------------------------------------------------------------------- reading


class Generation:
    """One published generation, verified and held in memory (text, chunks, vectors, BM25)."""

    def __init__(self, folder: Path, name: str) -> None:
        import faiss

        self.name = name
        self.folder = folder
        self.manifest = read_manifest(folder)
        if self.manifest.get("format_version") != FORMAT_VERSION:
            raise IndexMismatchError(
                f"index {name} has format {self.manifest.get('format_version')}, this lacqa reads "
                f"{FORMAT_VERSION}: rebuild it with `lacqa index`"
            )
        verify_files(folder, self.manifest)
        try:
            db = sqlite3.connect(f"file:{folder / 'index.sqlite'}?mode=ro", uri=True)
            # generations written before documents had sections have no such column: their documents have none
            has_sections = any(row[1] == "sections" for row in db.execute("PRAGMA table_info(documents)"))
            doc_rows = db.execute(
                "SELECT doc_id, source, title, text, sha256, pages, date, author, "
                f"{'sections' if has_sections else 'NULL'} FROM documents ORDER BY ord"
            ).fetchall()
            chunk_rows = db.execute('SELECT id, doc_id, start, "end", page, text_hash FROM chunks ORDER BY id').fetchall()
            sent_rows = db.execute('SELECT id, doc_id, start, "end", text_hash FROM sentences ORDER BY id').fetchall()
            db.close()
            self.chunk_vectors_index = faiss.read_index(str(folder / "chunks.faiss"))
            self.sentence_vectors_index = faiss.read_index(str(folder / "sentences.faiss"))
        except (sqlite3.Error, RuntimeError) as exc:
            raise IndexCorruptError(f"index {name} cannot be read ({exc}) - rebuild with `lacqa index`") from exc
        self.documents: dict[str, Document] = {}
        for doc_id, source, title, text, sha, pages, date, author, sections in doc_rows:
            spans = tuple(PageSpan(*p) for p in json.loads(pages or "[]"))
            heads = tuple(SectionSpan(*s) for s in json.loads(sections or "[]"))
            self.documents[doc_id] = Document(doc_id, source, title, text, sha, spans, date, author, heads)
        self.chunks: list[Chunk] = []
        self.chunk_hashes: list[str] = []
        for cid, doc_id, start, end, page, h in chunk_rows:
            d = self.documents[doc_id]
            self.chunks.append(
                Chunk(cid, doc_id, d.source, d.title, start, end, d.text[start:end], page, d.section_at(start))
            )
            self.chunk_hashes.append(h)
        self.sentences = [Sentence(sid, doc_id, s, e) for sid, doc_id, s, e, _ in sent_rows]
        self.sentence_hashes = [h for *_, h in sent_rows]
        self.sentences_by_doc: dict[str, list[Sentence]] = {}
        for s in self.sentences:
            self.sentences_by_doc.setdefault(s.doc_id, []).append(s)
        dim = int(self.manifest["dimension"])
        counts = self.manifest.get("counts", {})
        for label, index, n in (
            ("chunk", self.chunk_vectors_index, len(self.chunks)),
            ("sentence", self.sentence_vectors_index, len(self.sentences)),
        ):
            if index.d != dim or index.ntotal != n or counts.get(f"{label}s", n) != n:
                raise IndexCorruptError(
                    f"index {name}: {label} vectors do not match the manifest "
                    f"({index.ntotal} vectors of dim {index.d}, expected {n} of dim {dim}) - rebuild with `lacqa index`"
                )
        self._sentence_chunks: list[list[int]] | None = None
        self.derived: dict[str, Any] = {}  #: values computed from this generation by later stages
        self._derive_lock = threading.RLock()  # derived values derive from others (term stats from aliases)
        self._lexical = None
        self._candidates: Candidates | None = None
        self._chunk_matrix: np.ndarray | None = None
        self._sentence_matrix: np.ndarray | None = None

    def derive(self, key: str, make: Callable[[], Any]) -> Any:
        """A value computed from this generation once and kept with it (the generation is immutable)."""
        value = self.derived.get(key)
        if value is None:
            with self._derive_lock:  # concurrent first questions compute it once, not once each
                value = self.derived.get(key)
                if value is None:
                    value = self.derived.setdefault(key, make())
        return value

    def chunks_of_sentence(self, sent_id: int) -> list[int]:
        """Ids of the chunks that overlap a sentence (computed once per generation)."""
        if self._sentence_chunks is None:
            self._sentence_chunks = sentence_chunks(self.chunks, self.sentences)
        return self._sentence_chunks[sent_id]

    @property
    def candidates(self) -> Candidates:
        """Where this generation's candidate passages are searched: its own FAISS and BM25 files unless a store
        (a Qdrant collection) was attached when it was opened."""
        if self._candidates is None:
            with self._derive_lock:
                if self._candidates is None:
                    from .vector_store import LocalCandidates

                    self._candidates = LocalCandidates(self)
        return self._candidates

    def attach(self, candidates: Candidates) -> None:
        """Search this generation's candidates elsewhere (the store it was published to)."""
        self._candidates = candidates

    @property
    def lexical(self):  # type: ignore[no-untyped-def]
        if self._lexical is None:
            with self._derive_lock:
                if self._lexical is None:
                    from .derived import load_lexical
                    from .lexical import LexicalIndex

                    stored = load_lexical(self.folder, len(self.chunks))
                    self._lexical = stored if stored is not None else LexicalIndex([c.text for c in self.chunks])
        return self._lexical

    def chunk_vectors(self) -> np.ndarray:
        if self._chunk_matrix is None:
            n = self.chunk_vectors_index.ntotal
            self._chunk_matrix = self.chunk_vectors_index.reconstruct_n(0, n) if n else np.zeros((0, 1), np.float32)
        return self._chunk_matrix

    def sentence_vectors(self) -> np.ndarray:
        if self._sentence_matrix is None:
            n = self.sentence_vectors_index.ntotal
            self._sentence_matrix = (
                self.sentence_vectors_index.reconstruct_n(0, n) if n else np.zeros((0, 1), np.float32)
            )
        return self._sentence_matrix

    @property
    def built_at(self) -> str:
        return str(self.manifest.get("built_at", ""))


#: per generation, the (size, mtime_ns, sha256) of each file when it last matched the manifest: a file whose size and
#: modification time are unchanged since is not hashed again (as git's index does; hashing a 440-article generation's
#: 573 MB cost ~0.4 s on every open and every no-op rebuild). A file changed in place gets a new mtime and is hashed.
VERIFIED = "verified.json"


def verify_files(folder: Path, manifest: dict[str, Any]) -> None:
    """Every file the manifest lists is there and has its recorded hash (hashed again only when its size or
    modification time changed since it last matched)."""
    try:
        seen = json.loads((folder / VERIFIED).read_text(encoding="utf-8"))
        if not isinstance(seen, dict):
            seen = {}
    except (OSError, ValueError):
        seen = {}
    fresh: dict[str, list[Any]] = {}
    for file, digest in manifest.get("files", {}).items():
        path = folder / file
        if not path.is_file():
            raise IndexCorruptError(f"index file missing: {path} - rebuild with `lacqa index`")
        st = path.stat()
        mark = [st.st_size, st.st_mtime_ns, digest]
        if seen.get(file) != mark and sha256_file(path) != digest:
            raise IndexCorruptError(f"index file damaged (hash mismatch): {path} - rebuild with `lacqa index`")
        fresh[file] = mark
    if fresh != seen:
        tmp = folder / f".{VERIFIED}.{os.getpid()}.tmp"
        try:  # a cache only: a read-only index folder is verified in full each time
            tmp.write_text(json.dumps(fresh), encoding="utf-8")
            tmp.replace(folder / VERIFIED)
        except OSError:
            tmp.unlink(missing_ok=True)


def current_manifest(index_dir: IndexDir, store: VectorStore | None = None) -> tuple[str, dict[str, Any]] | None:
    """(name, manifest) of the serving generation when its files pass their checks, without loading it. The
    serving generation is the one ``store`` has published (by default the one CURRENT names)."""
    name = store.current() if store is not None else index_dir.current()
    if name is None or not index_dir.path_of(name).is_dir():
        return None
    folder = index_dir.path_of(name)
    try:
        manifest = read_manifest(folder)
        verify_files(folder, manifest)
    except IndexError_:
        return None
    if manifest.get("format_version") != FORMAT_VERSION:
        return None
    return name, manifest


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.json"
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise IndexCorruptError(f"index manifest missing: {path} - rebuild with `lacqa index`") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(f"index manifest unreadable: {path} ({exc}) - rebuild with `lacqa index`") from exc
    if not isinstance(data, dict) or "dimension" not in data:
        raise IndexCorruptError(f"index manifest incomplete: {path} - rebuild with `lacqa index`")
    return data


def open_current(index_dir: IndexDir, store: VectorStore | None = None) -> Generation:
    """The serving generation, verified: the one ``store`` has published, searched there (by default the one
    CURRENT names, searched on its own files). Raises IndexMissingError when there is none."""
    name = store.current() if store is not None else index_dir.current()
    if name is None:
        published = (f" (nothing published to {store.location})"
                     if store is not None and store.location != str(index_dir.pointer) else "")
        raise IndexMissingError(f"no index in {index_dir.root}/ yet{published} - run `lacqa index` (or `make run`) first")
    generation = open_generation(index_dir, name, named_in=store.location if store is not None else None)
    if store is not None:
        generation.attach(store.open(generation))
    return generation


def open_generation(index_dir: IndexDir, name: str, named_in: str | None = None) -> Generation:
    """The generation ``name`` from its folder, verified (searched on its own files)."""
    folder = index_dir.path_of(name)
    if not folder.is_dir():
        raise IndexCorruptError(f"index generation {name} named in {named_in or index_dir.pointer} is missing - "
                                "run `lacqa index`")
    return Generation(folder, name)
