"""The Markdown reader (markdown.py): a .md file is read as its rendered text, cut into parts at its headings."""

from __future__ import annotations

from pathlib import Path

import pytest

from lacqa.load import SourceFile, parse, source_text
from lacqa.markdown import read_markdown

README = """\
[![Build Status](https://ci.example.org/badge.svg)](https://ci.example.org)
[![PyPI](https://img.example.org/pypi.svg)](https://pypi.example.org/tidepool)

# Tidepool

**Tidepool** records the tides of a harbour. Read the [full guide](https://docs.example.org/guide)
for `tidepool.read()` and its options.

- [Install](#install)
- [Usage](#usage)

## Install

Tidepool needs Python 3.11 or later:

```bash
pip install tidepool
```

## Parts

Tidepool consists of the following components:

| Component | Description |
| --- | --- |
| `tidepool.gauge` | Reads the water level from a **tide gauge** |
| `tidepool.tables` | Predicts high and low water from harmonic constants |

Tidepool writes three kinds of records:

- Levels, one reading every minute:
  * raw readings
  * smoothed readings
- Events, one line for each high and low water.
- Alerts, written when the level passes a mark set by the harbour master.

<p>Made by the <b>harbour trust</b>.</p>
"""


def test_markdown_is_read_as_rendered_text() -> None:
    parts, sections, title = read_markdown(README)
    text = "\n\n".join(parts)
    assert title == "Tidepool"
    assert "Build Status" not in text and "https://" not in text and "**" not in text and "`" not in text
    # links and emphasis to their words, a wrapped paragraph joined into one line
    assert "Tidepool records the tides of a harbour. Read the full guide for tidepool.read() and its options." in text
    assert "Install\n" not in text.split("## Install")[0]  # the table of contents (links only) is navigation
    assert "pip install tidepool" in text and "```" not in text  # a code block keeps its lines, not its fences
    assert "| Component | Description |" in text and "---" not in text  # a table: one line per row, no rule row
    assert "| tidepool.gauge | Reads the water level from a tide gauge |" in text
    assert "- Levels, one reading every minute:\n* raw readings\n* smoothed readings\n- Events," in text  # depth kept
    assert "Made by the harbour trust." in text and "<p>" not in text
    assert sections == ["Tidepool", "Install", "Parts"] and parts[1].startswith("## Install")  # badges: no part


def test_a_markdown_document_keeps_sections_and_verbatim_quotes(tmp_path: Path) -> None:
    path = tmp_path / "README.md"
    path.write_text(README, encoding="utf-8")
    data = path.read_bytes()
    doc = parse(SourceFile(path, "README.md", data, "0" * 64))
    assert doc.title == "Tidepool"
    assert [s.title for s in doc.sections] == ["Tidepool", "Install", "Parts"]
    part = next(s for s in doc.sections if s.title == "Parts")
    assert doc.text[part.start : part.end].startswith("## Parts")
    quote = "Predicts high and low water from harmonic constants"
    assert quote in doc.text and quote in source_text(path)  # what a quote is checked against


@pytest.mark.parametrize("text", ["> " * 5000 + "deep", "- " * 5000 + "deep", "[" * 5000 + "x" + "]" * 5000,
                                  "*" * 20000, "| a |\n" * 3000])
def test_hostile_markdown_never_exhausts_the_stack(text: str) -> None:
    parts, _, _ = read_markdown(text)  # no parts at all: the loader skips the file, "no text left after cleaning"
    assert all(isinstance(p, str) for p in parts)


def test_a_markdown_file_without_words_is_skipped_like_any_other(tmp_path: Path) -> None:
    path = tmp_path / "dash.md"
    path.write_text("\u2014\n\n[](https://example.org)\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no text left after cleaning"):
        parse(SourceFile(path, "dash.md", path.read_bytes(), "0" * 64))


def test_announced_items_keep_to_one_level_and_read_tables() -> None:
    from lacqa.answer.sections import announced, headings, units

    parts, _, _ = read_markdown(README)
    text = "\n\n".join(parts)
    start = text.index("Tidepool writes three kinds")
    items = announced(text, start, text.index(":", start) + 1)
    assert [text[u.start : u.end].split(",")[0] for u in items] == ["- Levels", "- Events", "- Alerts"]
    start = text.index("Tidepool consists")
    rows = announced(text, start, text.index(":", start) + 1)
    assert [text[u.start : u.end] for u in rows][0] == "| tidepool.gauge | Reads the water level from a tide gauge |"
    assert len(rows) == 2  # the header row is no item
    heads = headings(text)
    i = next(n for n, h in enumerate(heads) if h.title == "Parts")
    _, found = units(text, heads, i)
    assert [text[u.start : u.end].split(",")[0] for u in found] == ["- Levels", "- Events", "- Alerts"]


def test_a_section_holding_only_a_table_has_its_rows_as_items() -> None:
    from lacqa.answer.sections import headings, units

    text = ("# Locks\n\n## Choose a lock\n| Your task | Lock |\n| Coordinate access to a file | Lock |\n"
            "| Limit the number of concurrent workers | Semaphore |\n\n## Other\nSome closing words here.")
    heads = headings(text)
    i = next(n for n, h in enumerate(heads) if h.title == "Choose a lock")
    _, found = units(text, heads, i)
    assert [text[u.start : u.end] for u in found] == ["| Coordinate access to a file | Lock |",
                                                       "| Limit the number of concurrent workers | Semaphore |"]
    plain = "# Notes\n\n## Background\nThe first paragraph has words.\nThe second paragraph has words too."
    heads = headings(plain)
    assert units(plain, heads, 1)[1] == []  # lines that are no items are no units


def test_a_readme_without_a_top_heading_is_named_by_its_file(tmp_path: Path) -> None:
    path = tmp_path / "tidepool.md"
    path.write_text("![logo](logo.png)\n\nTidepool records tides.\n\n## More About Tidepool\n\nIt reads gauges.\n")
    doc = parse(SourceFile(path, "tidepool.md", path.read_bytes(), "0" * 64))
    assert doc.title == "tidepool"  # not its first lower heading


def test_a_point_from_a_table_row_shows_its_cells_without_the_outer_bars() -> None:
    from types import SimpleNamespace

    from lacqa.answer.shapes import _unmarked
    from lacqa.store import Sentence

    text = "| torch.mp | Python multiprocessing, with shared memory. Useful for loading |\n- an item of a list"
    gen = SimpleNamespace(documents={"d": SimpleNamespace(text=text)})
    row = text.index(" Useful")
    shown = [_unmarked(gen, Sentence(0, "d", a, b)) for a, b in  # type: ignore[arg-type]
             ((0, row), (row + 1, text.index("\n")), (0, text.index("\n")), (text.index("- an"), len(text)))]
    assert [text[s.start : s.end] for s in shown] == [
        "torch.mp | Python multiprocessing, with shared memory.", "Useful for loading",
        "torch.mp | Python multiprocessing, with shared memory. Useful for loading", "an item of a list"]


def test_front_matter_is_metadata_not_text() -> None:
    note = '---\ntitle: "Harbour notes"\ntags:\n  - tide\n---\n\nThe gauges read the tide every minute.\n'
    parts, sections, title = read_markdown(note)
    assert title == "Harbour notes" and parts == ["The gauges read the tide every minute."]
    ruled = "---\n\nA page that opens with a rule.\n\n---\n\nAnd has text after it.\n"  # no key: value lines
    assert "A page that opens with a rule." in "\n".join(read_markdown(ruled)[0])
