"""HTML to text with selectolax: drop site chrome by tag and by class/id, keep block structure.

The structure a reader sees stays in the text, as the Markdown reader writes it: a heading is a line opened by its
``#`` marks, a list item a line opened by a bullet (by depth) or its number, a table row one line ``| cell | cell |``.
"""

from __future__ import annotations

import re
from collections.abc import Collection

_DROP_TAGS = "script, style, noscript, template, svg, nav, header, footer, aside, form, iframe, button, select"
_CHROME = re.compile(
    r"(^|[\s_-])(nav|navbar|menu|breadcrumbs?|cookie|consent|gdpr|banner|footer|header|sidebar|share|"
    r"social|related|advert|ads?|promo|newsletter|subscribe|popup|modal|skip)([\s_-]|$)",
    re.IGNORECASE,
)
_BLOCKS = {
    "p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol",
    "table", "tr", "blockquote", "pre", "dd", "dt", "figcaption", "br", "hr", "td", "th", "body",
}


#: the mark of a list item at each depth (the last repeats below), as the Markdown reader writes them: cleaning
#: strips indentation, so depth is kept in the bullet (answer/sections.py reads the items of one level)
BULLETS = ("- ", "* ", "\u2022 ", "\u2013 ")
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}


def item_mark(lists: list[list[int]]) -> str:
    """The mark of the next item of the innermost open list (``lists``: per open list, [next number], or [-1] for
    bullets; the number advances): a bullet by its depth, or its number. Shared with the Markdown reader."""
    number = lists[-1][0]
    if number < 0:
        return BULLETS[min(len(lists), len(BULLETS)) - 1]
    lists[-1][0] += 1
    return f"{number}. "


def _start(node) -> int:  # type: ignore[no-untyped-def]
    """The first number of an ordered list (its ``start``), 1 when it has none that reads as a number."""
    try:
        return max(0, int(str(node.attributes.get("start") or 1)))
    except ValueError:
        return 1


