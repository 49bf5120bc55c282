"""Command line: `lacqa index | search | status | ask | eval | serve | watch`. Every command has --json."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from .config import Settings
from .errors import ConfigError, LacqaError

app = typer.Typer(
    add_completion=False, no_args_is_help=True, rich_markup_mode="rich",
    help="lacqa - grounded, cited answers from a local library of documents, offline.\n\n"
    "Examples:\n\n  lacqa index\n\n  lacqa search 'When was the China-CELAC Forum held?' -k 3\n\n"
    "  lacqa ask 'Which countries did Xi Jinping visit in 2016?' --json",
)
console = Console(stderr=True)
out = Console(highlight=False, soft_wrap=True)

SourcesOpt = typer.Option(None, "--sources", "-s", help="sources folder [env LACQA_SOURCES_DIR, default seeds/]")
IndexOpt = typer.Option(None, "--index", "-i", help="index folder [env LACQA_INDEX_DIR; default index/ for seeds/, "
                        "else one per sources folder in the data folder]")
JsonOpt = typer.Option(False, "--json", help="print JSON for machines")
ModelOpt = typer.Option(None, "--model", "-m", help="GGUF file [env LACQA_MODEL, default the one in models/]")


def _settings(sources: Optional[Path] = None, index: Optional[Path] = None, model: Optional[Path] = None) -> Settings:
    overrides: dict[str, Any] = {}
    if sources is not None:
        overrides["sources_dir"] = sources
    if index is not None:
        overrides["index_dir"] = index
    if model is not None:
        overrides["model"] = model
    return Settings(**overrides)


def _fail(exc: LacqaError, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"error": str(exc), "type": type(exc).__name__}))
    # one line however narrow the terminal (no hard wrap); a path or file name in it is no markup
    console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
    raise typer.Exit(code=2)


def _emit(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False))


@app.command()
def index(
    sources: Optional[Path] = SourcesOpt,
    index_dir: Optional[Path] = IndexOpt,
    dry_run: bool = typer.Option(False, "--dry-run", "-n", help="only report what would change"),
    wait: float = typer.Option(0.0, "--wait", help="seconds to wait for another build's lock"),
    as_json: bool = JsonOpt,
) -> None:
    """Build or update the index (incremental: only new and changed documents are embedded).

    Example: lacqa index --sources seeds --json
    """
    from .pipeline import Assistant

    settings = _settings(sources, index_dir)
    assistant = Assistant(settings)
    try:
        with _progress(enabled=not as_json) as on_stage:
            report = assistant.index(dry_run=dry_run, on_stage=on_stage, lock_timeout=wait)
    except LacqaError as exc:
        _fail(exc, as_json)
        return
    if as_json:
        _emit(report.to_json())
        return
    verb = "would change" if dry_run else "indexed"
    out.print(
        f"[bold]{verb}[/]: {len(report.added)} added, {len(report.changed)} changed, {len(report.removed)} removed, "
        f"{len(report.unchanged)} unchanged, {len(report.skipped)} skipped - {report.documents} documents, "
        f"{report.chunks} chunks "
        f"in {report.seconds:.2f}s (generation {report.generation})"
    )
    # file names and reasons are printed as they are: a name like '[draft] notes.md' is no markup
    for label, items in (("added", report.added), ("changed", report.changed), ("removed", report.removed)):
        for item in items:
            out.print(f"  {label:8} {escape(item)}")
    for s in report.skipped:
        out.print(f"  [yellow]skipped[/]  {escape(s.source)}: {escape(s.reason)}")


class _progress:
    """Rich progress bars for build stages (embedding is the long one)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("eta"), TimeRemainingColumn(), console=console,
        )
        self.tasks: dict[str, Any] = {}

    def __enter__(self):  # type: ignore[no-untyped-def]
        if self.enabled:
            self.progress.start()
        return self.update

    def update(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(stage, total=total)
        self.progress.update(self.tasks[stage], completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.progress.stop()


@app.command()
def search(
    query: Optional[str] = typer.Argument(None, help="the question"),
    k: int = typer.Option(5, "-k", "--top", min=1, max=50, help="number of passages"),
    jsonl: Optional[Path] = typer.Option(None, "--jsonl", help='file of lines {"id": ..., "q": ...}'),
    sources: Optional[Path] = SourcesOpt,
    index_dir: Optional[Path] = IndexOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show the passages that best match a question (hybrid dense + BM25 retrieval).

    Example: lacqa search "CELAC forum first ministerial meeting" -k 3 --json
    """
    from .pipeline import Assistant

    assistant = Assistant(_settings(sources, index_dir))
    try:
        if jsonl is not None:
            for qid, q in _read_jsonl(jsonl):
                _emit({"id": qid, "hits": [h.to_json() for h in assistant.search(q, k)]})
            return
        if not query:
            raise typer.BadParameter("give a question or --jsonl FILE")
        hits = assistant.search(query, k)
    except LacqaError as exc:
        _fail(exc, as_json)
        return
    if as_json:
        _emit({"query": query, "hits": [h.to_json() for h in hits]})
        return
    for i, h in enumerate(hits, start=1):
        c = h.chunk
        page = f", p. {c.page}" if c.page else ""
        page += f", \u00a7 {escape(c.section)}" if c.section else ""
        out.print(f"[bold]{i}. {c.title}[/] [dim]({c.source}{page}, chars {c.start}-{c.end}, score {h.score:.4f})[/]")
        out.print("   " + " ".join(c.text.split())[:400])


def _read_jsonl(path: Path) -> list[tuple[Any, str]]:
    from .evaluate import read_jsonl

    return read_jsonl(path, lambda n, o: (o.get("id", n), str(o["q"])), "a 'q' field")


@app.command()
def status(index_dir: Optional[Path] = IndexOpt, sources: Optional[Path] = SourcesOpt, as_json: bool = JsonOpt) -> None:
    """Show the serving index: generation, documents, chunks, build time, embedding model."""
    from .pipeline import Assistant

    try:
        info = Assistant(_settings(sources, index_dir)).status()
    except LacqaError as exc:
        _fail(exc, as_json)
        return
    if as_json:
        _emit(info)
        if info["generation"] is None:
            raise typer.Exit(code=1)
        return
    if info["generation"] is None:
        out.print(f"no index in {info['index_dir']}/ yet - run `lacqa index`")
        raise typer.Exit(code=1)
    table = Table(show_header=False, box=None)
    for key in ("generation", "documents", "chunks", "built_at", "model", "dimension", "sources_dir", "index_dir"):
        table.add_row(key, str(info.get(key)))
    table.add_row("sources", "changed since build - run `lacqa index`" if info["stale"] else "up to date")
    out.print(table)


def _print_answer(answer: Any) -> None:
    head = "[bold yellow]No answer[/]" if answer.abstained else "[bold green]Answer[/]"
    out.print(f"{head} [dim]({answer.mode}, {answer.latency_s:.2f}s, generation {answer.generation})[/]")
    out.print(answer.text.replace("\\$", "$"))
    cites = answer.closest if answer.abstained else answer.citations
    if cites:
        out.print("[bold]Closest passages:[/]" if answer.abstained else "[bold]Quotes:[/]")
    for c in cites:
        page = f", p. {c.page}" if c.page else ""
        page += f", \u00a7 {escape(c.section)}" if c.section else ""
        out.print(f" [{c.n}] \u201c{' '.join(c.quote.split())}\u201d")
        out.print(f"     [dim]{c.title} - {c.source}{page}, chars {c.start}-{c.end}[/]")
    for note in answer.notes:
        out.print(f"[dim]note: {note}[/]")


@app.command()
def ask(
    question: Optional[str] = typer.Argument(None, help="the question"),
    k: Optional[int] = typer.Option(None, "-k", "--passages", min=1, max=30, help="passages scanned for evidence"),
    jsonl: Optional[Path] = typer.Option(None, "--jsonl", help='file of lines {"id": ..., "q": ...}'),
    sources: Optional[Path] = SourcesOpt,
    index_dir: Optional[Path] = IndexOpt,
    model: Optional[Path] = ModelOpt,
    no_draft: bool = typer.Option(False, "--no-draft", help="answer with the best quotes only (no language model)"),
    as_json: bool = JsonOpt,
) -> None:
    """Answer a question with verified, quoted evidence - or say why the sources do not say.

    Example: lacqa ask "When was the first China-CELAC ministerial meeting held?" --json
    """
    from .pipeline import Assistant

    settings = _settings(sources, index_dir, model)
    if no_draft:
        settings.answer.draft = False
    assistant = Assistant(settings)
    # the language model loads (in C, off the GIL) while this thread opens the index, retrieves and selects
    # evidence: a process's question pays for the slower of the two, not their sum (40 articles: 3.5 -> 3.0 s)
    assistant.warm_in_background(assistant.warm_generator, quiet=True)
    try:
        if jsonl is not None:
            for qid, q in _read_jsonl(jsonl):
                data = assistant.ask(q, k=k).to_json()
                print(json.dumps({"id": qid, **data}, ensure_ascii=False), flush=True)
            return
        if question is None:
            raise typer.BadParameter("give a question or --jsonl FILE")
        answer = assistant.ask(question, k=k)
    except LacqaError as exc:
        _fail(exc, as_json)
        return
    if as_json:
        _emit(answer.to_json())
    else:
        _print_answer(answer)


#: units `lacqa eval --ablate NAME` can switch off, and how
ABLATIONS: dict[str, Any] = {
    "ranker": lambda s: setattr(s.answer, "ranker", "off"),
    "shapes": lambda s: setattr(s.answer, "shapes", False),
    "draft": lambda s: setattr(s.answer, "draft", False),
    "open_ranker": lambda s: setattr(s.answer, "open_ranker", False),
    "span": lambda s: setattr(s.answer, "span", False),
    **{name: (lambda n: lambda s: s.answer.ablate.append(n))(name)
       for name in ("unknown_subject", "confidence", "specifics", "answer_type", "invented_figure", "bent_ordinal",
                     "sections", "announced", "point_context", "compare_ranked", "summary_stretches", "neighbour_span",
                     "invented_span", "span_answer")},
}


@app.command("eval")
def evaluate(
    qset: Path = typer.Option(Path("eval/dev.jsonl"), "--set", help="question set (JSON lines: id, q, answers, doc, answerable)"),
    baseline: bool = typer.Option(False, "--baseline", help="also run the naive LangChain-style RAG baseline"),
    index_dir: Optional[Path] = IndexOpt,
    sources: Optional[Path] = typer.Option(
        None, "--sources", help="folder the quotes are checked against [default: the one the index was built from]"),
    model: Optional[Path] = ModelOpt,
    details: Optional[Path] = typer.Option(None, "--details", help="write per-question results (JSON lines) here"),
    ablate: list[str] = typer.Option([], "--ablate", help=f"switch a named unit off to measure what it is worth "
                                     f"(repeatable): {', '.join(ABLATIONS)}"),
    as_json: bool = JsonOpt,
) -> None:
    """Measure accuracy, abstention, verbatim quotes, unsupported facts and latency on a question set.

    Example: lacqa eval --set eval/dev.jsonl --baseline
             lacqa eval --set eval/dev.jsonl --ablate ranker
    """
    from .evaluate import NaiveBaseline, load_set, run_pipeline, summarize
    from .pipeline import Assistant

    settings = _settings(sources=sources, index=index_dir, model=model)
    for name in ablate:
        if name not in ABLATIONS:
            _fail(ConfigError(f"unknown unit to ablate '{name}' (known: {', '.join(ABLATIONS)})"), as_json)
            return
        ABLATIONS[name](settings)
    try:
        items = load_set(qset)
        assistant = Assistant(settings)
        assistant.warm()
        built_from = assistant.generation().manifest.get("sources_dir")
        if sources is None and "LACQA_SOURCES_DIR" not in os.environ and built_from and Path(built_from).is_dir():
            settings.sources_dir = Path(built_from)  # verbatim checks and the baseline read what was indexed
        results = run_pipeline(assistant, items)
        report: dict[str, Any] = {"set": str(qset), "lacqa": summarize(results)}
        base_results = []
        if baseline:
            base = NaiveBaseline(settings.sources_dir, assistant.embedder, assistant.generator)  # type: ignore[arg-type]
            base_results = base.run(items)
            report["baseline"] = summarize(base_results)
    except LacqaError as exc:
        _fail(exc, as_json)
        return
    if details is not None:
        with open(details, "w", encoding="utf-8") as fh:
            for label, rs in (("lacqa", results), ("baseline", base_results)):
                for r in rs:
                    fh.write(json.dumps({"system": label, "id": r.item.id, "q": r.item.q, "correct": r.correct,
                                         "abstained": r.abstained, "answer": r.answer, "quotes": r.quotes,
                                         "unsupported": r.unsupported, "latency_s": round(r.latency, 3),
                                         "answerable": r.item.answerable, "kind": r.item.kind,
                                         "correct_in_text": r.correct_in_text, **r.extra},
                                        ensure_ascii=False) + "\n")
    if as_json:
        _emit(report)
        return
    table = Table(title=f"lacqa eval - {qset} ({len(items)} questions)")
    table.add_column("measure")
    table.add_column("lacqa", justify="right")
    if baseline:
        table.add_column("naive baseline", justify="right")
    for key in ("accuracy", "accuracy_answer_text", "abstained_unanswerable", "false_abstention", "quotes_verbatim",
                "unsupported_facts", "latency_p50_s", "latency_p95_s"):
        row = [key, str(report["lacqa"][key])]
        if baseline:
            row.append(str(report["baseline"][key]))
        table.add_row(*row)
    out.print(table)


@app.command()
def serve(
    host: Optional[str] = typer.Option(None, "--host", help="interface to bind [env LACQA_HOST, default 127.0.0.1]"),
    port: Optional[int] = typer.Option(None, "--port", help="port [env LACQA_PORT, default 7860]"),
    sources: Optional[Path] = SourcesOpt,
    index_dir: Optional[Path] = IndexOpt,
) -> None:
    """Start the web chat and its OpenAI-compatible API at /v1 (same as `python app.py`)."""
    from .web import launch

    settings = _settings(sources, index_dir)
    if host:
        settings.host = host
    if port:
        settings.port = port
    launch(settings)


@app.command()
def watch(
    sources: Optional[Path] = SourcesOpt,
    index_dir: Optional[Path] = IndexOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Rebuild the index whenever files in the sources folder change (Ctrl-C to stop)."""
    from watchfiles import watch as watch_files

    from .pipeline import Assistant

    settings = _settings(sources, index_dir)
    assistant = Assistant(settings)

    def rebuild() -> None:
        try:
            report = assistant.index(lock_timeout=30)
        except LacqaError as exc:
            console.print(f"[bold red]rebuild failed:[/] {exc} (the previous index keeps serving)")
            return
        if as_json:
            _emit(report.to_json())
        else:
            out.print(f"{time_now()} {len(report.added)} added, {len(report.changed)} changed, "
                      f"{len(report.removed)} removed -> generation {report.generation}")

    rebuild()
    console.print(f"watching {settings.sources_dir}/ for changes (Ctrl-C to stop)")
    try:
        for _ in watch_files(settings.sources_dir, debounce=800, raise_interrupt=False):
            rebuild()
    except KeyboardInterrupt:
        pass


@app.command()
def models(
    add: Optional[Path] = typer.Option(None, "--add", help="register a GGUF file for use from any folder "
                                       "(a link in the data folder; `make run` registers the bundled one)"),
    as_json: bool = JsonOpt,
) -> None:
    """List the language models lacqa finds (--model / LACQA_MODEL, ./models, then the registered ones)."""
    settings = _settings()
    try:
        if add is not None:
            _register_model(add, settings.user_models_dir)
        found = settings.available_models()
        chosen = str(settings.resolve_model()) if found or settings.model else None
    except LacqaError as exc:
        _fail(exc, as_json)
        return
    if as_json:
        _emit({"models": [str(p) for p in found], "default": chosen, "registered_in": str(settings.user_models_dir)})
        return
    for p in found:
        out.print(f"{'*' if str(p) == chosen else ' '} {p}")
    if not found:
        console.print(f"no GGUF in {settings.models_dir}/ or {settings.user_models_dir}/ (see `lacqa models --add`)")


def _register_model(path: Path, folder: Path) -> None:
    from .errors import ConfigError

    source = path.expanduser().resolve()
    if not source.is_file() or source.suffix.lower() != ".gguf":
        raise ConfigError(f"not a GGUF file: {path}")
    with open(source, "rb") as fh:
        if fh.read(4) != b"GGUF":
            raise ConfigError(f"{path} does not start like a GGUF file (no 'GGUF' magic)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        link = folder / source.name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(source)
    except OSError as exc:
        raise ConfigError(f"cannot register {path} in {folder}: {exc}") from exc
    console.print(f"registered {source} as {link}")


def time_now() -> str:
    import time

    return time.strftime("%H:%M:%S")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
