"""Incremental index builds: diff the sources against the serving generation by content hash,
re-embed only text never embedded before, write a new generation and publish it atomically."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from . import __version__, derived
from .aliases import BUILTIN
from .chunk import chunk_document, sentence_spans
from .config import Settings
from .embed import Embedder
from .errors import IndexError_, LacqaError, SourceError
from .load import SourceFile, failure, one_line, parse, parse_failure, scan_sources
from .store import (
    FORMAT_VERSION,
    Generation,
    IndexDir,
    Sentence,
    current_manifest,
    open_generation,
    sentence_chunks,
    text_hash,
    write_generation,
)
from .types import Chunk, Document, Skipped
from .vector_cache import VectorCache
from .vector_store import VectorStore, make_store

# Bump when cleaning, chunking or sentence-cutting rules change: every document is re-parsed and re-cut (vectors
# are reused by text hash). 6: HTML keeps headings, list items and table rows as marked lines, a Markdown file without a "# " title is named by its file; 5: Markdown read as its rendered text (markdown.py); 4: chunks cut on offsets (a piece recurring within a chunk's reach was misplaced
# or crashed the build); 3: sentences run over lines that only wrap a paragraph.
CLEANER_VERSION = 6

StageFn = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class BuildReport:
    """What a build did (or, for a dry run, would do). Serialises to the `lacqa index --json` object."""

    generation: str | None
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    documents: int = 0
    chunks: int = 0
    seconds: float = 0.0
    embedded: int = 0  #: texts sent to the embedder (0 when nothing changed)
    published: bool = False  #: a new generation was published
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["skipped"] = [{"source": s.source, "reason": s.reason} for s in self.skipped]
        data["seconds"] = round(self.seconds, 3)
        return data

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def fingerprint(settings: Settings, embedder_id: str) -> dict[str, Any]:
    """Everything besides the sources that decides the contents of an index."""
    return {
        "format_version": FORMAT_VERSION,
        "embedder": embedder_id,
        "chunker": {"size": settings.chunk.size, "overlap": settings.chunk.overlap, "splitter": "recursive",
                    "vectors": settings.chunk.vectors},
        "max_quote_chars": settings.answer.max_quote_chars,
        "cleaner_version": CLEANER_VERSION,
        "max_file_mb": settings.max_file_mb,
    }


def _try_open(index_dir: IndexDir, name: str) -> Generation | None:
    """The serving generation read from its folder (its text and vectors are reused, whatever its store holds)."""
    try:
        return open_generation(index_dir, name)
    except IndexError_:
        return None  # nothing usable to reuse: build from scratch (the old pointer stays until publish)


def build_index(
    settings: Settings,
    embedder: Embedder,
    *,
    dry_run: bool = False,
    on_stage: StageFn | None = None,
    lock_timeout: float = 0.0,
    store: VectorStore | None = None,
) -> BuildReport:
    """Build or update the index under ``settings.index_dir`` from ``settings.sources_dir``, published to
    ``store`` (default: the one ``settings.store`` names)."""
    t0 = time.perf_counter()
    index_dir = IndexDir(settings.index_dir)
    store = store or make_store(settings)
    stage = on_stage or (lambda *_: None)
    with _writing(index_dir):  # the folder must take the lock file before anything is read
        index_dir.root.mkdir(parents=True, exist_ok=True)
        (index_dir.root / ".lock").touch()
    with index_dir.lock(timeout=lock_timeout):
        scan = scan_sources(settings.sources_dir, int(settings.max_file_mb * 1e6))
        serving = current_manifest(index_dir, store)  # checked, not loaded: a build with nothing to do stops here
        fp = fingerprint(settings, embedder.model_id)
        old = serving[1] if serving else {}
        same_settings = old.get("fingerprint") == fp
        old_docs: dict[str, str] = old.get("sources", {}) if same_settings else {}
        old_skips: dict[str, dict[str, str]] = old.get("skipped", {}) if same_settings else {}
        report = BuildReport(generation=serving[0] if serving else None, dry_run=dry_run)
        current = {f.source: f for f in scan.files}
        for source in sorted(set(old_docs) | set(current)):
            if source not in current:
                if source in old_docs:
                    report.removed.append(source)
            elif source in old_docs and old_docs[source] == current[source].sha256:
                report.unchanged.append(source)
            elif source in old_skips and old_skips[source]["sha256"] == current[source].sha256:
                report.skipped.append(Skipped(source, old_skips[source]["reason"]))
            elif source in old_docs:
                report.changed.append(source)
            else:
                report.added.append(source)
        report.skipped = [*scan.skipped, *report.skipped]
        stored_current = serving is not None and derived.is_current(index_dir.path_of(serving[0]))
        unchanged = not (report.added or report.changed or report.removed)
        # ... and the store still holds it whole (a damaged or deleted collection is written again)
        if serving and same_settings and stored_current and unchanged and store.holds(*serving):
            counts = old.get("counts", {})
            report.documents, report.chunks = int(counts.get("documents", 0)), int(counts.get("chunks", 0))
            report.seconds = time.perf_counter() - t0
            return report  # nothing to do: no parse, no embedder, no new generation
        previous = _try_open(index_dir, serving[0]) if serving else None

        # parse what is new or changed (unchanged documents are taken from the previous generation), and cut
        # each document into chunks and sentences on its own: whatever fails on one file skips that file only
        reuse = {d.source: d for d in previous.documents.values()} if previous and same_settings else {}
        docs: list[Document] = []
        chunks: list[Chunk] = []
        sentences: list[Sentence] = []
        new_skips: dict[str, dict[str, str]] = {}
        stage("read files", 0, len(current))
        for n_read, source in enumerate(sorted(current), 1):
            stage("read files", n_read, len(current))
            if any(s.source == source for s in report.skipped):  # refused by the scan, or unchanged since skipped
                new_skips[source] = {"sha256": current[source].sha256, "reason": _reason(report.skipped, source)}
                continue
            try:
                doc = reuse[source] if source in report.unchanged else _parse(current[source])
                doc_chunks, doc_sentences = _segment(doc, settings, len(chunks), len(sentences))
            except _Skip as skip:
                report.skipped.append(Skipped(source, skip.reason))
                new_skips[source] = {"sha256": current[source].sha256, "reason": skip.reason}
                for bucket in (report.added, report.changed, report.unchanged):
                    if source in bucket:
                        bucket.remove(source)
                continue
            docs.append(doc)
            chunks.extend(doc_chunks)
            sentences.extend(doc_sentences)
        if not docs:
            raise SourceError(
                f"nothing to index in {settings.sources_dir}: no readable document "
                f"({_skip_summary(report.skipped)}); the previous index, if any, keeps serving"
            )
        report.documents, report.chunks = len(docs), len(chunks)
        if dry_run:
            report.seconds = time.perf_counter() - t0
            return report

        with _writing(index_dir):
            cache = VectorCache(index_dir.root / "cache" / "vectors.sqlite", embedder.model_id)
        by_id = {d.doc_id: d for d in docs}
        sent_texts = [by_id[s.doc_id].text[s.start : s.end] for s in sentences]
        sent_vecs, n2 = _vectors(sent_texts, previous, "sentence", embedder, stage, cache)
        # the previous generation's chunk vectors are embeddings of their texts only if it embedded every chunk
        embedded_before = previous is not None and (
            previous.manifest.get("fingerprint", {}).get("chunker", {}).get("vectors", "embedded") == "embedded")
        chunk_source = previous if embedded_before else None
        if settings.chunk.vectors == "pooled":
            chunk_vecs, alone = pool_chunk_vectors(chunks, sentences, sent_vecs)
            # a chunk no sentence reaches (text the splitter left out of every sentence) is embedded itself
            own, n1 = _vectors([chunks[i].text for i in alone], chunk_source, "chunk", embedder, stage, cache)
            if alone:
                if chunk_vecs.shape[1] != own.shape[1]:  # no sentence vector at all: every chunk is alone
                    chunk_vecs = np.zeros((len(chunks), own.shape[1]), np.float32)
                chunk_vecs[alone] = own
        else:
            chunk_vecs, n1 = _vectors([c.text for c in chunks], chunk_source, "chunk", embedder, stage, cache)
        report.embedded = n1 + n2
        dim = chunk_vecs.shape[1] if len(chunk_vecs) else (previous.manifest["dimension"] if previous else 0)
        with _writing(index_dir):
            name, tmp = index_dir.new_generation_dir()
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        old_indexed: dict[str, str] = old.get("indexed_at", {}) or {}
        manifest = {
            "format_version": FORMAT_VERSION,
            "generation": name,
            "lacqa_version": __version__,
            "built_at": now,
            "embedder": embedder.model_id,
            "dimension": int(dim),
            "chunker": fp["chunker"],
            "fingerprint": fp,
            "sources_dir": str(settings.sources_dir),
            "sources": {d.source: d.sha256 for d in docs},
            "skipped": new_skips,
            # for the library view: when each document's current text was first indexed, and every skipped
            # file's reason (those the scan refused too: hidden, too large, outside the folder)
            "indexed_at": {d.source: (old_indexed.get(d.source, old.get("built_at")) if d.source in report.unchanged else None) or now
                           for d in docs},
            "skipped_reasons": {s.source: s.reason for s in report.skipped},
            "counts": {"documents": len(docs), "chunks": len(chunks), "sentences": len(sentences)},
        }
        stage("write", 0, 1)
        with _writing(index_dir):
            # BM25, sentence terms, aliases: made now so that no question has to
            extra = derived.write(tmp, [d.text for d in docs], [c.text for c in chunks], sent_texts, BUILTIN)
            # the store's copy (a Qdrant collection) is complete before anything names it
            extra += store.write(name, tmp, [c.text for c in chunks], chunk_vecs, sent_vecs)
            write_generation(
                tmp, manifest, docs,
                [(c, text_hash(c.text)) for c in chunks], chunk_vecs,
                [(s, text_hash(t)) for s, t in zip(sentences, sent_texts, strict=True)], sent_vecs,
                extra_files=extra,
            )
            index_dir.install(name, tmp)
            store.publish(name)  # the one step that makes the new generation serve
            store.prune(settings.keep_generations)
            cache.clear()  # the published generation holds every vector now
        cache.close()
        stage("write", 1, 1)
        report.generation, report.published = name, True
        report.seconds = time.perf_counter() - t0
        return report


@contextmanager
def _writing(index_dir: IndexDir) -> Iterator[None]:
    """A folder that cannot be written (no such parent, no permission, disk full) is the user's to fix:
    say so in one line instead of a traceback. The serving generation is untouched until publish."""
    try:
        yield
    except OSError as exc:
        where = exc.filename or index_dir.root
        raise IndexError_(
            f"cannot write the index in {index_dir.root}: {exc.strerror or exc} ({where}) - "
            "choose another folder with --index or LACQA_INDEX_DIR"
        ) from exc


def _reason(skipped: list[Skipped], source: str) -> str:
    return next(s.reason for s in skipped if s.source == source)


def _skip_summary(skipped: list[Skipped], shown: int = 3) -> str:
    """'2 skipped: a.pdf: unreadable PDF ...; b.txt: binary file ...' - why, on the one line of an error."""
    if not skipped:
        return "0 skipped"
    reasons = "; ".join(f"{s.source}: {s.reason}" for s in skipped[:shown])
    more = f"; and {len(skipped) - shown} more" if len(skipped) > shown else ""
    return one_line(f"{len(skipped)} skipped: {reasons}{more}", limit=600)


class _Skip(Exception):
    """One file cannot be indexed; ``reason`` says why in one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _parse(file: SourceFile) -> Document:
    try:
        return parse(file)
    except Exception as exc:  # not BaseException: Ctrl-C and exits still stop the build
        raise _Skip(parse_failure(exc)) from exc


