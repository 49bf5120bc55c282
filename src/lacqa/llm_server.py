"""A Generator backed by an OpenAI-compatible model server (llama.cpp, vLLM, Ollama, LM Studio, ...).

The server gets the prompt the in-process model would get: the few-shot completion prompt on ``/completions`` for
a base model (so it behaves as it does locally), the quotes as a chat turn on ``/chat/completions`` for an
instruction-tuned one (the server applies the model's own template). What it writes is verified like a local
draft. A server that is down, silent past ``timeout_s``, answering with an error or failing mid-stream raises
GenerationError, and the answer falls back to the quotes with a note saying why.

Wire format (server-sent events)::

    : ping                                   a keep-alive comment: no text (the draft deadline still applies)
    data: {"choices": [{"text": "The", "finish_reason": null}]}
    data: {"choices": [{"delta": {"content": " forum"}, "finish_reason": "length"}]}
    data: {"error": {"message": "..."}}      an error inside the stream (also ``event: error``)
    data: [DONE]                             the end; a stream that stops before it (or a finish_reason) failed
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from .config import LlmSettings
from .errors import GenerationError
from .generate import CUT, looks_instruction_tuned

#: finish reasons after which the text is the model's own (complete, or cut by max_tokens: the pipeline cuts a
#: draft that ran out of tokens back to its last complete sentence); any other (content_filter, abort, error) fails
FINISHED = {"stop", "length", "eos"}
#: the OpenAI API takes at most four stop strings; the rest are applied here, on the streamed text
MAX_SERVER_STOPS = 4


class ChatPrompt(str):
    """A chat turn rendered as plain text (for counting and logs) that keeps its messages, so that the server
    applies the model's own chat template to them."""

    messages: tuple[tuple[str, str], ...]

    def __new__(cls, messages: Sequence[tuple[str, str]]) -> ChatPrompt:
        text = "".join(f"<|{role}|>\n{content}\n" for role, content in messages) + "<|assistant|>\n"
        obj = super().__new__(cls, text)
        obj.messages = tuple(messages)
        return obj


@dataclass(frozen=True)
class SseEvent:
    """One server-sent event: its type ("message" unless named) and its data lines joined."""

    event: str
    data: str


@dataclass(frozen=True)
class Delta:
    """A piece of streamed text and, on the last one, why the server stopped."""

    text: str
    finish_reason: str | None


def sse_events(lines: Iterable[str]) -> Iterator[SseEvent]:
    """Parse server-sent events (the WHATWG rules lacqa needs: comments, event names, multi-line data). A comment
    line (a keep-alive ping) comes out as a "comment" event, so that a reader's deadline applies while the server
    sends nothing else."""
    event, data = "", []
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data:
                yield SseEvent(event or "message", "\n".join(data))
            event, data = "", []
            continue
        if line.startswith(":"):
            yield SseEvent("comment", line[1:].strip())
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
    if data:
        yield SseEvent(event or "message", "\n".join(data))


def _error_message(payload: Any) -> str:
    if isinstance(payload, dict):
        err = payload.get("error", payload)
        if isinstance(err, dict):
            return str(err.get("message") or err.get("detail") or err)
        return str(err)
    return str(payload)


