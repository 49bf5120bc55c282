"""Training and validation pairs for the evidence ranker, from SQuAD v1.1 train and lacqa's own dev set.

A pair is (question, candidate, label): the candidate is a sentence as lacqa cuts it at index time, read with its
document title and the sentence before it (``candidate_text``, the same function the product uses at query
time). Label 1: the sentence holds an answer span of the question. Label 0:

* ``paragraph`` - another sentence of the question's own paragraph (same topic, no answer);
* ``lexical``   - a sentence a BM25 search over the whole training library ranks high for the question, from its
  own article or another one (what today's retriever brings: the hard negatives);
* ``foreign``   - the same search over the library *without* the question's article (the question asked of a
  library that does not hold its answer);
* ``perturbed`` - the answer sentence under a question whose year, number or name was swapped for another one,
  so that the text no longer answers it (SQuAD 2.0-style unanswerable questions).

Articles are split by a hash of their name, never by question: a validation article is never trained on.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from lacqa.answer.ranker import candidate_text
from lacqa.chunk import sentence_spans

SQUAD = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "squad-v1.1-train"
REPO = Path(__file__).resolve().parents[1]


def is_validation(article: str, share: int = 10) -> bool:
    """Whether an article belongs to the validation split (about 1 in ``share``), by a hash of its file name."""
    return int(hashlib.sha1(article.encode()).hexdigest(), 16) % share == 0


@dataclass(frozen=True)
class Sent:
    article: str
    paragraph: int
    index: int  #: position within the article
    text: str
    prev: str
    title: str


@dataclass(frozen=True)
class Pair:
    question: str
    candidate: str
    label: int
    kind: str  #: positive, paragraph, lexical, foreign, perturbed, seed
    group: str  #: question id (pairs of one question share it)


def load_articles(squad: Path = SQUAD) -> dict[str, tuple[str, list[list[Sent]]]]:
    """article file -> (title, sentences of each paragraph), cut by lacqa's own sentence splitter."""
    out: dict[str, tuple[str, list[list[Sent]]]] = {}
    for path in sorted((squad / "articles").glob("*.txt")):
        raw = path.read_text(encoding="utf-8")
        title, _, body = raw.partition("\n\n")
        paragraphs = [p for p in body.split("\n\n")]
        sents: list[list[Sent]] = []
        n = 0
        prev = ""
        for pi, para in enumerate(paragraphs):
            row = []
            for s, e in sentence_spans(para, 300):
                row.append(Sent(path.name, pi, n, para[s:e], prev, title.strip()))
                prev = para[s:e]
                n += 1
            sents.append(row)
        out[path.name] = (title.strip(), sents)
    return out


