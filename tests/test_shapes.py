"""Answer shapes: the shape table (lang/shapes.json) and the open answers built from it."""

from __future__ import annotations

import json
import re
from importlib import resources

import numpy as np
import pytest

from lacqa.answer.ranker import OverlapRanker
from lacqa.answer.shapes import Shape, compare_sides, shape_of


def test_shape_table_is_well_formed() -> None:
    data = json.loads(resources.files("lacqa.lang").joinpath("shapes.json").read_text(encoding="utf-8"))
    assert sorted(data["order"]) == sorted(s.value for s in Shape if s is not Shape.FACT)
    for name in data["order"]:
        assert data[name], f"shape {name} has no patterns"
        for pattern in data[name]:
            re.compile(pattern)
        assert len(set(data[name])) == len(data[name]), f"duplicate pattern in {name}"


@pytest.mark.parametrize(
    ("question", "shape"),
    [
        ("What are the main areas of cooperation between China and Latin America?", Shape.LIST),
        ("List the financing instruments the report mentions.", Shape.LIST),
        ("Which countries are mentioned as partners?", Shape.LIST),
        ("What kinds of exchanges does the policy paper propose?", Shape.LIST),
        ("Why did China publish a second policy paper?", Shape.EXPLAIN),
        ("How does the China-CELAC Forum work?", Shape.EXPLAIN),
        ("Explain the role of the development bank.", Shape.EXPLAIN),
        ("Summarize the policy paper.", Shape.SUMMARY),
        ("What does Zhu Qingqiao say about education?", Shape.SUMMARY),
        ("Give me an overview of the handbook.", Shape.SUMMARY),
        ("Compare the 2008 and the 2016 policy papers.", Shape.COMPARE),
        ("How does trade differ from investment in the report?", Shape.COMPARE),
        ("What is the difference between the forum and the plan?", Shape.COMPARE),
        # facts stay facts: counts, amounts and durations asked with "how" are not explanations
        ("How many Confucius Institutes are there in the region?", Shape.FACT),
        ("How much did trade reach in 2021?", Shape.FACT),
        ("When was the first ministerial meeting held?", Shape.FACT),
        ("Who wrote the essay?", Shape.FACT),
        ("What is the capital of Chile?", Shape.FACT),
        ("What period does the cooperation plan cover?", Shape.FACT),
        ("What topics does the report cover?", Shape.LIST),
        # "how" + an auxiliary asks how (an explanation); "how" + an adjective or adverb asks how much (a fact)
        ("How might the articles of a long treaty be grouped?", Shape.EXPLAIN),
        ("How fast was the shell that the navy fired?", Shape.FACT),
        ("How early did the city legalise it?", Shape.FACT),
        ("How come the bridge closed?", Shape.EXPLAIN),
        # a lead-in phrase before the asking clause does not hide its shape
        ("Apart from churches, what sorts of buildings were built in the Gothic style?", Shape.LIST),
        ("When I use a thread pool, why do I have to set the limit in every worker?", Shape.EXPLAIN),
        ("In some organisms, how are these molecules absorbed?", Shape.EXPLAIN),
        ("Both tools deal with native libraries. How do their roles differ?", Shape.COMPARE),
        ("In 1990, how many people lived in the city?", Shape.FACT),
        ("What's the more appropriate, but mostly unused, name for a bare board?", Shape.FACT),
    ],
)
def test_shape_of(question: str, shape: Shape) -> None:
    assert shape_of(question) is shape


def test_clause_openers_are_well_formed() -> None:
    data = json.loads(resources.files("lacqa.lang").joinpath("shapes.json").read_text(encoding="utf-8"))
    openers = data["clause_openers"]
    assert openers and len(set(openers)) == len(openers)
    for word in openers:
        assert re.fullmatch(r"[a-z\[\] ]+", word), word  # words (a character class at most), no pattern syntax
        re.compile(word)


@pytest.mark.parametrize(
    ("question", "clause"),
    [
        ("Apart from churches, what sorts of buildings were built?", "what sorts of buildings were built?"),
        ("Both tools deal with native libraries. How do their roles differ?", "How do their roles differ?"),
        ("Gaddafi was an avid reader. Name three biographies that he read.", "Name three biographies that he read."),
        ("Which countries, apart from Brazil, did he visit?", "Which countries, apart from Brazil, did he visit?"),
        ("When was the forum founded?", "When was the forum founded?"),
        ("", ""),
    ],
)
def test_asked_clause(question: str, clause: str) -> None:
    from lacqa.answer.shapes import asked_clause

    assert asked_clause(question) == clause


