"""The shipped answer-span reader: it loads offline, matches its recorded hashes, points at the words that answer
plain cases (a damaged or missing file: tests/test_ranker.py, which checks both shipped models' loader)."""

from __future__ import annotations

import json

import pytest

from lacqa.answer.ranker import packaged_ranker_path
from lacqa.answer.span import OnnxSpanReader

FIXTURES = [
    ("When was the university founded?", "The university was founded in 1850 by a group of merchants.", "1850"),
    ("Who designed the bridge?", "The bridge was designed by the engineer Gustave Eiffel in 1884.", "Gustave Eiffel"),
    ("How much did China-LAC trade reach in 2021?",
     "Total China-LAC trade reached 449 billion US dollars in 2021, a record.", "449 billion"),
]


@pytest.fixture(scope="module")
def reader() -> OnnxSpanReader:
    return OnnxSpanReader()


def test_shipped_span_reader_matches_its_hashes_and_loads(reader: OnnxSpanReader) -> None:
    meta = json.loads((packaged_ranker_path() / "span.json").read_text())
    assert meta["model"] in meta["files"]
    assert reader.model_id == meta["model_id"]
    assert 0.5 < meta["validation"]["f1"] <= 1.0


@pytest.mark.parametrize(("question", "text", "words"), FIXTURES)
def test_points_at_the_words_that_answer(reader: OnnxSpanReader, question: str, text: str, words: str) -> None:
    span = reader.read(question, [text])[0]
    assert span is not None
    got = text[span.start : span.end]
    assert words in got and len(got) <= len(words) + 25, got
    assert span.margin > 0


def test_a_sentence_that_does_not_answer_scores_lower(reader: OnnxSpanReader) -> None:
    q = "When was the university founded?"
    good, bad = reader.read(q, [FIXTURES[0][1], "The university library holds two million volumes."])
    assert good is not None and bad is not None and good.margin > bad.margin
