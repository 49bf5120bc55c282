"""The Gradio web chat: a thin layer over Assistant. Callbacks are plain functions that receive the
assistant through functools.partial, so they are unit-tested with a fake assistant."""


import functools
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from . import export
from .background import Builder
from .config import Settings
from .errors import IndexMismatchError, IndexMissingError, LacqaError
from .examples import ExampleBook
from .library import TABLE_HEADERS, LibraryView, library_view, skipped_html, summary_markdown, table_rows
from .pipeline import earlier_questions
from .render import (
    _short,
    answer_markdown,
    citations_html,
    document_html,
    empty_markdown,
    library_document_html,
    progress_markdown,
    report_markdown,
    shown_citations,
    status_markdown,
    waiting_markdown,
)
from .types import Answer

UPLOAD_TYPES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".epub")
_ARCHIVES = {".docx": "a Word file", ".epub": "an EPUB file"}  # ZIP containers, checked as such
MAX_EXAMPLES = 4  # example buttons on the page (the library's own questions fill them, ExampleBook)
WAIT_POLL_S = 0.5  # how often a question asked while the first index is built looks again
CSS = """
.gradio-container {max-width: 1280px !important; margin: auto;}
#lq-header h1 {margin-bottom: 0;} #lq-header p {margin-top: 4px; color: var(--body-text-color-subdued);}
.lq-empty {color: var(--body-text-color-subdued); padding: 12px;}
.lq-head {font-weight: 600; margin: 4px 0 8px;}
.lq-card {border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 10px 12px; margin-bottom: 10px;}
.lq-title {font-weight: 600;} .lq-n {color: var(--color-accent);}
.lq-meta {font-size: 0.85em; color: var(--body-text-color-subdued); margin: 2px 0 6px;}
.lq-quote {font-size: 0.95em; line-height: 1.45;}
.lq-doc, .lq-quote, .lq-meta, .lq-title, .lq-doc-title {overflow-wrap: anywhere;}
#lq-new {align-self: flex-start;}
.lq-quote mark, .lq-doc mark {background: #fde68a; color: #111; padding: 0 2px; border-radius: 3px;}
.lq-doc {white-space: pre-wrap; max-height: 520px; overflow-y: auto; line-height: 1.5; padding: 8px;
         border: 1px solid var(--border-color-primary); border-radius: 8px; font-size: 0.95em;}
.lq-doc-title {font-weight: 600; font-size: 1.05em;}
.lq-point {border-left: 3px solid var(--color-accent); padding-left: 8px; margin: 0 0 12px;}
.lq-point-head {font-weight: 600; margin: 2px 0 6px;}
#lq-banner {padding: 8px 12px; border-radius: 8px; background: var(--background-fill-secondary);}
#lq-examples-row button {text-align: left;}
#lq-docs {max-width: 100%; overflow-x: auto !important; contain: inline-size;}  /* a wide table scrolls inside itself, never the page */
.lq-skipped ul {margin: 4px 0 0 18px;}
"""
# copy the selected answer as Markdown: the async clipboard where the page is a secure context (localhost is),
# else a hidden textarea and execCommand
COPY_JS = """(text) => {
  const done = () => { const b = document.getElementById('lq-copy'); if (b) { b.dataset.copied = '1';
    const t = b.innerText; b.innerText = 'Copied'; setTimeout(() => { b.innerText = t; }, 1500); } };
  if (!text) return [];
  if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text).then(done); }
  else { const a = document.createElement('textarea'); a.value = text; document.body.appendChild(a); a.select();
         document.execCommand('copy'); a.remove(); done(); }
  return [];
}"""
SCROLL_JS = "() => { setTimeout(() => { const m = document.getElementById('lq-hl'); if (m) m.scrollIntoView({block: 'center'}); }, 150); }"


# ----------------------------------------------------------------------------- callbacks


def ask_json(assistant: Any, question: str, k: int | None = None) -> dict[str, Any]:
    """API /ask: the same JSON object as `lacqa ask --json`."""
    try:
        return assistant.ask(question, k=k).to_json()
    except LacqaError as exc:
            raise gr.Error(str(exc)) from exc


