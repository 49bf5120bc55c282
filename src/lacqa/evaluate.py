"""`lacqa eval`: answer a question set and measure what users judge us on, optionally beside the naive
LangChain-style "stuff" baseline (top-4 dense chunks of 1000/200, classic prompt) run in the same process."""

from __future__ import annotations

import json
import re
import string
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .errors import ConfigError
from .generate import Generator
from .load import decode_text, source_text
from .verify import MARK, normalize, unsupported_facts

T = TypeVar("T")

BASELINE_PROMPT = (
    "Use the following pieces of context to answer the question at the end. If you don't know the answer, "
    "just say that you don't know, don't try to make up an answer.\n\n{context}\n\nQuestion: {question}\n"
    "Helpful Answer:"
)
_DONT_KNOW = ("don't know", "do not know", "not mentioned", "no information", "not provided", "cannot answer",
              "does not say", "not stated", "unknown")


@dataclass(frozen=True)
class Item:
    id: str
    q: str
    answers: tuple[str, ...]
    doc: str | None
    answerable: bool
    kind: str = ""


@dataclass
class Result:
    item: Item
    answer: str
    quotes: list[str]
    abstained: bool
    latency: float
    sources: list[str] = field(default_factory=list)
    verbatim: list[bool] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  #: confidence, reason_code, shape of the answer

    @property
    def correct(self) -> bool:
        if not self.item.answerable:
            return self.abstained
        if self.abstained:
            return False
        return holds_answer(" ".join([self.answer, *self.quotes]), self.item.answers)

    @property
    def correct_in_text(self) -> bool:
        """Stricter: the answer text alone (quotes aside) holds an answer string."""
        if not self.item.answerable or self.abstained:
            return self.correct
        return holds_answer(MARK.sub("", self.answer), self.item.answers)


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans({c: " " for c in string.punctuation + "“”‘’–—"})


def answer_words(text: str) -> list[str]:
    """SQuAD's answer normalisation (its official evaluation script), as words: lower case, the articles a / an /
    the dropped, punctuation a word break ("618-907 AD" holds "907 AD"; SQuAD's script deletes it)."""
    return _ARTICLES.sub(" ", normalize(text).translate(_PUNCT)).split()


def holds_answer(text: str, answers: list[str]) -> bool:
    """Whether ``text`` holds one of ``answers`` as a run of whole words, both read as SQuAD reads answers
    ("Eoarchean Era" holds "the Eoarchean Era"; "1925" does not hold "25", nor "frequency" "Q")."""
    hay = f" {' '.join(answer_words(text))} "
    return any((w := answer_words(a)) and f" {' '.join(w)} " in hay for a in answers)


