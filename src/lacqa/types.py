"""Typed, immutable records passed between the stages of the pipeline.

Offsets are always character offsets into a document's *stored* (cleaned) text, so that
``document.text[start:end] == quote`` holds for every chunk, hit, evidence and citation.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class PageSpan:
    """A character range of a document's stored text that came from one PDF page."""

    start: int
    end: int
    page: int  # 1-based page number


@dataclass(frozen=True)
class SectionSpan:
    """A character range of a document's stored text under one heading: a Word heading, an EPUB chapter."""

    start: int
    end: int
    title: str


@dataclass(frozen=True)
class Document:
    """A cleaned source document, ready to chunk."""

    doc_id: str  #: stable id derived from the source path
    source: str  #: path relative to the sources folder, with forward slashes
    title: str  #: title found in the document, else the file name
    text: str  #: cleaned text; every offset elsewhere points into this string
    sha256: str  #: hash of the raw file bytes (the incremental-rebuild key)
    pages: tuple[PageSpan, ...] = ()  #: page ranges for PDFs, empty otherwise
    date: str | None = None  #: publication date found in the document, if any
    author: str | None = None  #: author found in the document, if any
    sections: tuple[SectionSpan, ...] = ()  #: sections under headings (Word, EPUB), in order; empty otherwise

    def section_at(self, offset: int) -> str | None:
        """The title of the section holding character ``offset``, or None outside any section."""
        i = bisect_right(self.sections, offset, key=lambda span: span.start) - 1
        return self.sections[i].title if i >= 0 and offset < self.sections[i].end else None

    def page_at(self, offset: int) -> int | None:
        """The PDF page holding character ``offset``, or None for non-PDF documents."""
        for span in self.pages:
            if span.start <= offset < span.end:
                return span.page
        return self.pages[-1].page if self.pages and offset >= self.pages[-1].end else None


@dataclass(frozen=True)
class Skipped:
    """A file in the sources folder that was not indexed, and why."""

    source: str
    reason: str


@dataclass(frozen=True)
class Chunk:
    """A contiguous slice of a document, the unit of retrieval."""

    chunk_id: int  #: row of this chunk in the index generation (also its vector row)
    doc_id: str
    source: str
    title: str
    start: int  #: offset of the first character in the document text
    end: int  #: offset one past the last character
    text: str  #: equals document.text[start:end]
    page: int | None = None
    section: str | None = None  #: title of the section the chunk starts in (Word heading, EPUB chapter)


@dataclass(frozen=True)
class Hit:
    """A chunk returned by retrieval, with its fused score and the ranks behind it."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    lexical_rank: int | None = None

    def to_json(self) -> dict[str, Any]:
        c = self.chunk
        return {
            "doc_id": c.doc_id,
            "source": c.source,
            "title": c.title,
            "start": c.start,
            "end": c.end,
            "page": c.page,
            "section": c.section,
            "text": c.text,
            "score": round(self.score, 6),
        }


@dataclass(frozen=True)
class Evidence:
    """A quoted span chosen to support an answer: an exact range of a stored document."""

    doc_id: str
    source: str
    title: str
    start: int
    end: int
    quote: str  #: equals document.text[start:end]
    score: float
    page: int | None = None
    section: str | None = None


@dataclass(frozen=True)
class Citation:
    """A numbered quote shown with an answer; ``[n]`` markers in the answer point here."""

    n: int
    doc_id: str
    source: str
    title: str
    start: int
    end: int
    quote: str
    page: int | None = None
    section: str | None = None  #: title of the section the quote starts in (Word heading, EPUB chapter)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Point:
    """One point of an answer (a bullet of a list, a step of an explanation, a side of a comparison)."""

    text: str  #: the point as shown, with its [n] markers
    citations: tuple[int, ...]  #: numbers of the citations it rests on
    label: str | None = None  #: the side it speaks for, in a comparison

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text, "citations": list(self.citations)}
        if self.label:
            out["label"] = self.label
        return out


@dataclass(frozen=True)
class Answer:
    """The verified answer to one question."""

    question: str
    text: str  #: answer with [n] markers, or the abstention message
    abstained: bool
    reason: str | None  #: why it abstained (None when it answered)
    citations: tuple[Citation, ...]
    generation: str  #: index generation the answer was computed from
    timings: dict[str, float] = field(default_factory=dict)  #: seconds per stage
    mode: str = "drafted"  #: "drafted", "quoted" (best quote shown directly), "span" (the words of the best quote
    #: that answer, read by the span reader) or "abstained"
    draft: str | None = None  #: the model's raw draft before verification
    closest: tuple[Citation, ...] = ()  #: nearest passages when abstaining
    notes: tuple[str, ...] = ()  #: remarks for the user (e.g. question was shortened)
    shape: str = "fact"  #: fact, list, explain, summary or compare (answer/shapes.py)
    points: tuple[Point, ...] = ()  #: the answer's points, each with its citations
    confidence: float | None = None  #: the ranker's calibrated probability for the best quote (ranker off: the hand score)
    reason_code: str | None = None  #: why it abstained, as a code (answer/checks.py Reason)

    @property
    def latency_s(self) -> float:
        return float(self.timings.get("total", 0.0))

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "reason": self.reason,
            "reason_code": self.reason_code,
            "mode": self.mode,
            "citations": [c.to_json() for c in self.citations],
            "closest": [c.to_json() for c in self.closest],
            "generation": self.generation,
            "latency_s": round(self.latency_s, 4),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "draft": self.draft,
            "notes": list(self.notes),
            "shape": self.shape,
            "points": [p.to_json() for p in self.points],
            "confidence": None if self.confidence is None else round(self.confidence, 4),
        }
