"""What the library holds, as the web app's library view shows it: one row per indexed document (title, file,
type, pages, chunks, when it was indexed) and the files that were skipped, with their reasons. Read from a
published generation and its manifest; nothing here touches the sources folder."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from .store import Generation
from .types import Skipped


@dataclass(frozen=True)
class DocumentRow:
    """One indexed document as the library view lists it."""

    doc_id: str
    title: str
    source: str  #: path relative to the sources folder
    kind: str  #: file type, from the suffix ("txt", "pdf", ...)
    pages: int | None  #: PDF pages, None for documents without pages
    chunks: int  #: retrieval passages cut from it
    indexed_at: str  #: when its current text was first indexed (UTC, ISO 8601)

    def matches(self, query: str) -> bool:
        """Every word of ``query`` occurs in the title or the file name (case-insensitive)."""
        hay = f"{self.title} {self.source}".lower()
        return all(w in hay for w in query.lower().split())


@dataclass(frozen=True)
class LibraryView:
    """Everything one generation records about its documents."""

    generation: str
    built_at: str
    documents: tuple[DocumentRow, ...]
    skipped: tuple[Skipped, ...]

    def filtered(self, query: str | None) -> tuple[DocumentRow, ...]:
        q = (query or "").strip()
        return tuple(d for d in self.documents if d.matches(q)) if q else self.documents


def library_view(gen: Generation) -> LibraryView:
    """The documents and skipped files of a generation (computed once and kept with it)."""
    return gen.derive("library_view", lambda: _view(gen))


def _view(gen: Generation) -> LibraryView:
    chunks: dict[str, int] = {}
    for c in gen.chunks:
        chunks[c.doc_id] = chunks.get(c.doc_id, 0) + 1
    indexed: dict[str, str] = gen.manifest.get("indexed_at", {})  # older generations: their build time
    rows = tuple(
        DocumentRow(
            doc_id=d.doc_id, title=d.title, source=d.source, kind=_kind(d.source),
            pages=len(d.pages) or None, chunks=chunks.get(d.doc_id, 0), indexed_at=indexed.get(d.source, gen.built_at),
        )
        for d in sorted(gen.documents.values(), key=lambda d: d.title.lower())
    )
    reasons: dict[str, str] = gen.manifest.get("skipped_reasons") or {
        s: v.get("reason", "") for s, v in gen.manifest.get("skipped", {}).items()
    }
    return LibraryView(gen.name, gen.built_at, rows, tuple(Skipped(s, r) for s, r in sorted(reasons.items())))


def _kind(source: str) -> str:
    return PurePosixPath(source).suffix.lstrip(".").lower() or "?"


def _when(stamp: str) -> str:
    return stamp.replace("T", " ").replace("Z", " UTC")


# ----------------------------------------------------------------------------- rendering

TABLE_HEADERS = ["Title", "File", "Type", "Pages", "Chunks", "Indexed"]


def table_rows(rows: tuple[DocumentRow, ...]) -> list[list[Any]]:
    """Rows for the documents table (values shown as text; a table cell is never interpreted as HTML)."""
    return [[r.title, r.source, r.kind, r.pages if r.pages is not None else "", r.chunks, _when(r.indexed_at)]
            for r in rows]


def summary_markdown(view: LibraryView | None, shown: int | None = None) -> str:
    """One line saying what the library holds."""
    if view is None:
        return ""
    n = len(view.documents)
    chunks = sum(d.chunks for d in view.documents)
    kinds = sorted({d.kind for d in view.documents})
    filt = f" \u00b7 {shown} match the filter" if shown is not None and shown != n else ""
    skipped = f" \u00b7 {len(view.skipped)} skipped" if view.skipped else ""
    return (f"**{n} document{'s' if n != 1 else ''}** ({', '.join(kinds)}) \u00b7 {chunks} chunks{skipped}{filt} "
            f"\u00b7 index `{view.generation}` built {_when(view.built_at)}")


def skipped_html(view: LibraryView | None) -> str:
    if view is None or not view.skipped:
        return ""
    items = "".join(f"<li><code>{html.escape(s.source)}</code>: {html.escape(s.reason)}</li>" for s in view.skipped)
    return f"<div class='lq-skipped'><div class='lq-head'>Skipped files</div><ul>{items}</ul></div>"