def completion_deltas(events: Iterable[SseEvent], where: str) -> Iterator[Delta]:
    """The text pieces of a streamed completion or chat completion, up to ``[DONE]``."""
    finished = False
    for ev in events:
        if ev.event == "comment":  # a keep-alive: no text, but the reader gets to check its deadline
            yield Delta("", None)
            continue
        if ev.data.strip() == "[DONE]":
            return
        try:
            payload = json.loads(ev.data)
        except json.JSONDecodeError:
            if ev.event == "error":
                raise GenerationError(f"the model server at {where} failed while drafting: {ev.data[:200]}") from None
            raise GenerationError(f"the model server at {where} sent a line that is not JSON: "
                                  f"{ev.data[:80]!r}") from None
        if ev.event == "error" or (isinstance(payload, dict) and "error" in payload):
            raise GenerationError(f"the model server at {where} failed while drafting: {_error_message(payload)}")
        choices = payload.get("choices") if isinstance(payload, dict) else None
        if not choices:  # a usage-only or role-only chunk
            continue
        choice = choices[0]
        text = choice.get("text")
        if text is None:
            text = (choice.get("delta") or {}).get("content") or ""
        reason = choice.get("finish_reason")
        if reason is not None and reason not in FINISHED:
            raise GenerationError(f"the model server at {where} stopped the draft (finish_reason '{reason}')")
        finished = finished or reason is not None
        yield Delta(str(text), reason)
    if not finished:
        raise GenerationError(f"the model server at {where} ended the stream before it was done")


class StopCutter:
    """Cuts streamed text at the first stop string, holding back a tail that may be the start of one."""

    def __init__(self, stop: Sequence[str]) -> None:
        self.stop = [s for s in stop if s]
        self.buffer = ""
        self.stopped = False

    def feed(self, piece: str) -> str:
        if self.stopped:
            return ""
        self.buffer += piece
        found = [i for i in (self.buffer.find(s) for s in self.stop) if i >= 0]
        if found:
            out, self.buffer, self.stopped = self.buffer[: min(found)], "", True
            return out
        keep = max((k for s in self.stop for k in range(1, len(s)) if self.buffer.endswith(s[:k])), default=0)
        cut = len(self.buffer) - keep
        out, self.buffer = self.buffer[:cut], self.buffer[cut:]
        return out

    def flush(self) -> str:
        out, self.buffer = self.buffer, ""
        return out