def html_to_text(html: str) -> tuple[str, str | None]:
    """Return (text with one block per line, title) from an HTML page."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    title_node = tree.css_first("title")
    h1 = tree.css_first("h1")
    title = (h1.text(strip=True) if h1 else "") or (title_node.text(strip=True) if title_node else "")
    return _text(tree), title or None


def chapter_to_text(xhtml: str, anchors: Collection[str] = ()) -> tuple[list[tuple[str | None, str]], str | None]:
    """Return (pieces, first heading) of one XHTML chapter of an EPUB, the whole of its body. The text is cut
    before each element whose id (or old-style ``<a name>``) is among ``anchors``: pieces are (that anchor,
    the text from it to the next one), the first piece's anchor None (the text before any, maybe empty).

    A book has no site chrome: a chapter keeps its <header>, <aside> (footnotes) and <footer>, whatever its
    class names say ('chapter-header'); only scripts, styles, <nav> (tables of contents) and ruby readings
    (furigana) are dropped.
    Line breaks in its text are spaces, as a reader shows them (chapter files are often hard-wrapped); its
    <title> is not used for the heading: books often repeat their own title there in every chapter.
    Self-closing tags that HTML does not know as empty (``<title/>``, ``<a id="p3"/>``, ``<script src="x"/>``)
    are closed first: an HTML parser reads them as opening tags, and a <title/> or <script/> would swallow
    the rest of the chapter."""
    tree = parse_xhtml(xhtml)
    heading = ""
    for node in tree.css("h1, h2, h3, h4, h5, h6"):
        heading = " ".join(node.text(separator=" ").split())
        if heading:
            break
    found: list[str] = []
    text = _text(tree, drop=_CHAPTER_DROP, chrome=False, anchors=set(anchors), found=found, flow=True)
    pieces = text.split(_MARK)
    return [(None, pieces[0].strip()), *((a, t.strip()) for a, t in zip(found, pieces[1:]))], heading or None


def parse_xhtml(xhtml: str):  # type: ignore[no-untyped-def]
    """An XHTML file parsed as HTML, its non-empty elements written ``<x/>`` closed first."""
    from selectolax.lexbor import LexborHTMLParser

    return LexborHTMLParser(_SELF_CLOSING.sub(_close, xhtml))


_CHAPTER_DROP = "script, style, noscript, template, svg, nav, rt, rp"  # rt, rp: ruby readings (furigana)
_FLOW = re.compile(r"[\r\n]+")
_MARK = "\x00"  # where an anchor starts, in walked text: never in a decoded file (decode_text refuses NULs)
_SELF_CLOSING = re.compile(r"<([A-Za-z][\w:.-]*)((?:\s[^<>]*?)?)/>")
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track",
         "wbr", "basefont", "frame", "keygen"}


def _close(match: re.Match[str]) -> str:
    name = match.group(1)
    if name.lower() in _VOID:
        return match.group(0)
    return f"<{name}{match.group(2)}></{name}>"


def _text(  # type: ignore[no-untyped-def]
    tree, drop: str = _DROP_TAGS, chrome: bool = True, anchors: set[str] | None = None,
    found: list[str] | None = None, flow: bool = False,
) -> str:
    """The text of a parsed page, one block per line: the tags ``drop`` removed, and with ``chrome`` the
    elements whose class, id or role name site chrome, the rest of the page outside <main> or <article>.
    With ``anchors``, a _MARK before each element having one of them, which is added to ``found``; with
    ``flow``, line breaks in text are spaces (see _walk)."""
    for node in tree.css(drop):
        node.decompose()
    if chrome:
        for node in tree.css("[class], [id], [role]"):
            marker = " ".join(filter(None, (node.attributes.get(a) for a in ("class", "id", "role"))))
            if node.tag not in ("body", "html", "main", "article") and _CHROME.search(marker or ""):
                node.decompose()
    root = (tree.css_first("main") or tree.css_first("article") or tree.body) if chrome else tree.body
    if root is None:
        return ""
    parts: list[str] = []
    _walk(root, parts, anchors, found, flow)
    text = "".join(parts)
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"(?m)^(?:\|[ |]*\||[-*\u2022\u2013]|\d+\.|#{1,6})$\n?", "", text)  # rows, items, headings without text
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _walk(  # type: ignore[no-untyped-def]
    root, parts: list[str], anchors: set[str] | None = None, found: list[str] | None = None, flow: bool = False
) -> None:
    """Text of ``root``'s subtree with a line break around every block. Iterative (an explicit stack of
    siblings still to visit), so a page nested thousands of elements deep cannot exhaust Python's stack.
    Before an element whose id or name is in ``anchors`` (the first time), a _MARK, and the anchor in
    ``found``. With ``flow``, line breaks in text outside <pre> are spaces, as a browser shows them (a
    hard-wrapped chapter file is not cut into lines where its source was wrapped)."""
    stack = [root.child]  # each entry: the next sibling to visit at one depth (None when done)
    closing: list[str] = [""]  # what leaving that depth closes: "block", "row", "list" or nothing
    pres: list[bool] = [False]  # whether that depth is a <pre>'s inside (only kept with ``flow``)
    lists: list[list[int]] = []  # open lists, innermost last: [next number], or [-1] for bullets
    cells: list[int] = []  # the open table row (one at most: a table inside a cell is read as the cell's text)
    marked = False  # an item's or heading's mark was just written: no text after it yet
    in_pre = 0
    while stack:
        node = stack[-1]
        if node is None:
            stack.pop()
            kind = closing.pop()
            if kind == "row":
                cells.pop()
                parts.append(" |")
            elif kind == "block":
                parts.append(" " if cells else "\n")
            elif kind == "list" and lists:
                lists.pop()
                parts.append(" " if cells else "\n")
            if flow and pres.pop():
                in_pre -= 1
            continue
        stack[-1] = node.next
        if node.tag == "-text":
            text = node.text_content or ""
            parts.append(_FLOW.sub(" ", text) if (flow or cells) and not in_pre else text)  # a row stays one line
            marked = marked and not text.strip()
        elif node.tag != "-comment":
            if anchors and found is not None:
                anchor = node.id or (node.attributes.get("name") if node.tag == "a" else None)
                if anchor in anchors:
                    parts.append(_MARK)
                    found.append(anchor)
                    anchors.discard(anchor)  # the first element with it only
            tag = node.tag
            kind = "block" if tag in _BLOCKS else ""
            if tag == "tr" and not cells:  # a row: one line, its cells between bars
                parts.append("\n| ")
                cells.append(0)
                kind = "row"
            elif tag in ("td", "th") and cells:
                parts.append(" | " if cells[-1] else "")
                cells[-1] += 1
                kind = ""
            elif tag in ("ul", "ol"):
                lists.append([_start(node) if tag == "ol" else -1])
                parts.append(" " if cells else "\n")
                kind = "list"
            elif kind and marked and tag not in ("li", *_HEADINGS):
                kind = ""  # a paragraph that opens an item (<li><p>...): its text follows the item's mark
            elif kind:
                parts.append(" " if cells else "\n")
                if not cells and tag == "li" and lists:  # the item's mark, its depth in the bullet
                    parts.append(item_mark(lists))
                    marked = True
                elif not cells and tag in _HEADINGS and not flow:  # a book's chapters: sections from its contents
                    parts.append("#" * int(tag[1]) + " ")
                    marked = True
            stack.append(node.child)
            closing.append(kind)
            if flow:
                pres.append(node.tag in ("pre", "textarea", "listing"))
                in_pre += pres[-1]
