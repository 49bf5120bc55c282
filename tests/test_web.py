"""UI callbacks on an assistant with fake models, rendering safety, and upload validation."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from lacqa import web
from lacqa.background import Builder
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
    builder = Builder(assistant)
    report, status = web.rebuild_ui(builder)
    assert "Nothing changed" in report and "documents" in status
    (Path(assistant.settings.sources_dir) / "new.txt").write_text("A new note\nThe summit was in Lima in 2016.\n")
    assert assistant.status()["stale"] is True
    report, status = web.rebuild_ui(builder)
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
    summary, _ = web.add_documents(Builder(assistant), files, overwrite=False)
    assert "`notes.txt`: added" in summary and (sources / "notes.txt").exists()
    assert "fake.pdf`: refused (not a PDF" in summary and not (sources / "fake.pdf").exists()
    assert "tool.exe`: refused (unsupported" in summary
    assert "binary.md`: refused (not a text file" in summary
    again, _ = web.add_documents(Builder(assistant), [_upload(tmp_path, "notes.txt", b"Other\nchanged text here\n")], False)
    assert "exists" in again and (sources / "notes.txt").read_bytes().startswith(b"Field notes")


def test_safe_filename_never_leaves_the_folder() -> None:
    assert web.safe_filename("../../etc/passwd") == "passwd"
    assert web.safe_filename("..\\..\\boot.ini") == "boot.ini"
    assert web.safe_filename("...") == ""
    assert "/" not in web.safe_filename("a/b/c<>.txt")


# ----------------------------------------------------------------------------- first run: no index yet


def test_a_question_asked_while_the_first_index_builds_waits_for_it(hash_assistant: Assistant) -> None:
    builder = Builder(hash_assistant)
    assert builder.needed(auto=False) == "no index yet"
    assert builder.start("no index yet")
    steps = _run_chat_with(hash_assistant, builder, Q)
    texts = [s[1][-1]["content"] for s in steps]
    assert not any("Something went wrong" in t for t in texts)
    assert "[1]" in texts[-1] and len(steps[-1][2]) == 1, "answered once the index was published"
    builder.join(10)
    assert builder.state.phase == "done" and builder.state.report["published"]
    assert {s for s, _ in builder.state.finished} >= {"read files", "embed sentences"}


def _run_chat_with(assistant: Assistant, builder: Builder, question: str):  # type: ignore[no-untyped-def]
    return list(web.chat(assistant, question, [], [], 8, False, builder=builder))


def test_an_empty_or_missing_folder_is_an_empty_state_not_an_error(settings_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assistant = Assistant(settings_factory(sources_dir=tmp_path / "nowhere"), embedder=HashEmbedder())
    builder = Builder(assistant)
    assert builder.sources_state() == "missing" and builder.needed(auto=True) is None
    steps = _run_chat_with(assistant, builder, Q)
    reply = steps[-1][1][-1]["content"]
    assert "Your library is empty" in reply and "does not exist" in reply and "Something went wrong" not in reply
    assert steps[-1][2][0]["notice"] == reply, "the turn keeps its notice (the turn count stays in step)"
    (tmp_path / "nowhere").mkdir()
    (tmp_path / "nowhere" / ".hidden.txt").write_text("x")
    assert builder.sources_state() == "empty"
    assert "holds no document" in web.banner(builder)["value"]


def test_one_build_at_a_time_and_the_timer_never_waits(assistant: Assistant) -> None:
    builder = Builder(assistant, wait_s=0.2)
    assert builder._run_lock.acquire()  # a build is running (held here)
    try:
        assert not builder.start("sources changed")
        assert "still running" in web.rebuild_json(builder)["error"]
    finally:
        builder._run_lock.release()
    (Path(assistant.settings.sources_dir) / "new.txt").write_text("A new note\nThe summit was in Lima in 2016.\n")
    web.auto_rebuild(builder, enabled=False)
    assert builder.state.phase == "idle", "auto-rebuild off: a stale index is only reported"
    web.auto_rebuild(builder, enabled=True)
    builder.join(10)
    assert builder.state.report and "new.txt" in builder.state.report["added"]


def test_take_away_copies_the_selected_answer_and_writes_the_conversation(assistant: Assistant) -> None:
    import json

    _, _, answers, _, _ = _run_chat(assistant, Q)[-1]
    _, _, answers, _, _ = _run_chat(assistant, "Which team won the 2014 FIFA World Cup final in football?",
                                    None, answers)[-1]
    md, dl_md, dl_json = web.take_away(answers, 0)
    c = answers[0]["citations"][0]
    assert md.startswith(f"**Q:** {Q}") and f"[1] \u201c{' '.join(c['quote'].split())}\u201d" in md
    assert c["source"] in md
    conversation = Path(dl_md["value"]).read_text(encoding="utf-8")
    assert Q in conversation and "The sources do not say" in conversation and conversation.count("**Q:**") == 2
    assert json.loads(Path(dl_json["value"]).read_text(encoding="utf-8"))["turns"] == answers


def test_open_answer_sources_are_grouped_by_point() -> None:
    cite = {"title": "T", "source": "t.txt", "page": None, "quote": "q"}
    a = {"abstained": False, "shape": "list", "points": [
        {"text": "First thing [1]", "citations": [1]}, {"text": "Second thing [1][2]", "citations": [1, 2]}],
        "citations": [{**cite, "n": 1, "start": 0, "end": 1}, {**cite, "n": 2, "start": 2, "end": 3},
                      {**cite, "n": 3, "start": 4, "end": 5}]}
    html = citations_html(a)
    first, second = html.index("id='lq-point-1'"), html.index("id='lq-point-2'")
    assert first < html.index("lq-cite-1") < second < html.index("lq-cite-2")
    assert html.count("id='lq-cite-1'") == 1 and "[1] \u2014 shown under an earlier point" in html
    assert "Further sources" in html and html.index("lq-cite-3") > html.index("Further sources")
    assert "Point 1 \u00b7 First thing</div>" in html


def test_with_a_model_server_the_settings_name_it_instead_of_offering_ggufs(settings_factory) -> None:  # type: ignore[no-untyped-def]
    from lacqa.config import LlmSettings
    from lacqa.embed import HashEmbedder
    from lacqa.pipeline import Assistant
    from lacqa.web import build_ui

    settings = settings_factory(llm=LlmSettings(url="http://127.0.0.1:9/v1", model="qwen"))
    demo = build_ui(Assistant(settings, embedder=HashEmbedder()), start=False)
    config = demo.get_config_file()
    texts = [c.get("props", {}).get("value") for c in config["components"]]
    assert any(isinstance(t, str) and "model server at `http://127.0.0.1:9/v1`" in t and "qwen" in t for t in texts)
    dropdowns = [c for c in config["components"] if c.get("type") == "dropdown"]
    assert dropdowns and all(d["props"].get("visible") is False for d in dropdowns)