def _serving(assistant: Any) -> bool:
    try:
        assistant.generation()
    except (IndexMissingError, IndexMismatchError):
        return False
    return True


def library_notice(assistant: Any, builder: Builder | None, wait_s: float = 1800.0) -> Iterator[str]:
    """Nothing when an index serves. Else the expected state as chat text: while a build runs, its progress
    every WAIT_POLL_S (until it publishes); then an empty library, a failed build or "no index yet"."""
    if _serving(assistant):
        return
    deadline = time.monotonic() + wait_s
    while builder is not None and builder.state.building and time.monotonic() < deadline:
        yield waiting_markdown(builder.state)
        time.sleep(WAIT_POLL_S)
        if _serving(assistant):
            return
    if _serving(assistant):
        return
    kind = builder.sources_state() if builder is not None else "ok"
    if kind != "ok":
        yield empty_markdown(kind, str(assistant.settings.sources_dir))
    elif builder is not None and builder.state.phase == "failed":
        yield (f"**The library could not be indexed:** {builder.state.error}\n\nFix the files named above (or "
               "remove them) and press **Rebuild index** on the *Library* tab.")
    else:
        yield ("**No index yet.** Press **Rebuild index** on the *Library* tab to index "
               f"`{assistant.settings.sources_dir}`.")


def chat(
    assistant: Any, question: str, history: list[dict[str, Any]], answers: list[dict[str, Any]], k: int,
    show_draft: bool, builder: Builder | None = None,
) -> Iterator[tuple[str, list[dict[str, Any]], list[dict[str, Any]], Any, Any]]:
    """Stream one turn: the draft as it is written, then the verified answer replaces it. With no index yet,
    the state of the library instead (a question asked while the first index builds waits for it)."""
    question = (question or "").strip()
    if not question:
        yield "", history, answers, citations_html(answers[-1] if answers else None), gr.update()
        return
    previous = earlier_questions(history)
    history = [*history, {"role": "user", "content": question},
               {"role": "assistant", "content": "\u2026 searching the sources"}]
    yield "", list(history), answers, citations_html(answers[-1] if answers else None), gr.update()
    notice = None
    for notice in library_notice(assistant, builder):  # no index yet: say why (and wait while one is built)
        history[-1] = {"role": "assistant", "content": notice}
        yield "", list(history), answers, gr.update(), gr.update()
    if notice is not None and not _serving(assistant):
        answers = [*answers, {"question": question, "notice": notice, "abstained": True, "citations": [],
                              "closest": []}]
        yield "", list(history), answers, gr.update(), gr.update()
        return
    draft = ""
    final: dict[str, Any] | None = None
    try:
        for event in assistant.ask_stream(question, k=int(k) if k else None, history=previous):
            if isinstance(event, Answer):
                final = event.to_json()
                break
            draft += event
            history[-1] = {"role": "assistant", "content": f"*drafting from the quotes:* {draft.strip()}"}
            yield "", list(history), answers, gr.update(), gr.update()
    except LacqaError as exc:
        final = {"question": question, "error": str(exc), "abstained": True, "citations": [], "closest": []}
    assert final is not None
    content = answer_markdown(final)
    if show_draft and final.get("draft"):
        content += f"\n\n<sub>model draft before verification: {final['draft'][:300]}</sub>"
    history[-1] = {"role": "assistant", "content": content}
    answers = [*answers, final]
    yield "", history, answers, citations_html(final, quote_context(assistant, final)), citation_choices(final)


