"""Markdown (.md) to text: what a reader of the rendered page sees, cut into parts at headings.

A README or a notes folder is read as a person reads it rendered, not as its markup: a quote, a point of an
open answer and the ranker's input are sentences, not ``[![Build Status](https://...)](https://...)``.

* Headings stay as lines with their ``#`` marks (the outline reader of ``answer/sections.py`` reads them) and open a
  new part; each part records the heading it stands under, so a citation names its section.
* A paragraph is one line: its wrapped lines joined by spaces, links and emphasis reduced to their words, inline
  code to its text, images (badges, logos) and inline HTML dropped.
* A list item is a line with a bullet, or its number for an ordered list. Lines lose their indentation when the text
  is cleaned, so depth is kept in the bullet: ``- `` at the top level, ``* `` below it, then ``• `` and ``– ``
  (``answer/sections.py`` reads the items of one list at the level of its first).
* A table is one line per row, ``| cell | cell |``, as the Word reader writes them; the rule row is dropped.
* A code block keeps its lines (commands are what a "how do I ..." question wants), without the fences.
* A YAML front-matter block at the start is metadata: dropped, its ``title`` the document's title.
* An HTML block is read by the HTML reader; a paragraph or item made only of links (a table of contents, a
  row of navigation links) is navigation and is dropped.

Parsing is markdown-it-py's CommonMark (with tables), which bounds nesting itself, so no input can exhaust the stack.
"""

from __future__ import annotations

import re
from typing import Any

from .html import item_mark  # the marks of list items by depth, as the HTML reader writes them

#: nesting markdown-it follows (block quotes, lists) before it reads the rest as text
MAX_NESTING = 40


def _parser() -> Any:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"maxNesting": MAX_NESTING}).enable("table")
    return md


def inline_text(token: Any) -> tuple[str, bool]:
    """The words of an inline token, and whether anything but links (and spaces) was in it."""
    out: list[str] = []
    plain = False
    depth = 0  # inside a link
    for child in token.children or ():
        kind = child.type
        if kind == "link_open":
            depth += 1
        elif kind == "link_close":
            depth = max(0, depth - 1)
        elif kind in ("text", "code_inline"):
            out.append(child.content)
            plain = plain or (depth == 0 and bool(child.content.strip(" |·•-–—,;:/")))
        elif kind == "softbreak":
            out.append(" ")
        elif kind == "hardbreak":
            out.append("\n")
        # images, inline HTML and emphasis markers add no words
    text = "\n".join(" ".join(line.split()) for line in "".join(out).split("\n"))
    return text.strip(), plain


_FRONT = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
#: front matter is looked for in this many characters at the start of a file
FRONT_MAX = 8192


def front_matter(text: str) -> tuple[str, str | None]:
    """A YAML front-matter block at the very start (``---`` lines around ``key: value`` lines, as Jekyll, Hugo and
    Obsidian notes have it) is metadata, not text: the text without it, and its ``title`` if it has one. The block
    is read line by line (``title: ...``), not as YAML: nothing in it is run or typed."""
    m = _FRONT.match(text[:FRONT_MAX])
    if not m or not all(":" in line or not line.strip() or line.startswith((" ", "-", "\t", "#"))
                        for line in m.group(1).split("\n")):
        return text, None
    title = None
    for line in m.group(1).split("\n"):
        key, _, value = line.partition(":")
        if key.strip().lower() == "title" and value.strip():
            title = value.strip().strip("'\"").strip() or None
            break
    return text[m.end():], title


def read_markdown(text: str) -> tuple[list[str], list[str | None], str | None]:
    """The rendered text of a Markdown file in parts (one per heading's stretch), their section titles, and the
    first top-level heading as the title ("" when it has none)."""
    from .html import html_to_text

    text, title_field = front_matter(text)
    tokens = _parser().parse(text)
    parts: list[str] = []
    sections: list[str | None] = []
    lines: list[str] = []
    section: str | None = None
    title: str | None = None
    lists: list[list[int]] = []  # per open list: [next number] (or [-1] for bullets)
    row: list[str] | None = None
    cell: str | None = None
    heading: int | None = None
    item_start = False  # the next paragraph is the first of a list item: it takes the bullet

    def flush() -> None:
        if any(line.strip() for line in lines):
            parts.append("\n".join(lines))
            sections.append(section)
        lines.clear()

    for tok in tokens:
        kind = tok.type
        if kind == "heading_open":
            heading = int(tok.tag[1:])
        elif kind == "heading_close":
            heading = None
        elif kind in ("bullet_list_open", "ordered_list_open"):
            start = int(tok.attrs.get("start", 1) or 1) if kind == "ordered_list_open" else -1
            lists.append([start])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            if lists:
                lists.pop()
        elif kind == "list_item_open":
            item_start = True
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close":
            if row is not None and any(c for c in row):
                lines.append("| " + " | ".join(row) + " |")
            row = None
        elif kind in ("th_open", "td_open"):
            cell = ""
        elif kind in ("th_close", "td_close"):
            if row is not None:
                row.append(cell or "")
            cell = None
        elif kind == "inline":
            words, plain = inline_text(tok)
            if cell is not None:
                cell = words
                continue
            if heading is not None:
                if words:
                    flush()
                    section = words
                    title = title or (words if heading == 1 else None)
                    lines.append("#" * heading + " " + words)
                continue
            bullet = ""
            if item_start and lists:
                bullet = item_mark(lists)
            item_start = False
            if not words or not plain:  # empty, or nothing but links: navigation
                continue
            for n, line in enumerate(words.split("\n")):
                if line.strip():
                    lines.append((bullet if n == 0 else "") + line)
        elif kind in ("fence", "code_block"):
            lines.extend(line.rstrip() for line in tok.content.split("\n") if line.strip())
        elif kind == "html_block":
            body, _ = html_to_text(tok.content)
            lines.extend(line.strip() for line in body.split("\n") if line.strip())
    flush()
    # no top-level heading: "" (the file has no title of its own: the loader names it by its file, not by a lower
    # heading); no parts: the loader skips the file, "no text left after cleaning"
    return parts, sections, title_field or title or ""
