"""An OpenAI-compatible API over the Assistant: ``GET /v1/models`` and ``POST /v1/chat/completions``.

It is served beside the web chat (web.launch mounts the Gradio UI on this FastAPI app), so any OpenAI client
can ask the library questions. The answer keeps what makes it lacqa's:

- ``choices[0].message.content`` is ``Answer.text``, the answer with its [n] markers (or the abstention with
  its reason); the structured answer rides along at the top level: ``citations`` (the objects of
  ``lacqa ask --json``), ``abstained``, ``reason`` and ``generation``.
- The last user message is the question; earlier user messages are the conversation a follow-up is read
  against, exactly as in the web chat (pipeline.earlier_questions). System and assistant messages are not read:
  the answer comes from the sources, not from instructions. Sampling options (temperature, max_tokens, ...) are
  accepted and ignored for the same reason.
- ``stream: true`` answers with Server-Sent Events. The model's draft is never streamed, because verification
  may reject it: the content deltas carry the verified answer, then a last chunk carries the citations.
- Model ids: ``lacqa`` (whatever model the app uses now) and one per GGUF in models/ (its file name without
  ``.gguf``). Naming a GGUF that is not the one in use switches the app to it, as the Settings dropdown does
  (for the web chat too, until something switches back).
- Asks run on a pool of ``settings.concurrency`` threads, as the web chat's queue does; at most
  ``settings.queue_size`` more wait, further ones are refused with 429.
- When an API key is set (LACQA_API_KEY), every /v1 request must carry it as ``Authorization: Bearer <key>``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import (
    ConfigError,
    GenerationError,
    IndexError_,
    LacqaError,
    ModelError,
    QuestionError,
)
from .pipeline import earlier_questions
from .types import Answer

DEFAULT_MODEL = "lacqa"  #: the id that means "the model the app uses now"
_END = object()  #: the last item a worker puts on a request's event queue


class ApiError(Exception):
    """An error as the API reports it: an HTTP status and OpenAI's ``{"error": {...}}`` body."""

    def __init__(self, status: int, message: str, type_: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = status, message, type_, code, param

    def response(self) -> JSONResponse:
        body = {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return JSONResponse(body, status_code=self.status, headers=headers)


def api_error(exc: LacqaError) -> ApiError:
    """The status a lacqa error is reported with: the client's fault (400), not ready yet (503), or ours (500)."""
    if isinstance(exc, QuestionError):
        return ApiError(400, str(exc), code="invalid_question", param="messages")
    if isinstance(exc, IndexError_):
        return ApiError(503, str(exc), "service_unavailable", code="index_unavailable")
    if isinstance(exc, (ModelError, ConfigError)):
        return ApiError(503, str(exc), "service_unavailable", code="model_unavailable")
    if isinstance(exc, GenerationError):
        return ApiError(500, str(exc), "server_error", code="generation_failed")
    return ApiError(500, str(exc), "server_error")


# ----------------------------------------------------------------------------- request records


class TextPart(BaseModel):
    """One part of a message's content; only text is read."""

    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        if any(p.type != "text" for p in self.content):
            raise ApiError(400, "only text content is supported (no images, audio or files)", param="messages")
        return " ".join(p.text or "" for p in self.content)


class ChatRequest(BaseModel):
    """The fields of a chat completion request that lacqa reads; the others are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str = DEFAULT_MODEL
    messages: list[Message]
    stream: bool = False
    n: int = Field(1, description="lacqa gives one answer per question")
    k: int | None = Field(None, ge=1, le=30, description="lacqa extension: passages searched for the question")


def parse_request(body: bytes) -> ChatRequest:
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "the request body must be a JSON object with 'model' and 'messages'")
    try:
        req = ChatRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise ApiError(400, f"{where}: {first['msg']}", param=str(first["loc"][0])) from exc
    if not req.messages:
        raise ApiError(400, "messages is empty: send at least one user message (the question)", param="messages")
    if req.n != 1:
        raise ApiError(400, "n must be 1: lacqa gives one answer per question", param="n")
    return req


def question_and_history(messages: list[Message]) -> tuple[str, list[str]]:
    """The last user message is the question; the user messages before it are the conversation."""
    turns = [{"role": m.role, "content": m.text()} for m in messages]
    last = max((i for i, t in enumerate(turns) if t["role"] == "user"), default=None)
    if last is None:
        raise ApiError(400, "no user message: the last user message is the question", param="messages")
    question = turns[last]["content"]
    if not question.strip():
        raise ApiError(400, "the last user message is empty: it should hold the question", param="messages")
    return question, earlier_questions(turns[:last])


def model_id(path: Path) -> str:
    return path.name[: -len(".gguf")] if path.name.endswith(".gguf") else path.name


# ----------------------------------------------------------------------------- the API


@dataclass
class Ask:
    """One question in flight: its events (draft pieces, the Answer or an exception, then _END) and the flag the
    reader sets when its client has gone."""

    events: asyncio.Queue[Any]
    stop: threading.Event = field(default_factory=threading.Event)


class OpenAIApi:
    """The /v1 routes over one Assistant. ``close()`` stops its worker threads."""

    def __init__(self, assistant: Any, api_key: str | None = None) -> None:
        settings = assistant.settings
        self.assistant = assistant
        self.api_key = api_key or None
        self.capacity = settings.concurrency + settings.queue_size
        self.pool = ThreadPoolExecutor(settings.concurrency, thread_name_prefix="lacqa-api")
        self._count_lock = threading.Lock()
        self._pending = 0  # asks running or waiting for a worker
        self._model_lock = threading.Lock()

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ checks

    def check_key(self, request: Request) -> None:
        if self.api_key is None:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), self.api_key.encode()):
            raise ApiError(401, "missing or wrong API key: send the key set in LACQA_API_KEY as "
                           "'Authorization: Bearer <key>'", code="invalid_api_key")

    def models(self) -> list[tuple[str, Path | None]]:
        return [(DEFAULT_MODEL, None)] + [(model_id(p), p) for p in self.assistant.settings.available_models()]

    def model_path(self, name: str) -> Path | None:
        """The GGUF a model id names (None for ``lacqa``: the one in use); unknown ids are a 404."""
        for mid, path in self.models():
            if mid == name:
                return path
        known = ", ".join(mid for mid, _ in self.models())
        raise ApiError(404, f"the model '{name}' does not exist (known: {known})", code="model_not_found",
                       param="model")

    def use(self, path: Path | None) -> None:
        """Switch the app to ``path`` unless it is the GGUF in use already (runs on a worker thread)."""
        if path is None:
            return
        with self._model_lock:
            try:
                current = self.assistant.settings.resolve_model().resolve()
            except ConfigError:
                current = None
            if current != path.resolve():
                self.assistant.use_model(str(path))

    # ------------------------------------------------------------------ asking

    def start(self, question: str, history: list[str], k: int | None, path: Path | None) -> Ask:
        """Run one ask on a worker thread; its events arrive on the returned Ask's queue. A worker stops at the
        next event once its reader has gone (ask.stop) and always gives back its slot, so a client that leaves
        never keeps a worker or the model's lock."""
        with self._count_lock:
            if self._pending >= self.capacity:
                raise ApiError(429, f"too many questions at once ({self._pending} running or waiting): retry shortly",
                               "rate_limit_error", code="queue_full")
            self._pending += 1
        loop = asyncio.get_running_loop()
        ask = Ask(asyncio.Queue())

        def emit(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(ask.events.put_nowait, item)
            except RuntimeError:  # the server's loop is closed: nobody to tell
                pass

        def work() -> None:
            stream: Iterator[Any] | None = None
            try:
                self.use(path)
                stream = self.assistant.ask_stream(question, k=k, history=history)
                for event in stream:
                    emit(event)
                    if ask.stop.is_set():
                        break
            except Exception as exc:  # noqa: BLE001 - handed to the request, which reports it
                emit(exc)
            finally:
                if stream is not None and hasattr(stream, "close"):
                    stream.close()
                with self._count_lock:
                    self._pending -= 1
                emit(_END)

        try:
            self.pool.submit(work)
        except RuntimeError as exc:  # the pool is shut down: the server is stopping
            with self._count_lock:
                self._pending -= 1
            raise ApiError(503, "the server is shutting down", "service_unavailable") from exc
        return ask

    @staticmethod
    async def next_event(ask: Ask) -> Any:
        item = await ask.events.get()
        if isinstance(item, LacqaError):
            raise api_error(item)
        if isinstance(item, Exception):
            raise ApiError(500, f"internal error: {type(item).__name__}: {item}", "server_error") from item
        return item

    async def answer(self, ask: Ask) -> Answer:
        while (item := await self.next_event(ask)) is not _END:
            if isinstance(item, Answer):
                return item
        raise ApiError(500, "the question ended without an answer", "server_error")


# ----------------------------------------------------------------------------- response bodies


def extras(answer: Answer) -> dict[str, Any]:
    """What rides along with the content: the structured answer, as in `lacqa ask --json`."""
    a = answer.to_json()
    return {"citations": a["citations"], "abstained": a["abstained"], "reason": a["reason"],
            "generation": a["generation"]}


def completion(cid: str, created: int, model: str, answer: Answer) -> dict[str, Any]:
    return {
        "id": cid, "object": "chat.completion", "created": created, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text}, "finish_reason": "stop",
                     "logprobs": None}],
        **extras(answer),
    }


