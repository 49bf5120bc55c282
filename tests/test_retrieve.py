"""Retrieval details: abbreviations the documents define, and the leaders of each list surviving fusion."""

from __future__ import annotations

import re
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from lacqa.aliases import Aliases, aliases, best_long_form, find_abbreviations, initialisms
from lacqa.pipeline import Assistant
from lacqa.places import CAPITALS


def test_abbreviations_defined_either_way_round_are_found() -> None:
    text = (
        "China invited Latin America and the Caribbean (LAC) to join the Belt and Road Initiative (BRI). "
        "The report of the CRS (Congressional Research Service) came out in May. "
        "Trade grew fast (MOFCOM, 2022). The World Health Organization's (WHO) program helped."
    )
    found = find_abbreviations(text)
    assert found["LAC"] == {"Latin America and the Caribbean"}
    assert found["BRI"] == {"Belt and Road Initiative"}
    assert found["CRS"] == {"Congressional Research Service"}
    assert found["WHO"] == {"World Health Organization"}  # the possessive is not part of the name
    assert "MOFCOM" not in found  # a citation, not a definition


def test_letters_must_spell_the_short_form() -> None:
    assert best_long_form("BRI", "joined the Belt and Road Initiative") == "Belt and Road Initiative"
    assert best_long_form("XYZ", "joined the Belt and Road Initiative") is None
    # a parenthesis after an unrelated phrase is no definition
    assert find_abbreviations("Exports rose sharply (USA) last year.") == {}


def test_expansion_adds_the_other_form_only() -> None:
    abbrevs = Aliases(["the Belt and Road Initiative (BRI) and Latin America and the Caribbean (LAC)"])
    assert abbrevs.expand("Who signed the belt and road initiative first?").endswith(" BRI")
    assert abbrevs.expand("Which LAC country?") == "Which LAC country? Latin America and the Caribbean"
    assert abbrevs.expand("What did Brazil export?") == "What did Brazil export?"
    assert abbrevs.expand("Which LACK of funds?") == "Which LACK of funds?"  # whole words only
    assert {"belt", "road"} <= abbrevs.extra_terms("Panama signed the BRI agreement.")


def test_a_phrase_the_library_writes_as_an_undefined_initialism_is_matched() -> None:
    known = {"FTA", "BRI", "LAC"}
    assert initialisms("Which free trade agreement advanced?", known) == {"free trade agreement": "FTA"}
    assert initialisms("Who joined the Belt and Road Initiative?", known) == {"Belt and Road Initiative": "BRI"}
    assert initialisms("Latin America and the Caribbean", known) == {"Latin America and the Caribbean": "LAC"}
    assert initialisms("Which foreign direct investment?", known) == {}  # FDI: not a token the library uses
    assert initialisms("Is the FTA in force?", known) == {}  # the question already says it
    library = Aliases(["Talks on the China-Chile FTA advanced."])
    assert library.expand("Which free trade agreement advanced?").endswith(" FTA")


def test_a_question_spelling_out_an_initialism_finds_the_sentence_using_it(
    small_library: Callable[..., Assistant],
) -> None:
    assistant = small_library({
        "trade.txt": "Trade notes\n\nFree trade agreements with Chile, Peru and Costa Rica were signed.\n\n"
                     "Negotiations on a China-Colombia FTA advanced steadily in 2015.\n",
    })
    answer = assistant.ask("Which free trade agreement advanced steadily?")
    assert not answer.abstained
    assert answer.citations[0].quote.startswith("Negotiations on a China-Colombia FTA")


def test_a_question_in_long_form_finds_a_passage_using_the_short_form(small_library: Callable[..., Assistant]) -> None:
    assistant = small_library({
        "bri.txt": "Belt and Road notes\n\n"
                   "China proposed the Belt and Road Initiative (BRI) in 2013 as a plan for ports and railways.\n",
        "panama.txt": "Panama notes\n\nPanama joined the BRI in 2017, after it cut ties with Taipei.\n\n"
                      "The canal carries a large share of the trade between Asia and the Americas.\n",
    })
    answer = assistant.ask("Which country joined the Belt and Road Initiative?")
    assert not answer.abstained
    assert answer.citations[0].quote.startswith("Panama joined the BRI")


