"""A real model server: `python -m llama_cpp.server` serving the bundled GGUF on loopback, drafting for lacqa."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lacqa.answer import STOP, build_prompt, gather_evidence
from lacqa.config import Settings
from lacqa.embed import HashEmbedder
from lacqa.generate import LlamaGenerator, was_cut
from lacqa.llm_server import ServerGenerator
from lacqa.pipeline import Assistant
from lacqa.verify import unsupported_facts
from tests.conftest import copy_seeds

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "gemma-3-270m-q4_k_m.gguf"
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not MODEL.is_file(), reason="run `make model` first: the bundled GGUF is missing"),
]
QUESTIONS = [
    "When was the First Ministerial Meeting of the China-CELAC Forum held?",
    "Which FTA did China and Chile sign?",
    "Which countries did Chinese President Hu Jintao visit in the past week to promote ties with Latin America?",
]
DEADLINE_S = 120.0  # the machine is shared: a 20-token draft has taken 30 s under load


def start_server(model: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """llama-cpp-python's OpenAI-compatible server on a free loopback port, once it lists its model."""
    pytest.importorskip("starlette_context", reason="llama-cpp-python's [server] extra: pip install -e '.[test]'")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1", "--port",
             str(port), "--n_ctx", "2048", "--n_threads", "2", "--n_threads_batch", "2"],
            stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    t_end = time.monotonic() + 120
    while time.monotonic() < t_end:
        if proc.poll() is not None:
            raise AssertionError(f"the model server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url + "/models", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise AssertionError(f"the model server did not come up in 120 s: {log.read_text()[-2000:]}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    proc, url = start_server(MODEL, tmp_path_factory.mktemp("server") / "server.log")
    yield url
    stop_server(proc)


@pytest.fixture(scope="module")
def served(server: str, tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    root = tmp_path_factory.mktemp("served")
    settings = Settings(sources_dir=copy_seeds(root / "sources"), index_dir=root / "index",
                        models_dir=root / "no-models")  # no GGUF here: the server has it
    settings.answer.ranker = "off"
    settings.llm.url = server
    settings.llm.dialect = "llama.cpp"
    settings.answer.deadline_s = DEADLINE_S
    assistant = Assistant(settings, embedder=HashEmbedder())
    assistant.index()
    return assistant


def test_answers_drafted_by_the_server_are_verified(served: Assistant) -> None:
    assert isinstance(served.generator, ServerGenerator) and not served.generator.has_chat_template
    drafted = 0
    for q in QUESTIONS:
        ans = served.ask(q)
        assert not ans.abstained, (q, ans.reason)
        assert not any(n.startswith("drafting failed") for n in ans.notes), ans.notes
        assert ans.draft, "the server wrote a draft"
        assert unsupported_facts(ans.text, [c.quote for c in ans.citations]) == [], ans.text
        drafted += ans.mode in ("drafted", "span")  # "span": a verified draft that lacked the quote's answering words
    assert drafted >= 1, "at least one server draft survived verification"


def test_the_server_drafts_what_the_in_process_model_drafts(served: Assistant) -> None:
    """Same prompt, same greedy sampling: a base model behaves on the server as it does in process."""
    local = LlamaGenerator(MODEL, n_ctx=2048, threads=2)
    remote = served.generator
    assert isinstance(remote, ServerGenerator)
    _, selection = gather_evidence(QUESTIONS[0], served.generation(), served.retriever, served.settings.answer, 15)
    prompt = build_prompt(QUESTIONS[0], list(selection.evidence), remote)
    assert prompt == build_prompt(QUESTIONS[0], list(selection.evidence), local)
    mine = "".join(local.stream(prompt, max_tokens=24, stop=STOP, deadline_s=60))
    theirs = "".join(remote.stream(prompt, max_tokens=24, stop=STOP, deadline_s=60))
    assert theirs == mine and theirs.strip()
    assert remote.count_tokens(prompt) == local.count_tokens(prompt)


def test_a_draft_cut_by_max_tokens_ends_without_error(server: str) -> None:
    gen = ServerGenerator(server, dialect="llama.cpp")
    pieces = list(gen.stream("The museum opened in 1902 in the town of", max_tokens=2, stop=[], deadline_s=60))
    text = [p for p in pieces if p]
    assert 1 <= len(text) <= 2 and "".join(text).strip()
    assert was_cut(pieces), "the server's finish_reason 'length' marks the draft cut"


def test_a_server_gone_mid_session_gives_quoted_answers(tmp_path: Path) -> None:
    proc, url = start_server(MODEL, tmp_path / "server.log")
    settings = Settings(sources_dir=copy_seeds(tmp_path / "sources"), index_dir=tmp_path / "index",
                        models_dir=tmp_path / "no-models")
    settings.answer.ranker = "off"
    settings.llm.url = url
    settings.answer.deadline_s = DEADLINE_S
    a = Assistant(settings, embedder=HashEmbedder())
    a.index()
    try:
        assert a.ask(QUESTIONS[0]).draft, "the server drafts while it is up"
    finally:
        stop_server(proc)
    ans = a.ask(QUESTIONS[0])
    assert not ans.abstained and ans.mode == "quoted"
    assert any("could not reach the model server" in n for n in ans.notes), ans.notes
