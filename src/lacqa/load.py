"""Turn the files of a sources folder into cleaned Documents; report every file that was skipped.

One reader per suffix. Readers return text split into parts: the pages of a PDF, the chapters of an EPUB,
the stretches of a Word file between headings and around tables, or the whole of any other file. Cleaning
then keeps whole lines, so offsets into the stored text always map back to words of the source file.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .clean import Line, clean_lines, find_metadata, find_title, repeated_lines, split_lines
from .errors import SourceError
from .types import Document, PageSpan, SectionSpan, Skipped

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".epub")


@dataclass(frozen=True)
class Reading:
    """What a reader found in a file: its text in parts, and what it knows about them."""

    parts: list[str]  #: text of each part, in order (joined by blank lines in the stored text)
    title: str | None = None  #: the title the file itself records (PDF metadata, Word core properties, dc:title);
    #: "" when the reader knows it records none (then the file's name, not a line of its text, names it)
    sections: list[str | None] | None = None  #: per part, the title of the section it belongs to (Word, EPUB)
    paged: bool = False  #: parts are printed pages: lines repeated on most of them are dropped, pages recorded
    web: bool = True  #: the text may hold web-capture boilerplate (menus, share bars, footers) to clean away
    author: str | None = None  #: the author the file records (EPUB dc:creator), before one read in its lines


@dataclass(frozen=True)
class SourceFile:
    """A readable file of the sources folder, before parsing."""

    path: Path
    source: str  #: relative path with forward slashes
    data: bytes
    sha256: str


@dataclass(frozen=True)
class Scan:
    """What a sources folder holds: readable files and skipped ones."""

    files: tuple[SourceFile, ...]
    skipped: tuple[Skipped, ...]


def doc_id_for(source: str) -> str:
    return hashlib.sha1(source.encode("utf-8", "surrogateescape")).hexdigest()[:12]


def scan_sources(root: Path, max_bytes: int) -> Scan:
    """Read every candidate file under ``root`` (bytes only: cheap enough for a no-op rebuild check)."""
    root = Path(root)
    if not root.is_dir():
        raise SourceError(f"sources folder not found: {root} (set --sources or LACQA_SOURCES_DIR)")
    real_root = root.resolve()
    files: list[SourceFile] = []
    skipped: list[Skipped] = []
    for path in _walk(root):
        source = path.relative_to(root).as_posix()
        reason = _refuse(path, real_root, max_bytes)
        if reason:
            skipped.append(Skipped(source, reason))
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            skipped.append(Skipped(source, f"unreadable: {exc.strerror or exc}"))
            continue
        if not data.strip():
            skipped.append(Skipped(source, "empty file"))
            continue
        files.append(SourceFile(path, source, data, hashlib.sha256(data).hexdigest()))
    return Scan(tuple(files), tuple(skipped))


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            yield Path(dirpath) / name


def _refuse(path: Path, real_root: Path, max_bytes: int) -> str | None:
    if path.name.startswith("."):
        return "hidden file"
    if path.is_symlink():
        target = path.resolve()
        if not target.is_relative_to(real_root):
            return "symlink pointing outside the sources folder"
        if not target.is_file():
            return "broken symlink"
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        return f"unsupported file type '{suffix or path.name}' (supported: {', '.join(SUPPORTED)})"
    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    if size > max_bytes:
        return f"too large: {size / 1e6:.1f} MB (limit {max_bytes / 1e6:.1f} MB)"
    return None


# --------------------------------------------------------------------------- decoding


def decode_text(data: bytes) -> str:
    """Decode bytes as text: BOMs first, then UTF-8, then Windows-1252/Latin-1. Raises on binary."""
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return _normalize_newlines(data.decode(encoding))
            except UnicodeDecodeError as exc:
                raise ValueError(f"undecodable {encoding} text: {exc.reason}") from exc
    if b"\x00" in data:
        raise ValueError("binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > max(8, len(text) // 100):
        raise ValueError("binary file (control characters)")
    return _normalize_newlines(text)


def _normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


# --------------------------------------------------------------------------- readers


def _read_text(data: bytes) -> Reading:
    return Reading([decode_text(data)])


def _read_markdown(data: bytes) -> Reading:
    """A Markdown file as its rendered text (links and emphasis to words, badges dropped, tables as rows), in parts
    at its headings."""
    from .markdown import read_markdown

    parts, sections, title = read_markdown(decode_text(data))
    return Reading(parts, title, sections)


def _read_html(data: bytes) -> Reading:
    from .html import html_to_text

    text, title = html_to_text(decode_text(data))
    return Reading([text], title)


def _read_docx(data: bytes) -> Reading:
    """A Word file: authored text, so no web-capture cleaning (a heading 'Events' or a cell 'Print' stays)."""
    from .word import read_docx

    parts, sections, title = read_docx(data)
    return Reading(parts, title, sections, web=False)


def _read_epub(data: bytes) -> Reading:
    """An EPUB: its chapters through the HTML reader; a book, so no web-capture cleaning of its lines."""
    from .epub import read_epub

    book = read_epub(data)
    return Reading(book.chapters, book.title, book.sections, web=False, author=book.author)


def _read_pdf(data: bytes) -> Reading:
    import logging

    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
        pages = [] if encrypted else [_normalize_newlines(page.extract_text() or "") for page in reader.pages]
        title = None
        if not encrypted and reader.metadata is not None and reader.metadata.title:
            title = str(reader.metadata.title).strip() or None
    except Exception as exc:  # a damaged file makes pypdf raise nearly anything (PdfReadError, KeyError,
        # ValueError, struct.error, zlib.error, RecursionError on cyclic objects ...): all mean the same here
        raise ValueError(f"unreadable PDF: {describe(exc)}") from exc
    if encrypted:
        raise ValueError("encrypted PDF")
    if not any(p.strip() for p in pages):
        raise ValueError("PDF has no extractable text (scanned images?)")
    return Reading(pages, title, paged=True)


READERS: dict[str, Callable[[bytes], Reading]] = {
    ".txt": _read_text, ".md": _read_markdown, ".markdown": _read_markdown,
    ".html": _read_html, ".htm": _read_html, ".pdf": _read_pdf,
    ".docx": _read_docx, ".epub": _read_epub,
}


def source_text(path: Path) -> str:
    """The text a reader sees in a file before cleaning (HTML: its text nodes; PDF: its pages; Word: its
    paragraphs and table rows; EPUB: its chapters' text nodes) - what a quote is checked against for being
    verbatim."""
    return "\n".join(READERS[path.suffix.lower()](path.read_bytes()).parts)


def parse(file: SourceFile) -> Document:
    """Read, clean and describe one file. Raises ValueError with a one-line reason when unusable - for any
    failure, so that one odd file is skipped and never stops a build."""
    try:
        reading = READERS[file.path.suffix.lower()](file.data)
    except ValueError as exc:
        raise ValueError(one_line(str(exc))) from exc  # a reader's own reason, already in words
    except Exception as exc:  # a reader's bug or a library's limit (RecursionError, MemoryError, ...)
        raise ValueError(failure("could not be read", exc)) from exc
    try:
        text, spans, kept = _clean(reading.parts, repeats=reading.paged, web=reading.web)
        candidates = kept if reading.web else [line for line in kept if not line.text.startswith("| ")]
        # a table row is no title; a reader's "" means the file has none of its own (a README without a "# " line)
        title = (reading.title if reading.title is not None else find_title(candidates)) or Path(file.source).stem
        headings = set(reading.sections or ())  # a heading is no byline ('Executive Summary' reads as a name)
        date, author = find_metadata([line for line in kept if line.text not in headings], title)
        sections = _sections(spans, reading.sections)
    except Exception as exc:
        raise ValueError(failure("could not be cleaned", exc)) from exc
    if not re.search(r"\w{2,}", text):
        raise ValueError("no text left after cleaning")
    return Document(
        doc_id=doc_id_for(file.source), source=file.source, title=title, text=text, sha256=file.sha256,
        pages=tuple(spans) if reading.paged else (), date=date, author=reading.author or author,
        sections=sections,
    )


def _sections(spans: list[PageSpan], titles: list[str | None] | None) -> tuple[SectionSpan, ...]:
    """The sections of the stored text: each part's span under its section title, neighbours under the same
    title merged (a Word section broken by a table is still one section)."""
    out: list[SectionSpan] = []
    previous: str | None = None
    for span in spans if titles else []:
        title = titles[span.page - 1] if span.page <= len(titles) else None  # type: ignore[index]
        if title and title == previous:
            out[-1] = SectionSpan(out[-1].start, span.end, title)
        elif title:
            out.append(SectionSpan(span.start, span.end, title))
        previous = title
    return tuple(out)


def _clean(
    pages_text: list[str], repeats: bool = True, web: bool = True
) -> tuple[str, list[PageSpan], list[Line]]:
    """The cleaned text of all parts (joined by blank lines), each part's span in it (numbered from 1 in
    ``pages_text``, kept or not), and the lines kept. ``repeats``: drop lines repeated on most parts (running
    headers of printed pages); ``web``: drop web-capture boilerplate lines. Without ``web`` every line with
    text is kept, trimmed."""
    pages = [split_lines(p) for p in pages_text]
    repeated = repeated_lines(pages) if repeats else set()
    text_parts: list[str] = []
    spans: list[PageSpan] = []
    all_kept: list[Line] = []
    pos = 0
    for number, page_lines in enumerate(pages, start=1):
        kept = clean_lines(page_lines, repeated) if web else page_lines
        if not kept:
            continue
        if text_parts:
            text_parts.append("\n\n")
            pos += 2
        page_start = pos
        page_text = "\n".join(line.text for line in kept)
        text_parts.append(page_text)
        pos += len(page_text)
        spans.append(PageSpan(page_start, pos, number))
        all_kept.extend(kept)
    return "".join(text_parts), spans, all_kept


def one_line(text: str, limit: int = 300) -> str:
    """``text`` fit for one line of a report: whitespace runs (newlines too) collapsed, cut at ``limit``."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3].rstrip() + "..."


def describe(exc: BaseException) -> str:
    """An exception in one line: its type, then its message if it has one ('RecursionError: maximum ...')."""
    message = one_line(str(exc))
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def failure(what: str, exc: BaseException) -> str:
    """A skip reason that says which step failed, in words, then how: 'could not be chunked: RecursionError: ...'."""
    return one_line(f"{what}: {describe(exc)}")


def load_documents(root: Path, max_bytes: int) -> tuple[list[Document], list[Skipped]]:
    """Scan and parse a whole folder; unusable files are skipped with a reason, never raised."""
    scan = scan_sources(root, max_bytes)
    docs: list[Document] = []
    skipped = list(scan.skipped)
    for file in scan.files:
        try:
            docs.append(parse(file))
        except Exception as exc:  # one file's failure, whatever it is, skips that file only
            skipped.append(Skipped(file.source, parse_failure(exc)))
    return docs, skipped


def parse_failure(exc: Exception) -> str:
    """The skip reason for a file ``parse`` raised on: its ValueError already says what failed, in words."""
    if isinstance(exc, ValueError) and str(exc).strip():
        return one_line(str(exc))
    return failure("could not be read", exc)
