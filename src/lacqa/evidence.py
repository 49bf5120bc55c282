"""Sentence-level evidence selection and the abstention signal.

Candidate sentences come from the retrieved chunks. Each is scored by embedding similarity to the
question (vectors precomputed at index time), IDF-weighted coverage of the question's terms, whether
it holds the kind of thing asked for (a year for "when", a number for "how many", ...), and the rank
of its chunk. The best few become quotes: exact character ranges of the stored document text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

import numpy as np

from .aliases import aliases
from .config import AnswerSettings
from .kinds import (
    MONTH,
    NUMERIC_DATE,
    UNIT_ASKED,
    YEAR,
    answer_type,
    holds_type,
    is_place,
    new_names,
    type_bonus,
)
from .places import COUNTRIES
from .store import Generation, Sentence
from .synonyms import SYNONYM_WEIGHT, alternatives
from .text import STOPWORDS, ordinals, terms, words
from .errors import ModelError
from .types import Evidence, Hit

if TYPE_CHECKING:
    from .answer.ranker import Ranker
    from .answer.span import SpanReader

CONTEXT_WEIGHT = 0.4  #: a question word only the previous sentence has ("Accumulated loans ..." / "the lending (69%)")
_EMPTY: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Selection:
    """Chosen quotes plus the signals used to decide whether to answer."""

    evidence: tuple[Evidence, ...]
    confidence: float  #: score of the best quote, in roughly [0, 1.3]
    coverage: float  #: IDF-weighted share of the question's terms found in the quotes
    missing: tuple[str, ...]  #: names and numbers of the question found nowhere in the library
    candidates: tuple[Evidence, ...]  #: the best few candidates (shown as "closest" when abstaining)
    kind: str = "other"  #: what the question asks for: time, number, person, place, other
    has_type: bool = True  #: the quotes hold the kind of thing asked for (a date for "when", ...)
    unmatched: tuple[str, ...] = ()  #: years, ordinals, names of the question the best quote's context lacks
    unknown_subject: bool = False  #: every name the question mentions is absent from the library
    ranked: bool = False  #: ordered by the learned ranker: ``confidence`` is its calibrated probability
    pool: tuple[tuple[float, Sentence], ...] = ()  #: the scored candidates, best first (open answers pick from it)
    #: the span reader's best answer margin over the quotes (its span's score less its no-answer score); None: not read
    answer_margin: float | None = None


class TermStats:
    """Sentence-level document frequencies of a generation, for IDF weights (computed once)."""

    def __init__(self, generation: Generation) -> None:
        from .derived import TermTable, load_terms, sentence_terms

        self.n = max(1, len(generation.sentences))
        self.aliases = aliases(generation)
        stored = load_terms(generation.folder, len(generation.sentences))  # made at index time
        if stored is not None:
            self.sentence_terms, self.vocab_words = stored
        else:  # an index written by other code: derive them now, once
            self.sentence_terms = TermTable.from_sets([
                sentence_terms(generation.documents[s.doc_id].text[s.start : s.end], self.aliases)
                for s in generation.sentences
            ])
            self.vocab_words = set()
            for doc in generation.documents.values():
                self.vocab_words.update(words(doc.text))
        self.vocab_words = _with_parts(self.vocab_words)
        #: title and author terms of each document, for questions that name one ("according to the paper on ...")
        self.named_terms = {d.doc_id: set(terms(f"{d.title} {d.author or ''}")) for d in generation.documents.values()}
        #: what a question may call a document by: title, author, date (year, month) and the agency of its dateline
        self.naming_terms = {d.doc_id: set(terms(_about_document(generation, d.doc_id, head=False)))
                             for d in generation.documents.values()}
        #: the same with the document's head, matched against what a question is specific about
        self.about = {d.doc_id: _about_document(generation, d.doc_id) for d in generation.documents.values()}

        self._doc_words: dict[str, set[str]] = {}
        self._doc_numbers: dict[str, set[str]] = {}

    def doc_words(self, generation: Generation, doc_id: str) -> set[str]:
        if doc_id not in self._doc_words:
            d = generation.documents[doc_id]
            found = set(words(" ".join([d.title, d.author or "", d.text])))
            self._doc_words[doc_id] = _with_parts(found)
        return self._doc_words[doc_id]

    def doc_numbers(self, generation: Generation, doc_id: str) -> set[str]:
        """Numbers in a document's body (bibliography entries left out: they name years of other works)."""
        if doc_id not in self._doc_numbers:
            d = generation.documents[doc_id]
            body = [d.text[s.start : s.end] for s in generation.sentences_by_doc.get(doc_id, [])]
            self._doc_numbers[doc_id] = {n for t in body if not _REFERENCE.search(t)
                                         for n in re.findall(r"\d+", _CITATION.sub(" ", t))}
        return self._doc_numbers[doc_id]

    def df(self, term: str) -> int:
        """How many sentences hold the term."""
        return self.sentence_terms.df(term)

    def postings(self, term: str) -> list[int]:
        """The ids of the sentences that hold the term, ascending."""
        return self.sentence_terms.postings(term)

    def idf(self, term: str) -> float:
        return math.log(1 + self.n / (1 + self.df(term)))


