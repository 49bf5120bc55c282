"""Generators: a protocol, the llama-cpp-python backend and a scripted fake for tests.

One loaded model per process, guarded by a lock (llama.cpp contexts are not thread-safe). The
prompt is cut to fit ``n_ctx`` with room for the answer; generation stops at a deadline.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

from .errors import GenerationError, ModelError


class Cut(str):
    """The last piece of a draft that was cut short (by ``max_tokens`` or the deadline), not ended by the model: an
    empty string, so that joining the pieces is unchanged, whose type tells the reader the last words may be
    partial ("In 201")."""


#: the marker a generator yields last when it cut the draft
CUT = Cut("")


def was_cut(pieces: Sequence[str]) -> bool:
    """Did the stream that gave these pieces end with the cut marker?"""
    return bool(pieces) and isinstance(pieces[-1], Cut)


class Generator(Protocol):
    """A text model that continues a prompt, optionally under a GBNF grammar. A generator that stops the draft
    before the model ended it (``max_tokens``, the deadline) yields ``CUT`` last; one that does not know stays
    silent and its drafts are read as complete."""

    @property
    def model_id(self) -> str: ...

    @property
    def has_chat_template(self) -> bool: ...

    def stream(
        self, prompt: str, *, max_tokens: int, stop: Sequence[str], grammar: str | None = None,
        deadline_s: float = 5.0,
    ) -> Iterator[str]: ...

    def count_tokens(self, text: str) -> int: ...

    def chat_prompt(self, system: str, user: str) -> str: ...


def looks_instruction_tuned(name: str) -> bool:
    """Does a model's name say it was tuned to follow instructions (gemma-3-1b-it, SmolLM2-135M-Instruct)?"""
    name = name.lower()
    return any(tag in name for tag in ("-it", "instruct", "chat", "-sft", "_it"))


