"""The store protocol on both backends: the local FAISS + bm25s files and Qdrant (an in-process ``:memory:`` one,
shared by the build and the serving Assistant, as a server would be).

Tolerance, for the same library on both backends: every candidate list (dense chunks, dense sentences, BM25) holds
the same rows with scores within 1e-4, except where scores tie within 1e-4 at the cut; the top-5 documents of every
question of eval/dev.jsonl and the answers (text and citations) are identical.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lacqa.config import Settings
from lacqa.embed import HashEmbedder
from lacqa.errors import ConfigError, IndexCorruptError, StoreError
from lacqa.lexical import LexicalIndex
from lacqa.pipeline import Assistant
from lacqa.store import IndexDir
from lacqa.text import terms
from lacqa.vector_store import LocalStore, make_store

from .conftest import copy_seeds

qdrant_client = pytest.importorskip("qdrant_client")

from lacqa.qdrant_store import QdrantStore, bm25_rows  # after the skip: the module needs qdrant_client

DEV = Path(__file__).resolve().parent.parent / "eval" / "dev.jsonl"
QUESTIONS = [json.loads(line)["q"] for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
TOL = 1e-4


@pytest.fixture
def client() -> Any:
    c = qdrant_client.QdrantClient(location=":memory:")
    yield c
    c.close()


@pytest.fixture
def make_pair(tmp_path: Path, settings_factory: Callable[..., Settings], client: Any) -> Callable[..., tuple[Assistant, Assistant]]:
    """(local Assistant, Qdrant Assistant) over one copy of the seeds, each with its own index folder, built."""

    def make(**overrides: Any) -> tuple[Assistant, Assistant]:
        copy_seeds(tmp_path / "sources")
        local_settings = settings_factory(index_dir=tmp_path / "index-local", **overrides)
        remote_settings = settings_factory(index_dir=tmp_path / "index-qdrant", **overrides)
        remote_settings.store.backend, remote_settings.store.url = "qdrant", ":memory:"
        local = Assistant(local_settings, embedder=HashEmbedder())
        remote = Assistant(remote_settings, embedder=HashEmbedder(), store=make_store(remote_settings, client=client))
        for a in (local, remote):
            a.settings.answer.draft = False
            assert a.index().published
        return local, remote

    return make


def same_ranking(a: list[tuple[int, float]], b: list[tuple[int, float]]) -> None:
    """Same rows with the same scores (within TOL), rows whose score ties the cut excepted."""
    assert len(a) == len(b)
    assert np.allclose([s for _, s in a], [s for _, s in b], atol=TOL)
    if not a:
        return
    cut = min(a[-1][1], b[-1][1]) + TOL
    above_a = {r: s for r, s in a if s > cut}
    above_b = {r: s for r, s in b if s > cut}
    assert above_a.keys() == above_b.keys()
    for r, score in above_a.items():
        assert abs(score - above_b[r]) <= TOL


def stable(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer without what differs from run to run (the generation's name, timings)."""
    return {k: v for k, v in answer.items() if k not in {"generation", "latency_s", "timings"}}


# --------------------------------------------------------------------------- BM25 as a sparse dot product


def test_sparse_dot_product_is_the_bm25s_score() -> None:
    texts = ["Trade between China and Brazil grew in 2021.", "Brazil exports soy; soy trade grew again.", "",
             "The summit in Brasilia discussed trade, trade and more trade.", "Copper and lithium from Chile."]
    lexical = LexicalIndex(texts)
    vocab, rows = bm25_rows(lexical)
    ids = {t: i for i, t in enumerate(vocab)}
    for query in ["trade Brazil", "soy soy trade", "copper lithium Chile summit", "grew grew grew", "nothing here"]:
        counts: dict[int, int] = {}
        for t in terms(query):
            if t in ids:
                counts[ids[t]] = counts.get(ids[t], 0) + 1
        dots = [sum(counts.get(i, 0) * w for i, w in zip(*row, strict=True)) for row in rows]
        expected = dict(lexical.search(query, len(texts)))
        assert {r: s for r, s in enumerate(dots) if s > 0}.keys() == expected.keys()
        for r, s in expected.items():
            assert dots[r] == pytest.approx(s, rel=1e-6)


