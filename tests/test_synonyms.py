"""The synonym table: question words map to the words passages use instead, phrases included."""

from lacqa.synonyms import alternatives, expand
from lacqa.text import terms


def test_words_and_inflections_find_their_synonyms() -> None:
    alts = alternatives("Which nations did the president tour?")
    assert "visit" in alts[terms("tour")[0]]
    assert "countri" in alts[terms("nations")[0]]


def test_phrases_match_as_consecutive_terms() -> None:
    alts = alternatives("Which West Indian nation did he visit?")
    assert "caribbean" in alts["west"]
    assert "caribbean" not in alternatives("Which nation west of Peru did he visit?").get("west", set())


def test_words_without_synonyms_are_left_alone() -> None:
    assert alternatives("Xi Jinping Ecuador 2016") == {}


def test_expansion_adds_only_for_the_terms_asked_for() -> None:
    q = "How much credit did the legislature approve?"
    assert expand(q).startswith(q)
    assert "loan" in expand(q) and "congress" in expand(q)
    rare_only = expand(q, rare=lambda t: t == terms("legislature")[0])
    assert "congress" in rare_only and "loan" not in rare_only
    assert expand("Xi Jinping") == "Xi Jinping"