def quote_context(assistant: Any, a: dict[str, Any], width: int = 160) -> dict[int, tuple[str, str]]:
    """Text just before and after each quote, for the source cards."""
    out: dict[int, tuple[str, str]] = {}
    try:
        gen = assistant.generation()
    except LacqaError:
        return out
    cites = shown_citations(a)
    for c in cites:
        doc = gen.documents.get(c["doc_id"])
        if doc is None or doc.text[c["start"] : c["end"]] != c["quote"]:
            continue
        before = doc.text[max(0, c["start"] - width) : c["start"]]
        after = doc.text[c["end"] : c["end"] + width]
        out[c["n"]] = (" ".join(before.split()[1:]) + " " if before else "", " " + " ".join(after.split()[:-1]))
    return out


def citation_choices(a: dict[str, Any] | None) -> Any:
    if not a:
        return gr.update(choices=[], value=None, visible=False)
    cites = shown_citations(a)
    return gr.update(choices=[(f"[{c['n']}] {_short(c['title'], 80)}", c["n"]) for c in cites], value=None,
                     visible=bool(cites))


def select_answer(assistant: Any, answers: list[dict[str, Any]], evt: gr.SelectData) -> tuple[str, Any, int]:
    """Clicking an assistant message shows that answer's sources."""
    index = evt.index if isinstance(evt.index, int) else evt.index[0]
    turn = index // 2
    if not answers or turn >= len(answers):
        return citations_html(answers[-1] if answers else None), citation_choices(answers[-1] if answers else None), len(answers) - 1
    a = answers[turn]
    return citations_html(a, quote_context(assistant, a)), citation_choices(a), turn


def open_citation(assistant: Any, answers: list[dict[str, Any]], selected: int, n: int | None) -> str:
    """The cleaned document of citation n of the selected answer, scrolled to the highlighted quote."""
    if n is None or not answers:
        return "<div class='lq-empty'>Pick a citation to read it in its document.</div>"
    a = answers[selected if 0 <= selected < len(answers) else -1]
    cites = shown_citations(a)
    c = next((c for c in cites if c["n"] == int(n)), None)
    if c is None:
        return "<div class='lq-empty'>That citation is not part of this answer.</div>"
    gen = assistant.generation()
    doc = gen.documents.get(c["doc_id"])
    if doc is None:
        return ("<div class='lq-empty'>This document is no longer in the index (it was removed or changed "
                "after the answer was given).</div>")
    return document_html(doc.title, doc.source, doc.text, c["start"], c["end"])


def status_json(assistant: Any) -> dict[str, Any]:
    """API /status."""
    return assistant.status()


def rebuild_json(builder: Builder, progress: Any = None) -> dict[str, Any]:
    """API /rebuild: the same JSON object as `lacqa index --json` (waits for a build already running)."""
    return builder.build("rebuild requested", progress)


def rebuild_ui(builder: Builder, progress: Any = None) -> tuple[str, str]:
    report = rebuild_json(builder, progress)
    return report_markdown(report), status_markdown(builder.assistant.status())


def auto_rebuild(builder: Builder, enabled: bool) -> tuple[Any, Any]:
    """Timer tick: show whether the sources changed; with auto-rebuild on, start a background build (the
    page's progress line follows it; the tick itself never waits for a build)."""
    if builder.state.building:
        return gr.update(), gr.update()
    reason = builder.needed(bool(enabled))  # also a first build, once files appear in an empty folder
    if reason and builder.start(reason):
        return gr.update(), gr.update()
    return gr.update(), status_markdown(builder.assistant.status())


# ----------------------------------------------------------------------------- the library on the page


def banner(builder: Builder) -> Any:
    """The line above the tabs: build progress, an empty library, or a failed build (hidden otherwise)."""
    st = builder.state
    if st.building:
        return gr.update(value=progress_markdown(st), visible=True)
    kind = builder.sources_state() if not _serving(builder.assistant) else "ok"
    if kind != "ok":
        return gr.update(value=empty_markdown(kind, str(builder.assistant.settings.sources_dir)), visible=True)
    if st.phase == "failed":
        return gr.update(value=f"**The last build failed:** {st.error}", visible=True)
    return gr.update(value="", visible=False)


def current_view(assistant: Any) -> LibraryView | None:
    try:
        return library_view(assistant.generation())
    except LacqaError:
        return None


