"""The OpenAI-compatible API (/v1) read with the official `openai` client against the running app (fakes for the
models), its errors, its bounds, and that the web chat mounted beside it keeps its options."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from lacqa.config import Settings
from lacqa.embed import HashEmbedder
from lacqa.generate import ScriptedGenerator
from lacqa.openai_api import ApiError, OpenAIApi, create_app, deltas, question_and_history
from lacqa.pipeline import Assistant
from lacqa.types import Answer
from tests.conftest import copy_seeds

openai = pytest.importorskip("openai")

KEY = "test-key-123"
Q = "When was the First Ministerial Meeting of the China-CELAC Forum held?"
OFF_TOPIC = "Which team won the 2014 FIFA World Cup final in football?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """The real server (web chat + /v1) on a free port, over the seeds on the fake embedder and generator,
    with an API key; two stand-in GGUF files so that model ids can be listed."""
    from lacqa.web import launch

    root = tmp_path_factory.mktemp("api")
    models = root / "models"
    models.mkdir()
    for name in ("alpha.gguf", "beta.gguf"):
        (models / name).write_bytes(b"GGUF")
    settings = Settings(sources_dir=copy_seeds(root / "sources"), index_dir=root / "index", models_dir=models,
                        model=models / "alpha.gguf", port=_free_port(), api_key=KEY)
    settings.answer.ranker = "off"
    assistant = Assistant(settings, embedder=HashEmbedder(), generator=ScriptedGenerator(default=""))
    assistant.index()
    server = launch(settings, assistant=assistant, block=False)
    try:
        yield SimpleNamespace(url=server.url, assistant=assistant, settings=settings, server=server,
                              client=openai.OpenAI(base_url=f"{server.url}v1", api_key=KEY, max_retries=0))
    finally:
        server.close()


def _ask(served: SimpleNamespace, messages: list[dict[str, Any]], **kw: Any) -> Any:
    return served.client.chat.completions.create(model="lacqa", messages=messages, **kw)


# ----------------------------------------------------------------------------- the answer


def test_a_completion_carries_the_answer_and_its_citations(served: SimpleNamespace) -> None:
    resp = _ask(served, [{"role": "system", "content": "Answer in French."}, {"role": "user", "content": Q}])
    expected = served.assistant.ask(Q).to_json()
    assert resp.object == "chat.completion" and resp.model == "lacqa"
    assert resp.choices[0].message.role == "assistant" and resp.choices[0].finish_reason == "stop"
    assert resp.choices[0].message.content == expected["answer"] and "[1]" in expected["answer"]
    extra = resp.model_extra
    assert extra["citations"] == expected["citations"] and extra["citations"]  # the objects of `lacqa ask --json`
    assert extra["abstained"] is False and extra["reason"] is None
    assert extra["generation"] == served.assistant.generation().name
    assert resp.model_dump()["citations"] == expected["citations"]
    gen = served.assistant.generation()
    for c in extra["citations"]:
        assert gen.documents[c["doc_id"]].text[c["start"]:c["end"]] == c["quote"]


def test_an_abstention_reads_as_one_with_its_reason(served: SimpleNamespace) -> None:
    resp = _ask(served, [{"role": "user", "content": OFF_TOPIC}])
    extra = resp.model_extra
    assert extra["abstained"] is True and extra["reason"] and extra["citations"] == []
    assert resp.choices[0].message.content == f"The sources do not say: {extra['reason']}."


def test_a_follow_up_is_read_against_the_earlier_questions(served: SimpleNamespace) -> None:
    follow = "Where was it held?"
    resp = _ask(served, [{"role": "user", "content": Q}, {"role": "assistant", "content": "In 2015 [1]."},
                         {"role": "user", "content": [{"type": "text", "text": follow}]}])
    with_history = served.assistant.ask(follow, history=[Q]).to_json()
    alone = served.assistant.ask(follow).to_json()
    assert with_history["citations"] != alone["citations"], "the pair must tell history from none"
    assert resp.model_extra["citations"] == with_history["citations"]
    assert resp.choices[0].message.content == with_history["answer"]


def test_streaming_sends_deltas_then_the_citations_then_done(served: SimpleNamespace) -> None:
    plain = _ask(served, [{"role": "user", "content": Q}])
    chunks = list(_ask(served, [{"role": "user", "content": Q}], stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == plain.choices[0].message.content
    assert sum(bool(c.choices[0].delta.content) for c in chunks) > 3, "the answer arrives in pieces"
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop" and not last.choices[0].delta.content
    assert last.model_extra["citations"] == plain.model_extra["citations"]
    assert {"abstained", "reason", "generation"} <= set(last.model_extra)
    assert all("citations" not in (c.model_extra or {}) for c in chunks[:-1])
    with httpx.stream("POST", f"{served.url}v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                      json={"model": "lacqa", "stream": True, "messages": [{"role": "user", "content": Q}]}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = [line for line in r.iter_lines() if line]
    assert events[-1] == "data: [DONE]" and all(e.startswith("data: ") for e in events)
    assert "citations" in json.loads(events[-2][len("data: "):])


def test_the_models_are_lacqa_and_one_per_gguf(served: SimpleNamespace) -> None:
    assert [m.id for m in served.client.models.list()] == ["lacqa", "alpha", "beta"]
    assert served.client.models.retrieve("alpha").id == "alpha"
    resp = served.client.chat.completions.create(model="alpha", messages=[{"role": "user", "content": Q}])
    assert resp.model == "alpha" and resp.model_extra["citations"]  # the model in use: nothing reloaded


def test_many_clients_at_once_are_all_answered(served: SimpleNamespace) -> None:
    from concurrent.futures import ThreadPoolExecutor

    questions = [Q, OFF_TOPIC, "Which countries did Chinese President Hu Jintao visit?"]

    def ask(i: int) -> tuple[str, dict[str, Any]]:
        messages = [{"role": "user", "content": questions[i % 3]}]
        if i % 2:
            chunks = list(_ask(served, messages, stream=True))
            return "".join(c.choices[0].delta.content or "" for c in chunks), chunks[-1].model_extra
        resp = _ask(served, messages)
        return resp.choices[0].message.content, resp.model_extra

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(ask, range(24)))
    for i, (text, extra) in enumerate(results):
        assert text == results[i % 6][0] and extra["citations"] == results[i % 6][1]["citations"]
        assert extra["abstained"] == (i % 3 == 1)


# ----------------------------------------------------------------------------- errors


def _error(exc: pytest.ExceptionInfo[Any]) -> dict[str, Any]:
    body = exc.value.response.json()
    assert set(body) == {"error"} and isinstance(body["error"]["message"], str) and body["error"]["type"]
    return body["error"]


def test_bad_requests_are_400_with_an_openai_error(served: SimpleNamespace) -> None:
    for messages in ([], [{"role": "assistant", "content": "hello"}], [{"role": "user", "content": "   "}],
                     [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}],
                     [{"role": "wizard", "content": Q}]):
        with pytest.raises(openai.BadRequestError) as exc:
            _ask(served, messages)
        assert _error(exc)["type"] == "invalid_request_error"
    with pytest.raises(openai.BadRequestError):
        _ask(served, [{"role": "user", "content": Q}], n=2)
    r = httpx.post(f"{served.url}v1/chat/completions", headers={"Authorization": f"Bearer {KEY}",
                   "Content-Type": "text/plain"}, content=json.dumps({"messages": [{"role": "user", "content": Q}]}))
    assert r.status_code == 415 and r.json()["error"]["type"] == "invalid_request_error"
    r = httpx.post(f"{served.url}v1/chat/completions", headers={"Authorization": f"Bearer {KEY}",
                   "Content-Type": "application/json; charset=utf-8"}, content=b"{not json")
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]["message"]
    r = httpx.post(f"{served.url}v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"}, json={"model": "lacqa"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages"


def test_an_unknown_model_or_path_is_404(served: SimpleNamespace) -> None:
    with pytest.raises(openai.NotFoundError) as exc:
        served.client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": Q}])
    assert _error(exc)["code"] == "model_not_found" and "alpha" in _error(exc)["message"]
    r = httpx.get(f"{served.url}v1/embeddings", headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_url"


def test_a_missing_or_wrong_key_is_401(served: SimpleNamespace) -> None:
    wrong = openai.OpenAI(base_url=f"{served.url}v1", api_key=KEY + "x", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as exc:
        wrong.chat.completions.create(model="lacqa", messages=[{"role": "user", "content": Q}])
    assert _error(exc)["code"] == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()
    for headers in ({}, {"Authorization": KEY}, {"Authorization": f"Basic {KEY}"}):
        r = httpx.get(f"{served.url}v1/models", headers=headers)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_the_web_chat_is_served_beside_the_api_with_its_options(served: SimpleNamespace) -> None:
    page = httpx.get(served.url)
    assert page.status_code == 200 and "<html" in page.text.lower()
    config = httpx.get(f"{served.url}config").json()
    assert "lq-card" in config["css"] and config["theme"] == "soft"
    assert config["max_file_size"] == int(served.settings.max_file_mb) * 2**20  # gradio's "mb" is 2**20 bytes
    source = next(Path(served.settings.sources_dir).glob("*.txt")).resolve()
    r = httpx.get(f"{served.url}gradio_api/file={source}")
    assert r.status_code == 403 and source.read_text(encoding="utf-8")[:60] not in r.text
    blocked = set(served.server.demo.blocked_paths)
    assert {str(Path(d).resolve()) for d in (served.settings.sources_dir, served.settings.index_dir,
                                             served.settings.models_dir)} <= blocked
    assert served.server.demo._queue.max_size == served.settings.queue_size
    r = httpx.get(f"{served.url}v1/models")  # the key guards the API, not the page
    assert r.status_code == 401


# ----------------------------------------------------------------------------- without the server


def _client(assistant: Any, api_key: str | None = None) -> Any:
    from fastapi.testclient import TestClient

    app, api = create_app(assistant, api_key)
    return TestClient(app), api


def test_no_index_yet_is_503(settings_factory: Any) -> None:
    settings = settings_factory()
    copy_seeds(Path(settings.sources_dir))
    client, api = _client(Assistant(settings, embedder=HashEmbedder(), generator=ScriptedGenerator(default="")))
    try:
        for stream in (False, True):
            r = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": Q}],
                                                           "stream": stream})
            assert r.status_code == 503 and r.json()["error"]["code"] == "index_unavailable"
            assert "lacqa index" in r.json()["error"]["message"]
        assert client.get("/v1/models").status_code == 200  # no key set: none asked for
    finally:
        api.close()


def test_naming_another_gguf_switches_the_model_as_the_dropdown_does(settings_factory: Any, tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    for name in ("alpha.gguf", "beta.gguf"):
        (models / name).write_bytes(b"GGUF")
    settings = settings_factory(models_dir=models)
    settings.answer.draft = False  # no model is loaded, so switching is only bookkeeping
    api = OpenAIApi(Assistant(settings, embedder=HashEmbedder()))
    try:
        assert settings.resolve_model().name == "alpha.gguf"
        api.use(api.model_path("lacqa"))
        assert settings.model is None
        api.use(api.model_path("beta"))
        assert Path(str(settings.model)).name == "beta.gguf"
        api.use(api.model_path("alpha"))
        assert settings.resolve_model().name == "alpha.gguf"
        with pytest.raises(ApiError) as exc:
            api.model_path("alpha.gguf")
        assert exc.value.status == 404
    finally:
        api.close()


class _Gate:
    """An assistant whose asks wait until the gate opens (and count how many run at once)."""

    def __init__(self, settings: Settings, answer: Answer) -> None:
        self.settings, self.answer, self.gate = settings, answer, threading.Event()
        self.running = self.peak = 0
        self.lock = threading.Lock()

    def ask_stream(self, question: str, k: int | None = None, history: list[str] | None = None) -> Iterator[Any]:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        self.gate.wait(10)
        with self.lock:
            self.running -= 1
        yield self.answer


def test_asks_are_bounded_and_a_full_queue_is_429(settings_factory: Any) -> None:
    settings = settings_factory(concurrency=2, queue_size=1)
    answer = Answer(question=Q, text="In 2015 [1].", abstained=False, reason=None, citations=(), generation="g")
    gate = _Gate(settings, answer)
    api = OpenAIApi(gate)

    async def run() -> list[Any]:
        asks = [api.start(Q, [], None, None) for _ in range(3)]  # 2 running + 1 waiting: the capacity
        with pytest.raises(ApiError) as exc:
            api.start(Q, [], None, None)
        assert exc.value.status == 429
        await asyncio.sleep(0.2)
        assert gate.running == 2
        gate.gate.set()
        return [await api.answer(a) for a in asks]

    try:
        answers = asyncio.run(run())
        api.pool.shutdown(wait=True)  # the workers give their slots back after the answer is out
        assert answers == [answer] * 3 and gate.peak == 2 and api._pending == 0
    finally:
        api.close()


def test_question_and_history_and_deltas() -> None:
    from lacqa.openai_api import Message

    msgs = [Message(role="user", content="a one"), Message(role="assistant", content="x"),
            Message(role="user", content="b two"), Message(role="user", content="c three"),
            Message(role="user", content="d four"), Message(role="assistant", content="trailing")]
    assert question_and_history(msgs) == ("d four", ["b two", "c three"])
    for text in ("", "One [1].", "- \u201ca\u201d [1]\n- \u201cb\u201d [2]\n", "  lead and trail  "):
        assert "".join(deltas(text)) == text
