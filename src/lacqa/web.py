"""The Gradio web chat: a thin layer over Assistant. Callbacks are plain functions that receive the
assistant through functools.partial, so they are unit-tested with a fake assistant."""


import functools
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from .config import Settings
from .errors import LacqaError
from .render import (
    _short,
    answer_markdown,
    citations_html,
    document_html,
    report_markdown,
    shown_citations,
    status_markdown,
)
from .types import Answer

UPLOAD_TYPES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".epub")
_ARCHIVES = {".docx": "a Word file", ".epub": "an EPUB file"}  # ZIP containers, checked as such
EXAMPLES = [
    "When was the first ministerial meeting of the China-CELAC Forum held?",
    "Which countries did Xi Jinping visit in November 2016?",
    "How much did China-LAC trade reach in 2021?",
]
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
"""
SCROLL_JS = "() => { setTimeout(() => { const m = document.getElementById('lq-hl'); if (m) m.scrollIntoView({block: 'center'}); }, 150); }"


# ----------------------------------------------------------------------------- callbacks


def ask_json(assistant: Any, question: str, k: int | None = None) -> dict[str, Any]:
    """API /ask: the same JSON object as `lacqa ask --json`."""
    try:
        return assistant.ask(question, k=k).to_json()
    except LacqaError as exc:
            raise gr.Error(str(exc)) from exc


def chat(
    assistant: Any, question: str, history: list[dict[str, Any]], answers: list[dict[str, Any]], k: int,
    show_draft: bool,
) -> Iterator[tuple[str, list[dict[str, Any]], list[dict[str, Any]], Any, Any]]:
    """Stream one turn: the draft as it is written, then the verified answer replaces it."""
    question = (question or "").strip()
    if not question:
        yield "", history, answers, citations_html(answers[-1] if answers else None), gr.update()
        return
    previous = [m["content"] for m in history if m.get("role") == "user" and isinstance(m.get("content"), str)]
    history = [*history, {"role": "user", "content": question},
               {"role": "assistant", "content": "\u2026 searching the sources"}]
    yield "", list(history), answers, citations_html(answers[-1] if answers else None), gr.update()
    draft = ""
    final: dict[str, Any] | None = None
    try:
        for event in assistant.ask_stream(question, k=int(k) if k else None, history=previous[-2:]):
            if isinstance(event, Answer):
                final = event.to_json()
                break
            draft += event
            history[-1] = {"role": "assistant", "content": f"*drafting from the quotes:* {draft.strip()}"}
            yield "", list(history), answers, gr.update(), gr.update()
    except LacqaError as exc:
        final = {"error": str(exc), "abstained": True, "citations": [], "closest": []}
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


_rebuild_lock = threading.Lock()


def rebuild_json(assistant: Any, progress: Any = None) -> dict[str, Any]:
    """API /rebuild: the same JSON object as `lacqa index --json`."""

    def on_stage(stage: str, done: int, total: int) -> None:
        if progress is not None and total:
            progress(done / total, desc=stage)

    with _rebuild_lock:
        try:
            return assistant.index(on_stage=on_stage, lock_timeout=60).to_json()
        except LacqaError as exc:
            return {"error": str(exc)}


def rebuild_ui(assistant: Any, progress: Any = None) -> tuple[str, str]:
    report = rebuild_json(assistant, progress)
    return report_markdown(report), status_markdown(assistant.status())


def auto_rebuild(assistant: Any, enabled: bool) -> tuple[Any, Any]:
    """Timer tick: show whether the sources changed; rebuild on its own when auto-rebuild is on."""
    s = assistant.status()
    if enabled and s.get("stale") and not _rebuild_lock.locked():
        report = rebuild_json(assistant)
        return report_markdown(report), status_markdown(assistant.status())
    return gr.update(), status_markdown(s)


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
    assistant: Any, files: list[str] | None, overwrite: bool, progress: Any = None
) -> tuple[str, str]:
    """Validate uploads, copy them into the sources folder (never outside it), then rebuild."""
    import shutil

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
        report = rebuild_json(assistant, progress)
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


def build_ui(assistant: Any) -> Any:
    p = functools.partial
    settings = assistant.settings
    with gr.Blocks(title="lacqa \u2014 cited answers from your documents") as demo:
        answers = gr.State([])
        selected = gr.State(-1)
        gr.Markdown(
            "# lacqa\nAnswers from your own documents. Every claim is quoted from a source; when the sources "
            "do not say, lacqa says so.", elem_id="lq-header",
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chatbot = gr.Chatbot(
                    label="Chat", show_label=False, height=None, min_height=260, max_height=620, layout="panel",
                    sanitize_html=True, feedback_options=None,
                    placeholder="Ask about the documents in your library. Try an example below.",
                    elem_id="lq-chat", buttons=["copy"],
                )
                with gr.Row():
                    box = gr.Textbox(placeholder="Ask a question\u2026", show_label=False,
                                     scale=5, max_lines=4, elem_id="lq-question", autofocus=True)
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="lq-ask")
                gr.Examples(EXAMPLES, inputs=box, label="Examples")
                clear = gr.Button("New conversation", size="sm", variant="secondary", scale=0, elem_id="lq-new")
            with gr.Column(scale=2, min_width=300):
                cites = gr.HTML(citations_html(None), elem_id="lq-citations")
                pick = gr.Radio(choices=[], label="Open a citation in its document", elem_id="lq-pick", visible=False)
                viewer = gr.HTML("<div class='lq-empty'>Pick a citation to read it in its document.</div>",
                                 elem_id="lq-viewer")
        with gr.Accordion("Index and documents", open=False, elem_id="lq-index-panel"):
            status = gr.Markdown(status_markdown(assistant.status()), elem_id="lq-status")
            with gr.Row():
                rebuild = gr.Button("Rebuild index", variant="secondary", elem_id="lq-rebuild")
                auto = gr.Checkbox(label="Auto-rebuild when files change", value=False)
            report = gr.Markdown(elem_id="lq-report")
            with gr.Row():
                upload = gr.File(label="Add documents (.txt, .md, .html, .pdf, .docx, .epub)", file_count="multiple",
                                 file_types=list(UPLOAD_TYPES), type="filepath")
                with gr.Column():
                    overwrite = gr.Checkbox(label="Replace existing documents with the same name", value=False)
                    add = gr.Button("Add to library and rebuild")
        with gr.Accordion("Settings", open=False):
            k = gr.Slider(3, 20, value=settings.answer.passages, step=1, label="Passages searched per question")
            models = model_choices(settings)
            model = gr.Dropdown(models, value=models[0] if models else None, label="Language model (GGUF in models/)",
                                allow_custom_value=False)
            model_note = gr.Markdown()
            show_draft = gr.Checkbox(label="Show the model's draft before verification", value=False)
        timer = gr.Timer(5.0)

        for trigger in (box.submit, send.click):  # Enter and the Ask button do the same
            trigger(p(chat, assistant), inputs=[box, chatbot, answers, k, show_draft],
                    outputs=[box, chatbot, answers, cites, pick], concurrency_limit=assistant.settings.concurrency, concurrency_id="ask",
                    api_visibility="private")
        clear.click(lambda: ([], [], citations_html(None), gr.update(choices=[], value=None, visible=False), -1),
                    outputs=[chatbot, answers, cites, pick, selected], api_visibility="private")
        def on_select(answer_list: list, evt: gr.SelectData) -> tuple:
            return select_answer(assistant, answer_list, evt)

        chatbot.select(on_select, inputs=[answers], outputs=[cites, pick, selected], api_visibility="private")
        pick.change(p(open_citation, assistant), inputs=[answers, selected, pick], outputs=[viewer],
                    api_visibility="private").then(None, js=SCROLL_JS)
        rebuild.click(p(rebuild_ui, assistant), outputs=[report, status], concurrency_limit=1,
                      concurrency_id="rebuild", api_visibility="private")
        add.click(p(add_documents, assistant), inputs=[upload, overwrite], outputs=[report, status],
                  concurrency_limit=1, concurrency_id="rebuild", api_visibility="private")
        timer.tick(p(auto_rebuild, assistant), inputs=[auto], outputs=[report, status], concurrency_limit=1,
                   concurrency_id="rebuild", api_visibility="private", show_progress="hidden")
        model.change(p(set_model, assistant), inputs=[model], outputs=[model_note], api_visibility="private")

        # questions run side by side (retrieval, ranking, evidence); only the language model takes one at a time (its lock)
        gr.api(_named(p(ask_json, assistant), "ask"), api_name="ask", concurrency_limit=assistant.settings.concurrency,
               concurrency_id="ask")
        gr.api(_named(p(status_json, assistant), "status"), api_name="status")
        gr.api(_named(p(rebuild_json, assistant), "rebuild"), api_name="rebuild", concurrency_limit=1,
               concurrency_id="rebuild")
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


def launch(settings: Settings | None = None, assistant: Any = None, block: bool = True) -> Any:
    """Build the app and serve it (127.0.0.1 unless told otherwise). Returns the Blocks."""
    from .pipeline import Assistant

    settings = settings or Settings()
    assistant = assistant or Assistant(settings)
    try:
        assistant.warm()
    except LacqaError as exc:  # the UI shows the error state (no index yet, model missing)
        print(f"warning: {exc}")
    demo = build_ui(assistant)
    demo.queue(max_size=settings.queue_size, default_concurrency_limit=1)  # a busy moment waits, not refused
    blocked = [str(Path(x).resolve()) for x in (settings.sources_dir, settings.index_dir, settings.models_dir)]
    demo.launch(
        server_name=settings.host, server_port=settings.port, max_file_size=f"{int(settings.max_file_mb)}mb",
        blocked_paths=blocked, allowed_paths=[], prevent_thread_lock=not block, show_error=True,
        theme=gr.themes.Soft(primary_hue="indigo"), css=CSS, footer_links=["api"], quiet=False,
    )
    return demo
