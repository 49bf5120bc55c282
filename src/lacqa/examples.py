"""Example questions drawn from the library itself, each checked by asking it: one that lacqa would abstain on
is never shown.

Candidates come from every document's title, headings and most central sentences (nearest the mean of the
document's sentence vectors): the distinctive names in those sentences (frequent in this document, rare in
the others) make "What is <name>?" and "What does <title> say about <name or heading>?". Documents take
turns, so the examples spread over the library. The kept questions are cached per index generation, in
memory and as examples.json in the generation's folder (a restart does not ask them again)."""

from __future__ import annotations

import json
import math
import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import LacqaError
from .kinds import MONTH
from .store import Generation
from .text import STOPWORDS
from .types import Document

CACHE_FILE = "examples.json"
CACHE_VERSION = 2  # bump when the way candidates are made or checked changes: cached lists are remade

# A name: capitalised words, possibly joined by short lower-case links ("Treaty of Rome", "Ann Arbor").
_NAME = re.compile(r"\b[A-Z][\w'\u2019.-]*[\w](?:\s+(?:(?:of|the|de|del|la|and|for|on|in)\s+)?[A-Z][\w'\u2019-]*[\w])*")
_HEADING = re.compile(r"^\s*#*\s*([A-Z][^\n.!?:;]{2,58}[^\s\n.!?:;,])\s*$", re.M)


@dataclass(frozen=True)
class Candidate:
    """A question made from one document, and where it came from."""

    question: str
    doc_id: str
    source: str  #: "title", "heading" or "sentence"


@dataclass(frozen=True)
class Checked:
    """A candidate after lacqa answered it."""

    question: str
    doc_id: str
    answered: bool
    reason: str | None  #: why it abstained

    def to_json(self) -> dict[str, Any]:
        return {"question": self.question, "doc_id": self.doc_id, "answered": self.answered, "reason": self.reason}


# ----------------------------------------------------------------------------- candidates


def candidates(gen: Generation, per_doc: int = 3, pause: Callable[[], Any] | None = None) -> list[Candidate]:
    """Up to ``per_doc`` candidate questions per document, documents taking turns (largest first); one
    document leads with a definition question, the next with a question about its title, and so on.
    ``pause`` is called before each document's work: background making gives way there (it is pure Python and
    holds the interpreter, ~20 ms a document)."""
    docs = sorted(gen.documents.values(), key=lambda d: -len(gen.sentences_by_doc.get(d.doc_id, [])))
    df: Counter[str] = Counter()
    names_of: dict[str, Counter[str]] = {}
    for d in docs:
        if pause is not None:
            pause()
        names_of[d.doc_id] = Counter(_names(d.text))
        df.update(names_of[d.doc_id].keys())
    per: list[list[Candidate]] = []
    seen: set[str] = set()  # one question once, whichever document it came from first
    for i, d in enumerate(docs):
        if pause is not None:
            pause()
        defs, abouts = _doc_candidates(gen, d, names_of[d.doc_id], df, len(docs), seen)
        first, second = (defs, abouts) if i % 2 == 0 else (abouts, defs)
        mixed = [c for pair in zip(first, second) for c in pair] + first[len(second):] + second[len(first):]
        per.append(mixed[:per_doc])
    out: list[Candidate] = []
    for turn in range(per_doc):
        out.extend(c[turn] for c in per if turn < len(c))
    return out


