"""Word (.docx) to text: the body's paragraphs and tables in document order, cut into parts at headings.

python-docx opens the package (content types, relationships, styles, core properties); the text is read
from the body's XML directly, so that what Word shows is what is read: runs inside hyperlinks, content
controls, tracked insertions and fields all count, deleted text and field codes do not. A text box's
paragraphs follow the paragraph it is anchored in (once, though the file holds it twice: as a drawing and
as its VML fallback). Headers, footers, footnotes and comments are not read.

* A paragraph is a line (a line break inside it starts another).
* A table is a part of its own, one line per row: ``| cell | cell | cell |`` (a cell's paragraphs joined by
  spaces, a nested table's text inside its cell). The bars keep rows apart when sentences are cut.
* A heading (a "heading N" style, a style based on one, or an outline level) starts a new part; its text
  is that part's section title and stays in the text as its first line.

Walks are iterative (explicit stacks), so deeply nested content controls or tables cannot exhaust the stack.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

from .archive import open_zip

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_P, _TBL, _TR, _TC = W + "p", W + "tbl", W + "tr", W + "tc"
_T, _TAB, _PTAB, _BR, _CR, _NBH = W + "t", W + "tab", W + "ptab", W + "br", W + "cr", W + "noBreakHyphen"
_SDT, _SDT_CONTENT = W + "sdt", W + "sdtContent"
_BOX, _CHOICE, _FALLBACK = W + "txbxContent", MC + "Choice", MC + "Fallback"
# inside a paragraph: never text shown in its line (properties, deletions, field codes, the fallback copy of a
# drawing that AlternateContent also holds as its first choice)
_NOT_TEXT = {W + "pPr", W + "rPr", W + "sdtPr", W + "del", W + "moveFrom", W + "instrText", W + "delText", _FALLBACK}
# outside paragraphs: what holds blocks, rows or cells (content controls, custom XML, tables)
_CONTAINERS = {_SDT, _SDT_CONTENT, W + "customXml", _TBL, _TR, _TC, W + "ins", W + "moveTo"}
_HEADING_NAME = re.compile(r"^heading ([1-9])$", re.IGNORECASE)
TITLE = 0  #: the level of a paragraph in the "Title" style: the document's title, not a section


def read_docx(data: bytes) -> tuple[list[str], list[str | None], str | None]:
    """(parts, the section title of each part, the document title) of a .docx file. ValueError in words
    when it is not a readable Word file."""
    import docx
    from lxml import etree

    from .load import describe, one_line

    open_zip(data, "a Word file")  # refuses bombs and non-archives before python-docx inflates every part
    try:
        document = docx.Document(io.BytesIO(data))
        body = document.element.body
    except KeyError as exc:  # no [Content_Types].xml, no main document part
        raise ValueError(f"not a Word file: {describe(exc)}") from exc
    except ValueError as exc:
        if "content type" in str(exc):  # another kind of Office file (a workbook, a template, a macro document)
            raise ValueError(f"not a Word file: {one_line(str(exc))}") from exc
        raise ValueError(f"unreadable Word file: {describe(exc)}") from exc
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"damaged Word file: {describe(exc)}") from exc
    except Exception as exc:  # a damaged member (bad CRC, zlib.error), a part python-docx cannot take
        raise ValueError(f"unreadable Word file: {describe(exc)}") from exc
    if body is None:
        raise ValueError("not a Word file: its document has no body")
    levels = _style_levels(document)
    shown: str | None = None  # the first paragraph in the Title style: what the reader sees as the title

    parts: list[str] = []
    sections: list[str | None] = []
    section: str | None = None
    lines: list[str] = []

    def flush() -> None:
        if any(line.strip() for line in lines):
            parts.append("\n".join(lines))
            sections.append(section)
        lines.clear()

    stack = [_blocks(body)]  # the body's blocks, and above them those of the text boxes being read
    while stack:
        block = next(stack[-1], None)
        if block is None:
            stack.pop()
            continue
        if block.tag == _TBL:
            rows = [row for row in (_row_text(tr) for tr in _rows(block)) if row]
            if rows:
                flush()
                parts.append("\n".join(rows))
                sections.append(section)
            continue
        text, boxes = _paragraph(block)
        stack.extend(_blocks(box) for box in reversed(boxes))  # read next, before the rest of the body
        if not text.strip():
            continue
        level = _level(block, levels)
        if level == TITLE:
            shown = shown or one_line(text, 200)
        elif level is not None:
            flush()
            section = one_line(text, 200)
        lines.append(text)
    flush()
    if not parts:
        raise ValueError("Word file has no text")
    # the title shown on the page before the one in the core properties, which is often a template's
    return parts, sections, shown or _core_title(document)


def _core_title(document: Any) -> str | None:
    """The title in the file's core properties, if it has them (python-docx makes up 'Word Document' for a
    file without)."""
    from docx.opc.constants import RELATIONSHIP_TYPE as RT

    from .load import one_line

    if not any(rel.reltype == RT.CORE_PROPERTIES for rel in document.part.package.rels.values()):
        return None
    try:
        return one_line(document.core_properties.title or "", 200) or None
    except Exception:  # a damaged core.xml costs the title only
        return None


def _blocks(body: Any) -> Iterator[Any]:
    """The paragraphs and tables of the body in document order, content controls and custom XML opened."""
    stack = [iter(body)]
    while stack:
        el = next(stack[-1], None)
        if el is None:
            stack.pop()
        elif el.tag in (_P, _TBL):
            yield el
        elif el.tag in _CONTAINERS:
            stack.append(iter(el))


def _rows(table: Any) -> Iterator[Any]:
    """The rows of ``table`` itself (through content controls), not those of tables nested in its cells."""
    return _below(table, _TR)


def _cells(row: Any) -> Iterator[Any]:
    return _below(row, _TC)


def _paragraphs(cell: Any) -> Iterator[Any]:
    """Every paragraph of a cell, those of nested tables included, in order; none inside a paragraph."""
    return _below(cell, _P)


def _below(el: Any, want: str) -> Iterator[Any]:
    """The elements tagged ``want`` under ``el``, in order, found through containers and not inside them."""
    stack = [iter(el)]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
        elif child.tag == want:
            yield child
        elif child.tag in _CONTAINERS:
            stack.append(iter(child))


def _row_text(row: Any) -> str:
    cells = [" ".join(" ".join(paragraph_text(p) for p in _paragraphs(tc)).split()) for tc in _cells(row)]
    return "| " + " | ".join(cells) + " |" if any(cells) else ""


def paragraph_text(p: Any) -> str:
    """The text of one paragraph as Word shows it: tabs as tabs, line breaks as newlines (text boxes apart)."""
    return _paragraph(p)[0]


def _paragraph(p: Any) -> tuple[str, list[Any]]:
    """The text of one paragraph, and the text boxes anchored in it."""
    out: list[str] = []
    boxes: list[Any] = []
    stack = [iter(p)]
    while stack:
        el = next(stack[-1], None)
        if el is None:
            stack.pop()
            continue
        tag = el.tag
        if not isinstance(tag, str) or tag in _NOT_TEXT:
            continue  # comments and processing instructions have a function for a tag
        if tag == _BOX:
            boxes.append(el)
        elif tag == _CHOICE:
            stack[-1] = iter(el)  # AlternateContent: its first choice only, never a second one or the fallback
        elif tag == _T:
            out.append(el.text or "")
        elif tag in (_TAB, _PTAB):
            out.append("\t")
        elif tag in (_BR, _CR):
            out.append("\n")
        elif tag == _NBH:
            out.append("-")
        elif tag != _P and len(el):
            stack.append(iter(el))
    return "".join(out), boxes


def _style_levels(document: Any) -> dict[str, int]:
    """Heading level (1-9, or TITLE) of each paragraph style that is a heading, by style id: a 'heading N'
    style, the 'Title' style, a style with an outline level, or one based on any of these."""
    try:
        styles = document.styles.element
    except Exception:  # no styles part: nothing is a heading by style
        return {}
    own: dict[str, int | None] = {}
    based: dict[str, str] = {}
    for style in styles.iterchildren(W + "style"):
        sid = style.get(W + "styleId")
        if not sid or style.get(W + "type", "paragraph") != "paragraph":
            continue
        name_el = style.find(W + "name")
        name = (name_el.get(W + "val") or "") if name_el is not None else ""
        match = _HEADING_NAME.match(name.strip())
        level: int | None = int(match.group(1)) if match else (TITLE if name.strip().lower() == "title" else None)
        if level is None:
            level = _outline(style.find(W + "pPr"))
        own[sid] = level
        parent = style.find(W + "basedOn")
        if parent is not None and parent.get(W + "val"):
            based[sid] = parent.get(W + "val")
    levels: dict[str, int] = {}
    for sid in own:
        seen, at = set(), sid
        while at is not None and at not in seen:  # a chain of basedOn, cycles cut
            seen.add(at)
            if own.get(at) is not None:
                levels[sid] = own[at]  # type: ignore[assignment]
                break
            at = based.get(at)
    return levels


def _outline(ppr: Any) -> int | None:
    """The heading level an outline level in ``ppr`` gives (w:outlineLvl 0-8 is level 1-9; 9 is body text)."""
    if ppr is None:
        return None
    el = ppr.find(W + "outlineLvl")
    val = el.get(W + "val") if el is not None else None
    return int(val) + 1 if val is not None and val.isdigit() and int(val) < 9 else None


def _level(p: Any, levels: dict[str, int]) -> int | None:
    """The heading level of paragraph ``p`` (its own outline level first, then its style's), or None."""
    ppr = p.find(W + "pPr")
    if ppr is not None:
        el = ppr.find(W + "outlineLvl")
        if el is not None and (el.get(W + "val") or "").isdigit():
            return _outline(ppr)  # 9 (body text) overrides a heading style
        style = ppr.find(W + "pStyle")
        if style is not None:
            return levels.get(style.get(W + "val") or "")
    return None
