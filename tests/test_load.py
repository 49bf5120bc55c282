"""Loading a sources folder: decoding, skipping with a reason, HTML chrome removal, PDF pages."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from lacqa.errors import SourceError
from lacqa.load import load_documents, scan_sources
from lacqa.types import Document, Skipped

MB = 1_000_000
BODY = "The Andean Community signed a trade accord with several partners in the spring."


def load(root: Path, max_bytes: int = 20 * MB) -> tuple[dict[str, Document], dict[str, str]]:
    docs, skipped = load_documents(root, max_bytes)
    return {d.source: d for d in docs}, {s.source: s.reason for s in skipped}


def assert_one_line_reason(skip: Skipped | str) -> None:
    reason = skip.reason if isinstance(skip, Skipped) else skip
    assert reason.strip(), "a skipped file needs a reason"
    assert "\n" not in reason, f"reason should be one line: {reason!r}"


# --------------------------------------------------------------------------- decoding


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("utf8.txt", "Açaí from Pará, 北京 and São Paulo.\n".encode(), "Açaí from Pará, 北京 and São Paulo."),
        ("latin1.txt", "Meeting at the café in São Paulo.\n".encode("latin-1"), "Meeting at the café in São Paulo."),
        ("cp1252.txt", "Prices rose \u2013 the \u201cboom\u201d \u20ac5.\n".encode("cp1252"),
         "Prices rose \u2013 the \u201cboom\u201d \u20ac5."),
        ("utf16.txt", "Señor Núñez visited Bogotá in 2019.\n".encode("utf-16"), "Señor Núñez visited Bogotá in 2019."),
        ("bom8.txt", "\ufeffUTF-8 with a byte order mark works too.\n".encode(),
         "UTF-8 with a byte order mark works too."),
    ],
)
def test_decodes_common_encodings(tmp_path: Path, name: str, data: bytes, expected: str) -> None:
    (tmp_path / name).write_bytes(data)
    docs, skipped = load(tmp_path)
    assert skipped == {}
    assert docs[name].text == expected


def test_utf16_has_a_bom_and_no_mojibake(tmp_path: Path) -> None:
    data = "Cooperação entre China e Brasil.\n".encode("utf-16")
    assert data[:2] in (b"\xff\xfe", b"\xfe\xff")
    (tmp_path / "u.txt").write_bytes(data)
    docs, _ = load(tmp_path)
    assert docs["u.txt"].text == "Cooperação entre China e Brasil."
    assert "\x00" not in docs["u.txt"].text


def test_crlf_line_endings_are_normalized(tmp_path: Path) -> None:
    (tmp_path / "win.txt").write_bytes(b"First Title Line\r\nSecond line of text.\r\nThird line here.\r\n")
    (tmp_path / "mac.txt").write_bytes(b"Old Mac Title\rBody line one.\rBody line two.\r")
    docs, _ = load(tmp_path)
    assert docs["win.txt"].text == "First Title Line\nSecond line of text.\nThird line here."
    assert docs["mac.txt"].text == "Old Mac Title\nBody line one.\nBody line two."
    assert all("\r" not in d.text for d in docs.values())


# --------------------------------------------------------------------------- skipping


def test_mixed_folder_skips_each_bad_file_with_a_reason_and_indexes_the_rest(tmp_path: Path) -> None:
    root = tmp_path / "sources"
    (root / "sub").mkdir(parents=True)
    outside = tmp_path / "outside.txt"
    outside.write_text("A secret file outside the sources folder.\n")

    (root / "good.txt").write_text(BODY + "\n")
    (root / "sub" / "nested.md").write_text("# Nested Note\n\nMercosur held a summit.\n")
    (root / "latin.txt").write_bytes("Reunión en Asunción y São Paulo.\n".encode("latin-1"))
    (root / "empty.txt").write_bytes(b"")
    (root / "blank.txt").write_bytes(b"  \n\n\t \n")
    (root / "binary.txt").write_bytes(bytes(random.Random(1).randrange(256) for _ in range(4096)) + b"\x00\x00")
    (root / "report.docx").write_bytes(b"PK\x03\x04 not really a docx")
    (root / "slides.pptx").write_bytes(b"PK\x03\x04 a presentation")
    (root / "big.txt").write_text(("word " * 60 + "\n") * 100)  # ~30 kB, above the 0.01 MB limit below
    (root / "link.txt").symlink_to(outside)
    (root / ".hidden.txt").write_text("hidden notes\n")
    (root / "fake.pdf").write_bytes(b"%PDF-1.4\n" + bytes(random.Random(2).randrange(256) for _ in range(3000)))

    docs, skipped = load(root, max_bytes=int(0.01 * MB))

    assert set(docs) == {"good.txt", "sub/nested.md", "latin.txt"}
    assert docs["latin.txt"].text == "Reunión en Asunción y São Paulo."
    assert set(skipped) == {
        "empty.txt", "blank.txt", "binary.txt", "report.docx", "slides.pptx", "big.txt", "link.txt", ".hidden.txt",
        "fake.pdf",
    }
    for reason in skipped.values():
        assert_one_line_reason(reason)
    assert "empty" in skipped["empty.txt"] and "empty" in skipped["blank.txt"]
    assert "binary" in skipped["binary.txt"]
    assert skipped["report.docx"] == "not a Word file: not a ZIP archive, or a truncated one"
    assert "unsupported" in skipped["slides.pptx"] and ".pptx" in skipped["slides.pptx"]
    assert "too large" in skipped["big.txt"]
    assert "symlink" in skipped["link.txt"]
    assert "hidden" in skipped[".hidden.txt"]
    assert "pdf" in skipped["fake.pdf"].lower()
    # nothing from outside the folder leaked in
    assert all("secret" not in d.text for d in docs.values())


def test_scan_sources_reports_refusals_before_parsing(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(BODY)
    (tmp_path / "b.pptx").write_bytes(b"PK")
    (tmp_path / ".c.txt").write_text(BODY)
    scan = scan_sources(tmp_path, 20 * MB)
    assert [f.source for f in scan.files] == ["a.txt"]
    assert scan.files[0].data == BODY.encode()
    assert len(scan.files[0].sha256) == 64
    assert {s.source for s in scan.skipped} == {"b.pptx", ".c.txt"}
    for s in scan.skipped:
        assert_one_line_reason(s)


def test_file_just_under_and_over_the_size_limit(tmp_path: Path) -> None:
    (tmp_path / "under.txt").write_text("x" * 10 + " under the limit\n")
    (tmp_path / "over.txt").write_text("y" * 200 + " over the limit\n")
    docs, skipped = load(tmp_path, max_bytes=100)
    assert set(docs) == {"under.txt"}
    assert "too large" in skipped["over.txt"]


def test_symlink_inside_the_folder_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_text(BODY + "\n")
    (tmp_path / "alias.txt").symlink_to(tmp_path / "real.txt")
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    docs, skipped = load(tmp_path)
    assert docs["alias.txt"].text == docs["real.txt"].text == BODY
    assert "symlink" in skipped["dangling.txt"]


def test_hidden_folders_are_not_walked(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "notes.txt").write_text("git internals\n")
    (tmp_path / "doc.txt").write_text(BODY + "\n")
    docs, skipped = load(tmp_path)
    assert set(docs) == {"doc.txt"} and skipped == {}


def test_file_name_that_is_not_utf8_does_not_break_loading(tmp_path: Path) -> None:
    # a Latin-1 file name, as unpacked from an old zip archive; os.walk hands it back with surrogate escapes
    with open(os.path.join(os.fsencode(tmp_path), b"caf\xe9.txt"), "wb") as fh:
        fh.write(BODY.encode())
    (tmp_path / "doc.txt").write_text(BODY + "\n")
    docs, skipped = load_documents(tmp_path, MB)
    assert "doc.txt" in [d.source for d in docs]
    assert len(docs) + len(skipped) == 2  # the odd name is indexed or skipped with a reason, never raised
    for s in skipped:
        assert_one_line_reason(s)


def test_missing_sources_folder_raises_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found"):
        load_documents(tmp_path / "nope", MB)


def test_file_with_only_boilerplate_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "chrome.txt").write_text("Print\nShare\n[Suggest to a Friend]\n")
    (tmp_path / "doc.txt").write_text(BODY + "\n")
    docs, skipped = load(tmp_path)
    assert set(docs) == {"doc.txt"}
    assert "no text left" in skipped["chrome.txt"]


def test_doc_ids_are_stable_and_distinct(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(BODY + "\n")
    (tmp_path / "b.txt").write_text(BODY + "\n")
    first, _ = load(tmp_path)
    second, _ = load(tmp_path)
    assert first["a.txt"].doc_id == second["a.txt"].doc_id
    assert first["a.txt"].doc_id != first["b.txt"].doc_id
    assert first["a.txt"].sha256 == first["b.txt"].sha256  # same bytes, same content hash


# --------------------------------------------------------------------------- HTML

PAGE = """<!DOCTYPE html>
<html><head><title>ACME News | Lithium</title>
<script>var tracker = "SCRIPT_PAYLOAD";</script><style>.x { color: red }</style></head>
<body>
<div id="cookie-banner" class="cookie-banner"><p>We use cookies to improve your experience on this site.</p>
  <button>Accept all</button></div>
