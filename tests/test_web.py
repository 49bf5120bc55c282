"""UI callbacks on an assistant with fake models, rendering safety, and upload validation."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from lacqa import web
from lacqa.embed import HashEmbedder
from lacqa.generate import ScriptedGenerator
from lacqa.pipeline import Assistant
from lacqa.render import answer_markdown, citations_html, document_html, md_escape

Q = "When was the First Ministerial Meeting of the China-CELAC Forum held?"


@pytest.fixture
def assistant(hash_assistant: Assistant) -> Assistant:
    hash_assistant.index()
    return Assistant(hash_assistant.settings, embedder=HashEmbedder(), generator=ScriptedGenerator(default=""))


def _run_chat(assistant: Assistant, question: str, history=None, answers=None):  # type: ignore[no-untyped-def]
    return list(web.chat(assistant, question, history or [], answers or [], 8, False))


def test_chat_streams_then_shows_the_verified_answer_and_its_sources(assistant: Assistant) -> None:
    steps = _run_chat(assistant, Q)
    box, history, answers, cites, _ = steps[-1]
    assert box == "" and history[0] == {"role": "user", "content": Q}
    assert history[1]["role"] == "assistant" and "[1]" in history[1]["content"]
    assert len(answers) == 1 and answers[0]["citations"]
    assert "<mark>" in cites and "lq-card" in cites
    assert steps[0][1][-1]["content"].startswith("\u2026"), "a placeholder shows while searching"


def test_follow_up_keeps_each_answer_with_its_own_citations(assistant: Assistant) -> None:
    _, history, answers, _, _ = _run_chat(assistant, Q)[-1]
    _, history, answers, _, _ = _run_chat(assistant, "Which countries did Chinese President Hu Jintao visit?",
                                          history, answers)[-1]
    assert len(answers) == 2 and len(history) == 4
    assert answers[0]["citations"] != answers[1]["citations"]
    html, _, turn = web.select_answer(assistant, answers, SimpleNamespace(index=1))
    assert turn == 0 and answers[0]["citations"][0]["quote"][:40].replace("'", "&#x27;") in html


def test_abstention_is_shown_as_one(assistant: Assistant) -> None:
    _, history, answers, cites, _ = _run_chat(assistant, "Which team won the 2014 FIFA World Cup final in football?")[-1]
    assert answers[0]["abstained"]
    assert history[-1]["content"].startswith("**The sources do not say.**")
    assert "Closest passages" in cites


def test_open_citation_highlights_the_exact_range(assistant: Assistant) -> None:
    _, _, answers, _, _ = _run_chat(assistant, Q)[-1]
    c = answers[0]["citations"][0]
    page = web.open_citation(assistant, answers, 0, 1)
    doc = assistant.generation().documents[c["doc_id"]]
    import html as h

    assert f"<mark id='lq-hl'>{h.escape(doc.text[c['start']:c['end']])}</mark>" in page


def test_sources_are_rendered_inert() -> None:
    evil = "<script>alert(1)</script> [click](http://evil.example) ![img](http://x/y.png)"
    assert "<script>" not in document_html("t", "s", evil, 0, 8)
    assert "<script>" not in citations_html({"abstained": False, "citations": [
        {"n": 1, "title": "<b>t</b>", "source": "s", "start": 0, "end": 5, "quote": evil, "page": None}]})
    md = md_escape(evil)
    assert "](" not in md.replace("\\]\\(", "") and "http://" not in md
    text = answer_markdown({"abstained": False, "answer": evil + " [1]", "mode": "quoted", "latency_s": 0.1,
                            "generation": "g", "citations": [], "notes": []})
    assert "<script>" not in text and "**[1]**" in text


def test_rebuild_reports_changes_and_status(assistant: Assistant) -> None:
    report, status = web.rebuild_ui(assistant)
    assert "Nothing changed" in report and "documents" in status
    (Path(assistant.settings.sources_dir) / "new.txt").write_text("A new note\nThe summit was in Lima in 2016.\n")
    assert assistant.status()["stale"] is True
    report, status = web.rebuild_ui(assistant)
    assert "added" in report and "new.txt" in report and "Sources changed" not in status


def _upload(tmp_path: Path, name: str, data: bytes) -> str:
    p = tmp_path / "uploads" / name
    p.parent.mkdir(exist_ok=True)
    p.write_bytes(data)
    return str(p)


def test_upload_validates_type_size_name_and_overwrite(assistant: Assistant, tmp_path: Path) -> None:
    sources = Path(assistant.settings.sources_dir)
    files = [
        _upload(tmp_path, "notes.txt", b"Field notes\nThe bridge opened in 2019.\n"),
        _upload(tmp_path, "fake.pdf", b"hello, I am not a pdf"),
        _upload(tmp_path, "tool.exe", b"MZ\x00\x00"),
        _upload(tmp_path, "binary.md", b"\x00\x01\x02" * 50),
    ]
    summary, _ = web.add_documents(assistant, files, overwrite=False)
    assert "`notes.txt`: added" in summary and (sources / "notes.txt").exists()
    assert "fake.pdf`: refused (not a PDF" in summary and not (sources / "fake.pdf").exists()
    assert "tool.exe`: refused (unsupported" in summary
    assert "binary.md`: refused (not a text file" in summary
    again, _ = web.add_documents(assistant, [_upload(tmp_path, "notes.txt", b"Other\nchanged text here\n")], False)
    assert "exists" in again and (sources / "notes.txt").read_bytes().startswith(b"Field notes")


def test_safe_filename_never_leaves_the_folder() -> None:
    assert web.safe_filename("../../etc/passwd") == "passwd"
    assert web.safe_filename("..\\..\\boot.ini") == "boot.ini"
    assert web.safe_filename("...") == ""
    assert "/" not in web.safe_filename("a/b/c<>.txt")
