"""Check a draft against its quotes before anyone sees it.

Every number, date, amount, percentage, proper name and quoted phrase in a kept sentence must occur
in a cited quote, and most of its content words must too. Sentences that fail are dropped; each kept
sentence ends with the [n] markers of the quotes that support it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .lang import number_values
from .text import STOPWORDS, ordinals, terms
from .types import Evidence

_NUM = re.compile(r"\d+(?:[.,]\d+)*")
_QUOTED = re.compile(r"[\"“]([^\"”]{3,})[\"”]")
_CAP = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:of|the|and|de|del|la|y)?\s*[A-Z][\w'’-]*)*")
MARK = re.compile(r"\s*\[(\d+)\]")  #: a citation marker " [n]"
_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“])")
_COMMON_CAPS = {"the", "a", "an", "in", "on", "it", "this", "that", "these", "they", "he", "she", "we",
                "its", "their", "his", "her", "both", "and", "but", "as", "at", "by", "for", "from", "with"}


@dataclass(frozen=True)
class Verified:
    """Result of checking a draft: the kept text with markers and what was dropped and why."""

    text: str
    kept: tuple[str, ...]
    dropped: tuple[tuple[str, str], ...]  # (sentence, reason)

    @property
    def ok(self) -> bool:
        return bool(self.kept)


def normalize(text: str) -> str:
    """Compare modulo case, whitespace, markdown escapes and typographic quotes."""
    text = text.replace("\\", "").replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = text.replace("*", "").replace("–", "-").replace("—", "-")
    return " ".join(text.split()).lower()


def facts(sentence: str) -> list[str]:
    """The checkable facts of a sentence: numbers, ordinals, proper names, quoted phrases."""
    out: list[str] = []
    out += _NUM.findall(sentence)
    out += [o for o in ordinals(sentence) if not o[0].isdigit()]
    out += [m.strip() for m in _QUOTED.findall(sentence)]
    for m in _CAP.finditer(sentence):
        name = m.group().strip()
        first = name.split()[0].lower()
        if m.start() == 0 or sentence[: m.start()].rstrip().endswith((".", "!", "?", ":")):
            # sentence-initial capital: a name only if more than one capitalised word or not common
            if first in _COMMON_CAPS or first in STOPWORDS:
                rest = name.split()[1:]
                name = " ".join(rest)
            elif len(name.split()) == 1 and first in STOPWORDS:
                continue
        if name and name.lower() not in STOPWORDS:
            out.append(name)
    return [f for f in out if f]


def fact_supported(fact: str, quote_norm: str) -> bool:
    f = normalize(fact)
    if not f:
        return True
    if f[0].isdigit():
        if re.search(r"(?<![\d.,])" + re.escape(f) + r"(?![\d])", quote_norm) is not None:
            return True
        # the quote may write the same number another way: "eleven" for 11, "30 to 50 thousand" for 30,000
        try:
            value = float(f.replace(",", ""))
        except ValueError:
            return False
        return value in number_values(quote_norm)
    return re.search(r"(?<!\w)" + re.escape(f) + r"(?!\w)", quote_norm) is not None


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENT_SPLIT.split(text.strip()) if s.strip()]


def verify_draft(draft: str, evidence: list[Evidence], min_overlap: float = 0.6) -> Verified:
    """Keep the sentences of ``draft`` that the quotes support, each ending with its [n] markers."""
    quotes = [normalize(e.quote) for e in evidence]
    quote_terms = [set(terms(e.quote)) for e in evidence]
    kept: list[str] = []
    dropped: list[tuple[str, str]] = []
    for raw in split_sentences(MARK.sub("", draft)):
        sentence = raw.strip()
        if len(sentence) < 3:
            continue
        fs = facts(sentence)
        support = [i for i, q in enumerate(quotes) if all(fact_supported(f, q) for f in fs)]
        if not support:
            # facts may be spread over several quotes: each fact must be found in some quote
            missing = [f for f in fs if not any(fact_supported(f, q) for q in quotes)]
            if missing:
                dropped.append((sentence, f"not in the quotes: {', '.join(missing[:3])}"))
                continue
            support = [i for i, q in enumerate(quotes) if any(fact_supported(f, q) for f in fs)]
        sterms = set(terms(sentence))
        union = set().union(*(quote_terms[i] for i in support)) if support else set()
        if sterms and len(sterms & union) / len(sterms) < min_overlap:
            dropped.append((sentence, "its wording is not backed by the quotes"))
            continue
        ranked = sorted(support, key=lambda i: -len(sterms & quote_terms[i]))
        best = [i for i in ranked if sterms & quote_terms[i]][:2] or ranked[:1]
        markers = "".join(f"[{i + 1}]" for i in sorted(best))
        body = sentence.rstrip()
        end = body[-1] if body[-1] in ".!?" else "."
        body = body.rstrip(".!?")
        kept.append(f"{body} {markers}{end}")
    return Verified(" ".join(kept), tuple(kept), tuple(dropped))


def unsupported_facts(answer: str, quotes: list[str]) -> list[str]:
    """Numbers and names in an answer found in none of its quotes (used by `lacqa eval`)."""
    norm = [normalize(q) for q in quotes]
    return [f for f in facts(MARK.sub("", answer)) if not any(fact_supported(f, q) for q in norm)]
