"""Where lacqa finds its model and its index: from the flags, the environment, ./models, the data folder - and the
same from any working directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lacqa.config import Settings, default_index_dir
from lacqa.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


def _gguf(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"GGUF" + b"\0" * 60)
    return path


def test_the_model_is_found_in_order_flag_models_folder_data_folder(tmp_path: Path) -> None:
    data, models = tmp_path / "data", tmp_path / "models"
    registered = _gguf(data / "models" / "registered.gguf")
    s = Settings(data_dir=data, models_dir=models)
    assert s.resolve_model() == registered  # nothing in ./models: the registered one
    local = _gguf(models / "local.gguf")
    assert Settings(data_dir=data, models_dir=models).resolve_model() == local  # ./models first
    explicit = _gguf(tmp_path / "elsewhere" / "mine.gguf")
    assert Settings(data_dir=data, models_dir=models, model=explicit).resolve_model() == explicit
    assert [p.name for p in s.available_models()] == ["local.gguf", "registered.gguf"]


def test_no_model_anywhere_says_where_it_looked(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "data", models_dir=tmp_path / "models")
    with pytest.raises(ConfigError, match=r"models.*data/models.*--model"):
        s.resolve_model()
    with pytest.raises(ConfigError, match="not found"):
        Settings(data_dir=tmp_path, model=tmp_path / "missing.gguf").resolve_model()


def test_a_dangling_registration_is_skipped(tmp_path: Path) -> None:
    link = tmp_path / "data" / "models" / "gone.gguf"
    link.parent.mkdir(parents=True)
    link.symlink_to(tmp_path / "deleted.gguf")
    with pytest.raises(ConfigError):
        Settings(data_dir=tmp_path / "data", models_dir=tmp_path / "models").resolve_model()


def test_each_library_gets_its_own_index_in_the_data_folder(tmp_path: Path) -> None:
    a, b = tmp_path / "papers", tmp_path / "other" / "papers"
    sa = Settings(sources_dir=a, data_dir=tmp_path / "data")
    assert sa.index_dir == default_index_dir(a, tmp_path / "data") != default_index_dir(b, tmp_path / "data")
    assert sa.index_dir.parent == tmp_path / "data" / "indexes" and sa.index_dir.name.startswith("papers-")
    assert Settings(sources_dir=a, index_dir=tmp_path / "mine").index_dir == tmp_path / "mine"  # explicit wins
    assert Settings(sources_dir=Path("seeds")).index_dir == Path("index")  # the repository's own layout


def _cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    code = f"import sys; sys.argv = ['lacqa', *{args!r}]; from lacqa.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


def test_models_add_registers_for_use_from_any_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    model = _gguf(tmp_path / "dl" / "tiny.gguf")
    done = _cli(["models", "--add", str(model)], cwd=tmp_path, LACQA_DATA_DIR=str(data))
    assert done.returncode == 0, done.stderr
    listed = _cli(["models", "--json"], cwd=tmp_path / "dl", LACQA_DATA_DIR=str(data))
    assert json.loads(listed.stdout)["models"] == [str(data / "models" / "tiny.gguf")]
    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("hello")
    bad = _cli(["models", "--add", str(not_gguf)], cwd=tmp_path, LACQA_DATA_DIR=str(data))
    assert bad.returncode == 2 and "GGUF" in bad.stderr and "Traceback" not in bad.stderr


def test_search_with_sources_from_another_folder(tmp_path: Path) -> None:
    """`lacqa index --sources X` then `lacqa search --sources X` from elsewhere: the same index, no --index."""
    sources = tmp_path / "papers"
    sources.mkdir()
    (sources / "a.txt").write_text("Alpacas\n\nAlpaca wool from Puno was shipped to Ningbo in 2019.\n")
    env = {"LACQA_DATA_DIR": str(tmp_path / "data")}
    built = _cli(["index", "--sources", str(sources), "--json"], cwd=tmp_path, **env)
    assert built.returncode == 0, built.stderr
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    found = _cli(["search", "alpaca wool Ningbo", "--sources", str(sources), "--json", "-k", "1"], cwd=elsewhere,
                 **env)
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["hits"][0]["source"] == "a.txt"
    assert (tmp_path / "data" / "indexes").is_dir() and not (elsewhere / "index").exists()
