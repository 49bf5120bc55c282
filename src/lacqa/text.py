"""Shared word-level helpers: tokenizing for BM25 and term overlap, stop words, stemming."""

from __future__ import annotations

import functools
import re

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me more
    most my myself no nor not now of off on once only or other our ours ourselves out over own same she
    should so some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves according did does say said says tell told document
    documents text article paper source sources mention mentioned mentions state stated states describe
    described give given name named list kind type many much""".split()
)

_TOKEN = re.compile(r"[0-9]+(?:[.,][0-9]+)*%?|[^\W\d_]+(?:['’-][^\W\d_]+)*", re.UNICODE)


@functools.lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


@functools.lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return str(_stemmer().stemWord(word))


def words(text: str) -> list[str]:
    """Lower-cased word and number tokens."""
    return [t.lower().replace("’", "'") for t in _TOKEN.findall(text)]


def terms(text: str) -> list[str]:
    """Stemmed content terms (stop words removed): the unit of BM25 and of term overlap."""
    out = []
    for w in words(text):
        if w in STOPWORDS or (len(w) < 2 and not w.isdigit()):
            continue
        if w.endswith("'s"):
            w = w[:-2]
        out.append(stem(w))
    return out
