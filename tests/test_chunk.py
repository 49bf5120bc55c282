"""Chunks and sentences carry exact character offsets into the document text (round-trip properties)."""

from __future__ import annotations

import pytest
from hypothesis import settings, example, given
from hypothesis import strategies as st

from lacqa.chunk import SEPARATORS, chunk_document, chunk_spans, sentence_spans, soft_breaks
from lacqa.config import ChunkSettings
from lacqa.load import load_documents
from lacqa.types import Chunk, Document

from .conftest import SEEDS


def make_doc(text: str) -> Document:
    return Document(doc_id="d1", source="d1.txt", title="T", text=text, sha256="0" * 64)


def check_chunks(doc: Document, chunks: list[Chunk], settings: ChunkSettings, placement: bool = True) -> None:
    """Round trip, size and ids always; with ``placement``, also order, bounded overlap and full coverage."""
    text = doc.text
    for i, c in enumerate(chunks):
        assert text[c.start : c.end] == c.text
        assert c.chunk_id == i
        assert c.text and c.text == c.text.strip(), "chunks carry no surrounding whitespace"
        assert len(c.text) <= settings.size
        assert (c.doc_id, c.source, c.title) == (doc.doc_id, doc.source, doc.title)
    if not placement:
        return
    for a, b in zip(chunks, chunks[1:]):
        assert a.start < b.start and a.end < b.end, f"out of order: {a.start, a.end} then {b.start, b.end}"
        assert b.start - a.end >= -min(settings.overlap, settings.size // 2), "overlap stays within the setting"
    covered = bytearray(len(text))
    for c in chunks:
        covered[c.start : c.end] = b"\x01" * (c.end - c.start)
    missing = [i for i, ch in enumerate(text) if not ch.isspace() and not covered[i]]
    assert not missing, f"characters not in any chunk at {missing[:5]}: {text[missing[0]:missing[0] + 20]!r}"


# Random text: arbitrary unicode, plus a few repeated words and separators so that identical pieces recur
# (the splitter returns strings; their offsets are found by searching, which repeated text makes tricky).
_piece = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30),
    st.sampled_from(["alpha ", "beta. ", "gamma, ", "delta; ", "\n", "\n\n", "  ", "Lima ", "Chile. "]),
)
random_text = st.lists(_piece, max_size=120).map("".join)
chunk_settings = st.builds(
    ChunkSettings,
    size=st.one_of(st.integers(100, 300), st.integers(100, 8000)),
    overlap=st.integers(0, 2000),
)


@given(random_text, chunk_settings)
def test_chunks_round_trip_are_ordered_and_cover_the_text(text: str, settings: ChunkSettings) -> None:
    doc = make_doc(text)
    chunks = chunk_document(doc, settings)
    check_chunks(doc, chunks, settings)


@given(st.lists(st.sampled_from(["ab ", "ab. ", "ab\n", "cd ", "x"]), min_size=50, max_size=400).map("".join),
       st.integers(0, 60))
def test_chunks_of_repetitive_text_round_trip(text: str, overlap: int) -> None:
    settings = ChunkSettings(size=100, overlap=overlap)
    doc = make_doc(text)
    check_chunks(doc, chunk_document(doc, settings), settings, placement=False)


@example(text="ab " * 50, overlap=0)
@example(text="ab " * 48 + "ab. ab ", overlap=3)  # found by Hypothesis in CI: a piece matched inside the overlap
@example(text="ab " * 50, overlap=2)
@settings(max_examples=500)
@given(st.lists(st.sampled_from(["ab ", "ab. ", "ab\n", "cd ", "x"]), min_size=50, max_size=400).map("".join),
       st.integers(0, 60))
def test_chunks_of_repetitive_text_are_ordered_and_cover_the_text(text: str, overlap: int) -> None:
    settings = ChunkSettings(size=100, overlap=overlap)
    doc = make_doc(text)
    check_chunks(doc, chunk_document(doc, settings), settings)


