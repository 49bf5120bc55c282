"""Word (.docx) and EPUB files: made in the test (python-docx; an EPUB zipped by hand, and one by ebooklib),
read, indexed, searched and cited; damaged ones skipped with a worded reason."""

from __future__ import annotations

import io
import sqlite3
import struct
import zipfile
from pathlib import Path

import pytest

from lacqa.config import Settings
from lacqa.embed import HashEmbedder
from lacqa.load import SourceFile, load_documents, parse, source_text
from lacqa.pipeline import Assistant
from lacqa.types import Document
from lacqa.verify import normalize

MB = 1_000_000

# --------------------------------------------------------------------------- making a Word file

NS = (
    'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:v="urn:schemas-microsoft-com:vml" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
)
# tracked changes: the deleted words are not shown, the inserted ones are
TRACKED = (f'<w:p {NS}><w:r><w:t xml:space="preserve">Argentine output fell </w:t></w:r><w:del w:id="1" w:author="x">'
           '<w:r><w:delText xml:space="preserve">sharply </w:delText></w:r></w:del><w:ins w:id="2" w:author="x"><w:r>'
           '<w:t xml:space="preserve">slightly </w:t></w:r></w:ins><w:r><w:t>in 2020.</w:t></w:r></w:p>')
# a text box, held twice as Word writes it: as a drawing (the choice) and as VML (the fallback)
BOX = "Boxed note: the Pulacayo mine closed in 1959."
TEXT_BOX = (f'<w:p {NS}><w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wp:anchor><a:graphic>'
            f'<a:graphicData><wps:wsp><wps:txbx><w:txbxContent><w:p><w:r><w:t>{BOX}</w:t></w:r></w:p></w:txbxContent>'
            '</wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice><mc:Fallback><w:pict>'
            f'<v:shape><v:textbox><w:txbxContent><w:p><w:r><w:t>{BOX}</w:t></w:r></w:p></w:txbxContent></v:textbox>'
            '</v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r><w:r><w:t>The box is anchored here.</w:t>'
            '</w:r></w:p>')
# a content control around a paragraph, a field (its code is not text, its result is)
CONTROL = (f'<w:sdt {NS}><w:sdtPr><w:alias w:val="Summary"/></w:sdtPr><w:sdtContent><w:p><w:r>'
           '<w:t>Inside a content control, brine is pumped into ponds.</w:t></w:r></w:p></w:sdtContent></w:sdt>')
FIELD = (f'<w:p {NS}><w:r><w:t xml:space="preserve">See page </w:t></w:r><w:r><w:fldChar w:fldCharType="begin"/>'
         '</w:r><w:r><w:instrText xml:space="preserve"> PAGEREF annex </w:instrText></w:r><w:r>'
         '<w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>7</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/>'
         '</w:r><w:r><w:t>.</w:t></w:r></w:p>')
# a heading by outline level only, in no heading style
ANNEX = f'<w:p {NS}><w:pPr><w:outlineLvl w:val="0"/></w:pPr><w:r><w:t>Annex</w:t></w:r></w:p>'

REPORT_TEXT = """Lithium Survey
Prepared by the Andean Mining Office.

Bolivia
Bolivia holds the Salar de Uyuni, the largest salt flat in the world.

| Country | Reserves (Mt) | Year |
| Bolivia | 21 | 2023 |
| Chile | 9.3 |  |

The table above lists reserves by country.

Chile
Chile exported lithium carbonate worth US$7.7 billion in 2022.
Exports:\tmostly to China
and South Korea.

Argentina
Argentine output fell slightly in 2020.

Events
Print
A summit on lithium was held in Santiago in 2023.
The box is anchored here.
Boxed note: the Pulacayo mine closed in 1959.
Inside a content control, brine is pumped into ponds.
See page 7.

Annex
Brine pools at the Salar de Atacama cover 3,000 hectares."""

REPORT_SECTIONS = {"Bolivia": "Bolivia\nBolivia holds", "Chile": "Chile\nChile exported",
                   "Argentina": "Argentina\nArgentine", "Events": "Events\nPrint", "Annex": "Annex\nBrine"}