_REFERENCE = re.compile(r"\(\d{4}\)\.|\bpp\. ?\d|Available at:|\(Accessed|\bdoi:|https?://|\*[^*]{3,}\*,? \d|"
                        r"^\(?[A-Z][\w&.\s-]{1,40} \d{4}\)")
#: an in-text citation, "(Wang, 2017: 64)", "(Sullivan & Lum, 2022)": its year dates a publication, not an event
_CITATION = re.compile(r"\([A-Z][^()]{0,80}?,\s*(?:19|20)\d\d[a-z]?(?::\s*[\d-]+)?\)")


def _is_byline(text: str, author: str | None) -> bool:
    t = text.strip("*# ")
    return bool(re.match(r"^by\s+\S", t, re.IGNORECASE)) or bool(author and author in text)


def _is_dateline(text: str, date: str | None) -> bool:
    return (len(text) < 160 and bool(date and date in text)) or (len(text) < 80 and bool(NUMERIC_DATE.search(text)))


def _form_penalty(text: str) -> float:
    """Headings, fragments and bibliography entries rarely answer anything."""
    if _REFERENCE.search(text):
        return 0.3
    if len(text) < 40:
        return 0.15
    if len(text) < 120 and not text.rstrip("*_ ").endswith((".", "!", "?", ";", ":", ")", "\u201d", '"')):
        return 0.2  # a heading or a caption
    return 0.0


def _title_numbers(generation: Generation, quote: Evidence) -> set[str]:
    """Numbers in a document's title and date line, where web captures put "(11/22/08)"."""
    d = generation.documents[quote.doc_id]
    return set(re.findall(r"\d+", f"{d.title} {d.date or ''}"))


_MONTHS = ("January February March April May June July August September October November December").split()


def _about_document(generation: Generation, doc_id: str, head: bool = True) -> str:
    """What a question may say to name a document rather than an event: its title, author, date (with the
    month spelled out and the year in full), its head ("BEIJING, Nov. 21 (Xinhua)") and its file's name ("the
    portalocker README" for portalocker.md, whose title is its tagline). Measured with the file name (bench/open_eval.py):
    held-out open set 0.375 -> 0.380 (a summary of "the portalocker README" no longer abstains), tuning 0.513 ->
    0.513, library2 and SQuAD sq10 fact questions unchanged."""
    d = generation.documents[doc_id]
    stem = re.sub(r"[-_.]+", " ", PurePosixPath(d.source).stem)  # "kea-annual-report-2023", "v1.2_notes": words
    parts = [d.title, stem, d.author or "", d.date or "",
             d.text[:300] if head else " ".join(re.findall(r"\(([A-Z][\w ]{1,30})\)", d.text[:300]))]
    date = d.date or ""
    m = re.search(r"\b(\d{1,2})/(\d{1,2})/(\d{2,4})\b", date)
    if m:
        year = m.group(3) if len(m.group(3)) == 4 else ("20" if int(m.group(3)) < 70 else "19") + m.group(3)
        parts += [year, _MONTHS[int(m.group(1)) - 1] if 1 <= int(m.group(1)) <= 12 else ""]
    m = re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", date)
    if m:
        parts += [m.group(1), _MONTHS[int(m.group(2)) - 1] if 1 <= int(m.group(2)) <= 12 else ""]
    return " ".join(parts)