def _segment(
    doc: Document, settings: Settings, first_chunk: int, first_sentence: int
) -> tuple[list[Chunk], list[Sentence]]:
    """One document's chunks and sentences, numbered on from the documents before it."""
    try:
        chunks = chunk_document(doc, settings.chunk, first_id=first_chunk)
    except Exception as exc:
        raise _Skip(failure("could not be chunked", exc)) from exc
    try:
        spans = sentence_spans(doc.text, settings.answer.max_quote_chars)
    except Exception as exc:
        raise _Skip(failure("could not be split into sentences", exc)) from exc
    return chunks, [Sentence(first_sentence + i, doc.doc_id, s, e) for i, (s, e) in enumerate(spans)]


def pool_chunk_vectors(
    chunks: list[Chunk], sentences: list[Sentence], sentence_vectors: np.ndarray
) -> tuple[np.ndarray, list[int]]:
    """Each chunk's vector as the mean of the vectors of the sentences it overlaps, each weighted by the characters
    they share, normalised; and the rows of the chunks no sentence overlaps (their rows are left zero). Chunk ids
    and sentence ids are their rows, as in a generation. Retrieval measured the same as embedding every chunk
    (docs/BENCHMARKS.md), for half the embedding work of a build."""
    out = np.zeros((len(chunks), sentence_vectors.shape[1]), np.float32)
    for row, (s, ids) in enumerate(zip(sentences, sentence_chunks(chunks, sentences), strict=True)):
        for cid in ids:
            c = chunks[cid]
            out[cid] += (min(s.end, c.end) - max(s.start, c.start)) * sentence_vectors[row]
    norms = np.linalg.norm(out, axis=1)
    reached = norms > 0
    out[reached] /= norms[reached, None]
    return out, [int(i) for i in np.flatnonzero(~reached)]


