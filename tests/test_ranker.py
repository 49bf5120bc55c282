"""The shipped evidence ranker: it loads offline, matches its recorded hashes, ranks plain cases the right way
round, and a missing or damaged file is a ModelError naming it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lacqa.answer.ranker import OnnxRanker, OverlapRanker, candidate_text, packaged_ranker_path
from lacqa.answer.span import OnnxSpanReader
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


def _score_with_ranker(folder: Path) -> None:
    OnnxRanker(folder).probabilities("q", ["c"])


def _read_with_span_reader(folder: Path) -> None:
    OnnxSpanReader(folder).read("q", ["c"])


@pytest.mark.parametrize(("meta_file", "use"), [("ranker.json", _score_with_ranker), ("span.json", _read_with_span_reader)],
                         ids=["ranker", "span"])
def test_damaged_or_missing_file_names_it(tmp_path: Path, meta_file: str, use) -> None:  # type: ignore[no-untyped-def]
    """Both shipped models load through one checked loader (PackagedPairModel): a flipped byte or a missing file is
    a ModelError naming the file."""
    src = packaged_ranker_path()
    meta = json.loads((src / meta_file).read_text())
    damaged = tmp_path / "damaged"
    shutil.copytree(src, damaged, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    model = damaged / meta["model"]
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=meta["model"]):
        use(damaged)
    model.unlink()
    with pytest.raises(ModelError, match="missing"):
        use(damaged)


def test_fused_mode_orders_by_the_fitted_regression(small_library) -> None:  # type: ignore[no-untyped-def]
    """'fused': the order and the confidence come from sigmoid(a*hand + b*logit + c) with the ranker's weights."""
    import numpy as np

    from lacqa.answer import gather_evidence
    from lacqa.answer.ranker import OverlapRanker

    class Weighted(OverlapRanker):
        def __init__(self, weights: tuple[float, float, float]) -> None:
            self.weights = dict(zip(("hand", "logit", "intercept"), weights, strict=True))

        def fusion(self, key: str = "fusion") -> dict[str, float]:
            assert key == "fusion"
            return self.weights

    assistant = small_library({"a.txt": "Harbour\nThe harbour opened in 1901 after ten years of work on the quay.\n"
                                        "The town grew around the harbour and its fish market.\n"}, filler=True)
    settings = assistant.settings.answer
    settings.ranker = "fused"
    gen = assistant.generation()
    q = "When did the harbour open?"
    only_logit = Weighted((0.0, 1.0, 0.0))
    _, sel = gather_evidence(q, gen, assistant.retriever, settings, 8, ranker=only_logit)
    z = only_logit.logits(q, [gen.documents[s.doc_id].text[s.start : s.end] for _, s in sel.pool])
    assert sel.ranked and abs(sel.confidence - 1 / (1 + np.exp(-max(z)))) < 0.05
    flat = Weighted((0.0, 0.0, -2.0))  # neither score counts: every candidate gets sigmoid(-2)
    _, sel = gather_evidence(q, gen, assistant.retriever, settings, 8, ranker=flat)
    assert abs(sel.confidence - 1 / (1 + np.exp(2.0))) < 1e-6


class _Fitted(OverlapRanker):
    """The overlap stand-in with rerank weights: the span reader's margin alone decides the order."""

    def fusion(self, key: str = "fusion") -> dict[str, float]:
        assert key == "rerank"
        return {"hand": 0.0, "logit": 0.0, "span": 1.0, "intercept": 0.0}


def test_rerank_mode_orders_by_the_span_reader_and_keeps_the_hand_decision(small_library) -> None:  # type: ignore[no-untyped-def]
    """'rerank': the fitted score (here the span margin alone) picks the first quote among the hand score's best
    `rerank_candidates`; whether to answer is still the hand score's call (the same confidence as with it off), and
    an open answer still picks from the hand-scored pool."""
    from lacqa.answer import gather_evidence
    from lacqa.answer.span import MarkedSpanReader

    assistant = small_library({"a.txt": "Harbour\n\nThe harbour of the town was known to handle cargo of every kind.\n\n"
                                        "Fishing boats moored along the western wall.\n\n"
                                        "Its main trade was timber from the hills.\n"}, filler=True)
    settings = assistant.settings.answer
    gen = assistant.generation()
    q = "What cargo did the harbour of the town handle?"
    _, off = gather_evidence(q, gen, assistant.retriever, settings, 8)
    assert "timber" not in off.evidence[0].quote  # the hand score prefers the sentence that repeats the question
    settings.ranker = "rerank"
    reader = MarkedSpanReader(["timber"])
    _, sel = gather_evidence(q, gen, assistant.retriever, settings, 8, ranker=_Fitted(), reader=reader)
    assert "timber" in sel.evidence[0].quote
    assert not sel.ranked and abs(sel.confidence - off.confidence) < 1e-9
    assert [s.sent_id for _, s in sel.pool] == [s.sent_id for _, s in off.pool]
    settings.rerank_candidates = 1  # reading only the hand score's best: nothing to reorder
    _, one = gather_evidence(q, gen, assistant.retriever, settings, 8, ranker=_Fitted(), reader=reader)
    assert one.evidence[0].start == off.evidence[0].start
    with pytest.raises(ModelError, match="span reader"):
        settings.rerank_candidates = 8
        gather_evidence(q, gen, assistant.retriever, settings, 8, ranker=_Fitted(), reader=None)


def test_fused_mode_needs_fitted_weights(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json
    import shutil

    import pytest

    from lacqa.answer.ranker import OnnxRanker, packaged_ranker_path
    from lacqa.errors import ModelError

    src = packaged_ranker_path()
    for f in src.iterdir():
        if f.is_file():
            shutil.copy(f, tmp_path / f.name)
    meta = json.loads((tmp_path / "ranker.json").read_text())
    meta.pop("fusion", None)
    (tmp_path / "ranker.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="no fitted weights"):
        OnnxRanker(tmp_path).fusion()