def _context(generation: Generation, e: Evidence, before: int = 400, after: int = 100) -> str:
    text = generation.documents[e.doc_id].text
    return text[max(0, e.start - before) : e.end + after]


def unmatched_specifics(
    question: str, quote: Evidence, hits: list[Hit], generation: Generation, stats: TermStats
) -> tuple[str, ...]:
    """Years, numbers, ordinals and distinctive names the question is specific about that the best quote's
    surroundings (names: its whole document) do not mention: on the topic but about something else."""
    hay = " ".join([_context(generation, quote, 1500, 1500), *(h.chunk.text for h in hits[:2]),
                    stats.about[quote.doc_id]])  # "the November 2008 Xinhua report" names the document
    found_numbers = set(re.findall(r"\d+", _CITATION.sub(" ", hay))) | stats.doc_numbers(generation, quote.doc_id)
    out = [n for n in re.findall(r"\b\d{2,}\b", question) if n not in found_numbers]
    low = hay.lower()
    out += [o for o in dict.fromkeys(ordinals(question, first=False)) if o not in low]
    out = [o for o in out if not (o.isdigit() and len(o) == 4 and o[2:] in _title_numbers(generation, quote))]
    out += [y for y in _other_years(question, quote, generation) if y not in out]
    hay_words = stats.doc_words(generation, quote.doc_id)
    shortened = [(p.start(), p.end()) for p in re.finditer(r"\b[A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+)+", question)
                 if any(re.search(r"(?<!\w)" + re.escape(f) + r"(?![\w$])", hay)
                        for f in stats.aliases.short_forms(p.group()))]  # "United Nations" said as "U.N."
    for m in re.finditer(r"\b[A-Z][\w’'-]+", question):
        if any(a <= m.start() < b for a, b in shortened):
            continue
        if MONTH.fullmatch(m.group()) and m.group()[:3].lower() in low:
            continue  # "November" matches "Nov."
        w = re.sub(r"['’]s?$", "", m.group())
        tokens = _parts(w)
        if m.start() == 0 or not tokens or w.lower() in STOPWORDS:
            continue
        if any(t not in stats.vocab_words for t in tokens):
            continue  # names the library never mentions are handled by `missing`
        if all(stats.df(terms(t)[0] if terms(t) else t) > 0.02 * stats.n for t in tokens):
            continue  # "China", "Latin", "America": too common to tell passages apart
        if not all(t in hay_words for t in tokens) and not any(
            all(t in hay_words for t in words(alt)) for alt in stats.aliases.targets(w)
        ):
            out.append(w)
    # "How many institutes operate in Brazil?": a country the question narrows to must be named near the quote,
    # not just somewhere in its document
    near = _context(generation, quote, 300, 300) + " " + generation.documents[quote.doc_id].title
    out += [c for c in _COUNTRY_ASKED.findall(question) if c not in near and c not in out]
    return tuple(dict.fromkeys(out))


_COUNTRY_ASKED = re.compile(r"\b(?:in|to|from|with|for|of|and) (" + "|".join(map(re.escape, COUNTRIES)) + r")\b")


_SPAN = re.compile(r"\b(1[5-9]\d\d|20\d\d)\s*(?:-|–|to|and|until)\s*(1[5-9]\d\d|20\d\d)\b")


