"""Sentence-level evidence selection and the abstention signal.

Candidate sentences come from the retrieved chunks. Each is scored by embedding similarity to the
question (vectors precomputed at index time), IDF-weighted coverage of the question's terms, whether
it holds the kind of thing asked for (a year for "when", a number for "how many", ...), and the rank
of its chunk. The best few become quotes: exact character ranges of the stored document text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .config import AnswerSettings
from .store import Generation, Sentence
from .text import STOPWORDS, terms, words
from .types import Evidence, Hit

_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)s?\b")
_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
                     r"forty|fifty|hundred|thousand|million|billion|dozen|first|second|third)\b", re.IGNORECASE)
_MONTH = re.compile(r"\b(January|February|March|April|May|June|July|August|September|October|November|December)\b")
_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*\b")


@dataclass(frozen=True)
class Selection:
    """Chosen quotes plus the signals used to decide whether to answer."""

    evidence: tuple[Evidence, ...]
    confidence: float  #: score of the best quote, in roughly [0, 1.3]
    coverage: float  #: IDF-weighted share of the question's terms found in the quotes
    missing: tuple[str, ...]  #: rare question words found in none of the candidate passages
    candidates: tuple[Evidence, ...]  #: the best few candidates (shown as "closest" when abstaining)
    kind: str = "other"  #: what the question asks for: time, number, person, place, other
    has_type: bool = True  #: the quotes hold the kind of thing asked for (a date for "when", ...)
    absent_numbers: tuple[str, ...] = ()  #: years/numbers of the question found in no retrieved passage


class TermStats:
    """Sentence-level document frequencies of a generation, for IDF weights (computed once)."""

    def __init__(self, generation: Generation) -> None:
        self.n = max(1, len(generation.sentences))
        df: dict[str, int] = {}
        self.sentence_terms: list[frozenset[str]] = []
        for s in generation.sentences:
            ts = frozenset(terms(generation.documents[s.doc_id].text[s.start : s.end]))
            self.sentence_terms.append(ts)
            for t in ts:
                df[t] = df.get(t, 0) + 1
        self.df = df
        self.vocab_words: set[str] = set()
        for doc in generation.documents.values():
            self.vocab_words.update(words(doc.text))

    def idf(self, term: str) -> float:
        return math.log(1 + self.n / (1 + self.df.get(term, 0)))


def answer_type(question: str) -> str:
    q = question.lower()
    if re.search(r"\b(when|what year|which year|what date|which date|in what year|how long ago|since when)\b", q):
        return "time"
    if re.search(r"\b(how many|how much|what (percentage|percent|share|proportion|number|amount|value|total|"
                 r"population|rate|interest rate|cost|price|size|level)|how large|how big|how long|how far)\b", q):
        return "number"
    if re.search(r"\b(who|whom|whose|which (person|president|minister|leader|author))\b", q):
        return "person"
    if re.search(r"\b(where|which (country|countries|city|cities|nation|nations|region|place))\b", q):
        return "place"
    return "other"


_REFERENCE = re.compile(r"\(\d{4}\)\.|\bpp\. ?\d|Available at:|\(Accessed|\bdoi:|https?://|\*[^*]{3,}\*,? \d|"
                        r"^\(?[A-Z][\w&.\s-]{1,40} \d{4}\)")


def _form_penalty(text: str) -> float:
    """Headings, fragments and bibliography entries rarely answer anything."""
    if _REFERENCE.search(text):
        return 0.3
    if len(text) < 40:
        return 0.15
    if len(text) < 120 and not text.rstrip("*_ ").endswith((".", "!", "?", ";", ":", ")", "\u201d", '"')):
        return 0.2  # a heading or a caption
    return 0.0


def _has_type(kind: str, text: str) -> bool:
    if kind == "time":
        return bool(_YEAR.search(text) or _MONTH.search(text))
    if kind == "number":
        return bool(_NUMBER.search(text))
    return True


def _absent_numbers(
    question: str, chosen: tuple[Evidence, ...], hits: list[Hit], docs_text: Callable[[str], str]
) -> tuple[str, ...]:
    """Numbers the question is specific about (e.g. a year) that none of the passages found contains."""
    docs = {h.chunk.doc_id for h in hits[:3]} | {e.doc_id for e in chosen}
    hay = " ".join([*(e.quote for e in chosen), *(h.chunk.text for h in hits), *(docs_text(d) for d in docs)])
    found = set(re.findall(r"\d+", hay))
    return tuple(n for n in re.findall(r"\b\d{2,}\b", question) if n not in found)


def _type_bonus(kind: str, text: str, question: str) -> float:
    if kind == "time":
        return 0.12 if (_YEAR.search(text) or _MONTH.search(text)) else -0.05
    if kind == "number":
        return 0.12 if _NUMBER.search(text) else -0.05
    if kind in ("person", "place"):
        qwords = set(words(question))
        names = [n for n in _NAME.findall(text) if n.lower() not in qwords and len(n) > 2]
        return 0.06 if len(names) >= 1 else -0.03
    return 0.0


def select_evidence(
    question: str,
    query_vec: np.ndarray,
    hits: list[Hit],
    generation: Generation,
    stats: TermStats,
    settings: AnswerSettings,
) -> Selection:
    """Pick up to ``settings.max_quotes`` quotes from the sentences of the retrieved chunks."""
    qterms = set(terms(question))
    weights = {t: stats.idf(t) for t in qterms}
    total_w = sum(weights.values()) or 1.0
    kind = answer_type(question)
    vectors = generation.sentence_vectors()
    seen: dict[int, float] = {}
    if len(vectors):  # the sentences closest in meaning anywhere in the library: paraphrases land here
        sims = vectors @ query_vec
        for sid in np.argsort(-sims)[: settings.dense_sentences]:
            seen[int(sid)] = 0.0
    for rank, hit in enumerate(hits):
        prior = 0.08 / (1 + rank)
        for s in _sentences_in(generation, hit):
            if s.sent_id in seen:
                seen[s.sent_id] = max(seen[s.sent_id], prior)
            else:
                seen[s.sent_id] = prior
    scored: list[tuple[float, float, Sentence]] = []
    for sid, prior in seen.items():
        s = generation.sentences[sid]
        text = generation.documents[s.doc_id].text[s.start : s.end]
        dense = float(np.dot(vectors[sid], query_vec))
        st = stats.sentence_terms[sid]
        cover = sum(w for t, w in weights.items() if t in st) / total_w
        score = settings.w_dense * dense + settings.w_cover * cover + settings.w_type * _type_bonus(kind, text, question) + prior
        score -= _form_penalty(text)
        scored.append((score, cover, s))
    scored.sort(key=lambda x: (-x[0], x[2].sent_id))
    if not scored:
        return Selection((), 0.0, 0.0, tuple(_missing(question, stats)), ())
    chosen = _choose(scored, generation, settings)
    quote_terms: set[str] = set()
    for e in chosen:
        quote_terms |= set(terms(e.quote))
    coverage = sum(w for t, w in weights.items() if t in quote_terms) / total_w
    candidates = tuple(_evidence(generation, s, sc) for sc, _, s in scored[:3])
    missing = tuple(_missing(question, stats))
    confidence = scored[0][0] - 0.08 * min(2, len(missing))
    has_type = kind not in ("time", "number") or _has_type(kind, chosen[0].quote)
    return Selection(chosen, confidence, coverage, missing, candidates, kind, has_type,
                     _absent_numbers(question, chosen, hits, lambda d: generation.documents[d].text))


def _sentences_in(generation: Generation, hit: Hit) -> list[Sentence]:
    c = hit.chunk
    return [s for s in generation.sentences_by_doc.get(c.doc_id, []) if s.end > c.start and s.start < c.end]


def _evidence(generation: Generation, s: Sentence, score: float, end: int | None = None) -> Evidence:
    doc = generation.documents[s.doc_id]
    stop = end if end is not None else s.end
    return Evidence(doc.doc_id, doc.source, doc.title, s.start, stop, doc.text[s.start : stop], score,
                    doc.page_at(s.start))


def _choose(scored: list[tuple[float, float, Sentence]], generation: Generation, settings: AnswerSettings) -> tuple[Evidence, ...]:
    best = scored[0][0]
    chosen: list[Evidence] = []
    for score, _, s in scored:
        if len(chosen) >= settings.max_quotes:
            break
        if chosen and score < best - settings.quote_margin:
            break
        if any(e.doc_id == s.doc_id and e.start < s.end and s.start < e.end for e in chosen):
            continue
        ev = _evidence(generation, s, score)
        merged = False
        for i, e in enumerate(chosen):  # join a neighbouring sentence into one quote when it fits
            if e.doc_id == s.doc_id and 0 <= s.start - e.end <= 2 and s.end - e.start <= settings.max_quote_chars:
                chosen[i] = _span(generation, e.doc_id, e.start, s.end, e.score)
                merged = True
            elif e.doc_id == s.doc_id and 0 <= e.start - s.end <= 2 and e.end - s.start <= settings.max_quote_chars:
                chosen[i] = _span(generation, e.doc_id, s.start, e.end, e.score)
                merged = True
            if merged:
                break
        if not merged:
            chosen.append(ev)
    return tuple(chosen)


def _span(generation: Generation, doc_id: str, start: int, end: int, score: float) -> Evidence:
    doc = generation.documents[doc_id]
    return Evidence(doc.doc_id, doc.source, doc.title, start, end, doc.text[start:end], score, doc.page_at(start))


def _missing(question: str, stats: TermStats) -> list[str]:
    """Names and numbers of the question (not its first word) found nowhere in the whole library."""
    out = []
    for m in re.finditer(r"[A-Z][\w'’-]+|\d[\d,.]*\d|\d", question):
        w = re.sub(r"['’]s?$", "", m.group())
        if m.start() == 0 or w.lower() in STOPWORDS:
            continue
        if any(t not in stats.vocab_words for t in words(w)):
            out.append(w)
    return out
