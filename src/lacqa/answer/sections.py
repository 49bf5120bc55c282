"""A document's own structure, for open answers: its headings, the sections under them and their items.

Many list and how questions ask for what one section of a document enumerates ("what kinds of economic cooperation
does the paper propose" is the sub-headings under "2. In the Economic Field"). Retrieval finds sentences that share
the question's words, often the sentences *about* the document rather than its content; the document's outline
says where the enumeration is. The outline is read from the plain text, whatever format it came from:

* a heading is a short line without a sentence's final stop: a Markdown "#" line, a numbered line ("2.", "IV.",
  "(3)", "1.2", "a)") or a bare short line ("Connection to the grid") between other lines;
* its level comes from its marker style, in the order styles first appear in the document (the first style seen is
  the top level), Markdown from its "#"s;
* an item is a bulleted or numbered line that reads as a statement (a list entry, not a heading).

A section's points are its sub-sections (the first statement of each, labelled by the sub-heading) or else its
items; each point is a verbatim sentence of the library.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..store import Generation, Sentence
from ..text import terms

_MD = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_NUMBERED = [  # (style, pattern); the style names a marker shape, its level is found per document
    ("roman", re.compile(r"^([IVXLC]+)\.\s+(.+)$")),
    ("paren", re.compile(r"^\((\d+|[a-z])\)\s+(.+)$")),
    ("number", re.compile(r"^(\d+(?:\.\d+)*)[.)]?\s+(\D.*)$")),  # "2.", "2.1", "2.1.3": one style per depth
    ("letter", re.compile(r"^([A-Za-z])[.)]\s+(.+)$")),
]
BULLET = re.compile(r"^(?:[-*\u2022\u2013\u2014]+|\d+[.)]|\([a-z0-9]+\))\s+")
_END = re.compile(r"[.!?;,]$")
MAX_HEADING_WORDS = 14
MAX_PLAIN_WORDS = 8


@dataclass(frozen=True)
class Heading:
    """A heading line of a document: where it is, how deep, and its title without the marker."""

    start: int
    end: int
    level: int
    title: str


@dataclass(frozen=True)
class Unit:
    """One sub-part of a section: a sub-section (with its heading) or an item line."""

    start: int  #: where its body starts (after the sub-heading, or the item line itself)
    end: int
    label: str | None  #: the sub-heading's title, None for an item


def _lines(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group()) for m in re.finditer(r"[^\n]+", text) if m.group().strip()]


def headings(text: str) -> list[Heading]:
    """The heading lines of ``text``, in order, with levels (1 is the top)."""
    lines = _lines(text)
    found: list[tuple[int, int, str, str]] = []  # start, end, style, title
    for i, (s, e, raw) in enumerate(lines):
        line = raw.strip()
        md = _MD.match(line)
        if md:
            line = md.group(2).strip("*_ ")
        words = line.split()
        if not md and (len(words) > MAX_HEADING_WORDS or _END.search(line) or line.endswith(":")):
            continue
        style = title = None
        for name, pattern in _NUMBERED:
            if m := pattern.match(line):
                depth = m.group(1).rstrip(".").count(".") + 1 if name == "number" else 1
                style, title = f"{name}{depth}", m.group(2)
                break
        if style is None and md:
            style, title = f"md{len(md.group(1))}", line
        if style is None:  # a bare short line, set apart from a paragraph: not the wrapped end of one
            prev = lines[i - 1][2].strip() if i else ""
            nxt = lines[i + 1][2].strip() if i + 1 < len(lines) else ""
            after_heading = bool(found) and found[-1][0] == lines[i - 1][0] if i else True
            if (len(words) > MAX_PLAIN_WORDS or not line[0].isupper() or BULLET.match(line)
                    or (prev and not after_heading and not re.search(r"[.!?:;\"\u201d)]$", prev))
                    or len(nxt) <= len(line) or nxt[:1].islower()):  # a lower-case next line continues it
                continue
            style, title = "plain", line
        if title and (terms(title) or style != "plain"):
            found.append((s, e, style, title.strip("*_ ")))
    order: dict[str, int] = {}  # the first style seen is the top level, the next new one the level below, ...
    for _, _, style, _ in found:
        order.setdefault(style, len(order) + 1)
    return [Heading(s, e, order[style], title) for s, e, style, title in found]


def units(text: str, heads: list[Heading], i: int) -> tuple[int, list[Unit]]:
    """The end of section ``i`` and its units: its direct sub-sections, else its item lines."""
    h = heads[i]
    end = next((x.start for x in heads[i + 1 :] if x.level <= h.level), len(text))
    inner = [x for x in heads[i + 1 :] if h.start < x.start < end]
    if inner:
        top = min(x.level for x in inner)
        subs = [x for x in inner if x.level == top]
        out = []
        for n, x in enumerate(subs):
            stop = subs[n + 1].start if n + 1 < len(subs) else end
            out.append(Unit(x.end, stop, re.sub(r"\s+", " ", x.title)))
        return end, out
    lines = [(s, e, raw, marker(raw)) for s, e, raw in _lines(text[h.end : end])]
    # the first item's kind (sub-items pass); a section without bulleted items: the rows of its table, less the header
    kind = next((m for _, _, _, m in lines if m is not None and m != "|"), None)
    if kind is None and any(m == "|" for _, _, _, m in lines):
        kind = "|"
        lines = [x for n, x in enumerate(lines) if not (x[3] == "|" and (n == 0 or lines[n - 1][3] != "|"))]
    items = [Unit(h.end + s, h.end + e, None) for s, e, raw, m in lines
             if kind is not None and m == kind and len(terms(raw)) >= 3]
    return end, items


#: at most this many items of an announced list are read
MAX_ANNOUNCED = 12


def marker(line: str) -> str | None:
    """The kind of item mark a line opens with: its bullet characters, a number style ("1.", "(a)"), "|" for a table
    row, None for a line that is no item. Items of one list share a kind; a line with another kind inside the list
    is a sub-item (cleaning strips the indentation that showed it)."""
    line = line.strip()
    m = BULLET.match(line)
    if m:
        mark = m.group().strip()
        return "number" if mark[0].isdigit() else "paren" if mark.startswith("(") else mark
    return "|" if len(line) > 1 and line[0] == line[-1] == "|" else None  # a table row, as the readers write it


def announced(text: str, start: int, end: int) -> list[Unit]:
    """The items of the list a sentence announces: a sentence that ends its line with a colon ("The goals of
    China's policy ... are:", "We own three solar installations ...:") says what follows it, the bulleted or
    numbered lines or table rows right after it (blank lines between them allowed; the first line that is no
    item ends the list). Items are those at the level of the first (sub-items under them are passed over); a
    table's first row is its header."""
    if not text[start:end].rstrip().endswith(":"):
        return []
    nl = text.find("\n", end)
    if nl < 0 or text[end:nl].strip():
        return []
    out: list[Unit] = []
    kind = None
    rows = 0
    for s, e, raw in _lines(text[nl:]):
        mark = marker(raw)
        if mark is None or len(out) >= MAX_ANNOUNCED:
            break
        kind = kind or mark
        if mark != kind:
            continue  # a sub-item
        rows += 1
        if kind == "|" and rows == 1:
            continue  # the header row
        if len(terms(raw)) < 3:
            break
        out.append(Unit(nl + s, nl + e, None))
    return out


def outline(generation: Generation, doc_id: str) -> list[Heading]:
    """The headings of one document (computed once per generation)."""
    return generation.derive(f"outline:{doc_id}", lambda: headings(generation.documents[doc_id].text))


def first_statement(generation: Generation, doc_id: str, unit: Unit,
                    statement: Callable[[str], bool]) -> Sentence | None:
    """The point a unit makes: its first sentence that reads as a statement; for an item line, its first
    sentence with a few terms even without a final stop ("- Meridian Subsea Ltd: £124 million")."""
    text = generation.documents[doc_id].text
    inside = [s for s in generation.sentences_by_doc.get(doc_id, []) if unit.start <= s.start < unit.end]
    if inside:  # the opening clause of a long sentence cut at a comma still opens the unit's point
        t = text[inside[0].start : inside[0].end]
        if len(t) >= 40 and t[0].isupper() and len(terms(t)) >= 5:
            return inside[0]
    for s in inside:
        if statement(text[s.start : s.end]):
            return s
    if unit.label is None:
        return next((s for s in inside if len(terms(text[s.start : s.end])) >= 3), None)
    return None


@dataclass(frozen=True)
class Match:
    """The section of a document that best matches a question's topic, and how well."""

    doc_id: str
    heading: Heading
    units: tuple[Unit, ...]
    end: int  #: where the section ends
    score: float  #: lexical (IDF share of the heading in the topic, of the topic in the heading) plus cosine
    leaf: bool = True  #: no sub-sections under it (its units, if any, are item lines)


#: at least this share of a heading's (IDF-weighted) terms must be words of the question's topic ("In the Economic
#: Field" for "what kinds of economic cooperation ...": 0.4)
MIN_PRECISION = 1 / 3


def best_section(
    generation: Generation, doc_ids: list[str], topic: dict[str, dict[str, float]],
    topic_vecs: dict[str, np.ndarray], idf: Callable[[str], float], stats_naming: dict[str, set[str]],
    min_units: int = 2, narrow: bool = True,
) -> Match | None:
    """Among the sections of ``doc_ids`` with at least ``min_units`` units, the one whose heading best matches
    the question: ``topic[doc_id]`` weighs the question's terms that do not merely name that document. Then,
    while a sub-section's heading path ("Cooperation > In the Economic Field") holds more of the topic than the
    chosen one's, the answer goes down to it (``narrow``, for lists: a question's more specific words pick the
    narrower enumeration; an explanation reads the whole section, its sub-sections included)."""
    vectors = generation.sentence_vectors()
    found: list[tuple[Match, float]] = []  # (match, topic weight its heading path holds)
    for doc_id in doc_ids:
        heads = outline(generation, doc_id)
        text = generation.documents[doc_id].text
        weights = topic.get(doc_id, {})
        total = sum(weights.values()) or 1.0
        by_start = {s.start: s for s in generation.sentences_by_doc.get(doc_id, [])}
        naming = set(stats_naming.get(doc_id, set()))
        held: dict[int, set[str]] = {}  # heading index -> topic terms its path holds
        for i, h in enumerate(heads):
            parent = next((j for j in range(i - 1, -1, -1) if heads[j].level < h.level), None)
            title_terms = terms(h.title)
            own = {t: idf(t) for t in title_terms if t not in naming}
            held[i] = (held.get(parent, set()) if parent is not None else set()) | (set(own) & set(weights))
            end, parts = units(text, heads, i)
            if len(parts) < min_units or (title_terms and not own):  # a heading that only names the document
                continue
            shared = sum(w for t, w in own.items() if t in weights)
            precision = shared / sum(own.values()) if own else 0.0
            if own and precision < MIN_PRECISION:
                continue
            # the heading line's longest sentence: "2. In the Economic Field" splits into "2." and the title
            line = [by_start[k] for k in range(h.start, h.end) if k in by_start]
            sent = max(line, key=lambda x: x.end - x.start, default=None)
            dense = float(vectors[sent.sent_id] @ topic_vecs[doc_id]) if sent is not None else 0.0
            score = 0.5 * (precision + shared / total) + dense
            match = Match(doc_id, h, tuple(parts), end, score, leaf=not any(u.label for u in parts))
            found.append((match, sum(weights[t] for t in held[i])))
    if not found:
        return None
    best, held_weight = max(found, key=lambda x: x[0].score)
    while narrow:
        deeper = [(m, w) for m, w in found if m.doc_id == best.doc_id and best.heading.end <= m.heading.start < best.end
                  and w > held_weight]
        if not deeper:
            return best
        best, held_weight = max(deeper, key=lambda x: (x[1], x[0].score))
    return best
