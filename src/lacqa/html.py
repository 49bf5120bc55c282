"""HTML to text with selectolax: drop site chrome by tag and by class/id, keep block structure."""

from __future__ import annotations

import re

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


def html_to_text(html: str) -> tuple[str, str | None]:
    """Return (text with one block per line, title) from an HTML page."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    title_node = tree.css_first("title")
    h1 = tree.css_first("h1")
    title = (h1.text(strip=True) if h1 else "") or (title_node.text(strip=True) if title_node else "")
    for node in tree.css(_DROP_TAGS):
        node.decompose()
    for node in tree.css("[class], [id], [role]"):
        marker = " ".join(filter(None, (node.attributes.get(a) for a in ("class", "id", "role"))))
        if node.tag not in ("body", "html", "main", "article") and _CHROME.search(marker or ""):
            node.decompose()
    root = tree.css_first("main") or tree.css_first("article") or tree.body
    if root is None:
        return "", title or None
    parts: list[str] = []
    _walk(root, parts)
    text = "".join(parts)
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip(), title or None


def _walk(root, parts: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Text of ``root``'s subtree with a line break around every block. Iterative (an explicit stack of
    siblings still to visit), so a page nested thousands of elements deep cannot exhaust Python's stack."""
    stack = [root.child]  # each entry: the next sibling to visit at one depth (None when done)
    closing: list[bool] = [False]  # whether leaving that depth closes a block
    while stack:
        node = stack[-1]
        if node is None:
            stack.pop()
            if closing.pop():
                parts.append("\n")
            continue
        stack[-1] = node.next
        if node.tag == "-text":
            parts.append(node.text_content or "")
        elif node.tag != "-comment":
            block = node.tag in _BLOCKS
            if block:
                parts.append("\n")
            stack.append(node.child)
            closing.append(block)
