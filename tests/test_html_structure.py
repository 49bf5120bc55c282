"""The HTML reader keeps the structure a reader sees in the text (html.py): headings with their marks, list items
with a bullet by depth or their number, a table row as one line between bars - as the Markdown reader writes them."""

from __future__ import annotations

from lacqa.answer.sections import announced, headings
from lacqa.html import chapter_to_text, html_to_text

PAGE = """<html><head><title>Tide page</title></head><body><main>
<h1>Tide Report</h1>
<p>The gauges of the harbour record these readings:</p>
<ul>
  <li>Levels, one reading every minute
    <ul><li>raw readings</li><li>smoothed readings</li></ul>
  </li>
  <li><p>Events, one line for each high and low water</p></li>
  <li>Alerts, written when the level passes the harbour master's mark</li>
</ul>
<ol start="3"><li>third step of the survey</li><li>fourth step of the survey</li></ol>
<h2><span>Gauges</span></h2>
<table>
  <tr><th>Gauge</th><th>Place</th></tr>
  <tr>
    <td><p>Gauge A</p></td>
    <td>North quay
      near the lighthouse</td>
  </tr>
  <tr><td></td><td></td></tr>
</table>
</main></body></html>"""


def test_headings_items_and_rows_are_marked_lines() -> None:
    text, title = html_to_text(PAGE)
    assert title == "Tide Report"
    lines = [line for line in text.split("\n") if line]
    assert lines[0] == "# Tide Report" and "## Gauges" in lines
    assert lines[2:7] == ["- Levels, one reading every minute", "* raw readings", "* smoothed readings",
                          "- Events, one line for each high and low water",
                          "- Alerts, written when the level passes the harbour master's mark"]
    assert "3. third step of the survey" in lines and "4. fourth step of the survey" in lines
    assert "| Gauge | Place |" in lines and "| Gauge A | North quay near the lighthouse |" in lines
    assert not any(set(line) <= set("| ") for line in lines)  # an empty row leaves no line


def test_an_html_list_is_announced_and_its_headings_are_the_outline() -> None:
    text, _ = html_to_text(PAGE)
    start = text.index("The gauges")
    items = announced(text, start, text.index(":", start) + 1)
    assert [text[u.start : u.end].split(",")[0] for u in items] == ["- Levels", "- Events", "- Alerts"]
    outline = [(h.level, h.title) for h in headings(text)]
    assert outline[0] == (1, "Tide Report") and "Gauges" in [t for _, t in outline]


def test_a_book_chapter_keeps_items_and_rows_but_no_heading_marks() -> None:
    pieces, heading = chapter_to_text("<html><body><h2>Salt</h2><ul><li>Uyuni</li></ul>"
                                      "<table><tr><td>Year</td><td>Tonnes</td></tr></table></body></html>")
    assert heading == "Salt"
    assert pieces[0][1].split("\n") == ["Salt", "", "- Uyuni", "", "| Year | Tonnes |"]