def read_jsonl(path: Path, build: Callable[[int, dict[str, Any]], T], expected: str) -> list[T]:
    """Parse a JSON-lines file with ``build(line_number, object)``; a bad line is a ConfigError naming it."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from exc
    rows = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append(build(n, json.loads(line)))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"{path}:{n}: expected a JSON object with {expected} ({exc})") from exc
    return rows


def load_set(path: Path) -> list[Item]:
    return read_jsonl(
        path,
        lambda n, o: Item(str(o.get("id", n)), o["q"], tuple(o.get("answers", [])), o.get("doc"),
                          bool(o.get("answerable", True)), o.get("kind", "")),
        "fields id, q, answers, doc, answerable",
    )


def in_source(quote: str, source_text: str) -> bool:
    """A quote is verbatim when found in the source file, whitespace and markdown escapes aside."""
    return normalize(quote) in normalize(source_text)


def summarize(results: list[Result]) -> dict[str, Any]:
    ans = [r for r in results if r.item.answerable]
    una = [r for r in results if not r.item.answerable]
    lat = sorted(r.latency for r in results)
    quotes = [v for r in results for v in r.verbatim]
    by_kind: dict[str, list[bool]] = {}
    for r in results:
        by_kind.setdefault(r.item.kind or "all", []).append(r.correct)
    return {
        "questions": len(results),
        "accuracy": _share([r.correct for r in ans]),
        "accuracy_answer_text": _share([r.correct_in_text for r in ans]),
        "abstain_unanswerable": _share([r.abstained for r in una]),
        "abstained_unanswerable": f"{sum(r.abstained for r in una)}/{len(una)}",
        "false_abstention": _share([r.abstained for r in ans]),
        "quotes_verbatim": _share(quotes) if quotes else None,
        "unsupported_facts": sum(len(r.unsupported) for r in results),
        "latency_p50_s": round(statistics.median(lat), 3) if lat else None,
        "latency_p95_s": round(float(np.percentile(lat, 95)), 3) if lat else None,
        "by_kind": {k: _share(v) for k, v in sorted(by_kind.items())},
    }


def _share(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def run_pipeline(assistant: Any, items: list[Item], on_item: Callable[[Result], None] | None = None) -> list[Result]:
    gen = assistant.generation()
    sources_dir = Path(assistant.settings.sources_dir)
    raw: dict[str, str] = {}
    results = []
    for item in items:
        t = time.perf_counter()
        a = assistant.ask(item.q)
        latency = time.perf_counter() - t
        quotes = [c.quote for c in a.citations]
        verbatim = []
        for c in a.citations:
            if c.source not in raw:
                try:
                    raw[c.source] = source_text(sources_dir / c.source)
                except (OSError, ValueError, KeyError):
                    raw[c.source] = ""
            doc = gen.documents.get(c.doc_id)
            stored_ok = doc is not None and doc.text[c.start : c.end] == c.quote
            verbatim.append(stored_ok and in_source(c.quote, raw[c.source]))
        r = Result(item, a.text, quotes, a.abstained, latency, [c.source for c in a.citations], verbatim,
                   unsupported_facts(a.text, quotes) if not a.abstained else [],
                   {"confidence": a.confidence, "reason_code": a.reason_code, "shape": a.shape})
        results.append(r)
        if on_item:
            on_item(r)
    return results


class NaiveBaseline:
    """LangChain defaults: raw files, 1000/200 recursive chunks, MiniLM, FAISS top-4, "stuff" prompt."""

    def __init__(self, sources_dir: Path, embedder: Any, generator: Generator, k: int = 4) -> None:
        import faiss
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        self.chunks: list[tuple[str, str]] = []
        for path in sorted(Path(sources_dir).rglob("*")):
            if path.is_file() and path.suffix.lower() in (".txt", ".md"):
                text = decode_text(path.read_bytes())
                self.chunks += [(path.name, c) for c in splitter.split_text(text)]
        self.embedder = embedder
        self.generator = generator
        self.k = k
        vecs = embedder.embed_documents([c for _, c in self.chunks])
        self.index = faiss.IndexFlatIP(vecs.shape[1])
        self.index.add(vecs)

    def retrieve(self, question: str, k: int) -> list[tuple[str, str]]:
        q = self.embedder.embed_query(question).reshape(1, -1)
        _, rows = self.index.search(q, k)
        return [self.chunks[i] for i in rows[0] if i >= 0]

    def ask(self, question: str) -> tuple[str, list[str]]:
        top = self.retrieve(question, self.k)
        prompt = BASELINE_PROMPT.format(context="\n\n".join(c for _, c in top), question=question)
        text = "".join(self.generator.stream(prompt, max_tokens=64, stop=["\nQuestion:", "\n\n"], deadline_s=30))
        return text.strip(), [s for s, _ in top]

    def run(self, items: list[Item]) -> list[Result]:
        results = []
        for item in items:
            t = time.perf_counter()
            text, sources = self.ask(item.q)
            latency = time.perf_counter() - t
            abstained = any(p in text.lower() for p in _DONT_KNOW)
            # the baseline shows no quotes: only its answer text counts, and every fact in it is unchecked
            results.append(Result(item, text, [], abstained, latency, sources, [],
                                  unsupported_facts(text, [c for _, c in self.retrieve(item.q, self.k)])))
        return results
