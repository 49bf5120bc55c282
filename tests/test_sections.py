"""A document's own outline (answer/sections.py) and list / how answers that are one section of it."""

from __future__ import annotations

from lacqa.answer.ranker import OverlapRanker
from lacqa.answer.sections import headings, units

PAPER = (
    "Harbour Policy Paper\n"
    "Foreword\n"
    "The harbour board sets out here how it means to work with the fishing towns along the coast.\n"
    "I. Background\n"
    "The harbour has served the coast for two hundred years and employs many people in the towns.\n"
    "II. Cooperation\n"
    "1. In the Economic Field\n"
    "(1) Trade\n"
    "The board will widen two-way trade in fish and grain with the coastal towns every season.\n"
    "(2) Investment\n"
    "The board encourages local firms with a good name to invest in cold stores and boat yards.\n"
    "(3) Debt Relief\n"
    "The board will discuss with the towns ways to relieve the debts they owe for the new quays.\n"
    "2. In the Cultural Field\n"
    "(1) Museums\n"
    "The board will lend old charts and ship models to the museums of the coastal towns.\n"
    "(2) Schools\n"
    "The board will pay for school visits to the harbour so that children learn about the sea.\n"
)


def test_headings_levels_follow_marker_styles() -> None:
    found = [(h.level, h.title) for h in headings(PAPER)]
    assert (1, "Background") in found and (1, "Cooperation") in found
    assert (2, "In the Economic Field") in found and (3, "Trade") in found and (3, "Debt Relief") in found
    # body sentences are never headings
    assert not any("cold stores" in title for _, title in found)


def test_units_are_sub_sections_then_items() -> None:
    heads = headings(PAPER)
    i = next(n for n, h in enumerate(heads) if h.title == "In the Economic Field")
    end, parts = units(PAPER, heads, i)
    assert [u.label for u in parts] == ["Trade", "Investment", "Debt Relief"]
    assert PAPER[end:].startswith("2. In the Cultural Field")
    md = "# Guide\n\n## How to join\n\n- Fill in the application form at the hall.\n- Pay the fee by bank transfer.\n\n## Contact\n\nWrite to the secretary.\n"
    heads = headings(md)
    i = next(n for n, h in enumerate(heads) if h.title == "How to join")
    _, parts = units(md, heads, i)
    assert len(parts) == 2 and all(p.label is None for p in parts)
    assert md[parts[0].start : parts[0].end].startswith("- Fill in")


def test_markdown_headings_and_plain_lines() -> None:
    md = "# Handbook\n\n## 1. Who we are\n\nWe are a club founded in 2019 by the people of the village.\n"
    assert [h.title for h in headings(md)] == ["Handbook", "Who we are"]
    news = ("A big wind farm opens on the ridge\nBy A. Writer\nThe wind farm opened today after two years of work.\n"
            "Money for the community\nThe wind farm will pay into a fund for the villages nearby every year.\n")
    assert "Money for the community" in [h.title for h in headings(news)]
    # a line that only wraps a paragraph is no heading
    wrapped = "The board met on Monday and agreed\nthat the quay should be rebuilt before the winter storms.\n"
    assert headings(wrapped) == []


def test_list_answer_is_the_matching_section(small_library) -> None:  # type: ignore[no-untyped-def]
    assistant = small_library({"paper.txt": PAPER}, filler=True)
    assistant.ranker = OverlapRanker()
    assistant.settings.answer.min_probability = 0.2  # the fake's scores are word-overlap shares, not probabilities
    assistant.settings.answer.ranker = "learned"
    a = assistant.ask("What kinds of economic cooperation does the harbour policy paper propose?")
    assert a.shape == "list" and not a.abstained, a.text
    assert len(a.points) == 3, a.text
    assert [p.text.split(":")[0] for p in a.points] == ["Trade", "Investment", "Debt Relief"]
    gen = assistant.generation()
    for c in a.citations:
        assert gen.documents[c.doc_id].text[c.start : c.end] == c.quote
    assert "two-way trade" in a.citations[0].quote and "debts" in a.citations[2].quote


def test_sections_switch_off(small_library) -> None:  # type: ignore[no-untyped-def]
    assistant = small_library({"paper.txt": PAPER}, filler=True)
    assistant.ranker = OverlapRanker()
    assistant.settings.answer.min_probability = 0.2
    assistant.settings.answer.ranker = "learned"
    assistant.settings.answer.ablate.append("sections")
    a = assistant.ask("What kinds of economic cooperation does the harbour policy paper propose?")
    assert not any(p.text.startswith("Trade:") for p in a.points)


