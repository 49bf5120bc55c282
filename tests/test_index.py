"""Index builds on the deterministic HashEmbedder: incremental rebuilds, errors, generations and the manifest."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from lacqa import store
from lacqa.build import build_index, pool_chunk_vectors
from lacqa.config import Settings
from lacqa.embed import HashEmbedder
from lacqa.errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexMissingError,
    QuestionError,
    SourceError,
)
from lacqa.pipeline import Assistant
from lacqa.store import IndexDir, Sentence, open_current
from lacqa.types import Chunk

SEED_002 = "002_a8c474377287d56e.txt"  # Xinhua piece on Hu Jintao's 2008 trip
SEED_003 = "003_acab50e75382f0ba.txt"


def seed_names(settings: Settings) -> list[str]:
    return sorted(p.name for p in Path(settings.sources_dir).iterdir())


def generations(settings: Settings) -> list[str]:
    return sorted(p.name for p in (Path(settings.index_dir) / "generations").iterdir())


def current(settings: Settings) -> str | None:
    return IndexDir(settings.index_dir).current()


def append_line(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + "\n" + line + "\n", encoding="utf-8")


@pytest.fixture
def built(hash_assistant: Assistant) -> Assistant:
    """The seed copy, indexed once with the HashEmbedder."""
    report = hash_assistant.index()
    assert report.published
    return hash_assistant


# --------------------------------------------------------------------------- build, status, search


def test_build_then_status_and_search(hash_assistant: Assistant) -> None:
    settings = hash_assistant.settings
    report = hash_assistant.index()
    assert report.published and not report.dry_run
    assert report.added == seed_names(settings)
    assert report.changed == report.removed == report.unchanged == report.skipped == []
    assert report.documents == 5 and report.chunks > 100
    assert report.embedded == hash_assistant.embedder.calls > report.chunks  # chunks and sentences
    assert report.generation == current(settings)

    status = hash_assistant.status()
    assert status["generation"] == report.generation
    assert (status["documents"], status["chunks"]) == (5, report.chunks)
    assert status["model"] == "hash-bow-64" and status["dimension"] == 64
    assert status["stale"] is False

    hits = hash_assistant.search("Hu Jintao visited Costa Rica, Cuba and Peru", k=5)
    assert 1 <= len(hits) <= 5
    gen = hash_assistant.generation()
    for hit in hits:
        doc = gen.documents[hit.chunk.doc_id]
        assert doc.text[hit.chunk.start : hit.chunk.end] == hit.chunk.text
        assert hit.chunk.source == doc.source and hit.chunk.title == doc.title
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert SEED_002 in [h.chunk.source for h in hits]


def test_empty_question_is_refused(built: Assistant) -> None:
    with pytest.raises(QuestionError):
        built.search("   ")


def test_noop_rebuild_publishes_and_embeds_nothing(built: Assistant) -> None:
    settings, embedder = built.settings, built.embedder
    before_current, before_gens, calls = current(settings), generations(settings), embedder.calls
    report = built.index()
    assert not report.published and report.embedded == 0
    assert embedder.calls == calls
    assert report.unchanged == seed_names(settings)
    assert report.added == report.changed == report.removed == []
    assert report.generation == before_current == current(settings)
    assert generations(settings) == before_gens
    assert report.documents == 5


def test_modified_file_re_embeds_only_new_text(built: Assistant) -> None:
    settings, embedder = built.settings, built.embedder
    full = embedder.calls
    path = Path(settings.sources_dir) / SEED_002
    append_line(path, "A closing remark about penguins of Tierra del Fuego watching the summit.")
    assert built.status()["stale"] is True
    assert built.status()["changes"]["changed"] == [SEED_002]

    old = current(settings)
    report = built.index()
    grown = embedder.calls - full
    assert report.published and report.generation != old
    assert report.changed == [SEED_002]
    assert report.added == report.removed == []
    assert sorted(report.unchanged) == sorted(set(seed_names(settings)) - {SEED_002})
    assert 0 < grown == report.embedded <= 10, f"{grown} texts re-embedded after a one-line edit (full build: {full})"
    hits = built.search("penguins of Tierra del Fuego", k=3)
    assert hits[0].chunk.source == SEED_002 and "penguins" in hits[0].chunk.text


def test_edit_in_the_middle_re_embeds_far_less_than_a_full_build(built: Assistant) -> None:
    settings, embedder = built.settings, built.embedder
    full = embedder.calls
    path = Path(settings.sources_dir) / "004_96957fa1265ff0cc.txt"
    text = path.read_text(encoding="utf-8")
    cut = text.index(". ", len(text) // 2)
    path.write_text(text[:cut] + ", and also tin" + text[cut:], encoding="utf-8")
    report = built.index()
    assert report.changed == [path.name]
    assert 0 < embedder.calls - full < full // 10


def test_added_file_is_reported_and_searchable(built: Assistant) -> None:
    settings = built.settings
    (Path(settings.sources_dir) / "zz_new.md").write_text(
        "# Quinoa Notes\n\nQuinoa farmers on the Altiplano sold their harvest to Shanghai importers.\n"
    )
    report = built.index()
    assert report.added == ["zz_new.md"] and report.changed == report.removed == []
    assert report.documents == 6
    hits = built.search("quinoa farmers Altiplano", k=3)
    assert hits[0].chunk.source == "zz_new.md" and hits[0].chunk.title == "Quinoa Notes"


def test_removed_file_disappears_from_search(built: Assistant) -> None:
    settings = built.settings
    gen = built.generation()
    doc_id = next(d.doc_id for d in gen.documents.values() if d.source == SEED_002)
    query = "Hu Jintao Costa Rica Cuba Peru South-South Cooperation Xinhua"
    assert doc_id in {h.chunk.doc_id for h in built.search(query, k=10)}

    (Path(settings.sources_dir) / SEED_002).unlink()
    report = built.index()
    assert report.removed == [SEED_002] and report.added == report.changed == []
    assert report.documents == 4
    gen = built.generation()
    assert doc_id not in gen.documents
    assert all(c.doc_id != doc_id for c in gen.chunks)
    assert doc_id not in {h.chunk.doc_id for h in built.search(query, k=20)}


def test_dry_run_reports_but_changes_nothing(built: Assistant) -> None:
    settings, embedder = built.settings, built.embedder
    append_line(Path(settings.sources_dir) / SEED_003, "One more sentence about the forum.")
    before, gens, calls = current(settings), generations(settings), embedder.calls
    report = built.index(dry_run=True)
    assert report.dry_run and not report.published
    assert report.changed == [SEED_003] and report.documents == 5
    assert (current(settings), generations(settings), embedder.calls) == (before, gens, calls)


def test_rebuild_with_nothing_readable_raises_and_previous_generation_keeps_serving(built: Assistant) -> None:
    settings = built.settings
    before = current(settings)
    for name in seed_names(settings):
        (Path(settings.sources_dir) / name).unlink()
    (Path(settings.sources_dir) / "notes.docx").write_bytes(b"PK\x03\x04")
    (Path(settings.sources_dir) / "empty.txt").write_bytes(b"")
    with pytest.raises(SourceError, match="nothing to index") as info:
        built.index()
    assert "previous index" in str(info.value)
    assert current(settings) == before
    fresh = Assistant(settings, embedder=HashEmbedder())
    assert fresh.search("China-CELAC Forum ministerial meeting", k=3)


def test_missing_sources_folder_raises_source_error(settings_factory: Callable[..., Settings]) -> None:
    with pytest.raises(SourceError, match="not found"):
        build_index(settings_factory(), HashEmbedder())


# --------------------------------------------------------------------------- a damaged or missing index


def test_missing_index_raises_and_says_to_run_lacqa_index(hash_assistant: Assistant) -> None:
    with pytest.raises(IndexMissingError, match="lacqa index"):
        hash_assistant.search("anything at all")
    assert hash_assistant.status()["generation"] is None


def test_corrupt_vectors_are_detected_on_open(built: Assistant) -> None:
    settings = built.settings
    folder = IndexDir(settings.index_dir).path_of(current(settings))
    faiss_file = folder / "chunks.faiss"
    data = bytearray(faiss_file.read_bytes())
    data[100:164] = os.urandom(64)
    faiss_file.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match="rebuild") as info:
        open_current(IndexDir(settings.index_dir))
    assert "chunks.faiss" in str(info.value) and "lacqa index" in str(info.value)
    with pytest.raises(IndexCorruptError):
        Assistant(settings, embedder=HashEmbedder()).search("trade")

    # a rebuild does not trust the damaged generation: it re-embeds everything and serves again
    embedder = HashEmbedder()
    report = Assistant(settings, embedder=embedder).index()
    assert report.published and report.embedded == embedder.calls > report.chunks
    assert Assistant(settings, embedder=HashEmbedder()).search("trade", k=2)


@pytest.mark.parametrize(
    "damage",
    [
        lambda folder: (folder / "manifest.json").write_text("{not json"),
        lambda folder: (folder / "manifest.json").unlink(),
        lambda folder: (folder / "index.sqlite").unlink(),
        lambda folder: (folder / "sentences.faiss").write_bytes(b"\x00" * 10),
    ],
    ids=["manifest-garbage", "manifest-missing", "sqlite-missing", "sentences-truncated"],
)
def test_other_damage_is_reported_as_corrupt(built: Assistant, damage: Callable[[Path], object]) -> None:
    index_dir = IndexDir(built.settings.index_dir)
    damage(index_dir.path_of(index_dir.current()))
    with pytest.raises(IndexCorruptError, match="lacqa index"):
        open_current(index_dir)


def test_current_naming_a_missing_generation_is_corrupt(built: Assistant) -> None:
    index_dir = IndexDir(built.settings.index_dir)
    index_dir.pointer.write_text("g-19990101T000000-000000\n")
    with pytest.raises(IndexCorruptError, match="lacqa index"):
        open_current(index_dir)


def test_query_embedder_of_another_dimension_is_refused(built: Assistant) -> None:
    other = Assistant(built.settings, embedder=HashEmbedder(dim=32))
    with pytest.raises(IndexMismatchError, match="lacqa index"):
        other.search("trade between China and Latin America")


class RenamedHashEmbedder(HashEmbedder):
    """Same vectors size as the index, but another model: its vectors live in another space."""

    @property
    def model_id(self) -> str:
        return "another-model-64"


def test_query_embedder_of_another_model_is_refused(built: Assistant) -> None:
    other = Assistant(built.settings, embedder=RenamedHashEmbedder())
    with pytest.raises(IndexMismatchError):
        other.search("trade between China and Latin America")


# --------------------------------------------------------------------------- lock, generations, manifest


def test_a_second_build_while_the_lock_is_held_raises(hash_assistant: Assistant) -> None:
    settings = hash_assistant.settings
    with IndexDir(settings.index_dir).lock():
        with pytest.raises(IndexLockedError, match="another build"):
            build_index(settings, HashEmbedder())
        t0 = time.monotonic()
        with pytest.raises(IndexLockedError):
            build_index(settings, HashEmbedder(), lock_timeout=0.3)
        assert time.monotonic() - t0 >= 0.3
    assert current(settings) is None
    assert build_index(settings, HashEmbedder()).published  # released with the block


def control_generation_names(monkeypatch: pytest.MonkeyPatch, stamps: Iterator[str], suffixes: Iterator[bytes]) -> None:
    """Make store.IndexDir.new_generation_dir use the given timestamps and random suffixes."""

    class Proxy:
        """The real module, with some functions replaced."""

        def __init__(self, module: object, **replaced: object) -> None:
            self._module, self._replaced = module, replaced

        def __getattr__(self, name: str) -> object:
            return self._replaced[name] if name in self._replaced else getattr(self._module, name)

    monkeypatch.setattr(store, "time", Proxy(time, strftime=lambda fmt, t=None: next(stamps)))
    monkeypatch.setattr(store, "os", Proxy(os, urandom=lambda n: next(suffixes)))


def build_n_times(settings: Settings, n: int) -> list[str]:
    names = []
    for i in range(n):
        (Path(settings.sources_dir) / f"extra_{i}.txt").write_text(f"Extra note number {i} about lithium exports.\n")
        report = build_index(settings, HashEmbedder())
        assert report.published
        names.append(report.generation)
    return names


def test_old_generations_are_pruned(
    seeded_settings: Settings, settings_factory: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    # one build per second, as the generation names (second resolution) assume
    stamps = iter(f"g-20260101T0000{s:02d}" for s in range(60))
    control_generation_names(monkeypatch, stamps, iter(os.urandom(3) for _ in range(60)))
    settings = settings_factory(keep_generations=2)
    names = build_n_times(settings, 4)
    assert len(set(names)) == 4
    assert generations(settings) == sorted(names[-2:])
    assert current(settings) == names[-1]
    assert not [p for p in (Path(settings.index_dir) / "generations").iterdir() if p.name.startswith(".tmp-")]


def test_generations_built_within_one_second_are_pruned_oldest_first(
    seeded_settings: Settings, settings_factory: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    # four builds in the same second whose random suffixes happen to decrease
    control_generation_names(
        monkeypatch,
        iter(["g-20260101T000000"] * 4),
        iter([b"\xff\x00\x00", b"\xc0\x00\x00", b"\x80\x00\x00", b"\x10\x00\x00"]),
    )
    settings = settings_factory(keep_generations=2)
    names = build_n_times(settings, 4)
    assert generations(settings) == sorted(names[-2:])


def test_manifest_records_what_built_the_index(built: Assistant) -> None:
    settings = built.settings
    gen = built.generation()
    manifest = json.loads((gen.folder / "manifest.json").read_text())
    assert manifest["generation"] == gen.name == current(settings)
    assert manifest["embedder"] == "hash-bow-64"
    assert manifest["dimension"] == 64
    assert manifest["chunker"] == {"size": settings.chunk.size, "overlap": settings.chunk.overlap,
                                   "splitter": "recursive", "vectors": "pooled"}
    sources = Path(settings.sources_dir)
    assert manifest["sources"] == {
        name: hashlib.sha256((sources / name).read_bytes()).hexdigest() for name in seed_names(settings)
    }
    assert manifest["counts"] == {"documents": 5, "chunks": len(gen.chunks), "sentences": len(gen.sentences)}
    core = {"index.sqlite", "chunks.faiss", "sentences.faiss"}
    assert core <= set(manifest["files"])
    assert {f for f in manifest["files"] if f not in core} == {  # BM25 and term tables made at index time
        f"derived/{p.relative_to(gen.folder / 'derived')}" for p in (gen.folder / "derived").rglob("*") if p.is_file()}
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((gen.folder / name).read_bytes()).hexdigest() == digest
    assert manifest["built_at"]


def test_changed_chunk_settings_rebuild_documents(built: Assistant) -> None:
    old_chunks = len(built.generation().chunks)
    settings = built.settings.model_copy(update={"chunk": built.settings.chunk.model_copy(update={"size": 800})})
    embedder = HashEmbedder()
    report = build_index(settings, embedder)
    assert report.published
    gen = open_current(IndexDir(settings.index_dir))
    assert gen.manifest["chunker"]["size"] == 800
    assert 0 < report.chunks < old_chunks
    # the sentences did not change and the embedder is the same: the new chunks' vectors are pooled from the
    # sentences' vectors already made, and nothing is embedded
    assert embedder.calls == report.embedded == 0
    assert (gen.chunk_vectors() == pool_chunk_vectors(gen.chunks, gen.sentences, gen.sentence_vectors())[0]).all()


def test_embedded_chunk_vectors_are_never_taken_from_pooled_ones(built: Assistant) -> None:
    """Switching to chunks embedded on their own embeds every chunk: a pooled vector of the same text is not one."""
    settings = built.settings.model_copy(
        update={"chunk": built.settings.chunk.model_copy(update={"vectors": "embedded"})})
    embedder = HashEmbedder()
    report = build_index(settings, embedder)
    gen = open_current(IndexDir(settings.index_dir))
    assert report.published and gen.manifest["chunker"]["vectors"] == "embedded"
    assert embedder.calls == report.embedded == len(set(gen.chunk_hashes))  # sentences reused, every chunk embedded
    assert (gen.chunk_vectors() == HashEmbedder().embed_documents([c.text for c in gen.chunks])).all()
    # and back: pooled again, from the sentences, nothing embedded
    again = HashEmbedder()
    report = build_index(built.settings, again)
    assert report.published and again.calls == 0
    assert built.search("China-CELAC Forum", k=2)


def test_pooled_vector_weighs_sentences_by_shared_characters() -> None:
    text = "aaaa bbbb. cccc dddd. eeee."
    sents = [Sentence(0, "d", 0, 10), Sentence(1, "d", 11, 21), Sentence(2, "d", 22, 27)]
    chunk = lambda i, s, e: Chunk(i, "d", "d.txt", "d", s, e, text[s:e])
    chunks = [chunk(0, 0, 21), chunk(1, 5, 15), chunk(2, 22, 27), Chunk(3, "other", "o.txt", "o", 0, 4, "xxxx")]
    vecs = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    out, alone = pool_chunk_vectors(chunks, sents, vecs)
    assert np.allclose(out[0], np.array([1, 1, 0]) / np.sqrt(2))  # 10 and 10 characters shared
    assert np.allclose(out[1], np.array([5, 4, 0]) / np.sqrt(41))  # "bbbb." (5) and "cccc" (4)
    assert np.allclose(out[2], [0, 0, 1])
    assert alone == [3] and not out[3].any()  # no sentence of its document: embedded on its own by the build


def test_changed_embedder_re_embeds_everything(built: Assistant) -> None:
    settings = built.settings
    first_full = built.embedder.calls
    embedder = HashEmbedder(dim=32)
    other = Assistant(settings, embedder=embedder)
    report = other.index()
    assert report.published
    assert embedder.calls == report.embedded == first_full, "no vector of the old model may be reused"
    manifest = other.generation().manifest
    assert (manifest["embedder"], manifest["dimension"]) == ("hash-bow-32", 32)
    assert other.generation().chunk_vectors().shape[1] == 32
    assert other.search("China-CELAC Forum", k=2)


def test_assistant_follows_a_rebuild_made_elsewhere(built: Assistant) -> None:
    settings = built.settings
    reader = Assistant(settings, embedder=HashEmbedder())
    first = reader.generation().name
    (Path(settings.sources_dir) / "late.txt").write_text("Late Note\nGuano exports from the Chincha islands.\n")
    build_index(settings, HashEmbedder())
    assert reader.generation().name != first
    assert reader.search("guano Chincha islands", k=1)[0].chunk.source == "late.txt"


def test_unreadable_file_is_skipped_once_and_added_when_fixed(built: Assistant) -> None:
    settings, embedder = built.settings, built.embedder
    bad = Path(settings.sources_dir) / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4\n" + b"\x13\x37" * 500)
    first = built.index()
    assert first.published and first.added == [] and first.changed == []
    assert [s.source for s in first.skipped] == ["broken.pdf"] and "PDF" in first.skipped[0].reason

    calls = embedder.calls
    again = built.index()  # same bytes: still skipped, nothing rebuilt
    assert not again.published and embedder.calls == calls
    assert [s.source for s in again.skipped] == ["broken.pdf"]
    assert built.status()["stale"] is False

    bad.unlink()
    (Path(settings.sources_dir) / "broken.md").write_text("# Fixed\n\nThe fixed note mentions vicuña fibre.\n")
    fixed = built.index()
    assert fixed.added == ["broken.md"] and fixed.skipped == [] and fixed.removed == []


def test_files_are_hashed_again_only_when_they_change(small_library, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """verify_files keeps each file's (size, mtime) from its last match: unchanged files are not re-hashed, and a
    file rewritten in place (same size, new mtime) is hashed and caught."""
    import os

    import pytest

    from lacqa import store
    from lacqa.errors import IndexCorruptError

    assistant = small_library({"a.txt": "Harbour\nThe harbour opened in 1901 after ten years of work.\n"})
    gen = assistant.generation()
    folder, manifest = gen.folder, gen.manifest
    store.verify_files(folder, manifest)
    hashed: list[str] = []
    real = store.sha256_file
    monkeypatch.setattr(store, "sha256_file", lambda p: hashed.append(p.name) or real(p))
    store.verify_files(folder, manifest)
    assert hashed == []  # nothing changed since the last match
    victim = folder / next(iter(manifest["files"]))
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    st = victim.stat()
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # a later write, whatever the clock's grain
    with pytest.raises(IndexCorruptError, match="damaged"):
        store.verify_files(folder, manifest)
    assert victim.name in hashed
    (folder / store.VERIFIED).write_text("not json")  # a damaged cache only means hashing everything again
    with pytest.raises(IndexCorruptError):
        store.verify_files(folder, manifest)


def test_chunks_without_any_sentence_are_embedded_on_their_own(
    hash_assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A library whose documents give no sentence at all still builds: every chunk is embedded itself."""
    import lacqa.build as build

    monkeypatch.setattr(build, "sentence_spans", lambda text, max_chars: [])
    embedder = HashEmbedder()
    report = build_index(hash_assistant.settings, embedder)
    gen = open_current(IndexDir(hash_assistant.settings.index_dir))
    assert report.published and not gen.sentences
    assert report.embedded == embedder.calls == len(set(gen.chunk_hashes))
    assert (gen.chunk_vectors() == HashEmbedder().embed_documents([c.text for c in gen.chunks])).all()
