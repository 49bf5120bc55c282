"""Turn the files of a sources folder into cleaned Documents; report every file that was skipped.

One reader per suffix. Readers return text split into pages (one page for non-PDF files); cleaning
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
from .types import Document, PageSpan, Skipped

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")


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


def _read_text(data: bytes) -> tuple[list[str], str | None]:
    return [decode_text(data)], None


def _read_html(data: bytes) -> tuple[list[str], str | None]:
    from .html import html_to_text

    text, title = html_to_text(decode_text(data))
    return [text], title


def _read_pdf(data: bytes) -> tuple[list[str], str | None]:
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
    return pages, title


READERS: dict[str, Callable[[bytes], tuple[list[str], str | None]]] = {
    ".txt": _read_text, ".md": _read_text, ".markdown": _read_text,
    ".html": _read_html, ".htm": _read_html, ".pdf": _read_pdf,
}


def source_text(path: Path) -> str:
    """The text a reader sees in a file before cleaning (HTML: its text nodes; PDF: its pages) - what a
    quote is checked against for being verbatim."""
    pages, _ = READERS[path.suffix.lower()](path.read_bytes())
    return "\n".join(pages)


def parse(file: SourceFile) -> Document:
    """Read, clean and describe one file. Raises ValueError with a one-line reason when unusable - for any
    failure, so that one odd file is skipped and never stops a build."""
    try:
        pages_text, meta_title = READERS[file.path.suffix.lower()](file.data)
    except ValueError as exc:
        raise ValueError(one_line(str(exc))) from exc  # a reader's own reason, already in words
    except Exception as exc:  # a reader's bug or a library's limit (RecursionError, MemoryError, ...)
        raise ValueError(failure("could not be read", exc)) from exc
    try:
        text, spans, kept = _clean(pages_text)
        title = meta_title or find_title(kept) or Path(file.source).stem
        date, author = find_metadata(kept, title)
    except Exception as exc:
        raise ValueError(failure("could not be cleaned", exc)) from exc
    if not re.search(r"\w{2,}", text):
        raise ValueError("no text left after cleaning")
    is_pdf = file.path.suffix.lower() == ".pdf"
    return Document(
        doc_id=doc_id_for(file.source), source=file.source, title=title, text=text, sha256=file.sha256,
        pages=tuple(spans) if is_pdf else (), date=date, author=author,
    )


def _clean(pages_text: list[str]) -> tuple[str, list[PageSpan], list[Line]]:
    """The cleaned text of all pages (joined by blank lines), each page's span in it, and the lines kept."""
    pages = [split_lines(p) for p in pages_text]
    repeated = repeated_lines(pages)
    text_parts: list[str] = []
    spans: list[PageSpan] = []
    all_kept: list[Line] = []
    pos = 0
    for number, page_lines in enumerate(pages, start=1):
        kept = clean_lines(page_lines, repeated)
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
