"""The decision chain: named, ordered checks with typed reasons; each can be switched off by name."""

from __future__ import annotations

from lacqa.answer.checks import EVIDENCE_CHECKS, Reason, check_names, decide
from lacqa.config import AnswerSettings
from lacqa.evidence import Selection
from lacqa.types import Evidence

EV = (Evidence("d", "d.txt", "D", 0, 10, "0123456789", 0.9),)


def sel(**kw) -> Selection:  # type: ignore[no-untyped-def]
    base = dict(evidence=EV, confidence=0.9, coverage=1.0, missing=(), candidates=EV, ranked=True)
    base.update(kw)
    return Selection(**base)  # type: ignore[arg-type]


def test_answers_when_every_check_passes() -> None:
    assert decide(sel(), AnswerSettings()) is None


def test_each_check_has_its_reason_code() -> None:
    s = AnswerSettings()
    assert decide(sel(evidence=()), s).reason is Reason.NO_PASSAGE  # type: ignore[union-attr]
    assert decide(sel(unknown_subject=True, missing=("Narnia",)), s).reason is Reason.UNKNOWN_SUBJECT  # type: ignore[union-attr]
    assert decide(sel(confidence=0.01), s).reason is Reason.LOW_CONFIDENCE  # type: ignore[union-attr]
    assert decide(sel(unmatched=("1999",)), s).reason is Reason.UNMATCHED  # type: ignore[union-attr]
    assert decide(sel(has_type=False, kind="time"), s).reason is Reason.NO_ANSWER_TYPE  # type: ignore[union-attr]


def test_first_failing_check_wins_in_order() -> None:
    out = decide(sel(confidence=0.01, unmatched=("1999",), has_type=False), AnswerSettings())
    assert out is not None and out.reason is Reason.LOW_CONFIDENCE


def test_ablated_checks_are_skipped() -> None:
    s = AnswerSettings(ablate=["confidence"])
    out = decide(sel(confidence=0.01, unmatched=("1999",)), s)
    assert out is not None and out.reason is Reason.UNMATCHED
    s = AnswerSettings(ablate=["confidence", "specifics"])
    assert decide(sel(confidence=0.01, unmatched=("1999",)), s) is None


def test_threshold_depends_on_who_scored() -> None:
    s = AnswerSettings(min_probability=0.5, min_confidence=0.25)
    assert decide(sel(confidence=0.3, ranked=False), s) is None  # hand score: 0.3 >= 0.25
    assert decide(sel(confidence=0.3, ranked=True), s).reason is Reason.LOW_CONFIDENCE  # type: ignore[union-attr]


def test_check_names_are_unique_and_ablatable_from_the_cli() -> None:
    from lacqa.cli import ABLATIONS

    names = [c.name for c in EVIDENCE_CHECKS]
    assert len(names) == len(set(names))
    assert set(check_names()) <= set(ABLATIONS)
