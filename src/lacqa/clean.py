"""Rules that remove web-capture boilerplate from plain text, line by line.

Cleaning only ever *drops* lines (and trims whitespace at their ends); it never rewrites the words of
a kept line, so every quote taken from the cleaned text is found verbatim in the source file.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

# Lines that are pure site furniture, compared after stripping brackets, colons and case.
_UI_LINES = {
    "print", "print this page", "suggest to a friend", "suggest to a friend:", "share", "share this",
    "share this article", "email", "e-mail", "tweet", "back to top", "top", "close", "menu", "search",
    "log in", "login", "sign in", "sign up", "subscribe", "read more", "more", "next", "previous",
    "print friendly", "font size", "a a a", "a+ a-", "skip to content", "skip to main content",
    "accept", "accept all", "accept cookies", "reject all", "manage cookies", "cookie settings",
    "facebook", "twitter", "linkedin", "whatsapp", "copy link", "related", "tags", "comments",
}
# Headings after which only site furniture follows (related links, event listings, footers).
_FOOTER_MARKERS = re.compile(
    r"^(featured articles|related articles|related stories|related posts|related content|"
    r"other articles and documents\b.*|more from .*|recommended( for you)?|you may also like|"
    r"most (popular|read)|latest news|events|upcoming events|footer|copyright\b.*|©.*|"
    r"all rights reserved.*)$",
    re.IGNORECASE,
)
_AD_START = re.compile(
    r"^(please\s+)?(join us\b|rsvp\b|register (now|here|today)\b|click here\b|sign up (now|today|for)\b|"
    r"subscribe (now|to)\b|don'?t miss\b|save the date\b)",
    re.IGNORECASE,
)
_COOKIE = re.compile(r"\bcookies?\b", re.IGNORECASE)
_COOKIE_CONTEXT = re.compile(r"\b(we use|accept|consent|privacy|this (site|website)|browsing)\b", re.IGNORECASE)
_BREADCRUMB = re.compile(r"^(home|start|inicio|accueil)\s*(>|»|/|›)\s*", re.IGNORECASE)
_LANG_WORDS = {
    "english", "español", "espanol", "français", "francais", "中文", "简体", "繁體", "繁体", "português",
    "portugues", "deutsch", "русский", "العربية", "日本語", "한국어", "italiano", "en", "es", "fr", "zh",
    "pt", "de", "ru", "ar", "ja", "ko", "it", "cn",
}
_MENU_SEPARATORS = re.compile(r"\s*(\||•|·)\s*")


@dataclass(frozen=True)
class Line:
    """A kept line: its text and where it sits in the original text."""

    text: str
    start: int


def split_lines(text: str) -> list[Line]:
    """Split into lines with their offsets, trimming surrounding whitespace (offsets follow the trim)."""
    lines: list[Line] = []
    pos = 0
    for raw in text.split("\n"):
        stripped = raw.strip()
        if stripped:
            lines.append(Line(stripped, pos + raw.index(stripped)))
        pos += len(raw) + 1
    return lines


def _normal(line: str) -> str:
    return re.sub(r"[\[\]():*_#>\s]+", " ", line).strip().lower()


def is_boilerplate(line: str) -> bool:
    """True for a line that is site furniture rather than document text."""
    norm = _normal(line)
    if not norm or norm in _UI_LINES:
        return True
    if _BREADCRUMB.match(line):
        return True
    if _AD_START.match(norm):
        return True
    if _COOKIE.search(line) and _COOKIE_CONTEXT.search(line) and len(line) < 400:
        return True
    parts = [p for p in _MENU_SEPARATORS.split(line) if p and not _MENU_SEPARATORS.fullmatch(p)]
    if len(parts) >= 2 and len(line) < 80 and all(p.strip().lower() in _LANG_WORDS for p in parts):
        return True  # a language bar such as "中文 | Español"
    return False


def is_footer_marker(line: str) -> bool:
    return bool(_FOOTER_MARKERS.match(_normal(line)))


def clean_lines(lines: list[Line], repeated: set[str] | None = None) -> list[Line]:
    """Drop boilerplate lines, repeated lines and everything after a late footer marker."""
    kept: list[Line] = []
    n = len(lines)
    for i, line in enumerate(lines):
        if is_footer_marker(line.text) and i >= n * 0.6:
            break  # "Featured Articles", "Other articles and documents ...": the rest is site chrome
        if is_boilerplate(line.text):
            continue
        if repeated and line.text in repeated:
            continue
        if kept and kept[-1].text == line.text:
            continue  # a title printed twice in a row
        kept.append(line)
    return kept


def repeated_lines(pages: list[list[Line]], min_share: float = 0.5) -> set[str]:
    """Lines found on at least ``min_share`` of the pages (running headers, footers, page numbers)."""
    if len(pages) < 3:
        return set()
    counts: Counter[str] = Counter()
    for page in pages:
        counts.update({re.sub(r"\d+", "#", ln.text) for ln in page})
    frequent = {key for key, c in counts.items() if c >= max(2, min_share * len(pages))}
    return {ln.text for page in pages for ln in page if re.sub(r"\d+", "#", ln.text) in frequent}


_DATE = re.compile(
    r"\b(\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}|"
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.? \d{1,2}, \d{4}|"
    r"\d{1,2} (?:January|February|March|April|May|June|July|August|September|October|November|December) \d{4})\b"
)
_AUTHOR_BY = re.compile(r"^by\s+(.{3,60})$", re.IGNORECASE)
_NAME_LINE = re.compile(r"^[A-Z][\w.'’-]+(?: [A-Z][\w.'’-]+){1,3}$")


def find_title(lines: list[Line]) -> str | None:
    """The first heading-like line: a markdown heading, else the first short line."""
    for line in lines[:8]:
        text = line.text
        if text.startswith("#"):
            return text.lstrip("#").strip() or None
    for line in lines[:5]:
        if len(line.text) <= 200 and not line.text.endswith((".", ",", ";")):
            return line.text.lstrip("#").strip()
    return None


def find_metadata(lines: list[Line], title: str | None) -> tuple[str | None, str | None]:
    """(date, author) from the first lines of the document, when they are there."""
    date = author = None
    head = lines[:10]
    for line in head:
        match = _DATE.search(line.text)
        if match and len(line.text) < 120:
            date = match.group(1)
            break
    for line in head:
        text = line.text.lstrip("#").strip().rstrip("*")
        if title and text == title:
            continue
        by = _AUTHOR_BY.match(text)
        if by:
            author = by.group(1).strip(" *")
            break
        if _NAME_LINE.match(text) and not _DATE.search(text):
            author = text
            break
    return date, author