def _doc_candidates(
    gen: Generation, doc: Document, names: Counter[str], df: Counter[str], n_docs: int, seen: set[str]
) -> tuple[list[Candidate], list[Candidate]]:
    """(definition questions, questions about the document), best first."""
    title = _clean_title(doc.title)
    central = _central_text(gen, doc)
    title_key = title.lower()

    def weight(name: str) -> float:
        idf = math.log((1 + n_docs) / df[name]) + 1.0
        return names[name] * idf * (2.0 if name in central else 1.0) * (1.5 if " " in name else 1.0)

    # a name every document uses says nothing about this one
    ranked = sorted((n for n in names if n_docs == 1 or df[n] < n_docs), key=lambda n: (-weight(n), n))
    salient = [n for n in ranked if names[n] >= 2 and (n.lower() not in title_key or len(title) > 50)
               and title_key not in n.lower()]
    def fresh(q: str) -> bool:
        if q in seen or len(q) > 90:
            return False
        seen.add(q)
        return True

    defs: list[Candidate] = []
    # what the document defines ("The Alps are the highest ...", "Hormuud Telecom is a ..."): the title first
    for name in [title, *ranked[:40]]:
        form = _defined(doc.text, name) if name else None
        if form and fresh(q := f"What {form}?"):
            defs.append(Candidate(q, doc.doc_id, "title" if name == title else "sentence"))
        if len(defs) >= 2:
            break
    abouts: list[Candidate] = []
    # a short title names the document in the question; a long one (a headline) does not fit in it
    asker = f"What does {title} say" if title and len(title) <= 50 else "What do the sources say"
    for heading in _headings(doc, title)[:1]:
        if fresh(q := f"{asker} about {_lower_first(heading, doc.text)}?"):
            abouts.append(Candidate(q, doc.doc_id, "heading"))
    for name in salient[:2]:
        if fresh(q := f"{asker} about {name}?"):
            abouts.append(Candidate(q, doc.doc_id, "title"))
    return defs, abouts


def _defined(text: str, name: str) -> str | None:
    """'is the Warsaw Pact' / 'are the Alps' when a sentence of ``text`` defines ``name`` ("The Alps are a
    ...", "Hormuud Telecom is the ..."), else None."""
    m = re.search(r"(?:^|[.!?]\s+|\n)(The\s+)?" + re.escape(name) + r"(?:\s+\([^)]{0,300}\))?,?\s+(is|are|was|were)\s+"
                  r"(?:a|an|the|one)\b", text)
    if not m:
        return None
    return f"{m.group(2)} {'the ' if m.group(1) else ''}{name}"


#: a capitalised phrase followed by a lower-case word qualifies it ("Latin American countries", "Chinese firms"):
#: that use is a modifier, not the name of something a question could ask about
_QUALIFIES = re.compile(r"[ \t]+([a-z][a-z-]+)")


def _names(text: str) -> Iterator[str]:
    for m in _NAME.finditer(text):
        nxt = _QUALIFIES.match(text, m.end())
        if nxt and nxt.group(1) not in STOPWORDS:
            continue
        words = m.group().split()
        while words and words[0].lower() in STOPWORDS:  # "The Alps" -> "Alps"; a sentence's first word
            words = words[1:]
        while words and words[-1].lower() in STOPWORDS:
            words = words[:-1]
        if words and MONTH.fullmatch(words[0]):  # "October", "May 2016": a date, not a topic
            continue
        if 1 <= len(words) <= 4:
            name = re.sub(r"['\u2019]s$", "", " ".join(words))
            name = name if "." in name[:-1] else name.rstrip(".")  # "U.S." keeps its dot, "Rome." does not
            if len(name) >= 4 and not name.isupper() or len(name) >= 3 and name.isupper():
                yield name


def _central_text(gen: Generation, doc: Document, top: int = 5) -> str:
    """The document's most central sentences (cosine to the mean of its sentence vectors), joined."""
    sents = gen.sentences_by_doc.get(doc.doc_id, [])
    if not sents:
        return ""
    matrix = gen.sentence_vectors()
    rows = np.array([s.sent_id for s in sents])
    vecs = matrix[rows]
    centroid = vecs.mean(axis=0)
    norm = float(np.linalg.norm(centroid))
    if norm == 0.0:
        return ""
    scores = vecs @ (centroid / norm)
    best = np.argsort(-scores)[:top]
    return " ".join(doc.text[sents[i].start : sents[i].end] for i in sorted(best))


def _headings(doc: Document, title: str) -> list[str]:
    """Short title-like lines followed by text (a heading, not a list item, a byline or the title again)."""
    out = []
    for m in _HEADING.finditer(doc.text):
        words = m.group(1).strip().split()
        while words and words[0].lower() in STOPWORDS:  # "By Zhu Qingqiao" -> a byline, "The Economy" -> "Economy"
            words = words[1:]
        h = " ".join(words)
        if (m.start() < 400 or not re.fullmatch(r"[\w'\u2019 ,&-]+", h) or h.lower() == title.lower()
                or not 2 <= len(words) <= 8):
            continue  # near the top: the title, the byline, the date
        following = doc.text[m.end() : m.end() + 400].strip()
        if len(following) > 120:
            out.append(h)
    return out