def _other_years(question: str, quote: Evidence, generation: Generation) -> list[str]:
    """Years the question asks about when the quote itself is dated to other years ("At the end of December
    2023 the cooperative had 326 members" does not say how many it had in 2022). A year in the sentence before
    ("In 2015 the forum met. It adopted ...") or a span covering it ("2015-2019") counts as said."""
    asked = sorted({m.group(1) for m in YEAR.finditer(question) if not m.group().endswith("s")})  # "the 2000s": a decade
    if not asked:
        return []
    own = _CITATION.sub(" ", quote.quote)
    said = {m.group(1) for m in YEAR.finditer(own)}
    if not said:
        return []
    before = _CITATION.sub(" ", _context(generation, quote, 250, 0))
    spans = [(int(a), int(b)) for a, b in _SPAN.findall(own)]
    return [y for y in asked if y not in said and y not in before
            and not any(a <= int(y) <= b for a, b in spans)]


def select_evidence(
    question: str,
    query_vec: np.ndarray,
    hits: list[Hit],
    generation: Generation,
    stats: TermStats,
    settings: AnswerSettings,
    ranker: Ranker | None = None,
    reader: SpanReader | None = None,
) -> Selection:
    """Pick up to ``settings.max_quotes`` quotes from the sentences of the retrieved chunks. With a ``ranker``
    the hand-weighted score only proposes candidates: the learned ranker's probability orders them, and is the
    confidence the decision to answer rests on."""
    qterms = set(terms(question))
    weights = {t: stats.idf(t) for t in qterms}
    total_w = sum(weights.values()) or 1.0
    alts = alternatives(question)  # "credit" is also covered, for less, by a sentence saying "loans"
    spelled = _spelled(question, stats)  # "free trade agreement" is covered in full by a sentence saying "FTA"
    kind = answer_type(question)
    vectors = generation.sentence_vectors()
    seen: dict[int, float] = {}
    if len(vectors):  # the sentences closest in meaning anywhere in the library: paraphrases land here
        sims = vectors @ query_vec
        for sid in np.argsort(-sims)[: settings.dense_sentences]:
            seen[int(sid)] = 0.0
    if settings.lexical_sentences:  # the sentences that cover most of the question, synonyms included: the
        # paraphrase whose chunk neither list ranks ("nearly all nations ... formal links" / "official ties")
        for sid in _covering_sentences(weights, alts, spelled, generation, stats, settings.lexical_sentences):
            seen.setdefault(sid, 0.0)
    for rank, hit in enumerate(hits):
        prior = 0.08 / (1 + rank)
        for s in _sentences_in(generation, hit):
            if s.sent_id in seen:
                seen[s.sent_id] = max(seen[s.sent_id], prior)
            else:
                seen[s.sent_id] = prior
    if kind in ("author", "published"):  # bylines and date lines sit at the head of a document
        for hit in hits[:5]:
            doc = generation.documents[hit.chunk.doc_id]
            for s in generation.sentences_by_doc.get(doc.doc_id, []):
                if s.start < 600 or (doc.author and doc.author in doc.text[s.start : s.end]):
                    seen.setdefault(s.sent_id, 0.0)
    named_doc = _named_documents(question, generation, stats)
    scored: list[tuple[float, float, Sentence]] = []
    for sid, prior in seen.items():
        s = generation.sentences[sid]
        text = generation.documents[s.doc_id].text[s.start : s.end]
        dense = float(np.dot(vectors[sid], query_vec))
        st = stats.sentence_terms[sid] | stats.named_terms[s.doc_id]  # a sentence is read under its document's title
        before = stats.sentence_terms[sid - 1] if sid > 0 and generation.sentences[sid - 1].doc_id == s.doc_id else _EMPTY
        cover = sum(w if t in st or spelled.get(t, _EMPTY) & st else SYNONYM_WEIGHT * w if alts.get(t, frozenset()) & st else
                    CONTEXT_WEIGHT * w if t in before else 0.0
                    for t, w in weights.items()) / total_w
        score = settings.w_dense * dense + settings.w_cover * cover + settings.w_type * type_bonus(kind, text, question) + prior
        score += named_doc.get(s.doc_id, 0.0)
        if kind == "author" and _is_byline(text, generation.documents[s.doc_id].author):
            score += 0.6  # authorship is stated in bylines ("By ...") and author notes, not in prose
        elif kind == "published" and s.start < 600 and _is_dateline(text, generation.documents[s.doc_id].date):
            score += 0.6  # so is the publication date: in the date line under the title
        else:
            score -= _form_penalty(text)
            if kind != "author" and _is_byline(text, generation.documents[s.doc_id].author):
                score -= 0.2  # "By Zhu Qingqiao*", "* Zhu Qingqiao is the Director General ...": about the author
        scored.append((score, cover, s))
    scored.sort(key=lambda x: (-x[0], x[2].sent_id))
    if not scored:
        return Selection((), 0.0, 0.0, tuple(_missing(question, stats)), ())
    missing = tuple(_missing(question, stats))
    if ranker is None:
        return _select(question, scored, hits, generation, stats, settings, kind, weights, missing, ranked=False)
    if settings.ranker != "rerank":
        scored = rerank(question, scored, generation, ranker, settings.rank_candidates, settings.ranker, reader)
        return _select(question, scored, hits, generation, stats, settings, kind, weights, missing, ranked=True)
    # "rerank": the fitted probability orders the quotes, the hand score decides. Whether to answer (confidence,
    # the asked kind, the question's specifics) is read off the hand order exactly as with the ranker off; the
    # reordered quotes replace the hand's only when they pass the same checks themselves
    hand = _select(question, scored, hits, generation, stats, settings, kind, weights, missing, ranked=False)
    order = rerank(question, scored, generation, ranker, settings.rerank_candidates, "rerank", reader)
    if order[0][2].sent_id == scored[0][2].sent_id:
        return hand
    fitted = _select(question, order, hits, generation, stats, settings, kind, weights, missing, ranked=True)
    if fitted.unmatched or not fitted.has_type:
        return hand
    return replace(hand, evidence=fitted.evidence, coverage=fitted.coverage)