def header_markdown(assistant: Any) -> str:
    """What the library holds, in one line under the title."""
    view = current_view(assistant)
    if view is None:
        return f"Library: `{assistant.settings.sources_dir}` \u00b7 not indexed yet"
    return f"Library: `{assistant.settings.sources_dir}` \u00b7 " + summary_markdown(view)


def example_updates(book: ExampleBook, assistant: Any) -> list[Any]:
    """The example buttons: the serving generation's checked questions (hidden until they are made)."""
    view = current_view(assistant)
    qs = book.get(view.generation if view else None) or []
    return [gr.update(value=qs[i], visible=True) if i < len(qs) else gr.update(value="", visible=False)
            for i in range(MAX_EXAMPLES)]


def examples_note(book: ExampleBook, assistant: Any) -> str:
    view = current_view(assistant)
    if view is None:
        return ""
    if book.get(view.generation) is None:
        return "*Finding example questions in your documents\u2026*"
    return "**Try a question from your library:**" if book.get(view.generation) else ""


def library_table(assistant: Any, query: str | None) -> tuple[Any, str, str]:
    """Documents table (filtered by name), the summary line and the skipped files."""
    view = current_view(assistant)
    if view is None:
        return gr.update(value=[], headers=TABLE_HEADERS), "No index yet.", ""
    rows = view.filtered(query)
    return (gr.update(value=table_rows(rows), headers=TABLE_HEADERS), summary_markdown(view, len(rows)),
            skipped_html(view))


def open_document(assistant: Any, query: str | None, evt: gr.SelectData) -> str:
    """A row of the documents table clicked: that whole document in the library viewer."""
    view = current_view(assistant)
    row_i = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
    rows = view.filtered(query) if view else ()
    if view is None or not isinstance(row_i, int) or not 0 <= row_i < len(rows):
        return "<div class='lq-empty'>Click a document in the table to read it.</div>"
    row = rows[row_i]
    doc = assistant.generation().documents.get(row.doc_id)
    if doc is None:
        return "<div class='lq-empty'>This document is no longer in the index.</div>"
    return library_document_html(row, doc.text)


def poll(builder: Builder, book: ExampleBook, seen: str, query: str | None) -> list[Any]:
    """The 1 s tick: the banner always; the header, examples, status and library only when the generation,
    its examples or a build's outcome changed (``seen`` is the last key this page drew)."""
    assistant = builder.assistant
    view = current_view(assistant)
    gen = view.generation if view else None
    st = builder.state
    key = f"{gen}|{book.get(gen) is not None}|{st.runs}|{st.building}"
    out: list[Any] = [banner(builder)]
    if key == seen:
        return [*out, *([gr.update()] * (MAX_EXAMPLES + 6)), seen]
    table, summary, skipped = library_table(assistant, query)
    return [*out, header_markdown(assistant), examples_note(book, assistant), *example_updates(book, assistant),
            status_markdown(assistant.status()), table, summary, skipped, key]


def take_away(answers: list[dict[str, Any]], selected: int) -> tuple[str, Any, Any]:
    """The selected answer as Markdown (for the copy button) and the conversation as .md and .json files."""
    if not answers:
        return "", gr.update(value=None, interactive=False), gr.update(value=None, interactive=False)
    a = answers[selected if 0 <= selected < len(answers) else -1]
    folder = Path(tempfile.mkdtemp(prefix="lacqa-conversation-"))
    md, js = folder / "lacqa-conversation.md", folder / "lacqa-conversation.json"
    md.write_text(export.conversation_markdown(answers), encoding="utf-8")
    js.write_text(export.conversation_json(answers), encoding="utf-8")
    return (export.answer_markdown(a), gr.update(value=str(md), interactive=True),
            gr.update(value=str(js), interactive=True))


def first_view(builder: Builder) -> Any:
    """On page load: an empty library opens on the Library tab, where documents are added."""
    return gr.Tabs(selected="library" if builder.sources_state() != "ok" else "chat")


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_filename(name: str) -> str:
    base = os.path.basename(name.replace("\\", "/"))
    base = _SAFE_NAME.sub("_", base).strip(" .")
    return base[:120]


