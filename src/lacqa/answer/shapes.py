"""Answer shapes: what form of answer a question wants, and how the points of an open answer are chosen.

* fact     - a short answer and 1-3 quotes (the rest of the answer stage);
* list     - up to 8 distinct quotes, one bullet each, chosen for relevance and diversity, in document order;
* explain  - the 2-5 sentences that give the reason or the steps (why / how / explain), in document order;
* summary  - 4-8 sentences of one document spanning its sections ("summarize ...", "what does X say about Y");
* compare  - the points for each side, labelled.

Every point is a verbatim sentence of the library (an exact character range), so nothing in an open answer needs a
model's word for it. The patterns that tell shapes apart are data (``lang/shapes.json``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

import numpy as np

from ..config import AnswerSettings
from ..evidence import TermStats, _evidence
from ..kinds import asked_clause
from ..lang import load
from ..store import Generation, Sentence
from ..text import terms
from ..types import Evidence
from .ranker import Ranker
from .sections import BULLET, announced, best_section, first_statement


class Shape(str, Enum):
    FACT = "fact"
    LIST = "list"
    EXPLAIN = "explain"
    SUMMARY = "summary"
    COMPARE = "compare"


#: how many points each open shape shows, at least and at most
SIZES = {Shape.LIST: (2, 8), Shape.EXPLAIN: (2, 5), Shape.SUMMARY: (4, 8), Shape.COMPARE: (2, 4)}


@lru_cache(maxsize=1)
def _patterns() -> dict[Shape, list[re.Pattern[str]]]:
    data = load("shapes")
    return {Shape(name): [re.compile(p, re.IGNORECASE) for p in data[name]] for name in data["order"]}


def shape_of(question: str) -> Shape:
    """The shape of answer the question asks for: the first shape of lang/shapes.json with a pattern matching the
    question's asked clause (``asked_clause``) or the whole question, else fact."""
    clause = asked_clause(question)
    for shape, patterns in _patterns().items():
        if any(p.search(clause) or p.search(question) for p in patterns):
            return shape
    return Shape.FACT


@lru_cache(maxsize=1)
def _several() -> list[re.Pattern[str]]:
    return [re.compile(p, re.IGNORECASE) for p in load("shapes").get("several", [])]


def asks_for_several(question: str) -> bool:
    """"Which <plural noun> does ...": several things of one kind - a list when a document's section enumerates
    them, else a fact ("which countries did he visit" is one sentence that names them)."""
    clause = asked_clause(question)
    return any(p.search(clause) for p in _several())


@dataclass(frozen=True)
class Pick:
    """One point of an open answer: a quote and, for comparisons, the side it speaks for."""

    evidence: Evidence
    label: str | None = None
    heading: str | None = None  #: the document's own sub-heading the point stands under (section answers)


_COMPARE = [
    re.compile(r"\b(?:compare|contrast)\s+(?:the\s+)?(?P<a>.+?)\s+(?:and|with|to|against|versus|vs\.?)\s+(?:the\s+)?(?P<b>.+?)[?.!]*$", re.I),
    re.compile(r"\b(?:difference|differences|similarities|distinction)\s+between\s+(?:the\s+)?(?P<a>.+?)\s+and\s+(?:the\s+)?(?P<b>.+?)[?.!]*$", re.I),
    re.compile(r"\b(?:does|do|did|is|are|was|were)\s+(?:the\s+)?(?P<a>.+?)\s+(?:differ|compare|contrast)\s+(?:from|with|to)\s+(?:that of\s+|those of\s+|the\s+)?(?P<b>.+?)[?.!]*$", re.I),
    re.compile(r"^(?:the\s+)?(?P<a>.+?)\s+(?:versus|vs\.?)\s+(?:the\s+)?(?P<b>.+?)[?.!]*$", re.I),
]


def compare_sides(question: str) -> tuple[str, str] | None:
    """The two things a comparison question sets side by side, or None when it names no two."""
    for pattern in _COMPARE:
        m = pattern.search(question.strip())
        if m and terms(m.group("a")) and terms(m.group("b")):
            b = re.split(r"\s+(?:in terms of|regarding|with regard to|when it comes to|on|in)\s+", m.group("b"))[0]
            return m.group("a").strip(" ,"), b.strip(" ,")
    return None