def _select(question: str, scored: list[tuple[float, float, Sentence]], hits: list[Hit], generation: Generation,
            stats: TermStats, settings: AnswerSettings, kind: str, weights: dict[str, float],
            missing: tuple[str, ...], ranked: bool) -> Selection:
    """The quotes of an order of candidates and the signals of whether they answer. ``ranked``: the order is by a
    probability (its margins apply, and with the ranker deciding it is the confidence)."""
    total_w = sum(weights.values()) or 1.0
    refit_margin = settings.ranked_refit_margin if ranked else settings.refit_margin
    # Prefer quotes whose surroundings match what the question is specific about (its year, ordinal,
    # names): an on-topic sentence about another year or another country is not evidence.
    best = scored[0][0]
    checks = {s.sent_id: unmatched_specifics(question, _evidence(generation, s, sc), hits, generation, stats)
              for sc, _, s in scored[:15] if sc >= best - refit_margin}
    def fits(x: tuple[float, float, Sentence]) -> bool:
        text = generation.documents[x[2].doc_id].text[x[2].start : x[2].end]
        return not checks[x[2].sent_id] and holds_type(kind, text, question)

    if checks and not fits(scored[0]):
        fitting = [x for x in scored if x[2].sent_id in checks and fits(x)]
        if fitting:
            scored = fitting + [x for x in scored if x not in fitting]
    unmatched = checks.get(scored[0][2].sent_id, ())
    margin = settings.ranked_quote_margin if ranked else settings.quote_margin
    chosen = _choose(scored, generation, settings, margin)
    if kind in ("time", "number") and not holds_type(kind, chosen[0].quote, question):
        chosen = _with_next_sentence(chosen, kind, question, generation, settings)
    quote_terms: set[str] = set()
    for e in chosen:
        quote_terms |= set(terms(e.quote))
    coverage = sum(w for t, w in weights.items() if t in quote_terms) / total_w
    candidates = tuple(_evidence(generation, s, sc) for sc, _, s in scored[:3])
    about_nothing_here = bool(missing) and len(missing) == len(question_names(question))
    confidence = scored[0][0] if ranked else scored[0][0] - 0.08 * min(2, len(missing))
    has_type = kind not in ("time", "published", "number") or holds_type(kind, chosen[0].quote, question)
    if kind in ("person", "org"):  # "who was appointed ...?" wants a name the question does not already give
        has_type = any(n for e in chosen for n in new_names(e.quote, question, single=kind == "org")
                       if kind == "person" or not is_place(n, e.quote))  # "which company": not "the Port Calder road"
    unit = UNIT_ASKED.search(question)
    if unit and not any(unit.group(1).lower()[:4] in e.quote.lower() for e in chosen):
        has_type = False  # "in megawatts": a figure in other units (households supplied) does not answer
    pool = tuple((sc, s) for sc, _, s in scored[: settings.rank_candidates if ranked else settings.open_candidates])
    return Selection(chosen, confidence, coverage, missing, candidates, kind, has_type, unmatched,
                     about_nothing_here, ranked, pool)


