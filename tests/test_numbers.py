"""Numbers as people write them (lang/numbers.json), as the draft verifier reads them."""

from __future__ import annotations

import pytest

from lacqa.lang import load, number_values
from lacqa.verify import fact_supported, normalize, verify_draft
from lacqa.types import Evidence


def test_number_table_integrity() -> None:
    data = load("numbers")
    small = {**data["units"], **data["tens"]}
    assert len(small) == len(data["units"]) + len(data["tens"]), "a word is both a unit and a ten"
    assert all(isinstance(v, int) and v >= 0 for v in small.values())
    assert sorted(data["tens"].values()) == list(range(20, 100, 10))
    assert [data["units"][w] for w in "one two three four five six seven eight nine ten".split()] == list(range(1, 11))


@pytest.mark.parametrize(
    ("text", "value"),
    [("eleven members", 11), ("twenty-one days", 21), ("30 to 50 thousand people", 30_000),
     ("30 to 50 thousand people", 50_000), ("2.5 million tonnes", 2_500_000), ("1,300 km", 1300),
     ("a dozen firms", 12), ("five hundred", 500)],
)
def test_number_values(text: str, value: float) -> None:
    assert value in number_values(text)


def test_numbers_are_not_invented_from_neighbours() -> None:
    assert 12 not in number_values("eleven members")
    assert 2008 not in number_values("in 2009 and 2010")
    assert not fact_supported("12", normalize("There were eleven members."))


def test_draft_with_digits_for_a_quote_in_words_is_verified() -> None:
    quote = "The council has eleven members, elected for four years."
    ev = [Evidence("d", "d.txt", "D", 0, len(quote), quote, 1.0)]
    assert verify_draft("The council has 11 members.", ev).ok
    assert not verify_draft("The council has 12 members.", ev).ok