EMBED_BATCH = 256  #: texts embedded between two commits to the vector cache (what a kill can lose)


def _vectors(
    texts: list[str], previous: Generation | None, kind: str, embedder: Embedder, stage: StageFn,
    cache: VectorCache | None = None,
) -> tuple[np.ndarray, int]:
    """Vectors for ``texts``: the previous generation's vector of any identical text, else the one cached by an
    interrupted build, else embedded now (and cached batch by batch as it is computed)."""
    known: dict[str, int] = {}
    old_matrix = None
    if previous is not None and previous.manifest.get("embedder") == embedder.model_id:
        hashes = previous.chunk_hashes if kind == "chunk" else previous.sentence_hashes
        known = {h: i for i, h in enumerate(hashes)}
        old_matrix = previous.chunk_vectors() if kind == "chunk" else previous.sentence_vectors()
    hashes = [text_hash(t) for t in texts]
    missing = [i for i, h in enumerate(hashes) if h not in known]
    cached = cache.get_many([hashes[i] for i in missing]) if cache is not None and missing else {}
    todo = list(dict.fromkeys(hashes[i] for i in missing if hashes[i] not in cached))  # each text once
    first = {h: i for i, h in reversed(list(enumerate(hashes)))}
    fresh: dict[str, np.ndarray] = dict(cached)
    if todo:
        label = f"embed {kind}s"
        stage(label, 0, len(todo))
        for start in range(0, len(todo), EMBED_BATCH):
            batch = todo[start : start + EMBED_BATCH]
            vecs = embedder.embed_documents(
                [texts[first[h]] for h in batch],
                progress=lambda done, _total, base=start: stage(label, base + done, len(todo)),
            )
            got = list(zip(batch, vecs, strict=True))
            fresh.update(got)
            if cache is not None:
                cache.put_many(got)
            stage(label, start + len(batch), len(todo))
    if not texts:
        return np.zeros((0, old_matrix.shape[1] if old_matrix is not None else 0), np.float32), 0
    dim = next(iter(fresh.values())).shape[0] if fresh else old_matrix.shape[1]  # type: ignore[union-attr]
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for i, h in enumerate(hashes):
        out[i] = fresh[h] if h in fresh else old_matrix[known[h]]  # type: ignore[index]
    return out, len(todo)


def sources_changed(settings: Settings, generation: Generation) -> dict[str, list[str]]:
    """Cheap check (hash the files, embed nothing): how the sources on disk differ from the index."""
    try:
        scan = scan_sources(settings.sources_dir, int(settings.max_file_mb * 1e6))
    except LacqaError:
        return {"added": [], "changed": [], "removed": sorted(generation.manifest.get("sources", {}))}
    old = generation.manifest.get("sources", {})
    skips = generation.manifest.get("skipped", {})
    now = {f.source: f.sha256 for f in scan.files}
    return {
        "added": sorted(s for s in now if s not in old and not (s in skips and skips[s]["sha256"] == now[s])),
        "changed": sorted(s for s in now if s in old and old[s] != now[s]),
        "removed": sorted(s for s in old if s not in now),
    }