_SOURCE_CUE = re.compile(r"\b(according to|per|in|by|from)\b[^?]*\b(article|paper|report|document|statement|"
                         r"essay|study|speech|white paper|piece|column|dispatch)\b|\b(article|paper|report|essay|piece)\b", re.I)


def candidate_texts(generation: Generation, sentences: list[Sentence]) -> list[str]:
    """What the ranker reads for each candidate sentence: it, its document's title and the sentence before it."""
    from .answer.ranker import candidate_text

    texts = []
    for s in sentences:
        doc = generation.documents[s.doc_id]
        prev = generation.sentences[s.sent_id - 1] if s.sent_id > 0 else None
        before = doc.text[prev.start : prev.end] if prev is not None and prev.doc_id == s.doc_id else ""
        texts.append(candidate_text(doc.text[s.start : s.end], before, doc.title))
    return texts


#: a candidate the span reader could not read (cut before any of its tokens) counts as this margin
NO_SPAN = -20.0


def fused_probabilities(question: str, hands: Sequence[float], sentences: Sequence[str], texts: Sequence[str],
                        ranker: Ranker, weights: dict[str, float], reader: SpanReader | None = None) -> np.ndarray:
    """sigmoid(w . features + intercept) over each candidate's hand score, ranker logit (reading ``texts``, the
    candidate in context) and answer-span margin (reading ``sentences``, the candidate alone, as the reader was
    trained), with the weights fitted on held-out articles (``bench/fit_fusion.py``, in ranker.json); a feature
    without a weight is not computed."""
    z = weights.get("intercept", 0.0) + weights.get("hand", 0.0) * np.asarray(hands, dtype=np.float64)
    if weights.get("logit"):
        z = z + weights["logit"] * ranker.logits(question, list(texts)).astype(np.float64)
    if weights.get("span"):
        if reader is None:
            raise ModelError("the fitted evidence order reads answer spans, and no span reader is installed "
                             "(packages/lacqa-ranker lacks span.json): reinstall it, or set LACQA_ANSWER__RANKER=off")
        margins = [NO_SPAN if sp is None else max(NO_SPAN, sp.margin) for sp in reader.read(question, list(sentences))]
        z = z + weights["span"] * np.asarray(margins, dtype=np.float64)
    return 1.0 / (1.0 + np.exp(-z))


def rerank(question: str, scored: list[tuple[float, float, Sentence]], generation: Generation, ranker: Ranker,
           n: int, mode: str = "learned", reader: SpanReader | None = None) -> list[tuple[float, float, Sentence]]:
    """The ``n`` best candidates of the hand-weighted score, re-scored and ordered by a probability: ``learned``,
    the learned ranker's (each read with the sentence before it and its document title, as in training);
    ``fused``, a logistic regression over the hand score and the ranker's logit; ``rerank``, one over the hand
    score, the ranker's logit and the span reader's margin (both fitted on held-out articles, bench/fit_fusion.py)."""
    top = scored[:n]
    texts = candidate_texts(generation, [s for _, _, s in top])
    if mode == "learned":
        probs = ranker.probabilities(question, texts)
    else:
        sentences = [generation.documents[s.doc_id].text[s.start : s.end] for _, _, s in top]
        probs = fused_probabilities(question, [h for h, _, _ in top], sentences, texts, ranker,
                                    ranker.fusion("rerank" if mode == "rerank" else "fusion"), reader)
    ranked = [(float(p), hand, s) for p, (hand, _, s) in zip(probs, top, strict=True)]
    ranked.sort(key=lambda x: (-x[0], x[2].sent_id))
    return ranked


