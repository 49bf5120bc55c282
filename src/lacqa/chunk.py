"""Cut documents into chunks (retrieval units) and sentences (quote units), with exact offsets."""

from __future__ import annotations

import re
from collections.abc import Iterable

from langchain_text_splitters import RecursiveCharacterTextSplitter

from .config import ChunkSettings
from .types import Chunk, Document

SEPARATORS = ["\n\n", "\n", ". ", "; ", ", ", " ", ""]


def chunk_spans(text: str, settings: ChunkSettings) -> list[tuple[int, int]]:
    """(start, end) of every chunk, so that text[start:end] is the chunk text."""
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=settings.size,
        chunk_overlap=min(settings.overlap, settings.size // 2),
        separators=SEPARATORS,
        keep_separator="end",
        strip_whitespace=True,
    )
    spans: list[tuple[int, int]] = []
    cursor = floor = prev_end = 0
    overlap = min(settings.overlap, settings.size // 2)
    for piece in splitter.split_text(text):
        start = text.find(piece, cursor)
        # in repetitive text ("ab ab ab") the piece matches at several places around the previous chunk's end:
        # take the latest one that does not leave a gap (the splitter overlaps only as much as fits)
        if start >= 0 and spans:
            limit = prev_end + len(text[prev_end:]) - len(text[prev_end:].lstrip())
            later = text.find(piece, start + 1)
            while 0 <= later <= limit:
                start, later = later, text.find(piece, later + 1)
        if start < 0:  # overlap wider than asked for: fall back to anywhere after the previous start
            start = text.find(piece, floor)
        if start < 0:
            raise AssertionError(f"chunk not found in document text: {piece[:40]!r}")
        spans.append((start, start + len(piece)))
        # the next chunk begins after this one's start and shares at most `overlap` characters with it:
        # searching from there keeps repeated text from matching an earlier copy
        floor = start + 1
        prev_end = start + len(piece)
        cursor = max(floor, start + len(piece) - overlap)
    return spans


def chunk_document(doc: Document, settings: ChunkSettings, first_id: int = 0) -> list[Chunk]:
    return [
        Chunk(
            chunk_id=first_id + i, doc_id=doc.doc_id, source=doc.source, title=doc.title,
            start=s, end=e, text=doc.text[s:e], page=doc.page_at(s),
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
            if _ABBREV.search(body[start : m.start()]):
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
        yield base + start, base + len(body[:piece_end].rstrip())
        start = piece_end
        while start < end and body[start] == " ":
            start += 1
    if end > start:
        yield base + start, base + len(body[:end].rstrip())
