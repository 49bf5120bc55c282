"""Real models on the real seeds: the dev set's measured floors, the CLI ask contract, the API over HTTP."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lacqa.config import Settings
from lacqa.evaluate import load_set, run_pipeline, summarize
from lacqa.pipeline import Assistant
from tests.conftest import copy_seeds

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "gemma-3-270m-q4_k_m.gguf"
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not MODEL.is_file(), reason="run `make model` first: the bundled GGUF is missing"),
]


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    root = tmp_path_factory.mktemp("real")
    settings = Settings(sources_dir=copy_seeds(root / "sources"), index_dir=root / "index", model=MODEL)
    assistant = Assistant(settings)
    assistant.index()
    assistant.warm()
    return assistant


def test_eval_set_is_well_formed() -> None:
    from lacqa.load import load_documents
    from lacqa.verify import normalize

    library2 = {d.source: normalize(d.text) for d in load_documents(ROOT / "eval" / "library2", 20_000_000)[0]}
    for name in ("dev.jsonl", "heldout.jsonl", "heldout2.jsonl", "heldout3.jsonl", "library2.jsonl"):
        items = load_set(ROOT / "eval" / name)
        assert len({i.id for i in items}) == len(items)
        for it in items:
            if it.answerable and name == "library2.jsonl":  # a PDF and an HTML page: their extracted text
                assert it.answers and any(normalize(a) in library2[str(it.doc)] for a in it.answers), it.id
            elif it.answerable:
                text = normalize((ROOT / "seeds" / str(it.doc)).read_text(encoding="utf-8"))
                assert it.answers and all(normalize(a) in text for a in it.answers), it.id
            else:
                assert it.doc is None and not it.answers
    dev = load_set(ROOT / "eval" / "dev.jsonl")
    assert len(dev) >= 60
    assert sum(i.kind == "paraphrase" for i in dev) >= 10 and sum(not i.answerable for i in dev) >= 8


def test_dev_set_floors(real: Assistant) -> None:
    """Measured on this pipeline (see docs/BENCHMARKS.md); floors sit a little below the measurement."""
    s = summarize(run_pipeline(real, load_set(ROOT / "eval" / "dev.jsonl")))
    assert s["quotes_verbatim"] == 1.0
    assert s["unsupported_facts"] == 0
    assert s["accuracy"] >= 0.85, s
    assert s["false_abstention"] <= 0.08, s
    assert int(s["abstained_unanswerable"].split("/")[0]) >= 9, s


def test_cli_ask_json_and_jsonl(real: Assistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lacqa.cli import app

    monkeypatch.setenv("LACQA_SOURCES_DIR", str(real.settings.sources_dir))
    monkeypatch.setenv("LACQA_INDEX_DIR", str(real.settings.index_dir))
    monkeypatch.setenv("LACQA_MODEL", str(MODEL))
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(json.dumps({"id": "a", "q": "How much did China-LAC trade reach in 2021?"}) + "\n"
                     + json.dumps({"id": "b", "q": "Who won the 2014 FIFA World Cup?"}) + "\n")
    result = CliRunner().invoke(app, ["ask", "--jsonl", str(qfile)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [r["id"] for r in rows] == ["a", "b"]
    a, b = rows
    assert set(a) >= {"id", "answer", "abstained", "reason", "citations", "generation", "latency_s"}
    assert not a["abstained"] and a["citations"]
    gen = real.generation()
    for c in a["citations"]:
        assert set(c) >= {"n", "doc_id", "source", "title", "page", "start", "end", "quote"}
        assert gen.documents[c["doc_id"]].text[c["start"] : c["end"]] == c["quote"]
    assert b["abstained"] and b["reason"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_api_endpoints_with_gradio_client(real: Assistant) -> None:
    from gradio_client import Client

    from lacqa.web import launch

    real.settings.port = _free_port()
    demo = launch(real.settings, assistant=real, block=False)
    try:
        client = Client(f"http://127.0.0.1:{real.settings.port}/", verbose=False)
        answer = client.predict("When was the first ministerial meeting of the China-CELAC Forum held?", None,
                                api_name="/ask")
        assert "2015" in answer["answer"] + " ".join(c["quote"] for c in answer["citations"])
        assert answer["citations"] and answer["generation"] == real.generation().name
        status = client.predict(api_name="/status")
        assert status["documents"] == 5 and status["stale"] is False
        report = client.predict(api_name="/rebuild")
        assert set(report) >= {"generation", "added", "changed", "removed", "unchanged", "skipped", "documents",
                               "chunks", "seconds"}
        assert len(report["unchanged"]) == 5 and not report["published"]
    finally:
        demo.close()


def test_openai_client_plain_and_streaming(real: Assistant) -> None:
    import openai

    from lacqa.web import launch

    real.settings.port = _free_port()
    server = launch(real.settings, assistant=real, block=False)
    try:
        client = openai.OpenAI(base_url=f"{server.url}v1", api_key="unused", max_retries=0)
        assert "gemma-3-270m-q4_k_m" in [m.id for m in client.models.list()]
        messages = [{"role": "user", "content": "When was the first ministerial meeting of the China-CELAC Forum held?"}]
        resp = client.chat.completions.create(model="gemma-3-270m-q4_k_m", messages=messages)
        extra = resp.model_extra
        assert not extra["abstained"] and extra["citations"] and extra["generation"] == real.generation().name
        assert "2015" in resp.choices[0].message.content + " ".join(c["quote"] for c in extra["citations"])
        assert "[1]" in resp.choices[0].message.content
        chunks = list(client.chat.completions.create(model="lacqa", messages=messages, stream=True))
        assert "".join(c.choices[0].delta.content or "" for c in chunks) == resp.choices[0].message.content
        assert chunks[-1].model_extra["citations"] == extra["citations"]
    finally:
        server.close()


def test_a_stream_resumed_on_another_thread_leaves_the_model_usable(real: Assistant) -> None:
    """Web servers resume streaming generators on whichever worker thread is free."""
    import threading

    gen = real.generator
    assert gen is not None
    stream = gen.stream("The capital of France is", max_tokens=8, stop=["\n"], deadline_s=5.0)
    first = next(stream)
    rest: list[str] = []
    t = threading.Thread(target=lambda: rest.extend(stream))
    t.start()
    t.join(30)
    assert not t.is_alive() and (first + "".join(rest)).strip()
    done: list[int] = []
    t2 = threading.Thread(target=lambda: done.append(gen.count_tokens("still usable")))
    t2.start()
    t2.join(10)
    assert done, "the model's lock was left held"


def test_qdrant_backend_gives_the_same_documents_and_answers(real: Assistant, tmp_path: Path) -> None:
    """MiniLM and the shipped ranker on an in-process Qdrant: the top-5 documents and the quoted answers of every
    dev question are those of the local backend (measured: also every held-out question, 182 in all)."""
    qdrant_client = pytest.importorskip("qdrant_client")
    from lacqa.vector_store import make_store

    settings = Settings(sources_dir=real.settings.sources_dir, index_dir=tmp_path / "index", model=MODEL)
    settings.store.backend, settings.store.url = "qdrant", ":memory:"
    store = make_store(settings, client=qdrant_client.QdrantClient(location=":memory:"))
    remote = Assistant(settings, embedder=real.embedder, ranker=real.ranker, store=store)
    assert remote.index().published
    skip = {"generation", "latency_s", "timings"}
    for item in load_set(ROOT / "eval" / "dev.jsonl"):
        docs = [[h.chunk.doc_id for h in a.search(item.q, k=5)] for a in (real, remote)]
        assert docs[0] == docs[1], item.id
        local, other = ({k: v for k, v in a.ask(item.q, draft=False).to_json().items() if k not in skip}
                        for a in (real, remote))
        assert local == other, item.id


def test_reading_the_prompt_prefix_ahead_changes_no_draft() -> None:
    """Warm-up reads the few-shot start into the model's cache; the completion that reuses it writes what a
    cold model writes."""
    from lacqa.answer import FEW_SHOT, prompt_prefix
    from lacqa.generate import LlamaGenerator

    prompt = (FEW_SHOT + "Passage: The Harbour Lantern Festival was first held in 1987 by the fishermen of the bay.\n"
              "Question: When was the Harbour Lantern Festival first held?\nAnswer:")
    drafts = []
    for warm in (False, True):
        gen = LlamaGenerator(MODEL, n_ctx=1024, threads=2)  # a fresh model each time (not the shared one)
        if warm:
            assert prompt_prefix(gen) == FEW_SHOT
            gen.warm(prompt_prefix(gen))
            assert gen._llm.n_tokens > 100  # type: ignore[union-attr]
        drafts.append("".join(gen.stream(prompt, max_tokens=16, stop=["\n"])))
    assert drafts[0] == drafts[1] and "1987" in drafts[0]
