"""Hostile files through the whole ingestion path (read, clean, chunk, split into sentences, embed, publish).

One bad file may cost only itself: it is skipped with a one-line reason and the rest is indexed. The build
raises only SourceError, and only when no file at all is readable. Every stored chunk and sentence lies
where its offsets say, in its document. Builds run on the deterministic HashEmbedder in a fresh temporary
folder per example (pytest's tmp_path is one folder per test, not per Hypothesis example).
"""

from __future__ import annotations

import io
import random
import re
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lacqa import build as build_module
from lacqa import load as load_module
from lacqa.build import BuildReport
from lacqa.chunk import chunk_spans
from lacqa.config import Settings
from lacqa.embed import HashEmbedder
from lacqa.errors import IndexError_, SourceError
from lacqa.html import html_to_text
from lacqa.load import SUPPORTED, scan_sources
from lacqa.pipeline import Assistant
from lacqa.store import text_hash

from .test_formats import BOOK, BOOK_FILES, BOOK_TOC, REPORT, chapter, make_epub
from .test_load import PAGE, PDF_PAGES, make_pdf

GOOD_NAME = "good.txt"
GOOD = "Trade Note\n\nThe Andean Community signed a trade accord with several partners in the spring.\n"
SENTENCE = "The meeting was adjourned at noon. "


# --------------------------------------------------------------------------- building and checking


@contextmanager
def library(files: dict[str, bytes]) -> Iterator[Assistant]:
    """An Assistant on the HashEmbedder over a fresh sources folder holding ``files`` (nothing built yet)."""
    with tempfile.TemporaryDirectory(prefix="lacqa-hostile-") as tmp:
        root = Path(tmp)
        sources = root / "sources"
        sources.mkdir()
        for name, data in files.items():
            (sources / name).write_bytes(data)
        yield Assistant(Settings(sources_dir=sources, index_dir=root / "index"), embedder=HashEmbedder())


def index(files: dict[str, bytes]) -> BuildReport | None:
    """Build over ``files`` and check what was stored; None when the build found nothing readable."""
    with library(files) as assistant:
        try:
            report = assistant.index()
        except SourceError as exc:
            assert "nothing to index" in str(exc) and "\n" not in str(exc)
            return None
        assert report.published
        check_generation(assistant, report, set(files))
        return report


def check_generation(assistant: Assistant, report: BuildReport, names: set[str]) -> None:
    """Every file is indexed or skipped with a one-line reason; every chunk and sentence is where it says."""
    gen = assistant.generation()
    indexed = {d.source for d in gen.documents.values()}
    skipped = {s.source: s.reason for s in report.skipped}
    assert indexed | set(skipped) == names and not indexed & set(skipped)
    # files the scan refuses (empty, unsupported, too large) are refused again each time; the others are
    # recorded with their hash so that an unchanged bad file is not parsed again
    settings = assistant.settings
    scanned = {s.source for s in scan_sources(settings.sources_dir, int(settings.max_file_mb * 1e6)).skipped}
    assert set(gen.manifest["skipped"]) == set(skipped) - scanned and set(gen.manifest["sources"]) == indexed
    for source, reason in [*skipped.items(), *((s, r["reason"]) for s, r in gen.manifest["skipped"].items())]:
        assert reason.strip() and "\n" not in reason, f"{source}: reason not on one line: {reason!r}"
    size = assistant.settings.chunk.size
    for doc in gen.documents.values():
        chunks = [c for c in gen.chunks if c.doc_id == doc.doc_id]
        assert chunks, f"{doc.source}: indexed without a chunk"
        for chunk in chunks:
            assert doc.text[chunk.start : chunk.end] == chunk.text and 0 < len(chunk.text) <= size
        assert [(c.start, c.end) for c in chunks] == chunk_spans(doc.text, assistant.settings.chunk)
        assert all(a.start < b.start for a, b in zip(chunks, chunks[1:])), f"{doc.source}: chunks out of order"
        covered = bytearray(len(doc.text))
        for c in chunks:
            covered[c.start : c.end] = b"\x01" * (c.end - c.start)
        assert all(covered[i] or ch.isspace() for i, ch in enumerate(doc.text)), f"{doc.source}: text in no chunk"
        for sentence in gen.sentences_by_doc.get(doc.doc_id, []):
            assert 0 <= sentence.start < sentence.end <= len(doc.text)
    # what was embedded is the text the offsets point at (stored text is re-cut from the offsets on open)
    assert gen.chunk_hashes == [text_hash(c.text) for c in gen.chunks]
    by_id = gen.documents
    assert gen.sentence_hashes == [text_hash(by_id[s.doc_id].text[s.start : s.end]) for s in gen.sentences]