def test_compare_sides() -> None:
    assert compare_sides("Compare solar power and wind power.") == ("solar power", "wind power")
    assert compare_sides("What is the difference between the forum and the action plan?") == ("forum", "action plan")
    assert compare_sides("How does the 2008 paper differ from the 2016 paper?") == ("2008 paper", "2016 paper")
    assert compare_sides("Compare them.") is None


LIB = {
    "energy.txt": (
        "Energy notes\n\n"
        "The cooperative runs three solar arrays on school roofs in the valley.\n\n"
        "Its wind turbine on the ridge supplies power to the farms nearby every winter.\n\n"
        "Members pay a yearly fee of forty pounds to take part in the scheme.\n\n"
        "The solar arrays produce most of their power between April and September each year.\n\n"
        "The wind turbine produces most of its power between October and March each year.\n"
    ),
}


def test_list_answer_has_one_cited_point_per_quote(small_library) -> None:  # type: ignore[no-untyped-def]
    assistant = small_library(LIB, filler=True)
    assistant.ranker = OverlapRanker()
    assistant.settings.answer.min_probability = 0.2  # the fake's scores are word-overlap shares, not probabilities
    assistant.settings.answer.ranker = "learned"
    a = assistant.ask("What are the main sources of power of the cooperative?")
    assert a.shape == "list" and not a.abstained
    assert len(a.points) >= 2
    gen = assistant.generation()
    for point in a.points:
        assert point.citations and all(1 <= n <= len(a.citations) for n in point.citations)
    for c in a.citations:
        assert gen.documents[c.doc_id].text[c.start : c.end] == c.quote
    data = a.to_json()
    assert data["shape"] == "list" and data["points"][0]["citations"] == [1]
    assert a.text.count("\n- ") == len(a.points) - 1


def test_compare_answer_labels_both_sides(small_library) -> None:  # type: ignore[no-untyped-def]
    assistant = small_library(LIB, filler=True)
    assistant.ranker = OverlapRanker()
    assistant.settings.answer.min_probability = 0.2  # the fake's scores are word-overlap shares, not probabilities
    a = assistant.ask("Compare the solar arrays and the wind turbine.")
    assert a.shape == "compare", a.text
    labels = {p.label for p in a.points}
    assert labels == {"solar arrays", "wind turbine"}, a.text
    solar = [p for p in a.points if p.label == "solar arrays"]
    assert all("solar" in a.citations[p.citations[0] - 1].quote for p in solar)


def test_shapes_switch_off(small_library) -> None:  # type: ignore[no-untyped-def]
    assistant = small_library(LIB, filler=True)
    assistant.ranker = OverlapRanker()
    assistant.settings.answer.min_probability = 0.2  # the fake's scores are word-overlap shares, not probabilities
    assistant.settings.answer.shapes = False
    a = assistant.ask("What are the main sources of power of the cooperative?")
    assert a.shape == "fact"


def test_ranked_pool_takes_the_rankers_order_and_keeps_the_hand_values(small_library) -> None:  # type: ignore[no-untyped-def]
    from lacqa.answer.shapes import ranked_pool

    assistant = small_library(LIB)
    gen = assistant.generation()
    sents = list(gen.sentences[:4])
    assert len(sents) == 4
    pool = [(0.9, sents[0]), (0.7, sents[1]), (0.5, sents[2]), (0.3, sents[3])]

    class Prefers:  # the ranker's view: the fourth candidate best, then the third
        model_id = "prefers"

        def logits(self, question, candidates):  # type: ignore[no-untyped-def]
            return np.array([0.0, -1.0, 2.0, 3.0])

    out = ranked_pool("Which arrays?", pool, gen, Prefers(), context=0.0)  # type: ignore[arg-type]
    assert [s.sent_id for _, s in out] == [sents[3].sent_id, sents[2].sent_id, sents[0].sent_id, sents[1].sent_id]
    assert [p for p, _ in out] == [0.9, 0.7, 0.5, 0.3], "how many points clear the floors stays the hand score's call"
    assert ranked_pool("q", [], gen, Prefers()) == []  # type: ignore[arg-type]


