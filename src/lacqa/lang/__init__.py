"""Language data (JSON files beside this module) and the small readers that load them once."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=None)
def load(name: str) -> dict[str, Any]:
    """The data file ``name``.json of this package."""
    return json.loads(resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@lru_cache(maxsize=1)
def _number_pattern() -> tuple[re.Pattern[str], dict[str, int], dict[str, int]]:
    data = load("numbers")
    small = {**data["units"], **data["tens"]}
    scales = data["scales"]
    word = "|".join(sorted(map(re.escape, small), key=len, reverse=True))
    scale = "|".join(map(re.escape, scales))
    digits = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
    one = rf"(?:{digits}|(?:{word})(?:[-\s](?:{word}))?)"
    ranges = "|".join(map(re.escape, data["range_words"]))
    pattern = re.compile(rf"(?<![\w.,])({one})(?:\s*(?:{ranges})\s*({one}))?(?:\s+({scale}))?(?![\w])", re.I)
    return pattern, small, scales


def _value(token: str, small: dict[str, int]) -> float | None:
    t = token.lower().replace(",", "")
    try:
        return float(t)
    except ValueError:
        pass
    if t in small:  # "a dozen"
        return float(small[t])
    total = 0
    for part in re.split(r"[-\s]+", t):
        if part not in small:
            return None
        total += small[part]
    return float(total)


def number_values(text: str) -> set[float]:
    """Every number a text states, in digits or in words: "eleven" is 11, "30 to 50 thousand" is 30,000 and
    50,000, "2.5 million" is 2,500,000 (and each figure as written: 30, 50, 2.5)."""
    pattern, small, scales = _number_pattern()
    out: set[float] = set()
    for m in pattern.finditer(text):
        scale = scales.get((m.group(3) or "").lower(), 1)
        for g in (m.group(1), m.group(2)):
            if g is None:
                continue
            v = _value(g, small)
            if v is not None:
                out.add(v)
                out.add(v * scale)
    return out
