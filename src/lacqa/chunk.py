"""Cut documents into chunks (retrieval units) and sentences (quote units), with exact offsets."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable

from .config import ChunkSettings
from .types import Chunk, Document

SEPARATORS = ["\n\n", "\n", ". ", "; ", ", ", " ", ""]

Span = tuple[int, int]


def chunk_spans(text: str, settings: ChunkSettings) -> list[Span]:
    """(start, end) of every chunk, so that text[start:end] is the chunk text.

    The chunks are those of LangChain's RecursiveCharacterTextSplitter (separators kept at the end of each
    split, whitespace stripped; tests/test_chunk.py checks they are the same), cut here on offsets instead
    of strings. The splitter returns strings, and finding them back in the text is ambiguous wherever a
    piece recurs within a chunk's reach - a sentence repeated a few hundred times made the search run out of
    text ("chunk not found"). Working on offsets, no piece is ever searched for, so placement cannot fail."""
    overlap = min(settings.overlap, settings.size // 2)  # as chunk settings allow overlaps the splitter refuses
    return _split(text, 0, len(text), SEPARATORS, settings.size, overlap)


def _split(text: str, start: int, end: int, separators: list[str], size: int, overlap: int) -> list[Span]:
    """The chunks of text[start:end]: cut at the first separator that occurs in it, merge the splits up to
    ``size``; a split too long for a chunk is cut again with the separators after it."""
    separator, rest = "", []
    for i, sep in enumerate(separators):
        if not sep or text.find(sep, start, end) >= 0:
            separator, rest = sep, separators[i + 1 :] if sep else []
            break
    if not separator and size > 1:
        return _windows(text, start, end, size, overlap)
    chunks: list[Span] = []
    good: list[Span] = []
    for split in _splits(text, start, end, separator):
        if split[1] - split[0] < size:
            good.append(split)
            continue
        if good:
            chunks.extend(_merge(text, good, size, overlap))
            good = []
        if rest:
            chunks.extend(_split(text, *split, rest, size, overlap))
        else:
            chunks.append(split)  # nothing left to cut with (kept whole and unstripped, as LangChain does)
    if good:
        chunks.extend(_merge(text, good, size, overlap))
    return chunks


def _splits(text: str, start: int, end: int, separator: str) -> Iterable[Span]:
    """text[start:end] cut after every occurrence of ``separator`` (each split keeps its separator at its
    end); every character on its own when the separator is empty. No split is empty."""
    if not separator:
        yield from ((i, i + 1) for i in range(start, end))
        return
    cut = start
    found = text.find(separator, cut, end)
    while found >= 0:
        yield cut, found + len(separator)
        cut = found + len(separator)
        found = text.find(separator, cut, end)
    if cut < end:
        yield cut, end


def _merge(text: str, splits: list[Span], size: int, overlap: int) -> list[Span]:
    """Consecutive splits joined into chunks of at most ``size`` characters; each chunk after the first
    starts with as many of the previous chunk's last splits as fit in ``overlap`` (and leave room for the
    next split). Chunks are stripped of surrounding whitespace; a blank one is dropped."""
    chunks: list[Span] = []
    current: deque[Span] = deque()
    total = 0
    for split in splits:
        length = split[1] - split[0]
        if total + length > size and current:
            chunks.append(_strip(text, current[0][0], current[-1][1]))
            while total > overlap or (total + length > size and total > 0):
                first = current.popleft()
                total -= first[1] - first[0]
        current.append(split)
        total += length
    if current:
        chunks.append(_strip(text, current[0][0], current[-1][1]))
    return [c for c in chunks if c[0] < c[1]]


def _windows(text: str, start: int, end: int, size: int, overlap: int) -> list[Span]:
    """What ``_merge`` makes of one-character splits (a run of ``size`` or more characters without a space),
    without a split per character: windows of ``size`` characters, each starting ``size - overlap`` after the
    one before, the last one up to ``end``. A 20 MB run of base64 would otherwise hold 20 million splits."""
    step = size - overlap  # overlap <= size // 2, so the windows move on
    chunks: list[Span] = []
    for at in range(start, end, step):
        chunks.append(_strip(text, at, min(at + size, end)))
        if at + size >= end:
            break
    return [c for c in chunks if c[0] < c[1]]


def _strip(text: str, start: int, end: int) -> Span:
    """text[start:end] without surrounding whitespace, as (start, end); empty when all blank."""
    piece = text[start:end]
    stripped = piece.lstrip()
    start += len(piece) - len(stripped)
    return start, start + len(stripped.rstrip())


def chunk_document(doc: Document, settings: ChunkSettings, first_id: int = 0) -> list[Chunk]:
    return [
        Chunk(
            chunk_id=first_id + i, doc_id=doc.doc_id, source=doc.source, title=doc.title,
            start=s, end=e, text=doc.text[s:e], page=doc.page_at(s), section=doc.section_at(s),
        )
        for i, (s, e) in enumerate(chunk_spans(doc.text, settings))
    ]


# A sentence ends at . ! ? (optionally followed by a closing quote or bracket) before whitespace and an
# upper-case letter, digit or opening quote; or at a line break. Common abbreviations do not end one.
_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_ABBREV = re.compile(
    r"(\b(?:Mr|Mrs|Ms|Dr|Prof|St|No|Nos|Vol|pp|p|Fig|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|"
    r"Inc|Ltd|Co|Corp|vs|etc|al|e\.g|i\.e|approx|ca|Art|Sec|Gen|Gov|Sen|Rep|Jr|Sr)\.|\b[A-Z]\.)$"
)
_ABBREV_REACH = 16  # longer than any match of _ABBREV ('approx.' is 7); \b still sees the character before


_MARKER = re.compile(r"\s*([#>|*•▪–-]|\d{1,3}[.)]\s|[a-z][.)]\s|[IVX]+\.\s)")


def soft_breaks(text: str) -> list[int]:
    """Positions of line breaks that only wrap a paragraph (PDF pages, hard-wrapped text): the line runs
    close to the text's usual width and does not end a sentence, or the next line goes on in lower case.
    Headings, list items and the one-paragraph-per-line text of web captures keep their breaks."""
    lines = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]
    widths = sorted(len(text[s:e].rstrip()) for s, e in lines if text[s:e].strip())
    if len(widths) < 3:
        return []
    width = widths[int(0.9 * (len(widths) - 1))]  # the wrap width, if the text is wrapped at all
    out = []
    for (s1, e1), (s2, e2) in zip(lines, lines[1:]):
        a, b = text[s1:e1].rstrip(), text[s2:e2].lstrip()
        if s2 != e1 + 1 or not a or not b or _MARKER.match(b) or a[-1] in ".!?:;":
            continue
        wrapped = width <= 160 and len(a) >= 0.6 * width
        if wrapped or (b[0].islower() and len(a) >= 20):
            out.append(e1)
    return out


def sentence_spans(text: str, max_chars: int = 300) -> list[tuple[int, int]]:
    """(start, end) of the sentences of ``text``; long sentences are cut at clause boundaries. A sentence
    runs on over a line break that only wraps its paragraph (``soft_breaks``)."""
    if breaks := soft_breaks(text):
        chars = list(text)
        for i in breaks:
            chars[i] = " "  # same length: offsets into the joined text are offsets into ``text``
        text = "".join(chars)
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        line_start = line.start()
        body = line.group()
        start = 0
        for m in _END.finditer(body):
            # only the last few characters can hold an abbreviation: searching the whole sentence so far made
            # a line of 'A. A. A. ...' (every stop an abbreviation) quadratic
            if _ABBREV.search(body, max(start, m.start() - _ABBREV_REACH), m.start()):
                continue
            spans.extend(_cut(body, start, m.start(), max_chars, line_start))
            start = m.end()
        spans.extend(_cut(body, start, len(body), max_chars, line_start))
    return [(s, e) for s, e in spans if e - s >= 2]


def _cut(body: str, start: int, end: int, max_chars: int, base: int) -> Iterable[tuple[int, int]]:
    """Split body[start:end] into pieces of at most max_chars, cut at '; ', ', ', ': ' or spaces, with
    pieces of similar length: a long sentence never leaves a short tail that carries its point alone."""
    while end - start > max_chars:
        parts = -(-(end - start) // max_chars)  # pieces still needed
        target = (end - start) // parts
        window = body[start : start + max_chars]
        clauses = [i for i in range(len(window) - 1) if window[i] in ";,:" and window[i + 1] == " "]
        spaces = [i for i, ch in enumerate(window) if ch == " "]
        near = [i for i in clauses if abs(i - target) <= target // 2] or spaces
        cut = min(near, key=lambda i: abs(i - target)) if near else max_chars - 1
        if cut <= 0:
            cut = max_chars - 1
        piece_end = start + cut + 1
        yield base + start, base + _rstrip(body, start, piece_end)
        start = piece_end
        while start < end and body[start] == " ":
            start += 1
    if end > start:
        yield base + start, base + _rstrip(body, start, end)


def _rstrip(body: str, start: int, end: int) -> int:
    """End of body[start:end] without trailing whitespace. Stops at ``start`` (a blank piece comes out empty
    and is dropped) instead of stripping a copy of everything before ``end``, which made cutting a long
    line quadratic."""
    while end > start and body[end - 1].isspace():
        end -= 1
    return end
