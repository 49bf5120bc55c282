"""The decision to answer: named, ordered checks, first failing one wins, each with a typed reason.

Evidence checks run on the selected quotes before any drafting; draft checks run on what the model wrote. Each can
be switched off by name (``AnswerSettings.ablate``, ``lacqa eval --ablate NAME``) to measure what it is worth.
Tests assert reason codes, never the prose of a message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from ..config import AnswerSettings
from ..evidence import Selection


class Reason(str, Enum):
    """Why lacqa abstained."""

    NO_PASSAGE = "no_passage"  #: nothing in the library matched at all
    UNKNOWN_SUBJECT = "unknown_subject"  #: every name of the question is absent from the library
    LOW_CONFIDENCE = "low_confidence"  #: the best quote does not answer (ranker probability below the threshold)
    UNMATCHED = "unmatched"  #: the best quote is about another year, ordinal or name than the question's
    NO_ANSWER_TYPE = "no_answer_type"  #: the quotes hold no date / figure / name of the kind asked for
    INVENTED_FIGURE = "invented_figure"  #: shown the quotes, the model had to make up the figure asked for
    BENT_ORDINAL = "bent_ordinal"  #: the draft took the question's ordinal over quotes about another one
    NOT_ON_QUESTION = "not_on_question"  #: no passage speaks to an open question
    NO_ANSWER_SPAN = "no_answer_span"  #: the span reader finds no answer to the question in any quote


@dataclass(frozen=True)
class Outcome:
    """A failed check: its reason code and the message shown to the user."""

    reason: Reason
    message: str


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[Selection, AnswerSettings], Outcome | None]
    doc: str


def _listed(words: tuple[str, ...] | list[str], quote: str = "'") -> str:
    return ", ".join(f"{quote}{w}{quote}" for w in words[:3])


def _evidence(sel: Selection, _: AnswerSettings) -> Outcome | None:
    if not sel.evidence:
        return Outcome(Reason.NO_PASSAGE, "no passage in the sources matches the question")
    return None


def _unknown_subject(sel: Selection, _: AnswerSettings) -> Outcome | None:
    if sel.unknown_subject:  # the question is about names no document mentions: whatever matches is about something else
        return Outcome(Reason.UNKNOWN_SUBJECT, f"the library never mentions {_listed(sel.missing)}")
    return None


def _confidence(sel: Selection, settings: AnswerSettings) -> Outcome | None:
    threshold = (settings.min_confidence if not sel.ranked else
                 settings.fused_min_probability if settings.ranker == "fused" else settings.min_probability)
    if sel.confidence >= threshold:
        return None
    if sel.missing:
        return Outcome(Reason.LOW_CONFIDENCE,
                       f"no passage matches the question; the library never mentions {_listed(sel.missing)}")
    if sel.ranked:
        return Outcome(Reason.LOW_CONFIDENCE, "the closest passages are on the topic but none answers the question "
                       f"(best match {sel.confidence:.0%} likely, below the {threshold:.0%} needed)")
    return Outcome(Reason.LOW_CONFIDENCE, "the closest passages match the topic but not the question")


def _specifics(sel: Selection, _: AnswerSettings) -> Outcome | None:
    if sel.unmatched:
        return Outcome(Reason.UNMATCHED, f"the passages found are on the topic but not about {_listed(sel.unmatched, '')}")
    return None


_WHAT = {"time": "date or year", "published": "date", "person": "name", "org": "name"}


def _answer_type(sel: Selection, _: AnswerSettings) -> Outcome | None:
    if not sel.has_type:
        return Outcome(Reason.NO_ANSWER_TYPE,
                       f"the passages found are on the topic but give no {_WHAT.get(sel.kind, 'figure')} for it")
    return None


def _span_answer(sel: Selection, settings: AnswerSettings) -> Outcome | None:
    if (settings.span_abstain_margin is not None and sel.answer_margin is not None
            and sel.answer_margin < settings.span_abstain_margin):
        return Outcome(Reason.NO_ANSWER_SPAN, "the passages found are on the topic but none of them answers the "
                       "question (the answer reader finds no answer in them)")
    return None


#: in order: the first that fails decides
EVIDENCE_CHECKS: tuple[Check, ...] = (
    Check("evidence", _evidence, "some passage matched"),
    Check("unknown_subject", _unknown_subject, "the question's names occur in the library"),
    Check("confidence", _confidence, "the best quote is likely to answer (ranker probability, or the hand score)"),
    Check("specifics", _specifics, "the best quote's surroundings share the question's years, ordinals and names"),
    Check("answer_type", _answer_type, "the quotes hold the kind of thing asked for"),
    Check("span_answer", _span_answer, "the span reader finds an answer in some quote (trained to find none where "
          "there is none)"),
)

#: checks on the draft, run in answer_stream (named here so that they can be ablated like the others)
DRAFT_CHECKS = {
    "invented_figure": "a draft that has to invent the figure or date asked for means the quotes do not give it",
    "invented_span": "... unless the span reader reads the figure or date asked for in the best quote: then the "
                     "model wrote it badly, and the quote is shown",
    "bent_ordinal": "a draft that repeats the question's ordinal over quotes about another one",
}


def decide(selection: Selection, settings: AnswerSettings) -> Outcome | None:
    """None to answer, else the first failing evidence check's outcome."""
    for check in EVIDENCE_CHECKS:
        if check.name in settings.ablate:
            continue
        outcome = check.run(selection, settings)
        if outcome is not None:
            return outcome
    return None


#: the checks an open answer (list, explain, summary, compare) must pass: the fact-specific ones (the year,
#: ordinal or kind of thing asked for) do not apply to it
OPEN_CHECKS = ("evidence", "unknown_subject", "confidence")


def decide_open(selection: Selection, settings: AnswerSettings) -> Outcome | None:
    for check in EVIDENCE_CHECKS:
        if check.name in OPEN_CHECKS and check.name not in settings.ablate:
            outcome = check.run(selection, settings)
            if outcome is not None:
                return outcome
    return None


def check_names() -> list[str]:
    return [c.name for c in EVIDENCE_CHECKS if c.name != "evidence"] + list(DRAFT_CHECKS)
