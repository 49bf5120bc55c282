"""The shipped evidence ranker: it loads offline, matches its recorded hashes, ranks plain cases the right way
round, and a missing or damaged file is a ModelError naming it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lacqa.answer.ranker import OnnxRanker, candidate_text, packaged_ranker_path
from lacqa.errors import ModelError

FIXTURES = [
    ("When was the university founded?",
     candidate_text("The university was founded in 1850 by a group of merchants.", "", "History of the university"),
     candidate_text("The university library holds two million volumes.", "", "History of the university")),
    ("Who designed the bridge?",
     candidate_text("The bridge was designed by the engineer Gustave Eiffel.", "", "Bridges"),
     candidate_text("The bridge carries four lanes of traffic across the river.", "", "Bridges")),
    ("How much did China-LAC trade reach in 2021?",
     candidate_text("Total China-LAC trade reached 449 billion US dollars in 2021.", "", "China and LAC"),
     candidate_text("China and LAC countries held the first forum meeting in Beijing.", "", "China and LAC")),
]


@pytest.fixture(scope="module")
def ranker() -> OnnxRanker:
    return OnnxRanker()


def test_shipped_ranker_matches_its_hashes_and_loads(ranker: OnnxRanker) -> None:
    meta = json.loads((packaged_ranker_path() / "ranker.json").read_text())
    assert set(meta["files"]) >= {meta["model"], meta["tokenizer"]}
    assert ranker.model_id == meta["model_id"]
    assert 0.0 < meta["validation"]["top1"] <= 1.0


@pytest.mark.parametrize(("question", "good", "bad"), FIXTURES)
def test_ranks_fixture_pairs_the_right_way_round(ranker: OnnxRanker, question: str, good: str, bad: str) -> None:
    p = ranker.probabilities(question, [good, bad])
    assert p[0] > p[1], p
    assert 0.0 <= p.min() and p.max() <= 1.0


def test_batch_order_does_not_change_scores(ranker: OnnxRanker) -> None:
    q, good, bad = FIXTURES[0]
    a = ranker.probabilities(q, [good, bad])
    b = ranker.probabilities(q, [bad, good])
    assert abs(a[0] - b[1]) < 1e-4 and abs(a[1] - b[0]) < 1e-4


def test_damaged_or_missing_file_names_it(tmp_path: Path) -> None:
    src = packaged_ranker_path()
    meta = json.loads((src / "ranker.json").read_text())
    damaged = tmp_path / "damaged"
    shutil.copytree(src, damaged, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    model = damaged / meta["model"]
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=meta["model"]):
        OnnxRanker(damaged).probabilities("q", ["c"])
    model.unlink()
    with pytest.raises(ModelError, match="missing"):
        OnnxRanker(damaged).probabilities("q", ["c"])
