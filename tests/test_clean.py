"""Cleaning of web-capture boilerplate: on the real seeds, and as a property (lines are dropped, never rewritten)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lacqa.clean import Line, clean_lines, find_metadata, find_title, is_boilerplate, split_lines
from lacqa.load import SourceFile, load_documents, parse
from lacqa.types import Document

from .conftest import SEEDS


@pytest.fixture(scope="module")
def seed_docs() -> dict[str, Document]:
    docs, skipped = load_documents(SEEDS, 20_000_000)
    assert skipped == []
    return {d.source: d for d in docs}


def seed(docs: dict[str, Document], prefix: str) -> Document:
    return next(d for name, d in docs.items() if name.startswith(prefix))


def lines_of(text: str) -> list[str]:
    return text.split("\n")


# --------------------------------------------------------------------------- the seeds


def test_all_five_seeds_load(seed_docs: dict[str, Document]) -> None:
    assert sorted(seed_docs) == sorted(p.name for p in SEEDS.glob("*.txt"))
    assert len(seed_docs) == 5


def test_seed_000_event_ad_and_site_tail_are_removed(seed_docs: dict[str, Document]) -> None:
    doc = seed(seed_docs, "000_")
    for gone in (
        "Join us for a free one-day workshop", "Japanese American National Museum", "Featured Articles",
        "Grad Mixer", "RSVP link", "David M. Lampton", "Other articles and documents",
        "Click here for a listing", "The Dragon in the Room",
    ):
        assert gone not in doc.text, gone
    assert "Events" not in lines_of(doc.text)
    # the title printed twice in a row is kept once; the policy paper itself is all there
    assert doc.text.startswith("China's Policy Paper on Latin America and the Caribbean\nForeword\n")
    assert doc.text.endswith("cooperation with relevant organizations in various fields.")


def test_seed_002_breadcrumb_and_share_link_are_removed(seed_docs: dict[str, Document]) -> None:
    doc = seed(seed_docs, "002_")
    assert "Home > About China > Economy & Trade" not in doc.text
    assert "[Suggest to a Friend]" not in doc.text and "Suggest to a Friend" not in doc.text
    assert "BEIJING, Nov. 21 (Xinhua) -- Following his trip to Washington" in doc.text
    assert doc.text.endswith("for the development of Chinese-Latin American ties.")


def test_seed_003_language_bar_breadcrumb_and_print_are_removed(seed_docs: dict[str, Document]) -> None:
    doc = seed(seed_docs, "003_")
    for gone in ("中文 | Español", "中文", "Home > China-CELAC Relations", "Suggest to a friend"):
        assert gone not in doc.text, gone
    assert "Print" not in lines_of(doc.text)
    assert doc.text.endswith(
        "(The author is the Director General of Latin American and Caribbean Affairs of the Ministry of "
        "Foreign Affairs)"
    )


def test_cleaning_only_removes_chrome(seed_docs: dict[str, Document]) -> None:
    """Over-cleaning guard: each seed keeps at least 90% of its characters."""
    for name, doc in seed_docs.items():
        raw = (SEEDS / name).read_text(encoding="utf-8")
        assert len(doc.text) >= 0.9 * len(raw.strip()), name


def test_every_cleaned_line_is_a_source_line_in_order(seed_docs: dict[str, Document]) -> None:
    for name, doc in seed_docs.items():
        source_lines = [ln.strip() for ln in (SEEDS / name).read_text(encoding="utf-8").split("\n")]
        it = iter(source_lines)
        for line in lines_of(doc.text):
            assert line, f"{name}: empty line in cleaned text"
            # `in it` consumes the iterator: the cleaned lines appear in the source in the same order
            assert line in it, f"{name}: line not found verbatim (in order) in the source: {line[:60]!r}"


@pytest.mark.parametrize(
    ("prefix", "title", "author", "date"),
    [
        ("000_", "China's Policy Paper on Latin America and the Caribbean", None, None),
        ("001_", "Towards a Community of Shared Future Between China and Latin America and the Caribbean",
         "Zhu Qingqiao", None),
        ("002_", "China, Latin America join hands in creating model for South-South Cooperation (11/22/08)",
         None, "11/22/08"),
        ("003_", "China-LAC Overall Cooperation Pushes Ahead on a Great Journey", "Zhu Qingqiao", "2016-02-05"),
        ("004_", "Article [EN] Research on the foundation and current situation of China-Latin America cooperation",
         "Hanqi Lu", None),
    ],
)
def test_seed_titles_and_metadata(
    seed_docs: dict[str, Document], prefix: str, title: str, author: str | None, date: str | None
) -> None:
    doc = seed(seed_docs, prefix)
    assert doc.title == title
    assert doc.author == author
    assert doc.date == date


# --------------------------------------------------------------------------- rules


@pytest.mark.parametrize(
    "line",
    [
        "Print", "[Suggest to a Friend]", "Suggest to a friend:", "Share this article", "Back to top",
        "Home > About China > Economy & Trade", "Home » News", "中文 | Español", "English | Français | Português",
        "We use cookies to improve your browsing experience. Accept?", "Join us for a free one-day workshop.",
        "Please join us for the Grad Mixer!", "RSVP link: https://example.org", "Click here for a listing.",
    ],
)
def test_boilerplate_lines(line: str) -> None:
    assert is_boilerplate(line)


@pytest.mark.parametrize(
    "line",
    [
        "Print media in Brazil grew quickly in the 1990s.",
        "Chinese and Spanish speakers met in Lima.",
        "The home market absorbed most of the output.",
        "Events in Venezuela escalated in 2019.",
        "Cookies and biscuits are exported to Chile.",
        "English | Spanish trade glossary for exporters, with notes on tariffs and regional rules of origin",
    ],
)
def test_text_lines_are_kept(line: str) -> None:
    assert not is_boilerplate(line)
    assert [ln.text for ln in clean_lines(split_lines(line))] == [line]


def test_footer_marker_early_in_a_document_does_not_cut_the_rest() -> None:
    lines = split_lines("\n".join(["A Title", "Events", *[f"Paragraph number {i} of the article." for i in range(10)]]))
    assert [ln.text for ln in clean_lines(lines)] == [ln.text for ln in lines]


def test_footer_marker_late_in_a_document_cuts_the_tail() -> None:
    body = [f"Paragraph number {i} of the article." for i in range(10)]
    lines = split_lines("\n".join([*body, "Related Articles", "Another story entirely", "And one more"]))
    assert [ln.text for ln in clean_lines(lines)] == body


def test_find_title_prefers_markdown_heading() -> None:
    lines = split_lines("Some intro sentence that ends with a period.\n## The Real Title\nBody text.")
    assert find_title(lines) == "The Real Title"
    date, author = find_metadata(split_lines("A Title\nBy Ana María Pérez\nMarch 3, 2021\nText."), "A Title")
    assert (date, author) == ("March 3, 2021", "Ana María Pérez")


# --------------------------------------------------------------------------- properties

BOILERPLATE = [
    "Print", "Share", "[Suggest to a Friend]", "Home > About > News", "中文 | Español", "Featured Articles",
    "Events", "Join us for a free workshop", "We use cookies on this site", "Related Articles", "© 2024 Someone",
    "RSVP now", "Click here to read more", "Menu", "Copyright 2020 ACME",
]
text_line = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"), max_size=60)
any_line = st.one_of(text_line, st.sampled_from(BOILERPLATE), st.sampled_from(BOILERPLATE).map(lambda s: f"  {s}\t"))


@given(st.lists(any_line, max_size=40))
def test_clean_lines_only_drops_lines(raw_lines: list[str]) -> None:
    text = "\n".join(raw_lines)
    lines = split_lines(text)
    for ln in lines:
        assert text[ln.start : ln.start + len(ln.text)] == ln.text
        assert ln.text == ln.text.strip() and ln.text
    kept = clean_lines(lines)
    stripped_input = [r.strip() for r in raw_lines]
    it = iter(lines)
    for ln in kept:
        assert isinstance(ln, Line)
        assert ln.text in stripped_input
        assert any(ln is orig for orig in it), "kept lines are the input's own lines, in order"


@given(st.lists(any_line, min_size=1, max_size=30), st.sampled_from(["\n", "\r\n", "\r"]))
def test_parsed_text_lines_are_input_lines(raw_lines: list[str], newline: str) -> None:
    data = newline.join(raw_lines).encode("utf-8")
    source = SourceFile(Path("doc.txt"), "doc.txt", data, hashlib.sha256(data).hexdigest())
    try:
        doc = parse(source)
    except ValueError:
        return  # nothing left after cleaning (or too many control characters): skipped, fine
    decoded = data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    stripped = {r.strip() for r in decoded.split("\n")}
    for line in doc.text.split("\n"):
        assert line in stripped
