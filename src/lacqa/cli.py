"""Command line: `lacqa index | search | status | ask | eval | serve | watch`. Every command has --json."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .config import Settings
from .errors import LacqaError

app = typer.Typer(
    add_completion=False, no_args_is_help=True, rich_markup_mode="rich",
    help="lacqa - grounded, cited answers from a local library of documents, offline.\n\n"
    "Examples:\n\n  lacqa index\n\n  lacqa search 'When was the China-CELAC Forum held?' -k 3\n\n"
    "  lacqa ask 'Which countries did Xi Jinping visit in 2016?' --json",
)
console = Console(stderr=True)
out = Console(highlight=False, soft_wrap=True)

SourcesOpt = typer.Option(None, "--sources", "-s", help="sources folder [env LACQA_SOURCES_DIR, default seeds/]")
IndexOpt = typer.Option(None, "--index", "-i", help="index folder [env LACQA_INDEX_DIR, default index/]")
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
    console.print(f"[bold red]error:[/] {exc}")
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
        f"{len(report.unchanged)} unchanged - {report.documents} documents, {report.chunks} chunks "
        f"in {report.seconds:.2f}s (generation {report.generation})"
    )
    for label, items in (("added", report.added), ("changed", report.changed), ("removed", report.removed)):
        for item in items:
            out.print(f"  {label:8} {item}")
    for s in report.skipped:
        out.print(f"  [yellow]skipped[/]  {s.source}: {s.reason}")


class _progress:
    """Rich progress bars for build stages (embedding is the long one)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
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
    index_dir: Optional[Path] = IndexOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show the passages that best match a question (hybrid dense + BM25 retrieval).

    Example: lacqa search "CELAC forum first ministerial meeting" -k 3 --json
    """
    from .pipeline import Assistant

    assistant = Assistant(_settings(index=index_dir))
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
        out.print(f"[bold]{i}. {c.title}[/] [dim]({c.source}{page}, chars {c.start}-{c.end}, score {h.score:.4f})[/]")
        out.print("   " + " ".join(c.text.split())[:400])


def _read_jsonl(path: Path) -> list[tuple[Any, str]]:
    from .errors import ConfigError

    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            rows.append((obj.get("id", n), str(obj["q"])))
        except (json.JSONDecodeError, KeyError, AttributeError) as exc:
            raise ConfigError(f"{path}:{n}: expected a JSON object with a 'q' field ({exc})") from exc
    return rows


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
        return
    if info["generation"] is None:
        out.print(f"no index in {info['index_dir']}/ yet - run `lacqa index`")
        raise typer.Exit(code=1)
    table = Table(show_header=False, box=None)
    for key in ("generation", "documents", "chunks", "built_at", "model", "dimension", "sources_dir", "index_dir"):
        table.add_row(key, str(info.get(key)))
    table.add_row("sources", "changed since build - run `lacqa index`" if info["stale"] else "up to date")
    out.print(table)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