def test_whole_sentence_joins_the_clause_pieces_of_a_long_sentence(small_library) -> None:  # type: ignore[no-untyped-def]
    from lacqa.answer.shapes import whole_sentence

    long = ("The board will work with the health services of the coastal towns, share what it has learnt about "
            "running clinics on the quays, train nurses and doctors for the fishing fleets, pay for boats that carry "
            "patients to the mainland in winter, and carry out joint work in such areas as disease control, the "
            "response to storms and floods, and the control of measles and flu among the crews.")
    assistant = small_library({"health.txt": f"Health\n{long} The rest of the year is quiet.\n"})
    gen = assistant.generation()
    doc_id = next(d for d, doc in gen.documents.items() if doc.source == "health.txt")
    text = gen.documents[doc_id].text
    begin = text.index(long)
    pieces = [s for s in gen.sentences_by_doc[doc_id] if begin <= s.start < begin + len(long)]
    assert len(pieces) >= 2  # stored cut at its commas
    for piece in pieces:
        w = whole_sentence(gen, piece, 700)
        assert text[w.start : w.end] == long and w.sent_id == piece.sent_id


def test_several_things_are_a_list_only_when_a_section_enumerates_them(small_library) -> None:  # type: ignore[no-untyped-def]
    from lacqa.answer.shapes import Shape, asks_for_several, shape_of

    question = "Which economic exchanges does the harbour policy paper want with the towns?"
    assert shape_of(question) is Shape.FACT and asks_for_several(question)
    assert not asks_for_several("Which policy of the region does the paper name?")  # the head noun is singular
    assert not asks_for_several("What address does the cooperative give?")
    assistant = small_library({"paper.txt": PAPER}, filler=True)
    assistant.ranker = OverlapRanker()
    assistant.settings.answer.min_probability = 0.2
    assistant.settings.answer.ranker = "learned"
    a = assistant.ask(question)
    assert a.shape == "list" and [p.text.split(":")[0] for p in a.points] == ["Trade", "Investment", "Debt Relief"]
    b = assistant.ask("Which museums does the board lend old charts and ship models to?")  # no section lists them
    assert b.shape == "fact"


REPORT = (
    "Annual report of the quay trust\n"
    "The trust looked after the old quay and its sheds through a long and busy year on the coast.\n"
    "The principal risks the trust's board identified for the coming years are:\n"
    "\n"
    "- A storm that breaks the outer wall of the quay before the repairs are finished.\n"
    "- A fall in the number of boats that pay to land their catch at the quay.\n"
    "- A shortage of masons who can work with the old granite blocks.\n"
    "\n"
    "The board meets four times a year in the harbour office to review the accounts of the trust.\n"
)


def test_a_sentence_ending_in_a_colon_announces_the_items_after_it() -> None:
    from lacqa.answer.sections import announced

    start = REPORT.index("The principal risks")
    end = REPORT.index(":", start) + 1
    items = announced(REPORT, start, end)
    assert [REPORT[u.start : u.end][:8] for u in items] == ["- A stor", "- A fall", "- A shor"]
    assert announced(REPORT, 0, REPORT.index("\n"))  == []  # no colon: announces nothing
    cut = REPORT.index("trust's board")
    assert announced(REPORT, start, cut) == []  # the colon does not end the sentence's line


def test_a_fact_question_whose_best_quote_announces_a_list_gets_the_list(small_library) -> None:  # type: ignore[no-untyped-def]
    assistant = small_library({"report.txt": REPORT}, filler=True)
    assistant.ranker = OverlapRanker()
    assistant.settings.answer.min_probability = 0.2
    assistant.settings.answer.ranker = "learned"
    question = "What did the trust's board identify as the principal risks?"  # a fact question, by its form
    a = assistant.ask(question)
    assert a.shape == "list" and not a.abstained, a.text
    assert [c.quote.split()[1] for c in a.citations] == ["storm", "fall", "shortage"]
    gen = assistant.generation()
    for c in a.citations:
        assert gen.documents[c.doc_id].text[c.start : c.end] == c.quote
    assistant.settings.answer.ablate.append("announced")
    b = assistant.ask(question)
    assert b.shape == "fact" and "principal risks" in b.citations[0].quote