def load_questions(squad: Path = SQUAD) -> list[dict]:
    with open(squad / "qa.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _norm(s: str) -> str:
    return " ".join(s.split()).lower()


def holds_answer(sentence: str, answers: list[str]) -> bool:
    low = _norm(sentence)
    return any(_norm(a) in low for a in answers if a.strip())


_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_NUMBER = re.compile(r"\b\d[\d,.]*\b")
_NAME = re.compile(r"(?<!^)(?<![.?!] )\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")


def perturb(question: str, rng: random.Random, names: list[str]) -> str | None:
    """The question with one year, number or name swapped for another, or None when it has none."""
    options = []
    if m := _YEAR.search(question):
        year = int(m.group())
        new = str(year + rng.choice([-30, -11, -7, -3, 3, 7, 11, 30]))
        options.append(question[: m.start()] + new + question[m.end() :])
    elif m := _NUMBER.search(question):
        digits = m.group().replace(",", "")
        try:
            value = float(digits)
            new_value = value * rng.choice([2, 3, 5, 0.5]) + rng.choice([1, 7, 13])
            new = str(int(new_value)) if value.is_integer() else f"{new_value:.1f}"
            options.append(question[: m.start()] + new + question[m.end() :])
        except ValueError:
            pass
    found = [m for m in _NAME.finditer(question) if m.start() > 0]
    if found and names:
        m = rng.choice(found)
        other = rng.choice(names)
        if other.lower() != m.group().lower():
            options.append(question[: m.start()] + other + question[m.end() :])
    return rng.choice(options) if options else None


def seed_pairs(rng: random.Random) -> list[Pair]:
    """Pairs from lacqa's dev set over the bundled seeds (news and policy register, not only Wikipedia)."""
    from lacqa.load import parse, scan_sources

    scan = scan_sources(REPO / "seeds", 20_000_000)
    docs = {f.source: parse(f) for f in scan.files}
    sents: list[tuple[str, str, str, str]] = []  # (doc, text, prev, title)
    for src, d in docs.items():
        prev = ""
        for s, e in sentence_spans(d.text, 300):
            sents.append((src, d.text[s:e], prev, d.title))
            prev = d.text[s:e]
    import bm25s

    tok = bm25s.tokenize([t for _, t, _, _ in sents], stopwords="en", show_progress=False)
    bm = bm25s.BM25()
    bm.index(tok, show_progress=False)
    out: list[Pair] = []
    for line in (REPO / "eval" / "dev.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        q, answers = item["q"], item.get("answers", [])
        ids, _ = bm.retrieve(bm25s.tokenize([q], stopwords="en", show_progress=False), k=12, show_progress=False)
        chosen = [int(i) for i in ids[0]]
        if item.get("answerable", True):
            chosen += [i for i, (src, t, _, _) in enumerate(sents) if src == item.get("doc") and holds_answer(t, answers)]
        for i in dict.fromkeys(chosen):
            src, t, prev, title = sents[i]
            label = int(item.get("answerable", True) and src == item.get("doc") and holds_answer(t, answers))
            out.append(Pair(q, candidate_text(t, prev, title), label, "seed", item["id"]))
    return out


def sentence_index(articles: dict[str, tuple[str, list[list[Sent]]]]):
    """Every sentence of the articles in one list, and a BM25 index over it (stop words dropped)."""
    import bm25s

    flat: list[Sent] = [s for _, paras in articles.values() for row in paras for s in row]
    bm = bm25s.BM25()
    bm.index(bm25s.tokenize([s.text for s in flat], stopwords="en", show_progress=False), show_progress=False)
    return flat, bm


def question_names(questions: list[dict]) -> list[str]:
    """Names the questions mention (not as their first word): what ``perturb`` swaps a name for."""
    return sorted({m.group() for q in questions[:20000] for m in _NAME.finditer(q["q"]) if m.start() > 0})


def build(n_train_questions: int, n_val_questions: int, seed: int = 13) -> tuple[list[Pair], list[Pair], dict]:
    """Training pairs and validation pairs (validation: the question's full candidate list, for ranking)."""
    rng = random.Random(seed)
    articles = load_articles()
    flat, bm = sentence_index(articles)
    questions = load_questions()
    names = question_names(questions)
    train_q = [q for q in questions if not is_validation(q["doc"])]
    val_q = [q for q in questions if is_validation(q["doc"])]
    rng.shuffle(train_q)
    rng.shuffle(val_q)
    train: list[Pair] = []
    for q in train_q[:n_train_questions]:
        train.extend(_pairs_for(q, articles, flat, bm, rng, names, val=False))
    val: list[Pair] = []
    for q in val_q[:n_val_questions]:
        val.extend(_pairs_for(q, articles, flat, bm, rng, names, val=True))
    seeds = seed_pairs(rng)
    train.extend(seeds * 3)  # a small set of another register: seen three times
    rng.shuffle(train)
    meta = {
        "seed": seed, "train_questions": n_train_questions, "val_questions": n_val_questions,
        "val_articles": sorted({a for a in articles if is_validation(a)}),
        "train_pairs": len(train), "val_pairs": len(val), "seed_pairs": len(seeds),
    }
    return train, val, meta


def _pairs_for(q: dict, articles, flat: list[Sent], bm, rng: random.Random, names: list[str], val: bool) -> list[Pair]:
    import bm25s

    _, paras = articles[q["doc"]]
    if q["paragraph"] >= len(paras):
        return []
    para = paras[q["paragraph"]]
    pos = [s for s in para if holds_answer(s.text, q["answers"])]
    if not pos:
        return []
    out: list[Pair] = []
    for s in pos[:1] if not val else pos:
        out.append(Pair(q["q"], candidate_text(s.text, s.prev, s.title), 1, "positive", q["id"]))
    others = [s for s in para if s not in pos]
    rng.shuffle(others)
    for s in others[: (2 if not val else 99)]:
        out.append(Pair(q["q"], candidate_text(s.text, s.prev, s.title), 0, "paragraph", q["id"]))
    ids, _ = bm.retrieve(bm25s.tokenize([q["q"]], stopwords="en", show_progress=False), k=40, show_progress=False)
    ranked = [flat[int(i)] for i in ids[0]]
    own = [s for s in ranked if s.article == q["doc"] and s.paragraph != q["paragraph"] and not holds_answer(s.text, q["answers"])]
    foreign = [s for s in ranked if s.article != q["doc"]]
    for s in own[: (2 if not val else 8)]:
        out.append(Pair(q["q"], candidate_text(s.text, s.prev, s.title), 0, "lexical", q["id"]))
    for s in foreign[: (2 if not val else 8)]:
        out.append(Pair(q["q"], candidate_text(s.text, s.prev, s.title), 0, "foreign", q["id"]))
    if rng.random() < 0.3:
        bent = perturb(q["q"], rng, names)
        if bent:
            s = pos[0]
            out.append(Pair(bent, candidate_text(s.text, s.prev, s.title), 0, "perturbed", q["id"] + "-p"))
    return out


def data_hash(pairs: list[Pair]) -> str:
    h = hashlib.sha256()
    for p in pairs:
        h.update(f"{p.question}\t{p.candidate}\t{p.label}\n".encode())
    return h.hexdigest()[:16]