class LlamaGenerator:
    """A GGUF model run by llama-cpp-python, loaded on first use."""

    def __init__(self, path: Path, n_ctx: int = 2048, threads: int = 2, seed: int = 0) -> None:
        self.path = Path(path)
        self.n_ctx = n_ctx
        self.threads = threads
        self.seed = seed
        self._llm = None
        self._lock = threading.RLock()
        self._grammars: dict[str, object] = {}
        if not self.path.is_file():
            raise ModelError(f"language model file not found: {self.path} (run `make run`, or set LACQA_MODEL)")

    @property
    def model_id(self) -> str:
        return self.path.name

    def _load(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._llm is None:
                with open(self.path, "rb") as fh:
                    if fh.read(4) != b"GGUF":
                        raise ModelError(f"not a GGUF model file (bad header): {self.path}")
                try:
                    from llama_cpp import Llama

                    _quiet_llama_logs()

                    self._llm = Llama(
                        model_path=str(self.path), n_ctx=self.n_ctx, n_threads=self.threads,
                        n_threads_batch=self.threads, n_batch=512, seed=self.seed, verbose=False,
                    )
                except ImportError as exc:
                    raise ModelError("llama-cpp-python is not installed: run `make install`") from exc
                except (ValueError, RuntimeError, OSError) as exc:
                    raise ModelError(f"could not load the language model {self.path}: {exc}") from exc
            return self._llm

    def warm(self, prefix: str = "") -> None:
        """Load the model; with a ``prefix`` (the start every prompt shares), also read it into the model's cache,
        which the next completion reuses as far as its tokens match: the first question does not pay for it
        (gemma-3-270m, 118 tokens: ~0.3 s)."""
        llm = self._load()
        if prefix:
            with self._lock:
                if llm.n_tokens == 0:  # nothing read yet: a question already drafting keeps its cache
                    llm.eval(llm.tokenize(prefix.encode("utf-8"), add_bos=True, special=True))

    @property
    def has_chat_template(self) -> bool:
        llm = self._load()
        meta = getattr(llm, "metadata", {}) or {}
        template = meta.get("tokenizer.chat_template")
        # Base checkpoints sometimes ship a template they were never tuned on; trust it only for
        # models whose name says they were instruction-tuned.
        return bool(template) and looks_instruction_tuned(meta.get("general.name", "") + " " + self.path.name)

    def chat_prompt(self, system: str, user: str) -> str:
        """Render a chat turn with the model's own template (Jinja, from the GGUF)."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        llm = self._load()
        meta = llm.metadata
        eos = llm.detokenize([llm.token_eos()]).decode("utf-8", "ignore")
        bos = llm.detokenize([llm.token_bos()]).decode("utf-8", "ignore")
        fmt = Jinja2ChatFormatter(meta["tokenizer.chat_template"], eos_token=eos, bos_token=bos)
        result = fmt(messages=[{"role": "system", "content": system}, {"role": "user", "content": user}])
        return result.prompt

    def count_tokens(self, text: str) -> int:
        llm = self._load()
        with self._lock:
            return len(llm.tokenize(text.encode("utf-8"), add_bos=True, special=True))

    def _grammar(self, gbnf: str):  # type: ignore[no-untyped-def]
        from llama_cpp import LlamaGrammar

        if gbnf not in self._grammars:
            try:
                self._grammars[gbnf] = LlamaGrammar.from_string(gbnf, verbose=False)
            except Exception as exc:  # noqa: BLE001 - a grammar that fails to build must raise, not fall back
                raise GenerationError(f"answer grammar failed to build: {exc}") from exc
            if len(self._grammars) > 64:
                self._grammars.pop(next(iter(self._grammars)))
        return self._grammars[gbnf]

    def stream(
        self, prompt: str, *, max_tokens: int, stop: Sequence[str], grammar: str | None = None,
        deadline_s: float = 5.0,
    ) -> Iterator[str]:
        """Tokens as the model writes them. The model runs in a worker thread that holds the lock from start to
        end: a web server resumes a streaming generator on whichever thread is free, and a lock taken on one
        thread cannot be released on another (that left the model locked for good)."""
        llm = self._load()
        budget = self.n_ctx - max_tokens - 8
        out: queue.Queue[object] = queue.Queue()
        finished = object()
        abandoned = threading.Event()

        def work() -> None:
            try:
                with self._lock:
                    tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
                    if len(tokens) > budget:  # keep the end: the question and answer cue live there
                        raise GenerationError(f"prompt of {len(tokens)} tokens does not fit n_ctx={self.n_ctx}")
                    t_end = time.monotonic() + deadline_s
                    for part in llm.create_completion(
                        prompt, max_tokens=max_tokens, temperature=0.0, top_k=1, repeat_penalty=1.0,
                        stop=list(stop), stream=True, grammar=self._grammar(grammar) if grammar else None,
                        seed=self.seed,
                    ):
                        choice = part["choices"][0]  # type: ignore[index]
                        if choice["text"]:
                            out.put(choice["text"])
                        if choice.get("finish_reason") == "length":
                            out.put(CUT)
                        if time.monotonic() > t_end or abandoned.is_set():
                            if choice.get("finish_reason") is None:
                                out.put(CUT)
                            break
            except GenerationError as exc:
                out.put(exc)
            except (RuntimeError, ValueError) as exc:
                out.put(GenerationError(f"the language model failed while drafting: {exc}"))
            finally:
                out.put(finished)

        worker = threading.Thread(target=work, name="lacqa-draft", daemon=True)
        worker.start()
        try:
            while (item := out.get()) is not finished:
                if isinstance(item, Exception):
                    raise item
                assert isinstance(item, str)
                yield item  # as it is: str(CUT) would be a plain "" and the draft would not say it was cut
        finally:
            abandoned.set()  # a caller that stops reading stops the model at its next token


_LOG_CALLBACK = None


class _KeepStreams:
    """Stands in for llama-cpp-python's ``suppress_stdout_stderr``, which (with verbose=False) swaps the
    *process's* ``sys.stdout``/``sys.stderr`` and file descriptors 1 and 2 for /dev/null while a model loads, from
    whichever thread loads it. The app loads the model on a background thread: every other thread's output in
    those seconds was lost (the "web chat at ..." line among it), and on exit the suppressor put back the streams
    it had found, undoing any redirection made meanwhile (a test runner's capture: "I/O operation on closed
    file"). llama.cpp's own messages go through the log callback below, which drops them."""

    def __init__(self, disable: bool = True) -> None:
        self.disable = disable

    def __enter__(self) -> "_KeepStreams":
        return self

    def __exit__(self, *_: object) -> None:
        return None


def _quiet_llama_logs() -> None:
    """llama.cpp prints load details to stderr even with verbose=False; keep only what we raise. Silenced by a
    log callback, not by redirecting the process's streams (``_KeepStreams``)."""
    global _LOG_CALLBACK
    if _LOG_CALLBACK is not None:
        return
    import ctypes

    import llama_cpp
    import llama_cpp._internals
    import llama_cpp.llama

    for module in (llama_cpp.llama, llama_cpp._internals):
        if hasattr(module, "suppress_stdout_stderr"):
            module.suppress_stdout_stderr = _KeepStreams

    @llama_cpp.llama_log_callback
    def _silent(level, text, user_data):  # type: ignore[no-untyped-def]
        return None

    _LOG_CALLBACK = _silent  # keep a reference: llama.cpp holds the pointer
    llama_cpp.llama_log_set(_silent, ctypes.c_void_p())


class ScriptedGenerator:
    """Deterministic fake: replies are looked up by a substring of the prompt, else a default."""

    def __init__(self, replies: dict[str, str] | None = None, default: str = "", chat: bool = False) -> None:
        self.replies = replies or {}
        self.default = default
        self.chat = chat
        self.prompts: list[str] = []

    @property
    def model_id(self) -> str:
        return "scripted"

    @property
    def has_chat_template(self) -> bool:
        return self.chat

    def chat_prompt(self, system: str, user: str) -> str:
        return f"<system>{system}</system><user>{user}</user><assistant>"

    def count_tokens(self, text: str) -> int:
        return len(text) // 4 + 1

    def stream(
        self, prompt: str, *, max_tokens: int, stop: Sequence[str], grammar: str | None = None,
        deadline_s: float = 5.0,
    ) -> Iterator[str]:
        self.prompts.append(prompt)
        reply = next((r for key, r in self.replies.items() if key in prompt), self.default)
        for s in stop:
            if s and s in reply:
                reply = reply[: reply.index(s)]
        words = reply.split(" ")
        for word in words[:max_tokens]:  # a word stands for a token
            yield word + " "
        if len(words) > max_tokens:
            yield CUT


_loaded: dict[tuple[str, int, int], LlamaGenerator] = {}
_loaded_lock = threading.Lock()


def load_generator(path: Path, n_ctx: int = 2048, threads: int | None = None) -> LlamaGenerator:
    """One LlamaGenerator per (file, n_ctx, threads) per process: loading twice wastes memory."""
    threads = threads or min(4, os.cpu_count() or 2)
    key = (str(Path(path).resolve()), n_ctx, threads)
    with _loaded_lock:
        if key not in _loaded:
            _loaded[key] = LlamaGenerator(Path(path), n_ctx=n_ctx, threads=threads)
        return _loaded[key]