def check_upload(path: Path, max_bytes: int) -> str | None:
    """None when the file may be added, else why not. Type is checked by content, not only by name."""
    from .load import decode_text

    suffix = path.suffix.lower()
    if suffix not in UPLOAD_TYPES:
        return f"unsupported type '{suffix}' (allowed: {', '.join(UPLOAD_TYPES)})"
    size = path.stat().st_size
    if size == 0:
        return "the file is empty"
    if size > max_bytes:
        return f"too large: {size / 1e6:.1f} MB (limit {max_bytes / 1e6:.0f} MB)"
    if suffix in _ARCHIVES:
        from .archive import open_zip

        try:
            open_zip(path.read_bytes(), _ARCHIVES[suffix])
        except ValueError as exc:
            return str(exc)
        return None
    head = path.read_bytes()[:2048] if suffix == ".pdf" else path.read_bytes()
    if suffix == ".pdf":
        return None if head.startswith(b"%PDF-") else "not a PDF file (its content does not start with %PDF-)"
    if head.startswith(b"%PDF-"):
        return f"this is a PDF, not a {suffix} file"
    try:
        decode_text(head)
    except ValueError as exc:
        return f"not a text file: {exc}"
    return None


def add_documents(
    builder: Builder, files: list[str] | None, overwrite: bool, progress: Any = None
) -> tuple[str, str]:
    """Validate uploads, copy them into the sources folder (never outside it), then rebuild."""
    import shutil

    assistant = builder.assistant
    if not files:
        return ("Choose one or more .txt, .md, .html, .pdf, .docx or .epub files first.",
                status_markdown(assistant.status()))
    root = Path(assistant.settings.sources_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    max_bytes = int(assistant.settings.max_file_mb * 1e6)
    lines = []
    added = 0
    for f in files:
        src = Path(f)
        name = safe_filename(src.name)
        if not name:
            lines.append(f"- `{src.name}`: refused (unusable file name)")
            continue
        dest = (root / name).resolve()
        if dest.parent != root:
            lines.append(f"- `{name}`: refused (path outside the sources folder)")
            continue
        problem = check_upload(src, max_bytes)
        if problem:
            lines.append(f"- `{name}`: refused ({problem})")
            continue
        if dest.exists() and not overwrite:
            lines.append(f"- `{name}`: a document with this name exists; tick *replace existing* to overwrite it")
            continue
        tmp = dest.with_name(f".upload-{name}")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
        lines.append(f"- `{name}`: added")
        added += 1
    summary = "\n".join(lines)
    if added:
        report = rebuild_json(builder, progress)
        summary += "\n\n" + report_markdown(report)
    return summary, status_markdown(assistant.status())


def model_choices(settings: Settings) -> list[str]:
    return [str(p) for p in settings.available_models()]


def set_model(assistant: Any, path: str | None) -> str:
    try:
        assistant.use_model(path)
        return f"Model: `{Path(path).name if path else 'default'}` (loads with the next question)"
    except LacqaError as exc:
        return f"**Model error:** {exc}"


# ----------------------------------------------------------------------------- layout


def build_ui(assistant: Any, builder: Builder | None = None, book: ExampleBook | None = None,
             start: bool = True) -> Any:
    """The Blocks of the app. Unless told otherwise (``start=False``), a library with no index (or a stale one,
    with auto-rebuild on) starts building in the background at once, and example questions are made after."""
    p = functools.partial
    settings = assistant.settings
    book = book or ExampleBook(assistant, want=3)
    builder = builder or Builder(assistant, after=book.refresh)
    if start:
        builder.start_up(settings.auto_rebuild)
    with gr.Blocks(title="lacqa \u2014 cited answers from your documents") as demo:
        answers = gr.State([])
        selected = gr.State(-1)
        seen = gr.State("")
        gr.Markdown(
            "# lacqa\nAnswers from your own documents. Every claim is quoted from a source; when the sources "
            "do not say, lacqa says so.", elem_id="lq-header",
        )
        header = gr.Markdown(header_markdown(assistant), elem_id="lq-library-line")
        note = banner(builder)
        banner_md = gr.Markdown(note.get("value", ""), visible=note.get("visible", False), elem_id="lq-banner")
        with gr.Tabs(selected="chat", elem_id="lq-tabs") as tabs:
            with gr.Tab("Chat", id="chat", elem_id="lq-tab-chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=300):
                        chatbot = gr.Chatbot(
                            label="Chat", show_label=False, height=None, min_height=260, max_height=620,
                            layout="panel", sanitize_html=True, feedback_options=None,
                            placeholder="Ask about the documents in your library.",
                            elem_id="lq-chat", buttons=["copy"],
                        )
                        with gr.Row():
                            box = gr.Textbox(placeholder="Ask a question\u2026", show_label=False,
                                             scale=5, max_lines=4, elem_id="lq-question", autofocus=True)
                            send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="lq-ask")
                        ex_note = gr.Markdown(examples_note(book, assistant), elem_id="lq-examples-note")
                        with gr.Column(elem_id="lq-examples-row"):
                            ex_buttons = [gr.Button(u.get("value", ""), visible=u.get("visible", False), size="sm",
                                                    variant="secondary", elem_classes=["lq-example"])
                                          for u in example_updates(book, assistant)]
                        with gr.Row():
                            clear = gr.Button("New conversation", size="sm", variant="secondary", scale=0,
                                              elem_id="lq-new", min_width=120)
                            copy = gr.Button("Copy answer (Markdown)", size="sm", scale=0, elem_id="lq-copy",
                                             min_width=120)
                            dl_md = gr.DownloadButton("Download chat (.md)", size="sm", scale=0, interactive=False,
                                                      elem_id="lq-dl-md", min_width=120)
                            dl_json = gr.DownloadButton("Download chat (.json)", size="sm", scale=0,
                                                        interactive=False, elem_id="lq-dl-json", min_width=120)
                        answer_md = gr.Textbox(visible=False, elem_id="lq-answer-md")
                    with gr.Column(scale=2, min_width=280):
                        cites = gr.HTML(citations_html(None), elem_id="lq-citations")
                        pick = gr.Radio(choices=[], label="Open a citation in its document", elem_id="lq-pick",
                                        visible=False)
                        viewer = gr.HTML("<div class='lq-empty'>Pick a citation to read it in its document.</div>",
                                         elem_id="lq-viewer")
            with gr.Tab("Library", id="library", elem_id="lq-tab-library"):
                status = gr.Markdown(status_markdown(assistant.status()), elem_id="lq-status")
                with gr.Row():
                    rebuild = gr.Button("Rebuild index", variant="secondary", elem_id="lq-rebuild", scale=0,
                                        min_width=140)
                    auto = gr.Checkbox(label="Auto-rebuild when files change", value=settings.auto_rebuild)
                report = gr.Markdown(elem_id="lq-report")
                table0, summary0, skipped0 = library_table(assistant, "")
                lib_summary = gr.Markdown(summary0, elem_id="lq-lib-summary")
                lib_filter = gr.Textbox(placeholder="Filter by title or file name\u2026", show_label=False,
                                        elem_id="lq-filter", max_lines=1)
                docs = gr.Dataframe(value=table0.get("value", []), headers=TABLE_HEADERS, interactive=False,
                                    wrap=True, elem_id="lq-docs", max_height=420, show_search="none",
                                    label="Documents (click one to read it)")
                lib_doc = gr.HTML("<div class='lq-empty'>Click a document in the table to read it.</div>",
                                  elem_id="lq-libviewer")
                lib_skipped = gr.HTML(skipped0, elem_id="lq-skipped")
                with gr.Row():
                    upload = gr.File(label="Add documents (.txt, .md, .html, .pdf, .docx, .epub)", file_count="multiple",
                                     file_types=list(UPLOAD_TYPES), type="filepath", elem_id="lq-upload")
                    with gr.Column():
                        overwrite = gr.Checkbox(label="Replace existing documents with the same name", value=False)
                        add = gr.Button("Add to library and rebuild", elem_id="lq-add")
            with gr.Tab("Settings", id="settings"):
                k = gr.Slider(3, 20, value=settings.answer.passages, step=1, label="Passages searched per question")
                served = settings.llm.url is not None  # drafts come from a model server: no GGUF to choose
                models = [] if served else model_choices(settings)
                model = gr.Dropdown(models, value=models[0] if models else None, visible=not served,
                                    label="Language model (GGUF in models/)", allow_custom_value=False)
                model_note = gr.Markdown(
                    f"Drafts come from the model server at `{settings.llm.url}`"
                    f"{f' (model `{settings.llm.model}`)' if settings.llm.model else ''}; set with LACQA_LLM__URL."
                    if served else "")
                show_draft = gr.Checkbox(label="Show the model's draft before verification", value=False)
        timer = gr.Timer(5.0)
        ticker = gr.Timer(1.0)

        ask = p(chat, assistant, builder=builder)
        chat_io: dict[str, Any] = dict(inputs=[box, chatbot, answers, k, show_draft],
                                       outputs=[box, chatbot, answers, cites, pick],
                                       concurrency_limit=settings.concurrency, concurrency_id="ask",
                                       api_visibility="private")
        after_io: dict[str, Any] = dict(inputs=[answers, selected], outputs=[answer_md, dl_md, dl_json],
                                        api_visibility="private")
        for trigger in (box.submit, send.click):  # Enter and the Ask button do the same
            trigger(ask, **chat_io).then(lambda: -1, outputs=[selected], api_visibility="private").then(
                take_away, **after_io)
        for b in ex_buttons:  # an example asks itself
            b.click(lambda q: q, inputs=[b], outputs=[box], api_visibility="private").then(ask, **chat_io).then(
                lambda: -1, outputs=[selected], api_visibility="private").then(take_away, **after_io)
        clear.click(lambda: ([], [], citations_html(None), gr.update(choices=[], value=None, visible=False), -1),
                    outputs=[chatbot, answers, cites, pick, selected], api_visibility="private").then(
            take_away, **after_io)
        copy.click(None, inputs=[answer_md], js=COPY_JS)

        def on_select(answer_list: list, evt: gr.SelectData) -> tuple:
            return select_answer(assistant, answer_list, evt)

        chatbot.select(on_select, inputs=[answers], outputs=[cites, pick, selected], api_visibility="private").then(
            take_away, **after_io)
        pick.change(p(open_citation, assistant), inputs=[answers, selected, pick], outputs=[viewer],
                    api_visibility="private").then(None, js=SCROLL_JS)
        rebuild.click(p(rebuild_ui, builder), outputs=[report, status], concurrency_limit=1,
                      concurrency_id="rebuild", api_visibility="private")
        add.click(p(add_documents, builder), inputs=[upload, overwrite], outputs=[report, status],
                  concurrency_limit=1, concurrency_id="rebuild", api_visibility="private")
        timer.tick(p(auto_rebuild, builder), inputs=[auto], outputs=[report, status], concurrency_limit=1,
                   concurrency_id="auto", api_visibility="private", show_progress="hidden")
        library_out = [header, ex_note, *ex_buttons, status, docs, lib_summary, lib_skipped, seen]
        ticker.tick(p(poll, builder, book), inputs=[seen, lib_filter], outputs=[banner_md, *library_out],
                    concurrency_limit=None, api_visibility="private", show_progress="hidden")
        lib_filter.change(p(library_table, assistant), inputs=[lib_filter], outputs=[docs, lib_summary, lib_skipped],
                          api_visibility="private", show_progress="hidden")
        def on_open(query: str, evt: gr.SelectData) -> str:  # SelectData is injected by annotation: no partial
            return open_document(assistant, query, evt)

        docs.select(on_open, inputs=[lib_filter], outputs=[lib_doc], api_visibility="private")
        model.change(p(set_model, assistant), inputs=[model], outputs=[model_note], api_visibility="private")
        demo.load(p(first_view, builder), outputs=[tabs], api_visibility="private")

        # questions run side by side (retrieval, ranking, evidence); only the language model takes one at a time (its lock)
        gr.api(_named(p(ask_json, assistant), "ask"), api_name="ask", concurrency_limit=assistant.settings.concurrency,
               concurrency_id="ask")
        gr.api(_named(p(status_json, assistant), "status"), api_name="status")
        gr.api(_named(p(rebuild_json, builder), "rebuild"), api_name="rebuild", concurrency_limit=1,
               concurrency_id="rebuild")
    demo.lacqa_builder = builder  # type: ignore[attr-defined]  # for tests and launch-time callers
    demo.lacqa_examples = book  # type: ignore[attr-defined]
    return demo


def _named(fn: functools.partial, name: str) -> Any:
    """gr.api reads the signature and docstring of the function it wraps: give it a real one."""
    inner = fn.func

    if name == "ask":
        def api_ask(question: str, k: int | None = None) -> dict:
            """Answer a question with verified quotes; returns the `lacqa ask --json` object."""
            return inner(*fn.args, question, k)
        return api_ask
    if name == "status":
        def api_status() -> dict:
            """Index generation, documents, chunks, build time, embedding model; whether sources changed."""
            return inner(*fn.args)
        return api_status

    def api_rebuild() -> dict:
        """Incremental rebuild; returns the `lacqa index --json` object (or {"error": ...})."""
        return inner(*fn.args)
    return api_rebuild


def launch(settings: Settings | None = None, assistant: Any = None, block: bool = True, warm: bool = True) -> Any:
    """Build the app and serve it (127.0.0.1 unless told otherwise): the web chat at /, its Gradio API, and the
    OpenAI-compatible API at /v1 (openai_api.py), all on one port. Returns the running server.Server."""
    from .openai_api import create_app
    from .pipeline import Assistant
    from .server import LOOPBACK, Server

    settings = settings or Settings()
    assistant = assistant or Assistant(settings)
    if warm:  # models load while the page is laid out and the server starts
        assistant.warm_in_background(assistant.warm_models)
    serving = threading.Event()  # set once the server is up and the index loaded: example questions wait for it
    demo = build_ui(assistant, book=ExampleBook(assistant, want=3, ready=serving))
    demo.queue(max_size=settings.queue_size, default_concurrency_limit=1)  # a busy moment waits, not refused
    blocked = [str(Path(x).resolve()) for x in (settings.sources_dir, settings.index_dir, settings.models_dir,
                                                settings.data_dir)]
    key = settings.api_key.get_secret_value() if settings.api_key else None
    app, api = create_app(assistant, api_key=key)  # the /v1 routes first: the UI mounted at / takes the rest
    app = gr.mount_gradio_app(
        app, demo, path="/", server_name=settings.host, server_port=settings.port,
        max_file_size=f"{int(settings.max_file_mb)}mb", blocked_paths=blocked, allowed_paths=[], show_error=True,
        theme=gr.themes.Soft(primary_hue="indigo"), css=CSS, footer_links=["api"],
    )
    server = Server(app, settings.host, settings.port, demo=demo, on_close=[demo.close, api.close])
    if settings.host not in LOOPBACK and key is None:
        print(f"warning: serving on {settings.host} without an API key: anyone who can reach it may ask "
              "(set LACQA_API_KEY to require one for /v1)")
    print(f"lacqa: web chat at {server.url} \u00b7 OpenAI-compatible API at {server.url}v1")
    def after_start() -> None:  # the app is laid out: the index's tables load while users type, then the examples
        try:
            server.wait_started(60.0)
            assistant.warm_index()
        finally:
            serving.set()

    assistant.warm_in_background(after_start)
    if block:
        server.run()
    else:
        server.start()
    return server