class ServerGenerator:
    """Drafts on an OpenAI-compatible server; nothing is loaded locally."""

    def __init__(
        self, url: str, model: str | None = None, api_key: str | None = None, timeout_s: float = 30.0,
        chat: bool | None = None, dialect: str = "openai", seed: int = 0, transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.chat = chat
        self.dialect = dialect
        self.seed = seed
        self._model = model
        self._lock = threading.Lock()
        self._count_route: str | None = None
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=self.url, headers=headers, timeout=httpx.Timeout(timeout_s),
                                    transport=transport)
        # llama.cpp's extra routes sit beside /v1, not under it
        self._root = self.url[: -len("/v1")] if self.url.endswith("/v1") else self.url

    @classmethod
    def from_settings(cls, llm: LlmSettings, seed: int = 0) -> ServerGenerator:
        if not llm.url:
            raise GenerationError("no model server configured: set LACQA_LLM__URL")
        key = llm.api_key.get_secret_value() if llm.api_key else None
        return cls(llm.url, model=llm.model, api_key=key, timeout_s=llm.timeout_s, chat=llm.chat,
                   dialect=llm.dialect, seed=seed)

    @property
    def model_id(self) -> str:
        return f"{self._model or 'server default'} at {self.url}"

    def close(self) -> None:
        self._client.close()

    # ------------------------------------------------------------------ requests

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        with http_errors(self.url, self.timeout_s):
            resp = self._client.request(method, url, **kwargs)
        if resp.status_code >= 400:
            raise GenerationError(self._status_message(resp))
        return resp

    def _status_message(self, resp: httpx.Response) -> str:
        try:
            detail = _error_message(resp.json())
        except (json.JSONDecodeError, UnicodeDecodeError):
            detail = resp.text[:200]
        hint = " (check LACQA_LLM__API_KEY)" if resp.status_code in (401, 403) else ""
        return f"the model server at {self.url} answered {resp.status_code}{hint}: {detail}"

    def model_name(self) -> str:
        """The configured model, else the first one the server lists (asked once)."""
        with self._lock:
            if self._model is None:
                listed = self._request("GET", "/models").json().get("data") or []
                if not listed:
                    raise GenerationError(f"the model server at {self.url} lists no models: set LACQA_LLM__MODEL")
                self._model = str(listed[0]["id"])
            return self._model

    # ------------------------------------------------------------------ the Generator protocol

    @property
    def has_chat_template(self) -> bool:
        if self.chat is not None:
            return self.chat
        return looks_instruction_tuned(self.model_name())

    def chat_prompt(self, system: str, user: str) -> str:
        return ChatPrompt((("system", system), ("user", user)))

    def count_tokens(self, text: str) -> int:
        """The server's own count where it has a tokenizer route (llama.cpp), else a generous estimate."""
        if self.dialect == "llama.cpp":
            routes = [self._count_route] if self._count_route else ["/extras/tokenize/count", "/tokenize"]
            for route in routes:
                body = {"input": text} if route.startswith("/extras") else {"content": text}
                with http_errors(self.url, self.timeout_s):
                    resp = self._client.post(self._root + route, json=body)
                if resp.status_code == 404:
                    continue
                if resp.status_code >= 400:
                    raise GenerationError(self._status_message(resp))
                self._count_route = route
                data = resp.json()
                return int(data["count"]) if "count" in data else len(data["tokens"])
        # BPE tokens average about four characters of English; one per three UTF-8 bytes errs on the long side
        return len(text.encode("utf-8")) // 3 + 1

    def _body(self, prompt: str, max_tokens: int, stop: Sequence[str], grammar: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model_name(), "max_tokens": max_tokens, "temperature": 0.0,
                                "seed": self.seed, "stream": True}
        stops = [s for s in stop if s][:MAX_SERVER_STOPS]
        if stops:
            body["stop"] = stops
        if isinstance(prompt, ChatPrompt):
            body["messages"] = [{"role": role, "content": content} for role, content in prompt.messages]
        else:
            body["prompt"] = str(prompt)
        if self.dialect == "llama.cpp":
            # greedy and unpenalised, as the in-process model drafts; only llama.cpp knows GBNF grammars
            body.update(top_k=1, repeat_penalty=1.0)
            if grammar:
                body["grammar"] = grammar
        return body

    def stream(
        self, prompt: str, *, max_tokens: int, stop: Sequence[str], grammar: str | None = None,
        deadline_s: float = 5.0,
    ) -> Iterator[str]:
        """Text pieces as the server streams them, cut at the stop strings and at the deadline (like a local
        draft). Closing the iterator early closes the connection, which stops the server."""
        body = self._body(prompt, max_tokens, stop, grammar)
        route = "/chat/completions" if "messages" in body else "/completions"
        cutter = StopCutter(stop)
        t_end = time.monotonic() + deadline_s
        with http_errors(self.url, self.timeout_s), self._client.stream("POST", route, json=body,
                                                     headers={"Accept": "text/event-stream"}) as resp:
            if resp.status_code >= 400:
                resp.read()
                raise GenerationError(self._status_message(resp))
            cut = False
            for delta in completion_deltas(sse_events(resp.iter_lines()), self.url):
                piece = cutter.feed(delta.text)
                if piece:
                    yield piece
                if cutter.stopped:
                    return
                if delta.finish_reason == "length" or (delta.finish_reason is None and time.monotonic() > t_end):
                    cut = True
                    break
            tail = cutter.flush()
            if tail:
                yield tail
            if cut:
                yield CUT


@contextmanager
def http_errors(url: str, timeout_s: float) -> Iterator[None]:
    """Turn httpx's transport errors into GenerationErrors a user can act on."""
    try:
        yield
    except httpx.ConnectError as exc:
        raise GenerationError(f"could not reach the model server at {url} ({exc}): start it, or fix "
                              "LACQA_LLM__URL") from exc
    except httpx.TimeoutException as exc:
        raise GenerationError(f"the model server at {url} sent nothing for {timeout_s:g} s "
                              "(LACQA_LLM__TIMEOUT_S)") from exc
    except httpx.HTTPError as exc:
        raise GenerationError(f"the connection to the model server at {url} failed: {exc}") from exc