def _xml(document, xml: str) -> None:  # type: ignore[no-untyped-def]
    from docx.oxml import parse_xml

    body = document.element.body
    body.insert(len(body) - 1, parse_xml(xml))  # before the final section properties


def make_report_docx() -> bytes:
    """A Word report: a title, headings (by style, by a style based on one, by outline level), a table,
    tabs and breaks, tracked changes, a text box, a content control, a field."""
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    d = docx.Document()
    d.core_properties.title = "Draft 3 from the old template"  # the title shown on the page wins
    d.add_paragraph("Lithium Survey", style="Title")
    d.add_paragraph("Prepared by the Andean Mining Office.")
    d.add_heading("Bolivia", level=1)
    d.add_paragraph("Bolivia holds the Salar de Uyuni, the largest salt flat in the world.")
    table = d.add_table(rows=3, cols=3)
    for r, row in enumerate([["Country", "Reserves (Mt)", "Year"], ["Bolivia", "21", "2023"], ["Chile", "9.3", ""]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    d.add_paragraph("The table above lists reserves by country.")
    d.add_heading("Chile", level=2)
    p = d.add_paragraph("Chile exported lithium carbonate ")
    p.add_run("worth US$7.7 billion").bold = True
    p.add_run(" in 2022.")
    p = d.add_paragraph("Exports:\tmostly to China")
    p.add_run().add_break()
    p.add_run("and South Korea.")
    chapter = d.styles.add_style("Country Head", WD_STYLE_TYPE.PARAGRAPH)
    chapter.base_style = d.styles["Heading 1"]
    d.add_paragraph("Argentina", style="Country Head")
    _xml(d, TRACKED)
    d.add_heading("Events", level=1)  # a web page's footer marker: a Word file keeps it, and what follows
    d.add_paragraph("Print")
    d.add_paragraph("A summit on lithium was held in Santiago in 2023.")
    _xml(d, TEXT_BOX)
    _xml(d, CONTROL)
    _xml(d, FIELD)
    _xml(d, ANNEX)
    d.add_paragraph("Brine pools at the Salar de Atacama cover 3,000 hectares.")
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def simple_docx(*paragraphs: str, heading: str | None = None) -> bytes:
    import docx

    d = docx.Document()
    if heading:
        d.add_heading(heading, level=1)
    for text in paragraphs:
        d.add_paragraph(text)
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- making an EPUB by hand

CONTAINER = ('<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
             '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
             '</rootfiles></container>')


def chapter(body: str, title: str = "The Salt Roads") -> str:
    """An XHTML chapter as EPUB tools write it: XML declaration, <title/> style self-closing tags."""
    return ('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n<html xmlns="http://www.w3.org/1999/xhtml" '
            f'xmlns:epub="http://www.idpf.org/2007/ops"><head><title>{title}</title><script src="x.js"/>'
            f'<link rel="stylesheet" href="s.css"/></head>\n<body>{body}</body></html>')


def make_epub(
    files: dict[str, str],
    toc: list[tuple[str, str]],
    *,
    title: str = "The Salt Roads",
    author: str = "Ana Quispe",
    version: int = 3,
    extra: dict[str, bytes] | None = None,
    nav_in_spine: bool = True,
) -> bytes:
    """An EPUB of the XHTML ``files`` (spine in their order) with the table of contents ``toc`` of
    (href, label): an EPUB 3 navigation document, or with ``version`` 2 an NCX only."""
    manifest = "".join(f'<item id="c{i}" href="{name}" media-type="application/xhtml+xml"/>'
                       for i, name in enumerate(files))
    spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(files)))
    if version == 3:
        manifest += '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
        spine = ('<itemref idref="nav"/>' if nav_in_spine else "") + spine
    manifest += '<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>' if version == 2 else ""
    spine_toc = ' toc="ncx"' if version == 2 else ""
    opf = (f'<?xml version="1.0" encoding="UTF-8"?><package xmlns="http://www.idpf.org/2007/opf" version="{version}.0" '
           'unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">'
           f'urn:x</dc:identifier><dc:title>{title}</dc:title><dc:creator>{author}</dc:creator></metadata>'
           f'<manifest>{manifest}</manifest><spine{spine_toc}>{spine}</spine></package>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/container.xml", CONTAINER)
        z.writestr("OEBPS/content.opf", opf)
        if version == 3:
            links = "".join(f'<li><a href="{href}">{label}</a></li>' for href, label in toc)
            z.writestr("OEBPS/nav.xhtml", chapter(f'<h1>Contents</h1><nav epub:type="toc"><ol>{links}</ol></nav>'))
        else:
            points = "".join(f'<navPoint id="n{i}"><navLabel><text>{label}</text></navLabel><content src="{href}"/>'
                             '</navPoint>' for i, (href, label) in enumerate(toc))
            z.writestr("OEBPS/toc.ncx", '<?xml version="1.0"?><ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" '
                       f'version="2005-1"><navMap>{points}</navMap></ncx>')
        for name, xhtml in files.items():
            z.writestr(f"OEBPS/{name}", xhtml)
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return out.getvalue()


BOOK_FILES = {
    # a heading in a <header> whose class names chrome, a footnote in an <aside>, a hard-wrapped paragraph
    "text/ch1.xhtml": chapter('<section><header class="chapter-header"><h1>Uyuni</h1></header><p>The salt flat of '
                              'Uyuni lies at\n      3,656 metres above sea level.</p><aside epub:type="footnote"><p>'
                              'Measured in 1998.</p></aside></section>'),
    # the rest of chapter 1, split into another file: no heading, no entry in the contents
    "text/ch1b.xhtml": chapter('<p>Llamas carried salt <a id="p2"/>blocks to the valleys.</p>'
                               '<table><tr><td>Year</td><td>Tonnes</td></tr></table>'),
    # two chapters in one file, each starting at the element the contents point at
    "text/ch2.xhtml": chapter('<h2 id="atacama">Atacama</h2><p>The Atacama desert is the driest non-polar desert '
                              'in the world.</p><pre>line one\nline two</pre><h2 id="puna">Puna</h2><p>The Puna de '
                              'Atacama is a high plateau shared by Chile and Argentina.</p>'),
}
BOOK_TOC = [("text/ch1.xhtml", "Chapter 1: Uyuni"), ("text/ch2.xhtml#atacama", "Chapter 2: Atacama"),
            ("text/ch2.xhtml#puna", "Chapter 3: Puna")]
BOOK_TEXT = """Uyuni
The salt flat of Uyuni lies at 3,656 metres above sea level.
Measured in 1998.

Llamas carried salt blocks to the valleys.
| Year | Tonnes |

Atacama
The Atacama desert is the driest non-polar desert in the world.
line one
line two

Puna
The Puna de Atacama is a high plateau shared by Chile and Argentina."""
BOOK_SECTIONS = {"Chapter 1: Uyuni": ("Uyuni\nThe salt", "| Year | Tonnes |"), "Chapter 2: Atacama": ("Atacama\nThe", "line two"),
                 "Chapter 3: Puna": ("Puna\nThe Puna", "Argentina.")}


def make_book(version: int = 3) -> bytes:
    return make_epub(BOOK_FILES, BOOK_TOC, version=version)


# --------------------------------------------------------------------------- reading


def read(name: str, data: bytes, tmp_path: Path) -> Document:
    path = tmp_path / name
    path.write_bytes(data)
    return parse(SourceFile(path, name, data, "0" * 64))


def assert_sections(doc: Document, expected: dict[str, tuple[str, str] | str]) -> None:
    """Each section starts with its heading and ends where the next part of the document begins."""
    assert [s.title for s in doc.sections] == list(expected)
    for span in doc.sections:
        want = expected[span.title]
        head, tail = (want, None) if isinstance(want, str) else want
        assert doc.text[span.start : span.end].startswith(head), span
        assert tail is None or doc.text[span.start : span.end].endswith(tail), span
        assert doc.section_at(span.start) == span.title and doc.section_at(span.end - 1) == span.title
    assert all(a.end < b.start for a, b in zip(doc.sections, doc.sections[1:]))


def test_word_paragraphs_headings_and_tables_are_read_in_order(tmp_path: Path) -> None:
    doc = read("survey.docx", make_report_docx(), tmp_path)
    assert doc.text == REPORT_TEXT
    assert doc.title == "Lithium Survey"  # the Title paragraph, not the template's core title
    assert doc.pages == () and doc.page_at(0) is None
    assert_sections(doc, REPORT_SECTIONS)
    # before the first heading: no section
    assert doc.section_at(doc.text.index("Prepared by")) is None
    # a table row is one line, its cells between bars; the table is in the section it appears in
    row = doc.text.index("| Bolivia | 21 | 2023 |")
    assert doc.section_at(row) == "Bolivia" and doc.section_at(doc.text.index("The table above")) == "Bolivia"
    assert BOX in doc.text and doc.text.count(BOX) == 1  # the text box once, not once more from its fallback
    assert "sharply" not in doc.text and "PAGEREF" not in doc.text
    # the text the reader sees is the stored text here: nothing was cleaned away
    assert normalize(doc.text) == normalize(source_text(tmp_path / "survey.docx"))


def test_word_file_without_a_title_style_takes_its_first_line_not_a_table_row(tmp_path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_table(rows=1, cols=2).cell(0, 0).text = "Copper"
    d.add_paragraph("Copper Notes")
    d.add_paragraph("Copper left the port of Antofagasta.")
    out = io.BytesIO()
    d.save(out)
    doc = read("notes.docx", out.getvalue(), tmp_path)
    assert doc.text == "| Copper |  |\n\nCopper Notes\nCopper left the port of Antofagasta."
    assert doc.title == "Copper Notes" and doc.sections == ()


@pytest.mark.parametrize("version", [3, 2], ids=["epub3-nav", "epub2-ncx"])
def test_epub_chapters_are_read_in_spine_order_with_their_titles(tmp_path: Path, version: int) -> None:
    doc = read("salt.epub", make_book(version), tmp_path)
    assert doc.text == BOOK_TEXT  # the navigation document is not a chapter; <title/> and <script/> swallow nothing
    assert doc.title == "The Salt Roads" and doc.author == "Ana Quispe"
    assert_sections(doc, BOOK_SECTIONS)
    assert doc.section_at(doc.text.index("Llamas")) == "Chapter 1: Uyuni"  # a split chapter goes on
    assert normalize(doc.text) == normalize(source_text(tmp_path / "salt.epub"))


def test_epub_without_a_table_of_contents_names_chapters_by_their_first_heading(tmp_path: Path) -> None:
    data = make_epub({"a.xhtml": chapter("<h1>Potosí</h1><p>Silver was mined at Cerro Rico.</p>"),
                      "b.xhtml": chapter("<p>No heading in this one.</p>"),
                      "c.xhtml": chapter("<div><h3>Oruro</h3></div><p>Tin came from Oruro.</p>")}, [])
    doc = read("mines.epub", data, tmp_path)
    assert doc.text == ("Potosí\nSilver was mined at Cerro Rico.\n\nNo heading in this one.\n\n"
                        "Oruro\nTin came from Oruro.")
    assert [s.title for s in doc.sections] == ["Potosí", "Oruro"]
    assert doc.section_at(doc.text.index("No heading")) == "Potosí"


def test_an_epub_built_by_ebooklib_is_read(tmp_path: Path) -> None:
    epub = pytest.importorskip("ebooklib.epub")
    book = epub.EpubBook()
    book.set_identifier("andes-1")
    book.set_title("Andes Notes")
    book.set_language("en")
    book.add_author("Rosa Mamani")
    one = epub.EpubHtml(title="The Quarry", file_name="chap_01.xhtml", lang="en")
    one.content = "<h1>Quarry</h1><p>Granite was cut at Sacsayhuaman.</p>"
    two = epub.EpubHtml(title="The Road", file_name="chap_02.xhtml", lang="en")
    two.content = "<h1>Road</h1><p>The Qhapaq Nan ran for 30,000 km.</p>"
    for item in (one, two):
        book.add_item(item)
    book.toc = (one, two)
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", one, two]
    epub.write_epub(str(tmp_path / "andes.epub"), book)
    data = (tmp_path / "andes.epub").read_bytes()
    doc = read("andes.epub", data, tmp_path)
    assert doc.text == "Quarry\nGranite was cut at Sacsayhuaman.\n\nRoad\nThe Qhapaq Nan ran for 30,000 km."
    assert (doc.title, doc.author) == ("Andes Notes", "Rosa Mamani")
    assert [s.title for s in doc.sections] == ["The Quarry", "The Road"]


# --------------------------------------------------------------------------- damaged files


def zip_of(members: dict[str, bytes | str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def claims_size(data: bytes, size: int) -> bytes:
    """``data`` (a ZIP) whose first member's central directory entry claims ``size`` bytes uncompressed."""
    at = data.index(b"PK\x01\x02")
    return data[: at + 24] + struct.pack("<I", size) + data[at + 28 :]


def bad_crc(data: bytes, member: str) -> bytes:
    """``data`` (a ZIP) with one byte of ``member``'s compressed data changed."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member)
    header = info.header_offset
    name_len, extra_len = struct.unpack("<HH", data[header + 26 : header + 30])
    at = header + 30 + name_len + extra_len + info.compress_size // 2
    return data[:at] + bytes([data[at] ^ 0x55]) + data[at + 1 :]


REPORT = make_report_docx()
BOOK = make_book()
ENCRYPTION = ('<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
              'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:CipherData>'
              '<enc:CipherReference URI="OEBPS/text/ch1.xhtml"/></enc:CipherData></enc:EncryptedData></encryption>')

BAD_FILES = {
    "garbage.docx": (b"\x00\x17garbage" * 50, "not a Word file: not a ZIP archive, or a truncated one"),
    "truncated.docx": (REPORT[: len(REPORT) // 2], "not a Word file: not a ZIP archive, or a truncated one"),
    "old.docx": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "not a Word file: an old binary Office file"),
    "sheet.docx": (zip_of({"[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                          'content-types"/>', "xl/workbook.xml": "<workbook/>"}), "not a Word file: "),
    "bomb.docx": (claims_size(REPORT, 4_000_000_000), "not a Word file: it would expand to "),
    "crc.docx": (bad_crc(REPORT, "word/document.xml"), "unreadable Word file: BadZipFile: Bad CRC-32"),
    "empty.docx": (simple_docx(), "Word file has no text"),
    "garbage.epub": (b"PK\x03\x04" + bytes(range(256)) * 4, "not an EPUB file: not a ZIP archive, or a truncated one"),
    "truncated.epub": (BOOK[:-40], "not an EPUB file: not a ZIP archive, or a truncated one"),
    "no-package.epub": (zip_of({"mimetype": "application/epub+zip"}), "not an EPUB file: no package document"),
    "no-chapters.epub": (make_epub({}, []), "not an EPUB file: its spine lists no XHTML chapters"),
    "bad-opf.epub": (zip_of({"META-INF/container.xml": CONTAINER, "OEBPS/content.opf": b"\x00\x01\x02"}),
                     "damaged EPUB: its package document OEBPS/content.opf does not parse"),
    "drm.epub": (make_epub(BOOK_FILES, BOOK_TOC, extra={"META-INF/encryption.xml": ENCRYPTION.encode()}),
                 "EPUB is DRM-protected (its chapters are encrypted)"),
    "crc.epub": (bad_crc(BOOK, "OEBPS/text/ch2.xhtml"), "damaged EPUB: OEBPS/text/ch2.xhtml: BadZipFile: Bad CRC-32"),
    "binary.epub": (make_epub({"a.xhtml": "\x00\x01binary"}, []), "damaged EPUB: chapter OEBPS/a.xhtml: binary file"),
    "images.epub": (make_epub({"a.xhtml": chapter('<img src="cover.jpg"/>')}, []), "EPUB has no text (only images?)"),
    "bomb.epub": (claims_size(BOOK, 4_000_000_000), "not an EPUB file: it would expand to "),
}


def test_damaged_word_and_epub_files_are_skipped_with_a_worded_reason(tmp_path: Path) -> None:
    for name, (data, _) in BAD_FILES.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "good.docx").write_bytes(REPORT)
    (tmp_path / "good.epub").write_bytes(BOOK)
    docs, skipped = load_documents(tmp_path, 20 * MB)
    assert sorted(d.source for d in docs) == ["good.docx", "good.epub"]
    reasons = {s.source: s.reason for s in skipped}
    assert set(reasons) == set(BAD_FILES)
    for name, (_, reason) in BAD_FILES.items():
        assert reasons[name].startswith(reason), (name, reasons[name])
        assert "\n" not in reasons[name] and len(reasons[name]) <= 300


# --------------------------------------------------------------------------- indexed, searched, cited


@pytest.fixture
def library(tmp_path: Path) -> Assistant:
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "survey.docx").write_bytes(REPORT)
    (sources / "salt.epub").write_bytes(BOOK)
    (sources / "note.txt").write_text("Trade Note\n\nThe Andean Community signed a trade accord in the spring.\n")
    settings = Settings(sources_dir=sources, index_dir=tmp_path / "index")
    settings.answer.ranker = "off"
    settings.answer.draft = False
    assistant = Assistant(settings, embedder=HashEmbedder())
    report = assistant.index()
    assert report.skipped == [] and report.documents == 3
    return assistant


def test_word_and_epub_chunks_carry_their_section(library: Assistant) -> None:
    gen = library.generation()
    docs = {d.source: d for d in gen.documents.values()}
    assert_sections(docs["survey.docx"], REPORT_SECTIONS)
    assert_sections(docs["salt.epub"], BOOK_SECTIONS)
    assert docs["note.txt"].sections == ()
    for chunk in gen.chunks:
        doc = gen.documents[chunk.doc_id]
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert chunk.section == doc.section_at(chunk.start)
    # a chunk may run over a section's end (the book is one chunk here): it is under the section it starts in
    [hit] = library.search("Puna de Atacama high plateau", k=1)
    assert hit.chunk.source == "salt.epub" and hit.to_json()["section"] == "Chapter 1: Uyuni"


@pytest.mark.parametrize(
    ("question", "source", "section", "words"),
    [
        ("What were Bolivia's lithium reserves in 2023?", "survey.docx", "Bolivia", "| Bolivia | 21 | 2023 |"),
        ("How much lithium carbonate did Chile export in 2022?", "survey.docx", "Chile", "US$7.7 billion"),
        ("Where was the summit on lithium held in 2023?", "survey.docx", "Events", "Santiago"),
        ("At what altitude does the salt flat of Uyuni lie?", "salt.epub", "Chapter 1: Uyuni", "3,656 metres"),
        ("What is the Puna de Atacama?", "salt.epub", "Chapter 3: Puna", "high plateau"),
    ],
)
def test_answers_from_word_and_epub_cite_exact_ranges_and_their_section(
    library: Assistant, question: str, source: str, section: str, words: str
) -> None:
    answer = library.ask(question)
    assert not answer.abstained, answer.reason
    gen = library.generation()
    first = answer.citations[0]
    assert (first.source, first.section) == (source, section) and words in first.quote
    for c in answer.citations:
        assert gen.documents[c.doc_id].text[c.start : c.end] == c.quote  # the highlight is exact
        raw = source_text(Path(library.settings.sources_dir) / c.source)
        assert normalize(c.quote) in normalize(raw)  # and the quote verbatim in what the reader saw
        assert c.to_json()["section"] == c.section


def test_sections_survive_reopening_and_an_unchanged_rebuild(library: Assistant) -> None:
    from lacqa.store import IndexDir, open_current

    before = {d.source: d.sections for d in library.generation().documents.values()}
    (Path(library.settings.sources_dir) / "new.txt").write_text("New Note\n\nThe new note talks about copper.\n")
    report = library.index()
    assert report.added == ["new.txt"] and sorted(report.unchanged) == ["note.txt", "salt.epub", "survey.docx"]
    again = open_current(IndexDir(library.settings.index_dir))
    assert {d.source: d.sections for d in again.documents.values() if d.source != "new.txt"} == before


def test_a_generation_written_before_sections_still_opens(library: Assistant) -> None:
    """Indexes built before documents had sections have no such column: their documents simply have none."""
    import json

    from lacqa.store import IndexDir, open_current, sha256_file

    index_dir = IndexDir(library.settings.index_dir)
    folder = open_current(index_dir).folder
    db = sqlite3.connect(folder / "index.sqlite")
    db.execute("ALTER TABLE documents DROP COLUMN sections")
    db.commit()
    db.close()
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["index.sqlite"] = sha256_file(folder / "index.sqlite")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    gen = open_current(index_dir)
    assert all(d.sections == () for d in gen.documents.values()) and all(c.section is None for c in gen.chunks)


def test_citation_cards_and_the_cli_show_the_section(library: Assistant) -> None:
    from lacqa.render import answer_markdown, citations_html

    answer = library.ask("What is the Puna de Atacama?").to_json()
    assert "\u00a7 Chapter 3: Puna" in citations_html(answer)
    assert ", \u00a7 Chapter 3: Puna" in answer_markdown(answer)


def test_lacqa_index_and_ask_on_a_folder_of_word_and_epub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from lacqa import pipeline
    from lacqa.cli import app

    monkeypatch.setattr(pipeline, "make_embedder", lambda *args, **kwargs: HashEmbedder())
    sources, index = tmp_path / "sources", tmp_path / "index"
    sources.mkdir()
    (sources / "survey.docx").write_bytes(REPORT)
    (sources / "salt.epub").write_bytes(BOOK)
    (sources / "broken.epub").write_bytes(BOOK[:300])
    runner = CliRunner()
    built = runner.invoke(app, ["index", "--sources", str(sources), "--index", str(index), "--json"])
    assert built.exit_code == 0, built.stderr
    report = json.loads(built.stdout)
    assert sorted(report["added"]) == ["salt.epub", "survey.docx"]
    assert report["skipped"] == [{"source": "broken.epub",
                                  "reason": "not an EPUB file: not a ZIP archive, or a truncated one"}]
    asked = runner.invoke(app, ["ask", "What is the Puna de Atacama?", "--index", str(index), "--no-draft", "--json"])
    assert asked.exit_code == 0, asked.stderr
    first = json.loads(asked.stdout)["citations"][0]
    assert (first["source"], first["section"]) == ("salt.epub", "Chapter 3: Puna")
    stored = Assistant(Settings(sources_dir=sources, index_dir=index), embedder=HashEmbedder()).generation()
    assert stored.documents[first["doc_id"]].text[first["start"] : first["end"]] == first["quote"]
    shown = runner.invoke(app, ["ask", "What is the Puna de Atacama?", "--index", str(index), "--no-draft"])
    assert "salt.epub, \u00a7 Chapter 3: Puna, chars" in shown.stdout


# --------------------------------------------------------------------------- the web app's upload


def test_upload_accepts_word_and_epub_and_refuses_fakes(tmp_path: Path) -> None:
    from lacqa import web

    uploads = tmp_path / "up"
    uploads.mkdir()
    files = {"survey.docx": REPORT, "salt.epub": BOOK, "fake.docx": b"I am text, not a Word file",
             "fake.epub": b"%PDF-1.4 a PDF in disguise"}
    for name, data in files.items():
        (uploads / name).write_bytes(data)
    assert web.check_upload(uploads / "survey.docx", 20 * MB) is None
    assert web.check_upload(uploads / "salt.epub", 20 * MB) is None
    assert web.check_upload(uploads / "fake.docx", 20 * MB) == "not a Word file: not a ZIP archive, or a truncated one"
    assert web.check_upload(uploads / "fake.epub", 20 * MB).startswith("not an EPUB file")  # type: ignore[union-attr]
    assert ".docx" in web.UPLOAD_TYPES and ".epub" in web.UPLOAD_TYPES