def chunk(cid: str, created: int, model: str, delta: dict[str, Any], finish: str | None = None,
          **extra: Any) -> str:
    body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


_PIECE = re.compile(r"\s*\S+")


def deltas(text: str) -> list[str]:
    """The answer cut into word-sized pieces that join back to it exactly."""
    pieces = _PIECE.findall(text)
    tail = text[len("".join(pieces)):]
    if tail:
        pieces.append(tail)
    return pieces


def sse_error(exc: ApiError) -> str:
    return f"data: {json.dumps({'error': {'message': exc.message, 'type': exc.type, 'code': exc.code}})}\n\n"


# ----------------------------------------------------------------------------- the app


def create_app(assistant: Any, api_key: str | None = None) -> tuple[FastAPI, OpenAIApi]:
    """A FastAPI app serving /v1 for ``assistant``; mount the web UI on it afterwards (its routes come first)."""
    api = OpenAIApi(assistant, api_key)
    app = FastAPI(title="lacqa", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.get("/v1/models")
    async def list_models(request: Request) -> dict[str, Any]:
        api.check_key(request)
        data = [{"id": mid, "object": "model", "created": int(path.stat().st_mtime) if path else 0,
                 "owned_by": "lacqa"} for mid, path in api.models()]
        return {"object": "list", "data": data}

    @app.get("/v1/models/{name}")
    async def get_model(name: str, request: Request) -> dict[str, Any]:
        api.check_key(request)
        path = api.model_path(name)
        return {"id": name, "object": "model", "created": int(path.stat().st_mtime) if path else 0,
                "owned_by": "lacqa"}

    @app.post("/v1/chat/completions", response_model=None)
    async def chat_completions(request: Request) -> JSONResponse | StreamingResponse:
        api.check_key(request)
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            # a web page can post a form or text/plain to a loopback server without asking (no CORS preflight):
            # only a JSON body, which needs one, is read
            raise ApiError(415, "send the request body as JSON (Content-Type: application/json)")
        req = parse_request(await request.body())
        path = api.model_path(req.model)
        question, history = question_and_history(req.messages)
        cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        ask = api.start(question, history, req.k, path)
        if not req.stream:
            return JSONResponse(completion(cid, created, req.model, await api.answer(ask)))
        first = await api.next_event(ask)  # errors before the first event keep their status code

        async def body() -> AsyncIterator[str]:
            try:
                yield chunk(cid, created, req.model, {"role": "assistant", "content": ""})
                item = first
                while item is not _END and not isinstance(item, Answer):
                    item = await api.next_event(ask)  # draft pieces: not sent, verification may reject them
                if not isinstance(item, Answer):
                    raise ApiError(500, "the question ended without an answer", "server_error")
                for piece in deltas(item.text):
                    yield chunk(cid, created, req.model, {"content": piece})
                yield chunk(cid, created, req.model, {}, "stop", **extras(item))
                yield "data: [DONE]\n\n"
            except ApiError as exc:
                yield sse_error(exc)
            finally:
                ask.stop.set()

        return StreamingResponse(body(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.api_route("/v1/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def unknown(rest: str, request: Request) -> JSONResponse:
        api.check_key(request)
        raise ApiError(404, f"no such endpoint: {request.method} /v1/{rest} (lacqa serves GET /v1/models and "
                       "POST /v1/chat/completions)", code="unknown_url")

    return app, api