def _spelled(question: str, stats: TermStats) -> dict[str, frozenset[str]]:
    """Each term of a question phrase the library writes as an initialism -> that initialism's term."""
    spelled: dict[str, frozenset[str]] = {}
    for phrase, short in stats.aliases.initialisms(question).items():
        for t in terms(phrase):
            spelled[t] = spelled.get(t, frozenset()) | frozenset(terms(short))
    return spelled


def _covering_sentences(
    weights: dict[str, float], alts: dict[str, frozenset[str]], spelled: dict[str, frozenset[str]],
    generation: Generation, stats: TermStats, n: int,
) -> list[int]:
    """The ``n`` sentences of the library with the highest IDF-weighted coverage of the question's terms, counted
    as the scorer counts it: own word or initialism in full, a synonym at SYNONYM_WEIGHT, the title in full."""
    cover_of: dict[int, float] = {}
    for t, w in weights.items():
        got = dict.fromkeys(stats.postings(t), w)
        for a in spelled.get(t, _EMPTY):
            got.update(dict.fromkeys((i for i in stats.postings(a) if i not in got), w))
        for a in alts.get(t, _EMPTY):
            got.update(dict.fromkeys((i for i in stats.postings(a) if i not in got), SYNONYM_WEIGHT * w))
        for doc_id in (d for d, named in stats.named_terms.items() if t in named):  # read under the title
            got.update(dict.fromkeys((x.sent_id for x in generation.sentences_by_doc.get(doc_id, [])), w))
        for sid, v in got.items():
            cover_of[sid] = cover_of.get(sid, 0.0) + v
    return sorted(cover_of, key=lambda i: (-cover_of[i], i))[:n]


def named_document(question: str, generation: Generation, stats: TermStats) -> str | None:
    """The document an open question names by its title, author or date, with or without a cue word (None if none
    stands out); computed only for open answers, not on every question."""
    return next(iter(_named_documents(question, generation, stats, cue=False)), None)


def _named_documents(question: str, generation: Generation, stats: TermStats, cue: bool = True) -> dict[str, float]:
    """"According to the policy paper on Latin America", "in Zhu Qingqiao's article": when the question names
    a document by its title or author, that document's sentences get a small lift (its best match only)."""
    if cue and not _SOURCE_CUE.search(question):
        return {}
    qterms = set(terms(question))
    best: tuple[float, str] | None = None
    for doc_id, named in stats.naming_terms.items():
        weight = sum(stats.idf(t) for t in qterms & named)
        if weight and (best is None or weight > best[0]):
            best = (weight, doc_id)
    if best is None or best[0] < NAMED_DOC_MIN_IDF:
        return {}
    return {best[1]: NAMED_DOC_BONUS}


NAMED_DOC_MIN_IDF = 4.0
NAMED_DOC_BONUS = 0.1


def _sentences_in(generation: Generation, hit: Hit) -> list[Sentence]:
    c = hit.chunk
    return [s for s in generation.sentences_by_doc.get(c.doc_id, []) if s.end > c.start and s.start < c.end]


def _evidence(generation: Generation, s: Sentence, score: float) -> Evidence:
    return _span(generation, s.doc_id, s.start, s.end, score)