<header class="site-header"><a href="/">ACME News Network</a>
  <nav><ul><li><a href="/">Home</a></li><li><a href="/world">World desk</a></li><li>Sport pages</li></ul></nav>
</header>
<main><article>
<h1>Lithium Triangle Output Rises</h1>
<p>Argentina, Bolivia and Chile hold most of the world's known lithium brine reserves.</p>
<p>Production in the Atacama salt flat rose by a fifth in <b>2023</b>, officials said.</p>
<div class="share-buttons"><a>Share on Facebook</a></div>
</article></main>
<aside class="sidebar">Trending elsewhere today</aside>
<footer class="site-footer"><p>Contact the ACME newsroom team</p></footer>
<script>console.log("SCRIPT_PAYLOAD_2")</script>
</body></html>
"""


def test_html_keeps_body_text_drops_chrome_and_finds_title(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(PAGE, encoding="utf-8")
    (tmp_path / "doc.txt").write_text(BODY + "\n")
    docs, skipped = load(tmp_path)
    assert skipped == {}
    doc = docs["page.html"]
    assert doc.title == "Lithium Triangle Output Rises"
    assert "Argentina, Bolivia and Chile hold most of the world's known lithium brine reserves." in doc.text
    assert "Production in the Atacama salt flat rose by a fifth in 2023, officials said." in doc.text
    for chrome in ("SCRIPT_PAYLOAD", "color: red", "cookies", "Accept all", "ACME News Network", "World desk",
                   "Sport pages", "Share on Facebook", "Trending elsewhere", "ACME newsroom"):
        assert chrome not in doc.text, chrome
    assert docs["doc.txt"].text == BODY


# --------------------------------------------------------------------------- PDF


def make_pdf(pages: list[list[str]], title: str | None = None) -> bytes:
    """A minimal valid PDF (Helvetica text, one line per string) built by hand: pypdf cannot draw text."""
    n = len(pages)
    page_ids = [4 + 2 * i for i in range(n)]
    info_id = 4 + 2 * n
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % p for p in page_ids) + b"] /Count %d >>" % n,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, lines in enumerate(pages):
        ops = [b"BT", b"/F1 12 Tf", b"14 TL", b"72 720 Td"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(b"(" + escaped.encode("latin-1") + b") Tj T*")
        ops.append(b"ET")
        stream = b"\n".join(ops)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (page_ids[i] + 1)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    if title:
        objects.append(b"<< /Title (" + title.encode("latin-1") + b") >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    info = b" /Info %d 0 R" % info_id if title else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, info, xref)
    return bytes(out)


PDF_PAGES = [
    ["Annual Report", "Tin mining in Bolivia grew strongly last year.", "Output reached a record high.", "Page 1"],
    ["Annual Report", "Copper exports from Chile doubled in value.", "Most of it went to Asia.", "Page 2"],
    ["Annual Report", "Soy shipments from Brazil to China rose again.", "Ports worked at capacity.", "Page 3"],
]


def test_pdf_pages_are_recorded_on_chunks(tmp_path: Path) -> None:
    from lacqa.chunk import chunk_document
    from lacqa.config import ChunkSettings

    (tmp_path / "report.pdf").write_bytes(make_pdf(PDF_PAGES, title="Commodity Report 2024"))
    docs, skipped = load(tmp_path)
    assert skipped == {}
    doc = docs["report.pdf"]
    assert doc.title == "Commodity Report 2024"  # from the PDF metadata
    assert [p.page for p in doc.pages] == [1, 2, 3]
    for number, lines in enumerate(PDF_PAGES, start=1):
        sentence = lines[1]
        offset = doc.text.index(sentence)
        assert doc.page_at(offset) == number
        assert doc.page_at(offset + len(sentence) - 1) == number
    # running header and page numbers repeated on every page are dropped
    assert "Annual Report" not in doc.text and "Page 2" not in doc.text

    # small chunks so that each page lands in its own chunk; each chunk carries its page
    chunks = chunk_document(doc, ChunkSettings(size=100, overlap=0))
    assert [c.page for c in chunks] == [1, 2, 3]
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
        assert c.page == doc.page_at(c.start)
    pages_by_sentence = {lines[1]: n for n, lines in enumerate(PDF_PAGES, start=1)}
    for sentence, number in pages_by_sentence.items():
        holder = [c for c in chunks if sentence in c.text]
        assert holder and holder[0].page == number


def test_two_page_pdf_without_metadata(tmp_path: Path) -> None:
    (tmp_path / "two.pdf").write_bytes(make_pdf([
        ["Mercosur Trade Notes", "Uruguay joined the talks in March."],
        ["Paraguay followed in April of the same year."],
    ]))
    docs, skipped = load(tmp_path)
    assert skipped == {}
    doc = docs["two.pdf"]
    assert doc.title == "Mercosur Trade Notes"
    assert doc.page_at(doc.text.index("Uruguay")) == 1
    assert doc.page_at(doc.text.index("Paraguay")) == 2
    # non-PDF documents have no pages
    (tmp_path / "plain.txt").write_text(BODY)
    docs, _ = load(tmp_path)
    assert docs["plain.txt"].pages == () and docs["plain.txt"].page_at(0) is None


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\n" + bytes(random.Random(3).randrange(256) for _ in range(3000)),
        b"%PDF-1.7\n" + bytes(random.Random(4).randrange(256) for _ in range(3000)) + b"\nstartxref\n17\n%%EOF\n",
        b"%PDF-1.4\nthis is not a pdf at all\n%%EOF\n",
        make_pdf(PDF_PAGES)[:400],  # truncated
        make_pdf([[]]),  # valid, but no text (a scanned image would look like this)
    ],
    ids=["garbage", "garbage-with-trailer", "text", "truncated", "no-text"],
)
def test_corrupt_or_empty_pdf_is_skipped_with_a_reason(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "bad.pdf").write_bytes(data)
    (tmp_path / "doc.txt").write_text(BODY + "\n")
    docs, skipped = load(tmp_path)
    assert set(docs) == {"doc.txt"}
    assert "pdf" in skipped["bad.pdf"].lower()
    assert_one_line_reason(skipped["bad.pdf"])


def test_unreadable_file_is_skipped(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads files regardless of permissions")
    locked = tmp_path / "locked.txt"
    locked.write_text(BODY)
    locked.chmod(0)
    (tmp_path / "doc.txt").write_text(BODY + "\n")
    try:
        docs, skipped = load(tmp_path)
    finally:
        locked.chmod(0o644)
    assert set(docs) == {"doc.txt"}
    assert "unreadable" in skipped["locked.txt"]