#: labels of comparison points that name both sides, or neither
BOTH, GENERAL = "Both", "On the question"


def side_of(text: str, sides: tuple[str, str]) -> str:
    """Which side of a comparison a point speaks for: the one more of whose words it uses; ``BOTH`` when it uses
    as many of each, ``GENERAL`` when none."""
    have = set(terms(text))
    a, b = (len(set(terms(side)) & have) / max(1, len(set(terms(side)))) for side in sides)
    if a == b:
        return BOTH if a > 0 else GENERAL
    return sides[0] if a > b else sides[1]


def _is_statement(text: str) -> bool:
    """A sentence that can stand as a point: not a heading, caption or bare fragment."""
    t = text.strip()
    # a long sentence is stored as clause pieces cut at a comma: a long piece is a statement without a final stop
    ends = bool(re.search(r"[.!?;:)\"\u201d]$", t)) or len(t) >= CLAUSE_PIECE_CHARS
    return len(t) >= 40 and not t[0].islower() and ends and len(terms(t)) >= 5


#: a sentence piece at least this long reads as (part of) a statement even without a final stop; headings and
#: captions are shorter
CLAUSE_PIECE_CHARS = 100


def _diverse(pool: list[tuple[float, Sentence]], vectors: np.ndarray, n: int, floor: float,
             redundancy: float = 0.85, weight: float = 0.7) -> list[tuple[float, Sentence]]:
    """Greedy maximal marginal relevance: relevant sentences that do not repeat each other (cosine of their
    vectors), at most ``n``, none below ``floor``."""
    chosen: list[tuple[float, Sentence]] = []
    rest = [x for x in pool if x[0] >= floor]
    while rest and len(chosen) < n:
        def gain(x: tuple[float, Sentence]) -> float:
            sim = max((float(vectors[x[1].sent_id] @ vectors[c[1].sent_id]) for c in chosen), default=0.0)
            return weight * x[0] - (1 - weight) * sim

        best = max(rest, key=gain)
        rest.remove(best)
        if any(float(vectors[best[1].sent_id] @ vectors[c[1].sent_id]) > redundancy for c in chosen):
            continue
        chosen.append(best)
    return chosen


def _diverse_at_least(pool: list[tuple[float, Sentence]], vectors: np.ndarray, lo: int, hi: int, floor: float,
                      settings: AnswerSettings) -> list[tuple[float, Sentence]]:
    """``_diverse`` up to ``hi`` points above ``floor``; too few above it: the best ``lo`` regardless, as long as
    they are on topic (half ``open_min_probability``)."""
    picks = _diverse(pool, vectors, hi, floor)
    if len(picks) < lo:
        picks = _diverse(pool, vectors, lo, settings.open_min_probability * 0.5)
    return picks


def _in_order(picks: list[tuple[float, Sentence]]) -> list[tuple[float, Sentence]]:
    """Document order, documents in the order of their best point."""
    first: dict[str, int] = {}
    for rank, (_, s) in enumerate(sorted(picks, key=lambda x: -x[0])):
        first.setdefault(s.doc_id, rank)
    return sorted(picks, key=lambda x: (first[x[1].doc_id], x[1].start))