def _choose(scored: list[tuple[float, float, Sentence]], generation: Generation, settings: AnswerSettings,
            margin: float) -> tuple[Evidence, ...]:
    best = scored[0][0]
    chosen: list[Evidence] = []
    for score, _, s in scored:
        if len(chosen) >= settings.max_quotes:
            break
        if chosen and score < best - margin:
            break
        if _overlaps(chosen, s):
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
    rest = _continuation(generation, chosen[0]) if chosen else None
    if rest is not None and len(chosen) < settings.max_quotes and not _overlaps(chosen, rest):
        # the best quote is a clause cut from a long sentence: the rest of the sentence (often the list or
        # figure the question asks for) comes with it
        chosen.insert(1, _span(generation, rest.doc_id, rest.start, rest.end, chosen[0].score))
    return tuple(chosen)


def _with_next_sentence(chosen: tuple[Evidence, ...], kind: str, question: str, generation: Generation,
                        settings: AnswerSettings) -> tuple[Evidence, ...]:
    """The best quote names the subject and the next sentence of its paragraph gives the figure or date ("The
    tidal pilot ... completed its third year." "The turbines achieved a capacity factor of 31 per cent."): the
    quote runs on into that sentence."""
    best = chosen[0]
    text = generation.documents[best.doc_id].text
    nxt = next((s for s in generation.sentences_by_doc.get(best.doc_id, []) if 0 <= s.start - best.end <= 2), None)
    if nxt is None or "\n\n" in text[best.end : nxt.start] or nxt.end - best.start > 2 * settings.max_quote_chars:
        return chosen
    if not holds_type(kind, text[nxt.start : nxt.end], question):
        return chosen
    joined = _span(generation, best.doc_id, best.start, nxt.end, best.score)
    rest = [e for e in chosen[1:] if not (e.doc_id == nxt.doc_id and e.start < nxt.end and nxt.start < e.end)]
    return (joined, *rest)


def _overlaps(chosen: list[Evidence], s: Sentence) -> bool:
    return any(e.doc_id == s.doc_id and e.start < s.end and s.start < e.end for e in chosen)


def _continuation(generation: Generation, quote: Evidence) -> Sentence | None:
    """The next piece of the sentence ``quote`` was cut from, if it was cut."""
    text = generation.documents[quote.doc_id].text
    if text[quote.end - 1 : quote.end] in (".", "!", "?", '"', "\u201d", ")", ""):
        return None
    for s in generation.sentences_by_doc.get(quote.doc_id, []):
        if 0 <= s.start - quote.end <= 2 and "\n" not in text[quote.end : s.start]:
            return s
    return None


def _span(generation: Generation, doc_id: str, start: int, end: int, score: float) -> Evidence:
    doc = generation.documents[doc_id]
    return Evidence(doc.doc_id, doc.source, doc.title, start, end, doc.text[start:end], score, doc.page_at(start),
                    doc.section_at(start))


_COMPOUND = re.compile(r"[-'’]")


def _parts(name: str) -> list[str]:
    """Word tokens of a name, hyphenated compounds split: "Portuguese-language" is about "portuguese"."""
    return [p for t in words(name) for p in _COMPOUND.split(t) if len(p) > 1 and p not in STOPWORDS]


def _with_parts(found: set[str]) -> set[str]:
    """A word set plus the parts of its compounds ("portuguese-language" adds "portuguese" and "language")."""
    return found | {p for w in found if "-" in w or "'" in w for p in _COMPOUND.split(w)}


def question_names(question: str) -> list[str]:
    """Capitalised words and numbers of the question, its first word aside."""
    out = []
    for m in re.finditer(r"[A-Z][\w'’-]+|\d[\d,.]*\d|\d", question):
        w = re.sub(r"['’]s?$", "", m.group())
        if m.start() > 0 and w.lower() not in STOPWORDS:
            out.append(w)
    return out


def _missing(question: str, stats: TermStats) -> list[str]:
    """Names and numbers of the question found nowhere in the whole library."""
    def known(name: str) -> bool:
        return all(t in stats.vocab_words for t in _parts(name))

    alts = alternatives(question)  # "West Indian" where the library says "Caribbean"

    def other_words(name: str) -> bool:
        return any(t in stats.sentence_terms for p in terms(name) for t in alts.get(p, ()))

    return [w for w in question_names(question)
            if not known(w) and not any(known(a) for a in stats.aliases.targets(w)) and not other_words(w)]
