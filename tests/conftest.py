"""Shared fixtures: settings rooted in tmp_path, a copy of the seed corpus, an Assistant on the fake embedder."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hyp_settings
from hypothesis.configuration import set_hypothesis_home_dir

from lacqa.config import Settings
from lacqa.embed import HashEmbedder
from lacqa.generate import ScriptedGenerator
from lacqa.pipeline import Assistant

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SEED_FILES = sorted(SEEDS.glob("*.txt"))

# No example database, and Hypothesis's caches go under pytest's tmp folder: tests write nothing into the repo.
# Examples are drawn from a fixed seed so that `make test` gives the same verdict on every run (a failure a random
# run finds is kept as an @example); LACQA_HYPOTHESIS_EXPLORE=1 draws fresh examples to hunt for new failures.
hyp_settings.register_profile("lacqa", database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                              derandomize=not os.environ.get("LACQA_HYPOTHESIS_EXPLORE"))
hyp_settings.load_profile("lacqa")


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    # before collection, when Hypothesis caches the constants of the code under test
    factory = getattr(config, "_tmp_path_factory", None)
    set_hypothesis_home_dir(factory.mktemp("hypothesis") if factory else tempfile.mkdtemp(prefix="hypothesis-"))
    # the per-user data folder (registered models, the embedder's ONNX export) is the session's own: what a user
    # registered does not leak into the tests, and the export is made (and checked) once per session, as on a new
    # machine; subprocesses inherit it
    os.environ["LACQA_DATA_DIR"] = str(factory.mktemp("data") if factory else tempfile.mkdtemp(prefix="lacqa-data-"))


def copy_seeds(dest: Path, names: list[str] | None = None) -> Path:
    """Copy the seed files (all, or those named) into ``dest`` and return it."""
    dest.mkdir(parents=True, exist_ok=True)
    for path in SEED_FILES:
        if names is None or path.name in names:
            shutil.copy2(path, dest / path.name)
    return dest


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    """Settings whose sources and index folders live under tmp_path; keyword overrides pass through."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {"sources_dir": tmp_path / "sources", "index_dir": tmp_path / "index"}
        values.update(overrides)
        settings = Settings(**values)
        if "answer" not in overrides:
            settings.answer.ranker = "off"  # unit tests run on fakes; the shipped ranker has its own tests
            settings.answer.span = False  # likewise the span reader (tests pass a MarkedSpanReader)
        return settings

    return make


@pytest.fixture
def seeded_settings(tmp_path: Path, settings_factory: Callable[..., Settings]) -> Settings:
    """Settings over a tmp_path copy of the five seed documents."""
    copy_seeds(tmp_path / "sources")
    return settings_factory()


@pytest.fixture
def hash_assistant(seeded_settings: Settings) -> Assistant:
    """An Assistant over the seed copy, on the deterministic HashEmbedder (nothing built yet)."""
    return Assistant(seeded_settings, embedder=HashEmbedder())


FILLER = "\n\n".join(f"Report {i} counted {i * 7} new shipments of grain and copper in week {i}." for i in range(80))
"""80 unrelated sentences: in a library this size, a name in one sentence is rare, as in a real one."""


@pytest.fixture
def small_library(tmp_path: Path, settings_factory: Callable[..., Settings]) -> Callable[..., Assistant]:
    """Index the given {file name: text} on the HashEmbedder and return the Assistant: drafting off, or with
    ``draft`` as the scripted model's reply."""

    def make(files: dict[str, str], filler: bool = False, draft: str | None = None) -> Assistant:
        sources = tmp_path / "sources"
        sources.mkdir(exist_ok=True)
        if filler:
            files = {**files, "filler.txt": f"Trade log\n\n{FILLER}\n"}
        for name, text in files.items():
            (sources / name).write_text(text, encoding="utf-8")
        settings = settings_factory()
        settings.answer.draft = draft is not None
        generator = ScriptedGenerator(default=draft) if draft is not None else None
        assistant = Assistant(settings, embedder=HashEmbedder(), generator=generator)
        assistant.index()
        return assistant

    return make