# --------------------------------------------------------------------------- one suite, both backends


@pytest.mark.parametrize("backend", ["local", "qdrant"])
def test_candidates_contract(backend: str, make_pair: Callable[..., tuple[Assistant, Assistant]]) -> None:
    assistant = dict(zip(["local", "qdrant"], make_pair(), strict=True))[backend]
    gen = assistant.generation()
    cand = gen.candidates
    vec = assistant.embedder.embed_query("trade between China and Latin America")
    for kind, matrix in (("chunk", gen.chunk_vectors()), ("sentence", gen.sentence_vectors())):
        found = cand.dense(kind, vec, 7)
        expected = np.sort(matrix @ vec)[::-1][:7]
        assert np.allclose([s for _, s in found], expected, atol=TOL)  # the k best, best first
        rows = [r for r, _ in found]
        assert np.allclose(cand.fetch(kind, rows), matrix[rows], atol=1e-6)
    hits = cand.lexical("trade trade Brasilia", 5)
    assert hits and all(s > 0 for _, s in hits) and [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert cand.lexical("zzzxqv", 5) == []
    assert assistant.store.current() == gen.name


def test_both_backends_propose_the_same_candidates_and_documents(
    make_pair: Callable[..., tuple[Assistant, Assistant]],
) -> None:
    local, remote = make_pair()
    lg, rg = local.generation(), remote.generation()
    assert type(rg.candidates).__name__ == "QdrantCandidates"
    for q in QUESTIONS:
        vec = local.embedder.embed_query(q)
        for kind in ("chunk", "sentence"):
            same_ranking(lg.candidates.dense(kind, vec, 40), rg.candidates.dense(kind, vec, 40))
        same_ranking(lg.candidates.lexical(q, 40), rg.candidates.lexical(q, 40))
        docs = [[h.chunk.doc_id for h in a.search(q, k=5)] for a in (local, remote)]
        assert docs[0] == docs[1], q


def test_both_backends_give_the_same_answers(make_pair: Callable[..., tuple[Assistant, Assistant]]) -> None:
    local, remote = make_pair()
    for q in QUESTIONS:
        a, b = (stable(x.ask(q, draft=False).to_json()) for x in (local, remote))
        assert a == b, q


# --------------------------------------------------------------------------- publishing, failures, pruning


def collections(client: Any, store: QdrantStore) -> list[str]:
    return sorted(c.name for c in client.get_collections().collections if c.name.startswith(store.alias + "-"))


def test_publish_switches_the_alias(make_pair: Callable[..., tuple[Assistant, Assistant]], tmp_path: Path,
                                    client: Any) -> None:
    _, remote = make_pair()
    store = remote.store
    assert isinstance(store, QdrantStore)
    first = store.current()
    (alias,) = [a for a in client.get_aliases().aliases if a.alias_name == store.alias]
    assert alias.collection_name == store.collection(first)
    assert IndexDir(remote.settings.index_dir).current() == first  # CURRENT follows, for the local backend
    (tmp_path / "sources" / "zz_new.txt").write_text("Notes\n\nThe quokka census of 2031 counted 9123 quokkas.\n")
    report = remote.index()
    assert report.published and store.current() == report.generation != first
    assert remote.generation().name == report.generation
    assert any(h.chunk.source == "zz_new.txt" for h in remote.search("quokka census", k=3))


class Dies(BaseException):
    """Stands for the build being killed: nothing in lacqa catches it."""


def test_a_build_that_dies_before_the_alias_switch_never_serves(
    make_pair: Callable[..., tuple[Assistant, Assistant]], tmp_path: Path, client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, remote = make_pair()
    store = remote.store
    assert isinstance(store, QdrantStore)
    first = store.current()
    before = remote.ask("Where did Xi Jinping deliver the keynote speech?", draft=False).to_json()
    (tmp_path / "sources" / "zz_new.txt").write_text("Notes\n\nThe quokka census of 2031 counted 9123 quokkas.\n")

    def die(self: IndexDir, name: str, tmp: Path) -> None:
        raise Dies  # uploaded, written, not yet installed nor published

    monkeypatch.setattr(IndexDir, "install", die)
    with pytest.raises(Dies):
        remote.index()
    monkeypatch.undo()
    assert len(collections(client, store)) == 2  # the new collection is complete but nothing names it
    assert store.current() == first
    again = Assistant(remote.settings, embedder=HashEmbedder(), store=store)  # a fresh server process
    assert again.generation().name == first
    assert stable(again.ask("Where did Xi Jinping deliver the keynote speech?", draft=False).to_json()) == stable(before)
    report = remote.index()
    assert report.published
    assert collections(client, store) == sorted([store.collection(first), store.collection(report.generation)])


def test_a_failed_upload_leaves_the_alias(make_pair: Callable[..., tuple[Assistant, Assistant]], tmp_path: Path,
                                          client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _, remote = make_pair()
    store = remote.store
    assert isinstance(store, QdrantStore)
    first = store.current()
    (tmp_path / "sources" / "zz_new.txt").write_text("Notes\n\nThe quokka census of 2031 counted 9123 quokkas.\n")
    real_upsert = client.upsert
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise ConnectionError("connection reset by peer")
        return real_upsert(*args, **kwargs)

    monkeypatch.setattr(client, "upsert", flaky)
    with pytest.raises(StoreError, match="connection reset by peer"):
        remote.index()
    assert store.current() == first and IndexDir(remote.settings.index_dir).current() == first
    assert remote.generation().name == first


def test_old_collections_and_folders_are_pruned(make_pair: Callable[..., tuple[Assistant, Assistant]],
                                                 tmp_path: Path, client: Any) -> None:
    _, remote = make_pair(keep_generations=2)
    store = remote.store
    assert isinstance(store, QdrantStore)
    names = [store.current()]
    for i in range(3):
        (tmp_path / "sources" / f"zz_{i}.txt").write_text(f"Notes {i}\n\nEntry {i} of the quokka log.\n")
        names.append(remote.index().generation)
    assert collections(client, store) == sorted(store.collection(n) for n in names[-2:])
    folders = sorted(p.name for p in IndexDir(remote.settings.index_dir).generations.iterdir())
    assert folders == sorted(names[-2:])


def test_a_collection_that_does_not_match_the_folder_is_refused(
    make_pair: Callable[..., tuple[Assistant, Assistant]], client: Any,
) -> None:
    _, remote = make_pair()
    store = remote.store
    assert isinstance(store, QdrantStore)
    collection = store.collection(store.current())
    client.delete(collection, points_selector=[0])
    embedder = HashEmbedder()
    fresh = Assistant(remote.settings, embedder=embedder, store=store)
    with pytest.raises(IndexCorruptError, match="rebuild"):
        fresh.generation()
    report = fresh.index()  # the sources did not change, the collection did: rebuilt, from the folder's vectors
    assert report.published and embedder.calls == 0
    assert fresh.generation().name == report.generation


# --------------------------------------------------------------------------- settings


def test_two_settings_select_qdrant(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LACQA_STORE__BACKEND", "qdrant")
    monkeypatch.setenv("LACQA_STORE__URL", ":memory:")
    settings = Settings(sources_dir=tmp_path / "s", index_dir=tmp_path / "i")
    assert settings.store.backend == "qdrant"
    assert isinstance(make_store(settings), QdrantStore)
    monkeypatch.delenv("LACQA_STORE__URL")
    with pytest.raises(ConfigError, match="LACQA_STORE__URL"):
        make_store(Settings(sources_dir=tmp_path / "s", index_dir=tmp_path / "i"))
    monkeypatch.delenv("LACQA_STORE__BACKEND")
    assert isinstance(make_store(Settings(sources_dir=tmp_path / "s", index_dir=tmp_path / "i")), LocalStore)


def test_an_unreachable_server_is_one_store_error(seeded_settings: Settings) -> None:
    seeded_settings.store.backend, seeded_settings.store.url = "qdrant", "http://127.0.0.1:9"
    seeded_settings.store.timeout_s = 2
    assistant = Assistant(seeded_settings, embedder=HashEmbedder())
    with pytest.raises(StoreError, match="LACQA_STORE__URL"):
        assistant.index()
    with pytest.raises(StoreError):
        assistant.generation()
