"""The `lacqa` command line against a tmp_path copy of the seeds, with the real MiniLM embedder.

Loading MiniLM takes ~6 s, so the model is loaded once for the module (the factory the CLI's Assistant calls
is wrapped to hand back one shared, real embedder) and the number of invocations is kept small. Embedding the
whole corpus takes ~50 s on two cores, so the largest seed (004, 61 kB) is cut to its first ~12 kB.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lacqa import pipeline
from lacqa.cli import app
from lacqa.embed import make_embedder

from .conftest import copy_seeds

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent
REPORT_KEYS = {"generation", "added", "changed", "removed", "unchanged", "skipped", "documents", "chunks", "seconds"}
HIT_KEYS = {"doc_id", "source", "title", "start", "end", "page", "section", "text", "score"}
# One easy factual question per seed document, from the dev set.
RETRIEVAL_IDS = ["dev-001", "dev-024", "dev-033", "dev-046", "dev-058"]


class Cli:
    """Invokes `lacqa` with LACQA_SOURCES_DIR / LACQA_INDEX_DIR pointing into tmp_path."""

    def __init__(self, sources: Path, index: Path) -> None:
        self.runner = CliRunner()
        self.env = {"LACQA_SOURCES_DIR": str(sources), "LACQA_INDEX_DIR": str(index)}
        self.sources, self.index = sources, index

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Any:
        return self.runner.invoke(app, list(args), env={**self.env, **(env or {})}, catch_exceptions=False)

    def json(self, *args: str) -> Any:
        result = self(*args)
        assert result.exit_code == 0, f"lacqa {' '.join(args)} failed: {result.stdout}\n{result.stderr}"
        return json.loads(result.stdout)


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    shared: dict[Any, Any] = {}

    def one_real_embedder(path: Path | None = None, kind: str = "onnx", data_dir: Path | None = None) -> Any:
        if (path, kind) not in shared:
            shared[(path, kind)] = make_embedder(path, kind, data_dir)
        return shared[(path, kind)]

    root = tmp_path_factory.mktemp("cli")
    sources = copy_seeds(root / "sources")
    big = sources / "004_96957fa1265ff0cc.txt"
    text = big.read_text(encoding="utf-8")
    big.write_text(text[: text.index("\n", 12_000) + 1], encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "make_embedder", one_real_embedder)
        yield Cli(sources, root / "index")


@pytest.fixture(scope="module")
def first_report(cli: Cli) -> dict[str, Any]:
    return cli.json("index", "--json")


def test_index_json_reports_the_documented_keys(cli: Cli, first_report: dict[str, Any]) -> None:
    assert REPORT_KEYS <= set(first_report)
    assert first_report["added"] == sorted(p.name for p in cli.sources.iterdir())
    assert first_report["changed"] == first_report["removed"] == first_report["unchanged"] == []
    assert first_report["skipped"] == []
    assert first_report["documents"] == 5 and first_report["chunks"] > 100
    assert (cli.index / "CURRENT").read_text().strip() == first_report["generation"]


def test_second_index_is_a_fast_noop(cli: Cli, first_report: dict[str, Any]) -> None:
    report = cli.json("index", "--json")
    assert report["unchanged"] == first_report["added"]
    assert report["added"] == report["changed"] == report["removed"] == []
    assert report["generation"] == first_report["generation"]
    assert report["seconds"] < 1.0


def test_dry_run_reports_a_change_and_publishes_nothing(
    cli: Cli, first_report: dict[str, Any], tmp_path: Path
) -> None:
    edited = tmp_path / "edited"
    shutil.copytree(cli.sources, edited)
    target = sorted(edited.iterdir())[2]
    target.write_text(target.read_text(encoding="utf-8") + "\nOne more closing line.\n", encoding="utf-8")
    report = cli.json("index", "--dry-run", "--json", "--sources", str(edited))
    assert REPORT_KEYS <= set(report)
    assert report["dry_run"] is True and report["published"] is False
    assert report["changed"] == [target.name] and len(report["unchanged"]) == 4
    assert (cli.index / "CURRENT").read_text().strip() == first_report["generation"]


def test_search_json_hits_are_slices_of_the_stored_text(cli: Cli, first_report: dict[str, Any]) -> None:
    data = cli.json("search", "When was the China-CELAC Forum first ministerial meeting held?", "--json", "-k", "3")
    hits = data["hits"]
    assert len(hits) == 3
    texts = {p.name: p.read_text(encoding="utf-8") for p in cli.sources.iterdir()}
    for hit in hits:
        assert set(hit) == HIT_KEYS
        assert hit["source"] in texts and hit["page"] is None and hit["section"] is None
        assert hit["end"] - hit["start"] == len(hit["text"])
        assert hit["text"] in texts[hit["source"]]  # verbatim in the source file
    # and exactly the slice of the stored (cleaned) text
    db = sqlite3.connect(cli.index / "generations" / first_report["generation"] / "index.sqlite")
    stored = dict(db.execute("SELECT doc_id, text FROM documents").fetchall())
    db.close()
    for hit in hits:
        assert stored[hit["doc_id"]][hit["start"] : hit["end"]] == hit["text"]
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_search_jsonl_finds_the_right_document(cli: Cli, first_report: dict[str, Any], tmp_path: Path) -> None:
    rows = {r["id"]: r for r in map(json.loads, (REPO / "eval" / "dev.jsonl").read_text().splitlines())}
    questions = [rows[i] for i in RETRIEVAL_IDS]
    assert all(q["kind"] == "factual" for q in questions)
    assert len({q["doc"] for q in questions}) == 5, "one question per seed document"
    qfile = tmp_path / "questions.jsonl"
    qfile.write_text("".join(json.dumps({"id": q["id"], "q": q["q"]}) + "\n" for q in questions))

    result = cli("search", "--jsonl", str(qfile), "-k", "5")
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [line["id"] for line in lines] == RETRIEVAL_IDS
    misses = []
    for q, line in zip(questions, lines):
        assert 1 <= len(line["hits"]) <= 5
        sources = [h["source"] for h in line["hits"]]
        if q["doc"] not in sources:
            misses.append((q["id"], q["doc"], sources))
    assert not misses, f"right document not in the top 5: {misses}"


def test_status_json(cli: Cli, first_report: dict[str, Any]) -> None:
    info = cli.json("status", "--json")
    assert info["generation"] == first_report["generation"]
    assert info["documents"] == 5 and info["chunks"] == first_report["chunks"]
    assert info["model"] == "sentence-transformers/all-MiniLM-L6-v2" and info["dimension"] == 384
    assert info["stale"] is False


def test_missing_index_says_to_run_lacqa_index(cli: Cli, tmp_path: Path) -> None:
    empty = {"LACQA_INDEX_DIR": str(tmp_path / "no-index")}
    result = cli("search", "anything", "--json", env=empty)
    assert result.exit_code != 0
    error = json.loads(result.stdout)
    assert error["type"] == "IndexMissingError" and "lacqa index" in error["error"]
    assert "lacqa index" in result.stderr

    result = cli("status", env=empty)
    assert result.exit_code != 0
    assert "lacqa index" in result.stdout + result.stderr