def test_each_lists_leaders_survive_fusion_in_wide_searches(hash_assistant: Assistant) -> None:
    hash_assistant.index()
    gen = hash_assistant.generation()
    query = "Which country first signed the Belt and Road Initiative agreement with China?"
    lexical_top = [gen.chunks[row].chunk_id for row, _ in gen.lexical.search(aliases(gen).expand(query), 3)]
    hits = hash_assistant.retriever.search(gen, query, 15)
    rows = [h.chunk.chunk_id for h in hits]
    assert len(hits) == 15
    assert set(lexical_top) <= set(rows)
    narrow = hash_assistant.retriever.search(gen, query, 5)
    assert [h.score for h in narrow] == sorted((h.score for h in narrow), reverse=True)  # plain fusion order


def test_capitals_stand_for_their_countries_one_way() -> None:
    found = Aliases([], CAPITALS)
    assert found.expand("What did Beijing's white paper say?").endswith(" China")
    assert found.expand("What does China export?") == "What does China export?"  # not the other way round
    assert "beij" in found.extra_terms("China's policy paper on Latin America")
    assert found.targets("Buenos Aires") == ["Argentina"] and found.targets("France") == []
    assert found.expand("Trade reached US$20 billion.") == "Trade reached US$20 billion."


def test_a_question_naming_a_capital_finds_the_country(small_library: Callable[..., Assistant]) -> None:
    assistant = small_library({
        "paper.txt": "Policy paper\n\nChina's policy paper asks its partners to adhere to the one-China principle.\n\n"
                     "It also proposes more flights, ports and student exchanges.\n",
        "news.txt": "News\n\nThe forum met in Beijing in January, and delegates toured a new rail station.\n",
    }, filler=True)  # the filler makes one mention of Beijing rare
    ans = assistant.ask("What does Beijing's policy paper ask partners to adhere to?")
    assert not ans.abstained, ans.reason
    assert "one-China principle" in ans.citations[0].quote
    # ...while a question about a place the library never names, under any name, still abstains
    assert assistant.ask("What is the capital of France?").abstained


def test_the_reworded_list_counts_with_its_own_weight() -> None:
    from lacqa.config import RetrieveSettings
    from lacqa.retrieve import fuse

    settings = RetrieveSettings(synonym_weight=2.0)
    assert fuse([], [(0, 1.0)], settings, [], [(1, 1.0)])[0][0] == 1
    assert fuse([], [(0, 1.0)], settings.model_copy(update={"synonym_weight": 0.3}), [], [(1, 1.0)])[0][0] == 0


def test_search_results_may_be_reworded(small_library) -> None:  # type: ignore[no-untyped-def]
    a = small_library({"loans.txt": "Lending\n\nAccumulated loans to the region amounted to 138 billion dollars.\n"},
                      filler=True)
    hits = a.retriever.search(a.generation(), "How much credit reached the region?", 3, reword=True)
    assert hits and hits[0].chunk.source == "loans.txt"


def _plain_alternation(forms: list[str], flags: int) -> re.Pattern[str]:
    """The longest-first alternation the trie replaced: the reference it must agree with."""
    body = "|".join(r"\s+".join(map(re.escape, f.split())) for f in sorted(forms, key=len, reverse=True))
    return re.compile(r"(?<![\w])(?:" + body + r")(?![\w$])", flags)


_FORM = st.text(alphabet="abAB.$- 19é", min_size=1, max_size=8).filter(lambda f: bool(f.split()))


@settings(max_examples=300, deadline=None)
@given(st.lists(_FORM, min_size=1, max_size=12), st.text(alphabet="abAB.$- 19é\n", max_size=60))
def test_the_trie_pattern_finds_what_the_longest_first_alternation_finds(forms: list[str], text: str) -> None:
    from lacqa.aliases import _alternation

    tokens = [f for f in forms if " " not in f.strip()]
    phrases = [f for f in forms if " " in f.strip()]
    trie_tokens, trie_phrases = _alternation(forms)
    for items, flags, trie in ((tokens, 0, trie_tokens), (phrases, re.I, trie_phrases)):
        if not items:
            assert trie is None
            continue
        assert trie is not None
        plain = _plain_alternation(items, flags)
        assert [m.span() for m in trie.finditer(text)] == [m.span() for m in plain.finditer(text)], (items, text)


def test_the_trie_pattern_prefers_the_longest_form_that_ends_on_a_boundary() -> None:
    from lacqa.aliases import _alternation

    tokens, phrases = _alternation(["UN", "UNDP", "UNESCO", "United Nations", "United Nations Development Programme"])
    assert tokens is not None and phrases is not None
    assert [m.group() for m in tokens.finditer("UNDP and UNESCO, not UNICEF; the UN.")] == ["UNDP", "UNESCO", "UN"]
    text = "the united  nations development programme and the United Nations Developers"
    assert [m.group() for m in phrases.finditer(text)] == ["united  nations development programme", "United Nations"]