def with_good(files: dict[str, bytes]) -> dict[str, bytes]:
    return {**files, GOOD_NAME: GOOD.encode()}


def assert_good_indexed(report: BuildReport | None) -> BuildReport:
    assert report is not None, "a folder with one good file must publish"
    assert GOOD_NAME not in {s.source for s in report.skipped}
    return report


# --------------------------------------------------------------------------- deep HTML

# elements that nest in each other as written (a <p>, <a>, <li>, heading or table in its own kind closes the
# one before it, and <script>, <template> or <select> would swallow the rest): the chain the page goes down
NESTING = ("div", "span", "b", "i", "em", "section", "article", "main", "blockquote", "font", "ul", "nav", "center")
# complete elements hung on the chain as siblings, dropped tags and chrome among them
LEAVES = ("<p>One paragraph.</p>", "<a href=x>a link</a>", "<li>an item</li>", "<h2>A Heading</h2>",
          "<pre> pre  text </pre>", "<script>var x = '<div>';</script>", "<svg><g><text>drawn</text></g></svg>",
          "<select><option>choice</option></select>", "<template><p>hidden</p></template>", "<br>", "<img src=x>",
          "<table><tr><td>cell</td><td>two</td></tr></table>", "<!-- a comment -->", "&amp; &lt;b&gt; ", "\u00a0",
          "word ", SENTENCE, "Dr. Li. ", "<footer>chrome</footer>", "<p>two <p>paragraphs</p>")
ATTRS = ("", "", "", ' class="share-bar"', ' id="n{n}"', ' role="main"', ' class="body text"', ' style="x"')


def html_tree(depth: int, seed: int, closed: bool) -> str:
    """A random page whose deepest element sits ``depth`` levels down, with siblings and text on the way;
    with ``closed`` False the page stops without closing anything (a truncated download)."""
    rng = random.Random(seed)
    out = ["<!DOCTYPE html><html><head><title>Deep page</title></head><body>"]
    stack: list[str] = []
    while len(stack) < depth:
        if stack and rng.random() < 0.1:
            out.append(f"</{stack.pop()}>")  # the next element opened is a sibling
        if rng.random() < 0.3:
            out.append(rng.choice(LEAVES))
        tag = rng.choice(NESTING)
        out.append(f"<{tag}{rng.choice(ATTRS).format(n=len(stack))}>")
        stack.append(tag)
    out.append("Copper left the port of Antofagasta.")
    if closed:
        out.extend(f"</{tag}>" for tag in reversed(stack))
        out.append("</body></html>")
    return "".join(out)