def langchain_pieces(text: str, settings: ChunkSettings) -> list[str]:
    """What LangChain's splitter, configured as lacqa's chunker describes, returns for ``text``."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(
        chunk_size=settings.size, chunk_overlap=min(settings.overlap, settings.size // 2), separators=SEPARATORS,
        keep_separator="end", strip_whitespace=True,
    ).split_text(text)


@settings(max_examples=300)
@example(text="The meeting was adjourned at noon. " * 200, settings=ChunkSettings())
@example(text="ab " * 48 + "ab. ab ", settings=ChunkSettings(size=100, overlap=4))
@given(st.one_of(random_text, st.lists(st.sampled_from(["ab ", "ab. ", "ab\n", "\n\n\n", " \t", "x"]),
                                       max_size=400).map("".join)), chunk_settings)
def test_chunks_are_the_pieces_of_the_langchain_splitter(text: str, settings: ChunkSettings) -> None:
    assert [text[s:e] for s, e in chunk_spans(text, settings)] == langchain_pieces(text, settings)


@pytest.mark.parametrize("times", [1, 65, 136, 137, 200, 1000])
def test_a_sentence_repeated_hundreds_of_times_is_placed_where_it_is(times: int) -> None:
    # issue 12: 137 copies and more raised 'AssertionError: chunk not found in document text' (the search for
    # each piece drifted to later copies until none was left)
    doc = make_doc("The meeting was adjourned at noon. " * times)
    settings = ChunkSettings()
    chunks = chunk_document(doc, settings)
    check_chunks(doc, chunks, settings)
    assert [c.text for c in chunks] == langchain_pieces(doc.text, settings)


def test_long_rule_line_chunks_are_placed_where_they_are() -> None:
    text = "Intro\n" + "=" * 250 + "\nBody text here."
    spans = chunk_spans(text, ChunkSettings(size=100, overlap=0))
    assert spans == [(0, 5), (6, 106), (106, 206), (206, 256), (257, 272)]


@given(random_text, st.integers(80, 1000))
def test_sentence_pieces_are_exact_substrings_within_max_chars(text: str, max_chars: int) -> None:
    spans = sentence_spans(text, max_chars)
    soft = set(soft_breaks(text))
    for s, e in spans:
        assert 0 <= s < e <= len(text)
        assert e - s <= max_chars
        assert "\n\n" not in text[s:e], "a sentence never runs over a paragraph break"
        assert all(i in soft for i, ch in enumerate(text[s:e], s) if ch == "\n"), "only over a wrapped line"
        assert not text[e - 1].isspace(), "no trailing whitespace"
    for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
        assert e1 <= s2, "sentences are in order and do not overlap"


def test_sentences_split_at_sentence_ends_but_not_abbreviations() -> None:
    text = "Dr. Li met Mr. Ruiz in Lima. They signed 3 accords. Trade grew!\nA new line starts here"
    pieces = [text[s:e] for s, e in sentence_spans(text)]
    assert pieces == [
        "Dr. Li met Mr. Ruiz in Lima.", "They signed 3 accords.", "Trade grew!", "A new line starts here",
    ]


def test_long_sentence_is_cut_at_clause_boundaries() -> None:
    text = "; ".join(f"clause number {i} about copper and lithium exports" for i in range(20)) + "."
    spans = sentence_spans(text, 120)
    assert len(spans) > 1
    for s, e in spans:
        assert e - s <= 120
    assert all(text[e - 1] == ";" for _, e in spans[:-1]), "cuts fall after a clause separator"


def test_chunk_spans_with_no_text() -> None:
    assert chunk_spans("", ChunkSettings()) == []
    assert chunk_spans("   \n\n  ", ChunkSettings()) == []


# --------------------------------------------------------------------------- the seeds


@pytest.fixture(scope="module")
def seed_docs() -> list[Document]:
    docs, _ = load_documents(SEEDS, 20_000_000)
    return docs


@pytest.mark.parametrize(
    "settings",
    [ChunkSettings(), ChunkSettings(size=200, overlap=0), ChunkSettings(size=1200, overlap=300)],
    ids=["default", "small", "large"],
)
def test_chunks_of_the_seeds(seed_docs: list[Document], settings: ChunkSettings) -> None:
    for doc in seed_docs:
        chunks = chunk_document(doc, settings)
        check_chunks(doc, chunks, settings)
        assert len(chunks) >= len(doc.text) // settings.size
        assert all(c.page is None for c in chunks)


def test_chunk_ids_continue_from_first_id(seed_docs: list[Document]) -> None:
    doc = seed_docs[0]
    chunks = chunk_document(doc, ChunkSettings(), first_id=100)
    assert [c.chunk_id for c in chunks] == list(range(100, 100 + len(chunks)))


def test_sentences_of_the_seeds(seed_docs: list[Document]) -> None:
    for doc in seed_docs:
        spans = sentence_spans(doc.text, 300)
        assert len(spans) > 10
        for s, e in spans:
            piece = doc.text[s:e]
            assert 2 <= len(piece) <= 300 and piece == piece.strip() and "\n\n" not in piece
        for (_, e1), (s2, _) in zip(spans, spans[1:]):
            assert e1 <= s2


PDF_PAGE = """Annual Report 2023
The authority generates, distributes and sells electricity on the island of Kessary and its two
inhabited neighbours. The new battery at Skerrow was supplied by
Norvolt Energy Systems of Trondheim and was commissioned on 6 July 2023, three weeks
ahead of the schedule agreed with the contractor.
Key figures
- Staff employed at year end: 143
- Customers: 9,870
"""


def test_sentences_run_over_wrapped_lines_but_not_headings_or_lists() -> None:
    text = PDF_PAGE
    sentences = [" ".join(text[s:e].split()) for s, e in sentence_spans(text, 300)]
    assert "The new battery at Skerrow was supplied by Norvolt Energy Systems of Trondheim and was commissioned " \
           "on 6 July 2023, three weeks ahead of the schedule agreed with the contractor." in sentences
    assert "Annual Report 2023" in sentences and "Key figures" in sentences
    assert "- Staff employed at year end: 143" in sentences


def test_one_paragraph_per_line_keeps_its_breaks() -> None:
    text = "A Title Of Some Length Without Any Full Stop At All\n" + "\n".join(
        f"Paragraph {i} is a long line of web capture text that runs on well past any wrap width, " * 3 + "end."
        for i in range(5))
    assert soft_breaks(text) == []
