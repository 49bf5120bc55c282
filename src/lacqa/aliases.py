"""Aliases: abbreviations the documents define ("Latin America and the Caribbean (LAC)") and capitals
standing for their countries, so that a question in one form finds passages written in the other.

Detection follows Schwartz & Hearst (2003): a short form in parentheses right after a phrase, or a phrase
in parentheses right after a short form, where the short form's letters occur in order in the phrase and
its first letter starts a word of it. Only definitions the documents themselves give are used.

Documents also use initialisms they never define ("the feasibility study on China-Columbia FTA"): a phrase
of the question whose initials spell a capitalised token the library uses ("free trade agreement" -> FTA)
is taken to mean it.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

from .places import CAPITALS, COMMON_ALIASES
from .text import STOPWORDS, terms

if TYPE_CHECKING:
    from collections.abc import Sequence

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


_JOINERS = frozenset({"and", "of", "the", "for", "on", "in", "&"})
_CAPS = re.compile(r"(?<![\w-])[A-Z]{2,6}(?![\w])")


def initialisms(question: str, known: set[str] | frozenset[str]) -> dict[str, str]:
    """Phrases of ``question`` spelled by a capitalised initialism in ``known`` -> that initialism:
    "free trade agreement" -> "FTA", "Belt and Road Initiative" -> "BRI" (joining words such as "and"
    and "of" are skipped). Phrases of two to six words that start and end with a content word."""
    tokens = re.findall(r"[^\W\d_]+", question)
    out: dict[str, str] = {}
    for i, first in enumerate(tokens):
        if first.lower() in _JOINERS or first.lower() in STOPWORDS:
            continue
        letters = ""
        for j in range(i, min(i + 8, len(tokens))):
            word = tokens[j]
            if word.lower() in _JOINERS:
                continue
            if word.lower() in STOPWORDS:
                break
            letters += word[0].upper()
            if len(letters) >= 2 and letters in known and letters not in question:
                out[" ".join(tokens[i : j + 1])] = letters
            if len(letters) == 6:
                break
    return out


def _key(form: str) -> str:
    return " ".join(form.split()).lower() if " " in form.strip() else form


def _alternation(forms: list[str]) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    """(case-sensitive pattern for single tokens, case-insensitive pattern for phrases)."""
    tokens = sorted((f for f in forms if " " not in f.strip()), key=len, reverse=True)
    phrases = sorted((f for f in forms if " " in f.strip()), key=len, reverse=True)

    def build(items: list[str], flags: int) -> re.Pattern[str] | None:
        if not items:
            return None
        fold = flags & re.I
        body = _trie_regex([" ".join(f.split()).lower() if fold else " ".join(f.split()) for f in items])
        return re.compile(r"(?<![\w])(?:" + body + r")(?![\w$])", flags)

    return build(tokens, 0), build(phrases, re.I)


def _trie_regex(items: list[str]) -> str:
    """One regular expression for a set of strings, shaped as their character trie (a space matches any run of
    whitespace). An alternation of thousands of forms is tried form by form at every position of a text (0.6 ms
    a sentence at 440 articles, a minute per build); the trie reads each character once. Each optional ending is
    greedy, so, as with the longest-first alternation it replaces, the longest form the boundary test accepts wins."""
    trie: dict[str, Any] = {}
    for item in items:
        node = trie
        for ch in item:
            node = node.setdefault(ch, {})
        node[""] = {}  # the end of a form

    def emit(node: dict[str, Any]) -> str:
        alts = [(r"\s+" if ch == " " else re.escape(ch)) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        if "" in node:
            return "(?:" + "|".join(alts) + ")?"
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return emit(trie)


class Aliases:
    """Other names for the same thing: abbreviations the library defines (either form finds the other)
    and capitals that stand for their countries ("Beijing's white paper" finds "China's policy paper").

    A pair (form, target) reads "where a question says *form*, a passage may say *target*"."""

    def __init__(self, texts: list[str], builtin: dict[str, str] | None = None) -> None:
        table: dict[str, set[str]] = {}
        for t in texts:
            for short, found in find_abbreviations(t).items():
                table.setdefault(short, set()).update(found)
        self._setup({k: sorted(v) for k, v in table.items()}, library_capitals(texts), builtin)

    @classmethod
    def from_found(cls, table: dict[str, list[str]], capitals: list[str] | frozenset[str],
                   builtin: dict[str, str] | None = None) -> Aliases:
        """The aliases of a library whose abbreviations and capitalised tokens were found at index time."""
        self = cls.__new__(cls)
        self._setup({k: sorted(v) for k, v in table.items()}, capitals, builtin)
        return self

    def _setup(self, table: dict[str, list[str]], capitals: list[str] | frozenset[str],
               builtin: dict[str, str] | None) -> None:
        self.table = table  #: abbreviations the library defines
        pairs: dict[str, set[str]] = {}
        for short, defined in self.table.items():
            for long in defined:
                pairs.setdefault(short, set()).add(long)
                pairs.setdefault(long, set()).add(short)
        for form, target in (builtin or {}).items():
            pairs.setdefault(form, set()).add(target)
        self._targets = {_key(f): sorted(t) for f, t in pairs.items()}
        reverse: dict[str, set[str]] = {}
        for form, targets in pairs.items():
            for target in targets:
                reverse.setdefault(_key(target), set()).add(form)
        self._forms = {k: sorted(v) for k, v in reverse.items()}
        #: capitalised tokens the library uses: initialisms a question's phrase may stand for
        self.capitals = frozenset(capitals)
        self._form_res = _alternation(list(pairs))
        self._pairs = pairs

    @functools.cached_property
    def _target_res(self) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
        """The pattern of what passages say, made on first use: only indexing reads it (``extra_terms``)."""
        return _alternation(sorted({t for ts in self._pairs.values() for t in ts}))

    @staticmethod
    def _found(patterns: tuple[re.Pattern[str] | None, re.Pattern[str] | None], text: str) -> list[str]:
        return [_key(m.group()) for p in patterns if p is not None for m in p.finditer(text)]

    def targets(self, text: str) -> list[str]:
        """What passages may say for the forms ``text`` uses."""
        out = [t for k in self._found(self._form_res, text) for t in self._targets.get(k, [])]
        return list(dict.fromkeys(out))

    def initialisms(self, question: str) -> dict[str, str]:
        """Phrases of ``question`` the library may write as an initialism it uses ("free trade agreement": FTA)."""
        return initialisms(question, self.capitals)

    def short_forms(self, name: str) -> list[str]:
        """The forms that stand for ``name`` ("United Nations": "U.N.", "UN")."""
        return self._forms.get(_key(name), [])

    def expand(self, text: str) -> str:
        """``text`` followed by what passages may say instead of its forms (for lexical search)."""
        extra = self.targets(text) + [a for a in self.initialisms(text).values() if a not in self.targets(text)]
        return f"{text} {' '.join(extra)}" if extra else text

    def extra_terms(self, text: str) -> set[str]:
        """Terms of the forms a question may use for what ``text`` (a passage) says."""
        forms = [f for k in self._found(self._target_res, text) for f in self._forms.get(k, [])]
        return set(terms(" ".join(forms)))


BUILTIN = {**CAPITALS, **COMMON_ALIASES}


def library_capitals(texts: Sequence[str]) -> frozenset[str]:
    """Capitalised tokens a library uses (initialisms a question's phrase may stand for)."""
    return frozenset(m.group() for t in texts for m in _CAPS.finditer(t))


def aliases(generation: Generation) -> Aliases:
    """The aliases of a generation's library: as stored at index time, else found once and kept with it."""
    from .derived import load_aliases

    def make() -> Aliases:
        stored = load_aliases(generation.folder, BUILTIN)
        return stored if stored is not None else Aliases([d.text for d in generation.documents.values()], BUILTIN)

    return generation.derive("aliases", make)  # type: ignore[no-any-return]
