"""Abbreviations the documents define ("Latin America and the Caribbean (LAC)"), so that a question in
one form finds passages written in the other.

Detection follows Schwartz & Hearst (2003): a short form in parentheses right after a phrase, or a phrase
in parentheses right after a short form, where the short form's letters occur in order in the phrase and
its first letter starts a word of it. Only definitions the documents themselves give are used.
"""

from __future__ import annotations

import re

from typing import TYPE_CHECKING

from .text import terms

if TYPE_CHECKING:
    from .store import Generation

_SHORT = r"[A-Z][A-Za-z0-9&-]{0,9}"
_AFTER = re.compile(r"\(\s*(" + _SHORT + r")\s*\)")  # phrase (ABBR)
_BEFORE = re.compile(r"\b(" + _SHORT + r")\s+\(([^()]{4,120})\)")  # ABBR (phrase)


def _is_short_form(s: str) -> bool:
    return 2 <= len(s) <= 10 and sum(c.isupper() for c in s) >= 2 and s[0].isalnum()


def best_long_form(short: str, long: str) -> str | None:
    """The shortest tail of ``long`` whose letters spell ``short`` in order, starting at a word
    (Schwartz & Hearst's algorithm); None when it does not."""
    s, i = len(short) - 1, len(long) - 1
    while s >= 0:
        c = short[s].lower()
        if not c.isalnum():
            s -= 1
            continue
        while i >= 0 and (long[i].lower() != c or (s == 0 and i > 0 and long[i - 1].isalnum())):
            i -= 1
        if i < 0:
            return None
        i -= 1
        s -= 1
    start = long.rfind(" ", 0, i + 1) + 1
    return long[start:].strip()


def _plausible(short: str, long: str) -> bool:
    n = len(long.split())
    return (
        n >= 2 and n <= min(len(short) + 5, 2 * len(short)) and len(long) > len(short)
        and not re.search(r"[.;:!?]", long) and long[0].isalnum()
    )


def find_abbreviations(text: str) -> dict[str, set[str]]:
    """Short form -> long forms defined in ``text``."""
    out: dict[str, set[str]] = {}
    for m in _AFTER.finditer(text):
        short = m.group(1)
        if not _is_short_form(short):
            continue
        window = text[max(0, m.start() - 200) : m.start()].rstrip()
        window = re.split(r"[.;:!?()\n]", window)[-1]
        words = window.split()[-min(len(short) + 5, 2 * len(short)) :]
        long = best_long_form(short, " ".join(words))
        long = re.sub(r"['’]s$", "", long) if long else long
        if long and _plausible(short, long):
            out.setdefault(short, set()).add(long)
    for m in _BEFORE.finditer(text):
        short, phrase = m.group(1), m.group(2).strip()
        if not _is_short_form(short) or not phrase[:1].isupper():
            continue
        long = best_long_form(short, phrase)
        if long and long == phrase and _plausible(short, long):
            out.setdefault(short, set()).add(long)
    return out


class Abbreviations:
    """The definitions of a whole library; expands questions and sentences both ways."""

    def __init__(self, texts: list[str]) -> None:
        table: dict[str, set[str]] = {}
        for t in texts:
            for short, longs in find_abbreviations(t).items():
                table.setdefault(short, set()).update(longs)
        self.table = {k: sorted(v) for k, v in table.items()}
        self._short_re = {k: re.compile(r"(?<![\w-])" + re.escape(k) + r"(?![\w-])") for k in self.table}
        self._long_re = {
            k: [re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, lf.split())) + r"(?!\w)", re.I) for lf in v]
            for k, v in self.table.items()
        }

    def __len__(self) -> int:
        return len(self.table)

    def other_forms(self, text: str) -> list[str]:
        """The other form of every abbreviation ``text`` uses: long forms of its short forms, short forms
        of its long forms."""
        out: list[str] = []
        for short, longs in self.table.items():
            if self._short_re[short].search(text):
                out.extend(longs)
            if any(r.search(text) for r in self._long_re[short]):
                out.append(short)
        return list(dict.fromkeys(out))

    def expand(self, text: str) -> str:
        """``text`` followed by the other forms of its abbreviations (for lexical search)."""
        extra = self.other_forms(text)
        return f"{text} {' '.join(extra)}" if extra else text

    def extra_terms(self, text: str) -> set[str]:
        return set(terms(" ".join(self.other_forms(text))))


def abbreviations(generation: Generation) -> Abbreviations:
    """The abbreviations of a generation, found once and kept with it (it is immutable)."""
    found = generation.derived.get("abbreviations")
    if found is None:
        texts = [d.text for d in generation.documents.values()]
        found = generation.derived.setdefault("abbreviations", Abbreviations(texts))
    return found  # type: ignore[no-any-return]