def open_points(
    shape: Shape,
    question: str,
    pool: list[tuple[float, Sentence]],
    generation: Generation,
    query_vec: np.ndarray,
    settings: AnswerSettings,
    named_doc: str | None = None,
) -> list[Pick]:
    """The points of an open answer, chosen from ``pool`` (candidate sentences with the ranker's probability)."""
    vectors = generation.sentence_vectors()
    wholes: dict[tuple[str, int], tuple[float, Sentence]] = {}
    for p, s in pool:  # the pieces of one long sentence become that sentence, scored by its best piece
        w = whole_sentence(generation, s, 2 * settings.max_quote_chars)
        if (w.doc_id, w.start) not in wholes or p > wholes[(w.doc_id, w.start)][0]:
            wholes[(w.doc_id, w.start)] = (p, w)
    pool = sorted(wholes.values(), key=lambda x: -x[0])
    text_of = {s.sent_id: generation.documents[s.doc_id].text[s.start : s.end] for _, s in pool}
    pool = [x for x in pool if _is_statement(text_of[x[1].sent_id])]
    lo, hi = SIZES.get(shape, (1, 3))
    best = max((p for p, _ in pool), default=0.0)
    floor = max(settings.open_min_probability, settings.open_relative_floor * best)
    if shape is Shape.SUMMARY:
        picks = summary_points(question, pool, generation, query_vec, settings, named_doc)
        return [Pick(_evidence(generation, s, p)) for p, s in picks]
    if shape is Shape.COMPARE:
        sides = compare_sides(question)
        if sides is not None and "compare_ranked" in settings.ablate:  # each side's own points
            out: list[Pick] = []
            for side in sides:
                want = set(terms(side))
                mine = [x for x in pool if len(want & set(terms(text_of[x[1].sent_id]))) >= max(1, (len(want) + 1) // 2)]
                for p, s in _in_order(_diverse(mine, vectors, hi, floor * 0.5)):
                    out.append(Pick(_evidence(generation, s, p), label=side))
            if out:
                return out
        elif sides is not None:
            # the best points on the question, each labelled by the side it names. Measured: filtering the
            # candidates by each side's words first lost points that speak of a side without naming it (compare
            # key-point coverage, bench/open_eval.py: eval/open.jsonl 0.417 -> 0.563, eval/open_heldout.jsonl
            # 0.281 -> 0.371; `--ablate compare_ranked` gives the filtering back)
            picks = _in_order(_diverse(pool, vectors, 2 * hi, floor * 0.5))
            labels = [side_of(text_of[s.sent_id], sides) for _, s in picks]
            rank = {sides[0]: 0, sides[1]: 1, BOTH: 2, GENERAL: 3}
            order = sorted(range(len(picks)), key=lambda i: (rank[labels[i]], i))  # by side, in document order
            if len(picks) >= lo:
                return [Pick(_evidence(generation, picks[i][1], picks[i][0]), label=labels[i]) for i in order]
        shape = Shape.LIST  # no two sides to set apart: the points on the question, as a list
        lo, hi = SIZES[shape]
    picks = _diverse_at_least(pool, vectors, lo, hi, floor, settings)
    return [Pick(_evidence(generation, s, p)) for p, s in _in_order(picks)]


#: weight of a candidate's neighbours' ranker probability in its own score (``ranked_pool``), for explanations: the
#: reasons or steps of a why / how answer come in runs (a reason and the sentence that explains it), so a sentence
#: whose neighbours also answer is more likely one of them. Chosen on eval/open.jsonl from 0.5 / 1.0 / 1.5;
#: bench/open_eval.py why / how coverage, without -> with (neighbours of the best 12): eval/open.jsonl 0.435 -> 0.467
#: / 0.475 -> 0.500, eval/open_heldout.jsonl (other documents) 0.338 -> 0.386 / 0.348 -> 0.419. Lists and comparisons
#: lost by it (their points are separate items), so they do without.
CONTEXT_WEIGHT = 1.0
#: the ranker's best this many candidates have their neighbours read. Reading every candidate's neighbours doubled
#: the ranker's batch (an explanation 0.64 -> 1.17 s on sq40) for the same tuning-set coverage as 24 or 12
#: (0.525 / 0.516 / 0.516 overall); 12: 0.79 s
CONTEXT_CANDIDATES = 12


def ranked_pool(
    question: str, pool: list[tuple[float, Sentence]], generation: Generation, ranker: Ranker,
    context: float = CONTEXT_WEIGHT,
) -> list[tuple[float, Sentence]]:
    """An open answer's candidates put in the learned ranker's order, keeping the hand score's values by rank (the
    best candidate gets the best score, and so on): the ranker, which reads each sentence with its neighbour and
    its document's title, says *which* sentences are the points; how many points clear the floors of
    ``open_points`` stays as the hand score decided it. With ``context`` the sentences next to each candidate are
    read too: each is scored by its probability plus ``context`` times the mean of its neighbours', and the best
    ``len(pool)`` of the candidates and their neighbours are kept."""
    from ..evidence import candidate_texts

    if not pool:
        return pool
    sents = [s for _, s in pool]
    logits = np.asarray(ranker.logits(question, candidate_texts(generation, sents)), dtype=float)
    if context > 0:  # the neighbours of the ranker's best candidates are read too (of all: twice the cost, same points)
        have = {s.sent_id for s in sents}
        near: list[Sentence] = []
        for i in np.argsort(-logits, kind="stable")[:CONTEXT_CANDIDATES]:
            s = sents[int(i)]
            for j in (s.sent_id - 1, s.sent_id + 1):
                if 0 <= j < len(generation.sentences) and j not in have and generation.sentences[j].doc_id == s.doc_id:
                    have.add(j)
                    near.append(generation.sentences[j])
        if near:
            logits = np.concatenate([logits, np.asarray(ranker.logits(question, candidate_texts(generation, near)),
                                                        dtype=float)])
            sents += near
    prob = dict(zip((s.sent_id for s in sents), 1.0 / (1.0 + np.exp(-logits))))

    def score(i: int) -> float:
        # a neighbour the ranker did not read (the outer side of an added neighbour) counts as 0: else a sentence
        # next to the best one would take its probability whole
        s = sents[i]
        near = [prob.get(j, 0.0) for j in (s.sent_id - 1, s.sent_id + 1)
                if 0 <= j < len(generation.sentences) and generation.sentences[j].doc_id == s.doc_id]
        return prob[s.sent_id] + (context * sum(near) / len(near) if near and context > 0 else 0.0)

    order = sorted(range(len(sents)), key=lambda i: (-score(i), sents[i].sent_id))[: len(pool)]
    values = sorted((p for p, _ in pool), reverse=True)
    return [(values[r], sents[i]) for r, i in enumerate(order)]


def section_picks(
    shape: Shape,
    question: str,
    pool: list[tuple[float, Sentence]],
    generation: Generation,
    embed: Callable[[str], np.ndarray],
    settings: AnswerSettings,
    stats: TermStats,
    named_doc: str | None = None,
) -> list[Pick]:
    """A list or explanation that is one section of a document: when the heading of a section of the named
    document (or of a document the best candidates come from) matches the question's *topic* (the question
    less the words that only name the document) well enough, the section answers. A list gets one point per
    sub-section or item under the heading; an explanation the section's own sentences. Both in the
    document's order; empty when no section matches."""
    docs: list[str] = [named_doc] if named_doc else []
    for _, s in pool[:10]:
        if s.doc_id not in docs:
            docs.append(s.doc_id)
    docs = docs[:SECTION_DOCS]
    qterms = set(terms(question))
    topic = {d: {t: stats.idf(t) for t in qterms if t not in stats.naming_terms.get(d, set())} for d in docs}
    words = re.findall(r"[\w'’-]+", question)
    vecs: dict[frozenset[str], np.ndarray] = {}
    for d in docs:
        key = frozenset(topic[d])
        if key not in vecs:
            text = " ".join(w for w in words if not set(terms(w)) - set(key)) if key else question
            vecs[key] = np.asarray(embed(text))
    match = best_section(generation, docs, topic, {d: vecs[frozenset(topic[d])] for d in docs}, stats.idf,
                         stats.naming_terms, min_units=2 if shape is Shape.LIST else 0, narrow=shape is Shape.LIST)
    if match is None or match.score < settings.open_section_min_score:
        return []
    lo, hi = SIZES.get(shape, (1, 3))
    doc = generation.documents[match.doc_id]
    chosen: list[tuple[str | None, Sentence]] = []
    if shape is Shape.LIST or not match.leaf:  # one point per sub-section (or item of a list)
        firsts = [(u.label, first_statement(generation, match.doc_id, u, _is_statement)) for u in match.units]
        # more sub-parts than points: the first ones, in the author's order (measured: better than the ones
        # nearest the question, which all speak of the same thing)
        chosen = [(label, s) for label, s in firsts if s is not None][:hi]
    if shape is not Shape.LIST and len(chosen) < lo:  # an explanation: the section's own sentences
        chosen = [(None, s) for s in generation.sentences_by_doc.get(match.doc_id, [])
                  if match.heading.end <= s.start < match.end and _is_statement(doc.text[s.start : s.end])]
        if len(chosen) > hi:  # more sentences than points: the ones nearest the question, kept in order
            vectors = generation.sentence_vectors()
            qvec = vecs[frozenset(topic[match.doc_id])]
            keep = sorted(range(len(chosen)), key=lambda i: -float(vectors[chosen[i][1].sent_id] @ qvec))[:hi]
            chosen = [chosen[i] for i in sorted(keep)]
    if len(chosen) < lo:
        return []
    longest = 2 * settings.max_quote_chars
    return [Pick(_evidence(generation, _unmarked(generation, whole_sentence(generation, s, longest)), match.score),
                 heading=label) for label, s in chosen]


#: an announced list is read from the best this many candidates of the learned ranker's order (the order the points
#: of an open answer are chosen in). Measured with bench/open_eval.py (tuning eval/open.jsonl / held-out
#: eval/open_heldout.jsonl): 1: 0.476 / 0.339, 2: 0.494 / 0.370, 3: 0.518 / 0.370, 5: 0.518 / 0.370. Before, the
#: best one of the hand order (0.518 / 0.338): the ranker seldom puts the sentence that announces a list first, as
#: it announces rather than states the answer, but keeps it near the top
ANNOUNCER_RANKS = 3


def announces_list(pool: Sequence[tuple[float, Sentence]], generation: Generation, top: int = 1) -> bool:
    """Whether one of the best candidates announces a list of at least two items (then a fact question is
    answered with the list: the announcing sentence alone says nothing)."""
    return any(len(announced(generation.documents[s.doc_id].text, s.start, s.end)) >= 2 for _, s in pool[:top])


def announced_picks(shape: Shape, pool: list[tuple[float, Sentence]], generation: Generation,
                    settings: AnswerSettings, top: int = ANNOUNCER_RANKS) -> list[Pick]:
    """A list that one of the best candidates announces ("The goals of ... are:"): one point per item line after
    it, in the author's order, each the item's first statement. Empty when none of the ``top`` best candidates
    ends its line with a colon over at least two items."""
    lo, hi = SIZES.get(shape, (1, 3))
    longest = 2 * settings.max_quote_chars
    for score, s in pool[:top]:
        text = generation.documents[s.doc_id].text
        firsts = [first_statement(generation, s.doc_id, u, _is_statement) for u in announced(text, s.start, s.end)]
        chosen = [x for x in firsts if x is not None][:hi]
        if len(chosen) >= max(2, lo):
            return [Pick(_evidence(generation, _unmarked(generation, whole_sentence(generation, x, longest)), score))
                    for x in chosen]
    return []


def _unmarked(generation: Generation, s: Sentence) -> Sentence:
    """An item line's sentence without its bullet or number ("- Meridian Subsea Ltd: ..."): the bullet of
    the answer takes its place."""
    text = generation.documents[s.doc_id].text[s.start : s.end]
    if text.startswith("| ") or text.endswith(" |"):  # (a piece of) a table row: its cells, without the outer bars
        a = 2 if text.startswith("| ") else 0
        b = 2 if text.endswith(" |") else 0
        return Sentence(s.sent_id, s.doc_id, s.start + a, s.end - b) if len(text) > a + b + 3 else s
    m = BULLET.match(text)
    return Sentence(s.sent_id, s.doc_id, s.start + m.end(), s.end) if m and m.end() < s.end - s.start else s


def whole_sentence(generation: Generation, s: Sentence, max_chars: int) -> Sentence:
    """The whole sentence a stored piece belongs to: a long sentence is stored cut at its commas, and a point
    that shows only its first clause can miss what it lists ("... in such areas as disease control, ..."). The
    range stays exact, at most ``max_chars`` long (the fact path joins a quote and its neighbour up to twice the
    piece size, evidence._choose); the piece's id (and vector) is kept."""
    text = generation.documents[s.doc_id].text
    sents = generation.sentences_by_doc.get(s.doc_id, [])
    i = next((n for n, x in enumerate(sents) if x.sent_id == s.sent_id), None)
    if i is None:
        return s

    def joined(a: Sentence, b: Sentence) -> bool:  # b continues a: same line, a has no final stop
        gap = text[a.end : b.start]
        return "\n" not in gap and len(gap) <= 2 and not re.search(r"[.!?]\W*$", text[a.start : a.end])

    lo = hi = i
    while lo > 0 and joined(sents[lo - 1], sents[lo]) and sents[i].end - sents[lo - 1].start <= max_chars:
        lo -= 1
    while hi + 1 < len(sents) and joined(sents[hi], sents[hi + 1]) and sents[hi + 1].end - sents[lo].start <= max_chars:
        hi += 1
    return Sentence(s.sent_id, s.doc_id, sents[lo].start, sents[hi].end)


#: documents whose sections a list or how question is matched against: the named one and the best candidates'
SECTION_DOCS = 4


def document_pool(
    question: str, doc_id: str, generation: Generation, idf: dict[str, float], naming: set[str],
    query_vec: np.ndarray, n: int,
) -> list[tuple[float, Sentence]]:
    """Candidates from the one document an open question names ("what does the 2008 policy paper propose"): its
    sentences scored by the question's *topic* (its terms less those that only name the document), by IDF
    coverage and by meaning. The words that name a document say which one, not what to quote from it."""
    from ..text import terms as _terms

    topic = {t: w for t, w in idf.items() if t not in naming}
    total = sum(topic.values()) or 1.0
    vectors = generation.sentence_vectors()
    doc = generation.documents[doc_id]
    scored = []
    for s in generation.sentences_by_doc.get(doc_id, []):
        ts = set(_terms(doc.text[s.start : s.end]))
        cover = sum(w for t, w in topic.items() if t in ts) / total
        scored.append((0.5 * cover + 0.5 * float(vectors[s.sent_id] @ query_vec), s))
    scored.sort(key=lambda x: (-x[0], x[1].sent_id))
    return scored[:n]


def summary_points(
    question: str,
    pool: list[tuple[float, Sentence]],
    generation: Generation,
    query_vec: np.ndarray,
    settings: AnswerSettings,
    named_doc: str | None,
) -> list[tuple[float, Sentence]]:
    """An extractive summary of the document the question names (else the one its best candidates come from): its
    candidates that speak most to the question, no two repeating each other, in document order. A document with
    too few candidates is cut into equal stretches by position, and from each stretch comes the sentence closest
    to the document's centre of meaning and to the question.

    Measured (bench/open_eval.py, summary key-point coverage, tuning eval/open.jsonl / held-out
    eval/open_heldout.jsonl): the stretches for every question 0.152 / 0.067; the candidates only for "what does X
    say about Y" (a question with "about / on / regarding", stretches otherwise) 0.352 / 0.380; the candidates
    for every question 0.329 / 0.447. A whole-document summary by stretches of top-level sections (0.181 / 0.067)
    or by covering every sentence of the document (facility location, 0.262 / 0.000) did worse: the key points
    people expect of a summary are the ones their question's words point to, not the document's centre."""
    lo, hi = SIZES[Shape.SUMMARY]
    doc_id = named_doc
    if doc_id is None:
        weight: dict[str, float] = {}
        for p, s in pool[:10]:
            weight[s.doc_id] = weight.get(s.doc_id, 0.0) + p
        if not weight:
            return []
        doc_id = max(weight, key=lambda d: weight[d])
    vectors = generation.sentence_vectors()
    doc = generation.documents[doc_id]
    sents = [s for s in generation.sentences_by_doc.get(doc_id, []) if _is_statement(doc.text[s.start : s.end])]
    if not sents:
        return []
    on_topic = [x for x in pool if x[1].doc_id == doc_id]
    if len(on_topic) >= lo and "summary_stretches" not in settings.ablate:
        floor = max(settings.open_min_probability * 0.5, settings.open_relative_floor * on_topic[0][0])
        return _in_order(_diverse_at_least(on_topic, vectors, lo, hi, floor, settings))
    ids = np.array([s.sent_id for s in sents])
    centre = vectors[ids].mean(axis=0)
    centre /= np.linalg.norm(centre) or 1.0
    score = vectors[ids] @ centre + 0.5 * (vectors[ids] @ query_vec)
    n = int(min(hi, max(lo, len(sents) // 12)))
    bins = np.array_split(np.arange(len(sents)), n)
    picks = []
    for b in bins:
        if len(b):
            i = int(b[np.argmax(score[b])])
            picks.append((float(score[i]), sents[i]))
    return picks