def test_ranked_pool_reads_the_candidates_neighbours(small_library) -> None:  # type: ignore[no-untyped-def]
    """With context, a candidate next to a sentence the ranker likes rises, and that neighbour (not in the pool)
    may enter it; the pool keeps its length and the hand values."""
    from lacqa.answer.shapes import ranked_pool

    assistant = small_library(LIB)
    gen = assistant.generation()
    text = gen.documents[gen.sentences[0].doc_id].text
    sents = [s for s in gen.sentences if s.doc_id == gen.sentences[0].doc_id]
    fee = next(i for i, s in enumerate(sents) if "fee" in text[s.start : s.end])
    before, after = sents[fee - 1], sents[fee + 1]  # the wind turbine's sentence and the solar arrays' season
    far = sents[-1]  # the wind turbine's season, nowhere near the fee

    class LikesTheFee:
        model_id = "likes-the-fee"

        def logits(self, question, candidates):  # type: ignore[no-untyped-def]
            return np.array([3.0 if c.split(" [SEP] ")[0].startswith("Members pay") else 0.0 for c in candidates])

    pool = [(0.9, far), (0.5, after)]
    plain = ranked_pool("What do members pay?", pool, gen, LikesTheFee(), context=0.0)  # type: ignore[arg-type]
    assert {s.sent_id for _, s in plain} == {far.sent_id, after.sent_id}, "without context only the pool's own"
    out = ranked_pool("What do members pay?", pool, gen, LikesTheFee(), context=1.0)  # type: ignore[arg-type]
    # the fee and the sentence beside it (which its neighbour lifts), the far one out
    assert {s.sent_id for _, s in out} == {sents[fee].sent_id, after.sent_id}
    assert [p for p, _ in out] == [0.9, 0.5]
    assert before.sent_id not in {s.sent_id for _, s in out}


def test_side_of_labels_a_comparison_point() -> None:
    from lacqa.answer.shapes import BOTH, GENERAL, side_of

    sides = ("solar arrays", "wind turbine")
    assert side_of("The solar arrays produce most of their power in summer.", sides) == "solar arrays"
    assert side_of("Its wind turbine on the ridge supplies the farms.", sides) == "wind turbine"
    assert side_of("Solar arrays and the wind turbine share one grid link.", sides) == BOTH
    assert side_of("Members pay a yearly fee.", sides) == GENERAL


def test_the_open_ranker_switches_off(small_library) -> None:  # type: ignore[no-untyped-def]
    from lacqa.config import Settings
    from lacqa.embed import HashEmbedder
    from lacqa.pipeline import Assistant

    assistant = small_library(LIB)
    assert assistant.point_ranker is not None, "on by default"
    settings: Settings = assistant.settings.model_copy(deep=True)
    settings.answer.open_ranker = False
    assert Assistant(settings, embedder=HashEmbedder()).point_ranker is None


NOTES = {
    "energy-notes.txt": "Energy notes\n\n" + "\n\n".join([
        "The wind turbine on the ridge was raised in the spring of the first year of the scheme.",
        "Members meet in the village hall on the first Monday of every month to vote on spending.",
        "The wind turbine supplies power to the farms nearby through a buried cable.",
        "The school roofs carry three solar arrays that the pupils helped to design.",
        "Repairs to the wind turbine blades are paid for out of the reserve fund each year.",
        "The bakery and the pub buy their electricity from the cooperative at a fixed price.",
        "The wind turbine stops in storms stronger than a set limit to protect its gearbox.",
        "A newsletter goes out to every member twice a year with the accounts attached.",
        "The wind turbine produces most of its power between October and March each year.",
        "Volunteers clean the solar panels by hand before the long days of summer arrive.",
        "The cooperative hopes to add a battery store beside the wind turbine within five years.",
        "Children from the school visit the ridge each autumn to learn how the machines work.",
    ]) + "\n",
}


def test_a_summary_is_the_documents_sentences_that_speak_to_the_question(small_library) -> None:  # type: ignore[no-untyped-def]
    """"Summarize the wind turbine in the energy notes" holds every sentence of the named document on the wind
    turbine; one sentence per stretch of the document (``--ablate summary_stretches``) misses some."""
    assistant = small_library(NOTES, filler=True)
    assistant.ranker = OverlapRanker()
    assistant.settings.answer.min_probability = 0.2  # the fake's scores are word-overlap shares, not probabilities
    question = "Summarize the wind turbine in the energy notes."
    a = assistant.ask(question)
    on_it = {s for s in NOTES["energy-notes.txt"].split("\n\n") if "wind turbine" in s}
    assert a.shape == "summary" and len(a.points) <= 8, a.text
    assert on_it <= {c.quote for c in a.citations}, a.text
    starts = [c.start for c in a.citations]
    assert starts == sorted(starts), "in the document's order"
    assistant.settings.answer.ablate.append("summary_stretches")
    b = assistant.ask(question)
    assert b.shape == "summary" and not on_it <= {c.quote for c in b.citations}, b.text