def _clean_title(title: str) -> str:
    title = " ".join(title.replace("_", " ").lstrip("# ").split())
    return title if 2 <= len(title) else ""


def _lower_first(text: str, doc_text: str) -> str:
    """A heading's first word in lower case when the document writes it so ("Economy" -> "economy"), else kept
    (a name)."""
    first = text.split()[0]
    low = first[:1].lower() + first[1:]
    return low + text[len(first):] if low != first and re.search(rf"\b{re.escape(low)}\b", doc_text) else text


# ----------------------------------------------------------------------------- checking and caching


AskFn = Callable[[str], Any]  # question -> Answer (asked of the generation being served)


def check(cands: list[Candidate], ask: AskFn, want: int = 3, max_checks: int = 12) -> tuple[list[str], list[Checked]]:
    """Ask candidates in order until ``want`` are answered (at most ``max_checks`` asked)."""
    kept: list[str] = []
    log: list[Checked] = []
    used_docs: set[str] = set()
    for c in cands:
        if len(kept) >= want or len(log) >= max_checks:
            break
        if c.doc_id in used_docs and len({x.doc_id for x in cands}) > len(used_docs):
            continue  # one example per document while other documents have candidates left
        try:
            a = ask(c.question)
        except LacqaError as exc:
            log.append(Checked(c.question, c.doc_id, False, str(exc)))
            continue
        ok = not a.abstained and bool(a.citations)
        log.append(Checked(c.question, c.doc_id, ok, a.reason))
        if ok:
            kept.append(c.question)
            used_docs.add(c.doc_id)
    return kept, log


class ExampleBook:
    """The example questions of each generation, made once (in the background) and cached."""

    def __init__(self, assistant: Any, want: int = 3, max_checks: int = 12,
                 ready: threading.Event | None = None, ready_wait_s: float = 60.0) -> None:
        self.assistant = assistant
        #: set once the app serves (and has loaded the index): making waits for it, so that it does not slow
        #: the server's start or a start's first question (None: make at once)
        self.ready = ready
        self.ready_wait_s = ready_wait_s
        self.want = want
        self.max_checks = max_checks
        self._lock = threading.Lock()
        self._cache: dict[str, list[str]] = {}
        self.making: str | None = None  #: the generation whose examples are being made

    def get(self, generation: str | None) -> list[str] | None:
        """The examples of a generation, None when they are not made yet."""
        return self._cache.get(generation) if generation else None

    def refresh(self) -> list[str]:
        """Make (or load) the examples of the serving generation."""
        gen = self.assistant.generation()
        with self._lock:
            if gen.name in self._cache:
                return self._cache[gen.name]
            loaded = _load(gen)
            if loaded is None:
                self.making = gen.name
                try:
                    if self.ready is not None:
                        self.ready.wait(self.ready_wait_s)
                    loaded, log = check(candidates(gen, pause=self._give_way), self._ask, self.want, self.max_checks)
                finally:
                    self.making = None
                _save(gen, loaded, log)
            self._cache[gen.name] = loaded
            return loaded

    def _give_way(self) -> None:
        """A person's question goes first: wait while one is being answered (at most 30 s)."""
        wait = getattr(self.assistant, "wait_idle", None)
        if wait is not None:
            wait(30.0)

    def _ask(self, question: str) -> Any:
        self._give_way()
        return self.assistant.ask(question, draft=False)


def _load(gen: Generation) -> list[str] | None:
    try:
        data = json.loads((gen.folder / CACHE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("version") != CACHE_VERSION or data.get("generation") != gen.name:
        return None
    return [str(q) for q in data.get("examples", [])]


def _save(gen: Generation, examples: list[str], log: list[Checked]) -> None:
    """Beside the generation it belongs to (pruned with it); a folder that cannot be written keeps it in memory."""
    data = {"version": CACHE_VERSION, "generation": gen.name, "examples": examples,
            "checked": [c.to_json() for c in log]}
    tmp = gen.folder / f".{CACHE_FILE}.{os.getpid()}.tmp"
    try:
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        os.replace(tmp, gen.folder / CACHE_FILE)
    except OSError:
        pass
