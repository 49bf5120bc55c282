"""Stage boundaries: ingestion and the index never import the answer stage; lang/ holds data only."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "lacqa"
INDEX_SIDE = ["load.py", "clean.py", "html.py", "word.py", "epub.py", "archive.py", "chunk.py", "embed.py", "store.py",
              "build.py", "lexical.py", "vector_store.py", "qdrant_store.py"]


def imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            out.add(("." * node.level) + (node.module or ""))
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_index_side_never_imports_the_answer_stage() -> None:
    for name in INDEX_SIDE:
        mods = imported(SRC / name)
        bad = {m for m in mods if m.lstrip(".").startswith(("answer", "lacqa.answer", "evidence", "kinds"))}
        assert not bad, f"{name} imports {bad}"


def test_lang_holds_data_and_its_loader_only() -> None:
    files = sorted(p.name for p in (SRC / "lang").iterdir() if p.is_file())
    assert [f for f in files if f.endswith(".py")] == ["__init__.py"]
    assert all(f.endswith((".json", ".py")) for f in files)