def tree_depth(page: str) -> int:
    """How deep the parsed page really is (the parser may close elements the page left open)."""
    from selectolax.lexbor import LexborHTMLParser

    deepest, stack = 0, [(LexborHTMLParser(page).root, 0)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        child = node.child if node is not None else None
        while child is not None:
            stack.append((child, level + 1))
            child = child.next
    return deepest


def test_the_random_pages_are_as_deep_as_asked() -> None:
    assert tree_depth(html_tree(10_000, 1, closed=False)) >= 10_000
    assert tree_depth(html_tree(10_000, 2, closed=True)) >= 10_000


@settings(max_examples=8)
@example(depth=10_000, seed=0, closed=True)
@example(depth=10_000, seed=1, closed=False)
@given(st.one_of(st.integers(1, 100), st.integers(1_000, 10_000)), st.integers(0, 2**32), st.booleans())
def test_random_html_trees_up_to_10000_deep_never_break_a_build(depth: int, seed: int, closed: bool) -> None:
    page = html_tree(depth, seed, closed).encode()
    assert_good_indexed(index(with_good({"deep.html": page, "deep.htm": page[: len(page) // 2]})))


@pytest.mark.parametrize("depth", [5_000, 10_000])
def test_html_nested_10000_divs_deep_keeps_its_text(depth: int) -> None:
    text = "Copper left the port of Antofagasta."
    page = "<html><body>" + "<div>" * depth + text + "</div>" * depth + "</body></html>"
    assert html_to_text(page) == (text, None)
    report = assert_good_indexed(index(with_good({"deep.html": page.encode()})))
    assert report.skipped == [] and report.documents == 2


def walk_recursive(node, parts: list[str], lists: list[list[int]] | None = None,  # type: ignore[no-untyped-def]
                   row: list[int] | None = None, state: dict[str, bool] | None = None) -> None:
    """The walk written recursively, as html.py had it before it became iterative (a block is a line; an item
    line opens with its bullet or number, a heading with its marks, a table row is one line between bars): the
    reference the iterative walk must give the same text as."""
    from lacqa.html import _BLOCKS, _HEADINGS, _start, item_mark

    lists = [] if lists is None else lists
    state = {"marked": False} if state is None else state
    child = node.child
    while child is not None:
        tag = child.tag
        if tag == "-text":
            text = child.text_content or ""
            parts.append(re.sub(r"[\r\n]+", " ", text) if row is not None else text)  # a row is one line
            state["marked"] = state["marked"] and not (child.text_content or "").strip()
        elif tag != "-comment":
            if tag == "tr" and row is None:
                parts.append("\n| ")
                walk_recursive(child, parts, lists, [0], state)
                parts.append(" |")
            elif tag in ("td", "th") and row is not None:
                parts.append(" | " if row[0] else "")
                row[0] += 1
                walk_recursive(child, parts, lists, row, state)
            elif tag in ("ul", "ol"):
                sep = " " if row is not None else "\n"
                parts.append(sep)
                walk_recursive(child, parts, [*lists, [_start(child) if tag == "ol" else -1]], row, state)
                parts.append(sep)
            elif tag in _BLOCKS and not (state["marked"] and tag not in ("li", *_HEADINGS)):
                sep = " " if row is not None else "\n"
                parts.append(sep)
                if row is None and tag == "li" and lists:
                    parts.append(item_mark(lists))
                    state["marked"] = True
                elif row is None and tag in _HEADINGS:
                    parts.append("#" * int(tag[1]) + " ")
                    state["marked"] = True
                walk_recursive(child, parts, lists, row, state)
                parts.append(sep)
            else:
                walk_recursive(child, parts, lists, row, state)
        child = child.next


@settings(max_examples=60)
@example(depth=0, seed=0, closed=True)
@given(st.integers(0, 60), st.integers(0, 2**32), st.booleans())
def test_iterative_walk_gives_the_text_of_the_recursive_one(depth: int, seed: int, closed: bool) -> None:
    from selectolax.lexbor import LexborHTMLParser

    from lacqa.html import _walk

    for page in (PAGE, html_tree(depth, seed, closed)):
        tree = LexborHTMLParser(page)
        for root in (tree.body, tree.css_first("div"), tree.css_first("table")):
            if root is None:
                continue
            iterative: list[str] = []
            recursive: list[str] = []
            _walk(root, iterative)
            walk_recursive(root, recursive)
            assert "".join(iterative) == "".join(recursive)


# --------------------------------------------------------------------------- repetition


UNITS = (SENTENCE.strip(), "Form 12 received", "noon", "ok", "x", "=", "Dr.", "A.", "\u2014", "\u5317\u4eac",
         "\U0001f642", "e.g.", "<p>same</p>", "# Heading", "- item")
SEPARATORS = ("", " ", ". ", "\n", "\n\n", ", ", "; ", " \n", "\t")


@settings(max_examples=30)
@example(unit=SENTENCE.strip(), sep=" ", times=200, suffix=".txt")  # the report: 137+ copies crashed
@example(unit="x", sep="", times=200_000, suffix=".txt")  # one 200 KB word
@example(unit="A.", sep=" ", times=50_000, suffix=".md")  # every full stop an abbreviation
@given(st.sampled_from(UNITS), st.sampled_from(SEPARATORS), st.integers(1, 5_000), st.sampled_from(SUPPORTED[:5]))
def test_long_repetitions_are_indexed_whole(unit: str, sep: str, times: int, suffix: str) -> None:
    text = (unit + sep) * times
    report = assert_good_indexed(index(with_good({f"repeated{suffix}": text.encode()})))
    # the repeated file is readable text: it is indexed unless cleaning leaves nothing (a lone mark, a tag)
    for s in report.skipped:
        assert s.reason == "no text left after cleaning", s


# --------------------------------------------------------------------------- random bytes, broken PDFs

PREFIXES = (b"", b"", b"%PDF-1.4\n", b"<html><body>", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff\x00\x00", b"\x00",
            b"PK\x03\x04", b"PK\x05\x06" + bytes(18))  # a ZIP's local header; an empty ZIP's whole directory
# bytes of every size (Hypothesis draws small ones first, so large ones come from a seeded generator) and
# arbitrary text, which gets past decoding into cleaning, chunking and sentence splitting
hostile_bytes = st.one_of(
    st.binary(min_size=1, max_size=200),
    st.builds(lambda n, seed: random.Random(seed).randbytes(n), st.integers(200, 50_000), st.integers(0, 2**32)),
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=2_000).map(str.encode),
)
hostile_file = st.tuples(st.sampled_from(SUPPORTED), st.sampled_from(PREFIXES), hostile_bytes)


@settings(max_examples=40)
@given(st.lists(hostile_file, min_size=1, max_size=6))
def test_random_bytes_in_every_suffix_cost_only_their_file(files: list[tuple[str, bytes, bytes]]) -> None:
    hostile = {f"f{i}{suffix}": prefix + data for i, (suffix, prefix, data) in enumerate(files)}
    assert_good_indexed(index(with_good(hostile)))


@settings(max_examples=25)
@given(st.lists(hostile_file, min_size=1, max_size=4))
def test_a_folder_of_only_hostile_files_publishes_or_says_nothing_is_readable(
    files: list[tuple[str, bytes, bytes]],
) -> None:
    index({f"f{i}{suffix}": prefix + data for i, (suffix, prefix, data) in enumerate(files)})  # checks inside


def valid_pdf() -> bytes:
    """A small valid PDF: the hand-made one rewritten by pypdf with compressed streams, so that damage also
    lands inside zlib data, object streams and the cross-reference table pypdf writes."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(PDF_PAGES, title="Commodity Report 2024"))))
    for page in writer.pages:
        page.compress_content_streams()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


VALID_PDF = valid_pdf()


def nested_pdf(depth: int) -> bytes:
    """A PDF whose catalog holds an array nested ``depth`` deep, past any recursive object parser's stack."""
    return make_pdf(PDF_PAGES).replace(b"/Type /Catalog", b"/Type /Catalog /Deep " + b"[" * depth + b"]" * depth)


def test_the_valid_pdf_is_indexed_with_its_pages() -> None:
    report = index(with_good({"report.pdf": VALID_PDF}))
    assert report is not None and report.skipped == [] and report.documents == 2


@pytest.mark.parametrize("depth", [100, 10_000, 100_000])
def test_deeply_nested_pdf_objects_cost_only_their_file(depth: int) -> None:
    assert_good_indexed(index(with_good({"nested.pdf": nested_pdf(depth)})))


def damage_of(data: bytes) -> st.SearchStrategy[tuple[str, int, bytes]]:
    """One way to damage ``data``: truncate it, overwrite, insert or cut out a few bytes somewhere."""
    return st.one_of(
        st.builds(lambda n: ("truncate", n, b""), st.integers(0, len(data))),
        st.builds(lambda i, b: ("flip", i, b), st.integers(0, len(data) - 1), st.binary(min_size=1, max_size=8)),
        st.builds(lambda i, b: ("insert", i, b), st.integers(0, len(data)), st.binary(min_size=1, max_size=64)),
        st.builds(lambda i, n: ("cut", i, bytes(n)), st.integers(0, len(data)), st.integers(1, 400)),
    )


damage = damage_of(VALID_PDF)


def damaged(data: bytes, how: tuple[str, int, bytes]) -> bytes:
    kind, at, extra = how
    if kind == "truncate":
        return data[:at]
    if kind == "flip":
        return data[:at] + extra + data[at + len(extra) :]
    if kind == "insert":
        return data[:at] + extra + data[at:]
    return data[:at] + data[at + len(extra) :]  # cut out len(extra) bytes


@settings(max_examples=40)
@example(how=[("truncate", 400, b"")])
@example(how=[("truncate", len(VALID_PDF) - 30, b"")])  # the cross-reference table and trailer gone
@given(st.lists(damage, min_size=1, max_size=3))
def test_broken_pdfs_cost_only_their_file(how: list[tuple[str, int, bytes]]) -> None:
    data = VALID_PDF
    for step in how:
        data = damaged(data, step)
    report = assert_good_indexed(index(with_good({"broken.pdf": data})))
    for s in report.skipped:
        assert "PDF" in s.reason or s.reason in ("empty file", "no text left after cleaning"), s


# --------------------------------------------------------------------------- broken Word files and EPUBs

WORDY = ("Word", "EPUB")  # every reason for a damaged .docx or .epub names its format


def assert_worded(report: BuildReport) -> None:
    for s in report.skipped:
        assert any(w in s.reason for w in WORDY) or s.reason in ("empty file", "no text left after cleaning"), s


@settings(max_examples=40)
@example(how=[("truncate", 400, b"")])
@example(how=[("truncate", len(REPORT) - 22, b"")])  # the end of the ZIP directory gone
@given(st.lists(damage_of(REPORT), min_size=1, max_size=3))
def test_broken_word_files_cost_only_their_file(how: list[tuple[str, int, bytes]]) -> None:
    data = REPORT
    for step in how:
        data = damaged(data, step)
    assert_worded(assert_good_indexed(index(with_good({"broken.docx": data}))))


@settings(max_examples=40)
@example(how=[("truncate", 400, b"")])
@example(how=[("flip", BOOK.index(b"OEBPS/content.opf") + 2, b"\xff")])  # a member's name in its header
@given(st.lists(damage_of(BOOK), min_size=1, max_size=3))
def test_broken_epubs_cost_only_their_file(how: list[tuple[str, int, bytes]]) -> None:
    data = BOOK
    for step in how:
        data = damaged(data, step)
    assert_worded(assert_good_indexed(index(with_good({"broken.epub": data}))))


def rezipped(data: bytes, member: str, content: bytes) -> bytes:
    """The ZIP ``data`` with ``member`` holding ``content`` (compressed, with a right CRC): damage past the
    archive, inside the XML or XHTML a reader parses."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in source.infolist():
            z.writestr(info.filename, content if info.filename == member else source.read(info))
    return out.getvalue()


MEMBERS = st.sampled_from([
    ("broken.docx", REPORT, "word/document.xml"), ("broken.docx", REPORT, "word/styles.xml"),
    ("broken.docx", REPORT, "[Content_Types].xml"), ("broken.docx", REPORT, "word/_rels/document.xml.rels"),
    ("broken.epub", BOOK, "OEBPS/text/ch2.xhtml"), ("broken.epub", BOOK, "OEBPS/content.opf"),
    ("broken.epub", BOOK, "OEBPS/nav.xhtml"), ("broken.epub", BOOK, "META-INF/container.xml"),
])


@settings(max_examples=40)
@given(MEMBERS, st.sampled_from((b"", b"<?xml version='1.0'?>", b"<w:document>", b"<html><body>")), hostile_bytes)
def test_hostile_bytes_inside_a_word_file_or_epub_cost_only_their_file(
    member: tuple[str, bytes, str], prefix: bytes, data: bytes
) -> None:
    name, archive, path = member
    assert_worded(assert_good_indexed(index(with_good({name: rezipped(archive, path, prefix + data)}))))


W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


@pytest.mark.parametrize("depth", [100, 10_000])
def test_deeply_nested_word_content_costs_only_its_file(depth: int) -> None:
    deep = ("<w:sdt><w:sdtContent>" * depth + "<w:p><w:r><w:t>Deep text in a Word file.</w:t></w:r></w:p>"
            + "</w:sdtContent></w:sdt>" * depth)
    body = f'<?xml version="1.0"?><w:document {W}><w:body>{deep}</w:body></w:document>'.encode()
    report = assert_good_indexed(index(with_good({"deep.docx": rezipped(REPORT, "word/document.xml", body)})))
    assert_worded(report)
    assert report.skipped == [] if depth == 100 else report.documents >= 1


@pytest.mark.parametrize("depth", [5_000, 10_000])
def test_an_epub_chapter_nested_10000_deep_keeps_its_text(depth: int) -> None:
    text = "Copper left the port of Antofagasta."
    book = make_epub({**BOOK_FILES, "deep.xhtml": chapter("<div>" * depth + text + "</div>" * depth)}, BOOK_TOC)
    with library(with_good({"deep.epub": book})) as assistant:
        report = assistant.index()
        assert report.skipped == [] and report.documents == 2
        doc = next(d for d in assistant.generation().documents.values() if d.source == "deep.epub")
        assert doc.text.endswith(text)


# --------------------------------------------------------------------------- any failure in one file's path


STAGES = {
    "read": ("could not be read", lambda mp, boom: mp.setitem(load_module.READERS, ".md", boom)),
    "clean": ("could not be cleaned", lambda mp, boom: mp.setattr(load_module, "clean_lines", boom)),
    "chunk": ("could not be chunked", lambda mp, boom: mp.setattr(build_module, "chunk_document", boom)),
    "sentences": ("could not be split into sentences",
                  lambda mp, boom: mp.setattr(build_module, "sentence_spans", boom)),
}


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_an_unexpected_error_in_any_stage_skips_only_that_file(
    stage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    words, patch = STAGES[stage]
    real = {"read": load_module.READERS[".md"], "clean": load_module.clean_lines,
            "chunk": build_module.chunk_document, "sentences": build_module.sentence_spans}[stage]

    def boom(*args, **kwargs):  # type: ignore[no-untyped-def]
        # fail on the Markdown file only; its text reaches every stage after reading as its cleaned lines
        first = args[0]
        if stage == "read" or "Markdown" in str(getattr(first, "text", first)):
            raise RecursionError("maximum recursion depth exceeded\nwhile walking")
        return real(*args, **kwargs)

    patch(monkeypatch, boom)
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / GOOD_NAME).write_text(GOOD)
    (sources / "note.md").write_text("# Markdown Note\n\nMarkdown notes fail in this test.\n")
    assistant = Assistant(Settings(sources_dir=sources, index_dir=tmp_path / "index"), embedder=HashEmbedder())
    report = assistant.index()
    assert report.published and report.added == [GOOD_NAME] and report.documents == 1
    [skip] = report.skipped
    assert skip.source == "note.md"
    assert skip.reason == f"{words}: RecursionError: maximum recursion depth exceeded while walking"
    manifest = assistant.generation().manifest
    assert manifest["skipped"]["note.md"]["reason"] == skip.reason
    check_generation(assistant, report, {GOOD_NAME, "note.md"})


def test_a_reused_document_that_fails_to_segment_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unchanged documents are re-chunked from the previous generation: a failure there skips only them."""
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / GOOD_NAME).write_text(GOOD)
    (sources / "old.txt").write_text("Old Note\n\nThe old note talks about tin from Potosi.\n")
    assistant = Assistant(Settings(sources_dir=sources, index_dir=tmp_path / "index"), embedder=HashEmbedder())
    assert assistant.index().documents == 2

    real = build_module.chunk_document

    def boom(doc, *args, **kwargs):  # type: ignore[no-untyped-def]
        if doc.source == "old.txt":
            raise MemoryError()
        return real(doc, *args, **kwargs)

    monkeypatch.setattr(build_module, "chunk_document", boom)
    (sources / "new.txt").write_text("New Note\n\nThe new note talks about copper.\n")
    report = assistant.index()
    assert report.published and report.added == ["new.txt"] and report.unchanged == [GOOD_NAME]
    assert [(s.source, s.reason) for s in report.skipped] == [("old.txt", "could not be chunked: MemoryError")]
    assert sorted(d.source for d in assistant.generation().documents.values()) == [GOOD_NAME, "new.txt"]


def test_a_folder_where_every_file_fails_raises_source_error(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "a.pdf").write_bytes(VALID_PDF[:300])
    (sources / "b.txt").write_bytes(b"\x00\x01" * 50)
    assistant = Assistant(Settings(sources_dir=sources, index_dir=tmp_path / "index"), embedder=HashEmbedder())
    with pytest.raises(SourceError) as info:
        assistant.index()
    message = str(info.value)
    assert "\n" not in message and "no readable document (2 skipped: a.pdf: unreadable PDF: " in message
    assert "; b.txt: binary file (contains NUL bytes)); the previous index, if any, keeps serving" in message


def test_an_index_folder_that_cannot_be_written_is_an_index_error(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / GOOD_NAME).write_text(GOOD)
    (tmp_path / "a-file").write_text("not a folder")
    settings = Settings(sources_dir=sources, index_dir=tmp_path / "a-file" / "index")
    with pytest.raises(IndexError_, match="cannot write the index in .*a-file/index: Not a directory"):
        Assistant(settings, embedder=HashEmbedder()).index()


# --------------------------------------------------------------------------- as a user sees it: `lacqa index`


@pytest.fixture
def lacqa_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run `lacqa index` on a sources folder of the given files (HashEmbedder in place of MiniLM)."""
    from typer.testing import CliRunner

    from lacqa import pipeline
    from lacqa.cli import app

    monkeypatch.setattr(pipeline, "make_embedder", lambda *args, **kwargs: HashEmbedder())

    def run(files: dict[str, bytes], index_dir: Path | None = None):  # type: ignore[no-untyped-def]
        sources = tmp_path / "sources"
        sources.mkdir(exist_ok=True)
        for name, data in files.items():
            (sources / name).write_bytes(data)
        args = ["index", "--sources", str(sources), "--index", str(index_dir or tmp_path / "index")]
        return CliRunner().invoke(app, args, catch_exceptions=False)

    return run


def test_cli_indexes_the_rest_and_lists_each_skip_on_one_line(lacqa_index) -> None:  # type: ignore[no-untyped-def]
    page = "<html><body>" + "<div>" * 5_000 + "Deep text." + "</div>" * 5_000
    result = lacqa_index(with_good({
        "deep.html": page.encode(), "minutes.txt": ("Minutes\n\n" + SENTENCE * 200).encode(),
        "broken.pdf": VALID_PDF[:300], "[draft] binary.md": b"\x00" * 10,
    }))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("indexed: 3 added, 0 changed, 0 removed, 0 unchanged, 2 skipped - 3 documents")
    assert "  skipped  [draft] binary.md: binary file (contains NUL bytes)" in lines
    assert any(line.startswith("  skipped  broken.pdf: unreadable PDF: ") for line in lines)
    assert "Traceback" not in result.stdout + result.stderr


def test_cli_with_nothing_readable_says_why_on_one_line(lacqa_index) -> None:  # type: ignore[no-untyped-def]
    result = lacqa_index({"broken.pdf": VALID_PDF[:300], "binary.txt": b"\x00" * 10})
    assert result.exit_code == 2 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: nothing to index in ") and "binary.txt: binary file" in line


def test_cli_with_an_unwritable_index_folder_says_so_on_one_line(
    lacqa_index, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    result = lacqa_index(with_good({}), index_dir=tmp_path / "a-file" / "index")
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: cannot write the index in ") and "Not a directory" in line
