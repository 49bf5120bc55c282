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


#: figures written in words: "two", "thirty", "a dozen", "one fifth", "two thirds"
CARDINALS = ("two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty sixty seventy "
             "eighty ninety hundred thousand million billion dozen").split()
FRACTIONS = "half halves third thirds quarter quarters fifth fifths tenth tenths".split()
NUMBER_WORDS = re.compile(r"\b(" + "|".join(CARDINALS + FRACTIONS) + r")\b", re.I)

_ORDINAL = re.compile(r"\b(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|"
                      r"\d+(?:st|nd|rd|th))\b", re.I)
_FRACTION_BEFORE = re.compile(r"(\b(one|a|an|two|three|four|five)[-\s]|-)$", re.I)


def ordinals(text: str, first: bool = True) -> list[str]:
    """Ordinals ("second", "24th"), lower-cased; fractions ("one-eighth", "a third") and centuries ("20th
    century": a span of years, which quotes give as years) are not ordinals."""
    out = []
    for m in _ORDINAL.finditer(text):
        word = m.group().lower()
        if word == "first" and not first:
            continue
        if word not in ("first", "second") and _FRACTION_BEFORE.search(text[max(0, m.start() - 6) : m.start()]):
            continue
        if re.match(r"[\s-]+century", text[m.end() : m.end() + 10], re.I):
            continue
        out.append(word)
    return out
