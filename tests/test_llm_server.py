"""The model-server backend against fake OpenAI-compatible servers: SSE parsing, stop strings, errors, fallbacks."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from lacqa.answer import STOP
from lacqa.config import Settings
from lacqa.embed import HashEmbedder
from lacqa.errors import GenerationError
from lacqa.generate import ScriptedGenerator, was_cut
from lacqa.llm_server import ChatPrompt, ServerGenerator, StopCutter, sse_events
from lacqa.pipeline import Assistant
from lacqa.verify import unsupported_facts

QUESTION = "When was the First Ministerial Meeting of the China-CELAC Forum held?"


def sse(*chunks: dict[str, Any] | str) -> bytes:
    """An SSE body: dicts become data events, strings are written as they are (comments, [DONE], event lines)."""
    out = []
    for c in chunks:
        out.append(f"data: {json.dumps(c)}\n\n" if isinstance(c, dict) else c)
    return "".join(out).encode()


def text(piece: str, finish: str | None = None) -> dict[str, Any]:
    return {"object": "text_completion", "choices": [{"index": 0, "text": piece, "finish_reason": finish}]}


def delta(piece: str | None, finish: str | None = None) -> dict[str, Any]:
    return {"object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": piece} if piece is not None else {"role": "assistant"},
                         "finish_reason": finish}]}


class FakeServer:
    """An OpenAI-compatible server in an httpx MockTransport: scripted bodies per path, requests recorded."""

    def __init__(self, routes: dict[str, Callable[[httpx.Request], httpx.Response]]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get(request.url.path)
        return route(request) if route else httpx.Response(404, json={"detail": "Not Found"})

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.url.path == path]

    def generator(self, **kwargs: Any) -> ServerGenerator:
        kwargs.setdefault("model", "gemma-3-270m")
        return ServerGenerator("http://llm.test/v1", transport=httpx.MockTransport(self.handle), **kwargs)


def streaming(body: bytes) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


class BrokenStream(httpx.SyncByteStream):
    """A body that sends some events, then loses the connection."""

    def __init__(self, first: bytes) -> None:
        self.first = first

    def __iter__(self) -> Iterator[bytes]:
        yield self.first
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")


# ---------------------------------------------------------------------------- parsing


def test_sse_events_skip_comments_join_data_lines_and_keep_event_names() -> None:
    lines = [": ping - 2026-12-01 10:00:00", "", "data: {\"a\": 1}", "", "event: error", "data: line one",
             "data:line two", "", ": keep-alive", "data: [DONE]"]
    events = [e for e in sse_events(lines) if e.event != "comment"]
    assert [(e.event, e.data) for e in events] == [
        ("message", '{"a": 1}'), ("error", "line one\nline two"), ("message", "[DONE]")]
    assert [e.data for e in sse_events(lines) if e.event == "comment"] == ["ping - 2026-12-01 10:00:00", "keep-alive"]


def test_stop_strings_split_across_pieces_are_cut_and_safe_text_is_not_held() -> None:
    cutter = StopCutter(["Question:", "\n"])
    assert cutter.feed("It opened in 1902. Ques") == "It opened in 1902. "
    assert cutter.feed("tion: next") == "" and cutter.stopped
    other = StopCutter(["Question:"])
    assert other.feed("Queen Anne") == "Queen Anne"  # "Que" could start a stop string, "Queen" cannot
    assert other.feed(" and Q") == " and " and other.flush() == "Q"


# ---------------------------------------------------------------------------- streaming


def test_completion_stream_skips_keep_alives_and_ends_at_done() -> None:
    body = sse(": ping\n\n", text("The forum"), ": ping\n\n", text(" met in 2015."), text("", "stop"), "data: [DONE]\n\n",
               text(" never read"))
    server = FakeServer({"/v1/completions": streaming(body)})
    gen = server.generator()
    pieces = list(gen.stream("Passage: ...\nAnswer:", max_tokens=40, stop=STOP))
    assert "".join(pieces) == "The forum met in 2015."
    sent = server.bodies("/v1/completions")[0]
    assert sent["prompt"] == "Passage: ...\nAnswer:" and sent["stream"] is True and sent["temperature"] == 0
    assert sent["model"] == "gemma-3-270m" and sent["max_tokens"] == 40 and sent["stop"] == STOP[:4]
    assert "grammar" not in sent and "top_k" not in sent, "a plain OpenAI server gets only standard fields"


def test_stop_strings_the_server_ignores_are_applied_to_the_stream() -> None:
    body = sse(text("Beijing, in 2015."), text("\nQuestion: Who"), text(" else?", "length"), "data: [DONE]\n\n")
    gen = FakeServer({"/v1/completions": streaming(body)}).generator()
    assert "".join(gen.stream("p", max_tokens=40, stop=STOP)) == "Beijing, in 2015."


def test_the_deadline_holds_while_the_server_only_sends_keep_alives() -> None:
    body = sse(": ping\n\n", ": ping\n\n", text("late", "stop"), "data: [DONE]\n\n")
    gen = FakeServer({"/v1/completions": streaming(body)}).generator()
    pieces = list(gen.stream("p", max_tokens=8, stop=STOP, deadline_s=0.0))
    assert "".join(pieces) == "" and was_cut(pieces), "a draft stopped by the deadline says it was cut"


def test_finish_reason_length_keeps_the_text_for_the_pipeline_to_cut() -> None:
    body = sse(text("The forum met in Beijing. It then"), text(" agreed", "length"), "data: [DONE]\n\n")
    gen = FakeServer({"/v1/completions": streaming(body)}).generator()
    pieces = list(gen.stream("p", max_tokens=8, stop=STOP))
    assert "".join(pieces) == "The forum met in Beijing. It then agreed" and was_cut(pieces)
    ended = list(FakeServer({"/v1/completions": streaming(sse(text("In 2015.", "stop"), "data: [DONE]\n\n"))})
                 .generator().stream("p", max_tokens=8, stop=STOP))
    assert ended == ["In 2015."] and not was_cut(ended), "a draft the model ended is not marked cut"


def test_a_stream_that_stops_early_or_for_another_reason_fails() -> None:
    cut = FakeServer({"/v1/completions": streaming(sse(text("The forum")))}).generator()
    with pytest.raises(GenerationError, match="ended the stream before it was done"):
        list(cut.stream("p", max_tokens=8, stop=STOP))
    filtered = FakeServer({"/v1/completions": streaming(sse(text("The", "content_filter"), "data: [DONE]\n\n"))})
    with pytest.raises(GenerationError, match="content_filter"):
        list(filtered.generator().stream("p", max_tokens=8, stop=STOP))


@pytest.mark.parametrize("error", [
    'data: {"error": {"message": "llama_decode returned -1", "type": "server_error"}}\n\n',
    "event: error\ndata: llama_decode returned -1\n\n",
])
def test_an_error_inside_the_stream_raises_with_the_servers_message(error: str) -> None:
    body = sse(text("The forum"), error)
    gen = FakeServer({"/v1/completions": streaming(body)}).generator()
    got: list[str] = []
    with pytest.raises(GenerationError, match="llama_decode returned -1"):
        for piece in gen.stream("p", max_tokens=8, stop=STOP):
            got.append(piece)
    assert got == ["The forum"]


def test_a_line_that_is_not_json_raises() -> None:
    gen = FakeServer({"/v1/completions": streaming(b"data: <html>502 Bad Gateway</html>\n\n")}).generator()
    with pytest.raises(GenerationError, match="not JSON: '<html>502"):
        list(gen.stream("p", max_tokens=8, stop=STOP))


def test_a_connection_lost_mid_stream_raises() -> None:
    server = FakeServer({"/v1/completions": lambda r: httpx.Response(200, stream=BrokenStream(sse(text("The"))))})
    with pytest.raises(GenerationError, match="connection to the model server .* failed"):
        list(server.generator().stream("p", max_tokens=8, stop=STOP))


def test_chat_prompts_go_to_chat_completions_as_messages() -> None:
    body = sse(delta(None), delta("It met"), delta(" in 2015."), delta(None, "stop"), "data: [DONE]\n\n")
    server = FakeServer({"/v1/chat/completions": streaming(body)})
    gen = server.generator(model="SmolLM2-135M-Instruct")
    assert gen.has_chat_template, "an instruct model's name chooses the chat route"
    prompt = gen.chat_prompt("Use the quotes.", "Quotes:\n[1] ...\n\nQuestion: When?")
    assert isinstance(prompt, ChatPrompt) and "Question: When?" in prompt
    assert "".join(gen.stream(prompt, max_tokens=40, stop=STOP)) == "It met in 2015."
    sent = server.bodies("/v1/chat/completions")[0]
    assert sent["messages"] == [{"role": "system", "content": "Use the quotes."},
                                {"role": "user", "content": "Quotes:\n[1] ...\n\nQuestion: When?"}]
    assert "prompt" not in sent


def test_llama_cpp_dialect_sends_greedy_sampling_and_the_grammar() -> None:
    server = FakeServer({"/v1/completions": streaming(sse(text("x", "stop"), "data: [DONE]\n\n"))})
    gen = server.generator(dialect="llama.cpp")
    list(gen.stream("p", max_tokens=8, stop=STOP, grammar='root ::= "x"'))
    sent = server.bodies("/v1/completions")[0]
    assert sent["grammar"] == 'root ::= "x"' and sent["top_k"] == 1 and sent["repeat_penalty"] == 1.0


def test_the_model_comes_from_the_server_when_not_configured() -> None:
    models = {"object": "list", "data": [{"id": "models/gemma-3-270m-q4_k_m.gguf", "object": "model"}]}
    server = FakeServer({"/v1/models": lambda r: httpx.Response(200, json=models),
                         "/v1/completions": streaming(sse(text("x", "stop"), "data: [DONE]\n\n"))})
    gen = server.generator(model=None)
    assert not gen.has_chat_template, "a base model gets the few-shot completion prompt"
    list(gen.stream("p", max_tokens=8, stop=STOP))
    list(gen.stream("p", max_tokens=8, stop=STOP))
    assert server.bodies("/v1/completions")[1]["model"] == "models/gemma-3-270m-q4_k_m.gguf"
    assert sum(r.url.path == "/v1/models" for r in server.requests) == 1


def test_an_http_error_names_the_status_and_the_api_key() -> None:
    server = FakeServer({"/v1/completions": lambda r: httpx.Response(401, json={"error": {"message": "bad key"}})})
    gen = server.generator(api_key="sk-wrong")
    with pytest.raises(GenerationError, match=r"answered 401 \(check LACQA_LLM__API_KEY\): bad key"):
        list(gen.stream("p", max_tokens=8, stop=STOP))
    assert server.requests[0].headers["authorization"] == "Bearer sk-wrong"


def test_token_counts_use_llama_cpp_routes_beside_v1_or_a_generous_estimate() -> None:
    server = FakeServer({"/extras/tokenize/count": lambda r: httpx.Response(200, json={"count": 7})})
    assert server.generator(dialect="llama.cpp").count_tokens("How many tokens in this query?") == 7
    native = FakeServer({"/tokenize": lambda r: httpx.Response(200, json={"tokens": [1, 2, 3]})})
    gen = native.generator(dialect="llama.cpp")
    assert gen.count_tokens("abc") == 3 and gen.count_tokens("abcd") == 3
    assert [r.url.path for r in native.requests] == ["/extras/tokenize/count", "/tokenize", "/tokenize"]
    plain = FakeServer({})
    sentence = "The First Ministerial Meeting of the China-CELAC Forum was held in Beijing in January 2015."
    assert plain.generator().count_tokens(sentence) >= len(sentence) // 4 and not plain.requests


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as listener:  # accepts connections (the kernel's backlog) but never replies
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        gen = ServerGenerator(f"http://127.0.0.1:{listener.getsockname()[1]}/v1", model="m", timeout_s=0.3)
        with pytest.raises(GenerationError, match=r"sent nothing for 0.3 s \(LACQA_LLM__TIMEOUT_S\)"):
            list(gen.stream("p", max_tokens=8, stop=STOP))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_server_that_is_down_says_so() -> None:
    gen = ServerGenerator(f"http://127.0.0.1:{_closed_port()}/v1", model="m", timeout_s=2)
    with pytest.raises(GenerationError, match="could not reach the model server at http://127.0.0.1:.*LACQA_LLM__URL"):
        list(gen.stream("p", max_tokens=8, stop=STOP))


# ---------------------------------------------------------------------------- through the pipeline


@pytest.fixture
def built(hash_assistant: Assistant) -> Assistant:
    hash_assistant.index()
    return hash_assistant


def _first_clause(settings: Settings) -> str:
    first = Assistant(settings, embedder=HashEmbedder(), generator=ScriptedGenerator()).ask(QUESTION)
    return first.citations[0].quote.split(",")[0].rstrip(".") + "."


def test_a_server_draft_is_verified_and_kept_with_markers(built: Assistant) -> None:
    clause = _first_clause(built.settings)
    words = clause.split(" ")
    chunks = [text(w + " ") for w in words[:-1]] + [": ping\n\n", text(words[-1], "stop"), "data: [DONE]\n\n"]
    server = FakeServer({"/v1/completions": streaming(sse(*chunks))})
    ans = Assistant(built.settings, embedder=HashEmbedder(), generator=server.generator()).ask(QUESTION)
    assert ans.mode == "drafted" and "[1]" in ans.text and not ans.notes
    assert server.bodies("/v1/completions")[0]["prompt"].endswith(f"Question: {QUESTION}\nAnswer:")


def test_an_invented_server_draft_falls_back_to_the_quote(built: Assistant) -> None:
    body = sse(text("It was held in Atlantis by King Neptune.", "stop"), "data: [DONE]\n\n")
    gen = FakeServer({"/v1/completions": streaming(body)}).generator()
    ans = Assistant(built.settings, embedder=HashEmbedder(), generator=gen).ask(QUESTION)
    assert ans.mode == "quoted" and "Atlantis" not in ans.text
    assert unsupported_facts(ans.text, [c.quote for c in ans.citations]) == []


def test_a_server_that_is_down_gives_the_quote_only_answer_with_a_note(built: Assistant) -> None:
    settings = built.settings.model_copy(deep=True)
    settings.llm.url = f"http://127.0.0.1:{_closed_port()}/v1"
    settings.models_dir = built.settings.sources_dir / "no-models-here"  # no GGUF anywhere: none is needed
    a = Assistant(settings, embedder=HashEmbedder())
    assert isinstance(a.generator, ServerGenerator)
    ans = a.ask(QUESTION)
    assert not ans.abstained and ans.mode == "quoted" and ans.text.endswith("[1]")
    assert any(n.startswith("drafting failed (could not reach the model server") and "showing the quote" in n
               for n in ans.notes), ans.notes


def test_an_error_mid_stream_still_ends_in_a_verified_answer(built: Assistant) -> None:
    body = sse(text("It was held in Atlantis"), 'data: {"error": {"message": "out of memory"}}\n\n')
    gen = FakeServer({"/v1/completions": streaming(body)}).generator()
    ans = Assistant(built.settings, embedder=HashEmbedder(), generator=gen).ask(QUESTION)
    assert ans.mode == "quoted" and "Atlantis" not in ans.text
    assert any("out of memory" in n for n in ans.notes)


def test_llm_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LACQA_LLM__URL", "http://127.0.0.1:8080/v1")
    monkeypatch.setenv("LACQA_LLM__MODEL", "smollm2")
    monkeypatch.setenv("LACQA_LLM__API_KEY", "sk-local")
    monkeypatch.setenv("LACQA_LLM__TIMEOUT_S", "5")
    s = Settings()
    assert (s.llm.url, s.llm.model, s.llm.timeout_s) == ("http://127.0.0.1:8080/v1", "smollm2", 5.0)
    assert s.llm.api_key is not None and "sk-local" not in repr(s), "the key is not printed with the settings"
    monkeypatch.setenv("LACQA_LLM__URL", "127.0.0.1:8080")
    with pytest.raises(ValueError, match="http"):
        Settings()
