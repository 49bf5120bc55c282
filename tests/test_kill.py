"""A build SIGKILLed midway (in a real subprocess) leaves the serving generation untouched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lacqa.build import build_index
from lacqa.config import Settings
from lacqa.embed import HashEmbedder
from lacqa.pipeline import Assistant
from lacqa.store import IndexDir, open_current
from lacqa.vector_cache import VectorCache

SRC = Path(__file__).resolve().parent.parent / "src"

# The child builds with a HashEmbedder that stops, touching a marker, at the chosen phase:
#   embed - inside embed_documents (nothing of the new generation is on disk yet)
#   write - after every file of the new generation is written to its .tmp- folder, before publish
SCRIPT = """
import sys, time
from pathlib import Path

import lacqa.build
from lacqa.config import Settings
from lacqa.embed import HashEmbedder

sources, index, marker, phase = sys.argv[1:5]


lacqa.build.EMBED_BATCH = 40  # small batches: the resume phase dies after two of them are cached


class SlowEmbedder(HashEmbedder):
    def embed_documents(self, texts, progress=None):
        if phase == "resume" and self.calls >= 80:
            Path(marker).write_text("embedding the third batch")
            time.sleep(120)
        vectors = super().embed_documents(texts, progress)
        if phase == "embed":
            Path(marker).write_text("embedding")
            time.sleep(120)
        return vectors


if phase == "write":
    real_write = lacqa.build.write_generation

    def slow_write(folder, *args, **kwargs):
        manifest = real_write(folder, *args, **kwargs)
        Path(marker).write_text(str(folder))
        time.sleep(120)
        return manifest

    lacqa.build.write_generation = slow_write

lacqa.build.build_index(Settings(sources_dir=sources, index_dir=index), SlowEmbedder())
print("finished")  # never reached: the parent kills us first
"""


def tmp_folders(settings: Settings) -> list[Path]:
    return sorted((Path(settings.index_dir) / "generations").glob(".tmp-*"))


def published(settings: Settings) -> list[str]:
    return sorted(p.name for p in (Path(settings.index_dir) / "generations").iterdir() if p.name.startswith("g-"))


def start_and_kill(tmp_path: Path, settings: Settings, phase: str) -> None:
    script = tmp_path / "slow_build.py"
    script.write_text(SCRIPT)
    marker = tmp_path / f"marker-{phase}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(settings.sources_dir), str(settings.index_dir), str(marker), phase],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            if proc.poll() is not None:
                out, err = proc.communicate()
                pytest.fail(f"child build exited early ({proc.returncode}): {out.decode()} {err.decode()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail("child build never reached the marker")
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.parametrize("phase", ["embed", "write"])
def test_build_killed_midway_leaves_previous_generation_serving(
    tmp_path: Path, seeded_settings: Settings, phase: str
) -> None:
    settings = seeded_settings
    first = build_index(settings, HashEmbedder())
    assert first.published
    index_dir = IndexDir(settings.index_dir)
    pointer_bytes = index_dir.pointer.read_bytes()
    gens_before = published(settings)

    # give the child something to do: a new document
    (Path(settings.sources_dir) / "new_note.txt").write_text(
        "New Note\nAlpaca wool cooperatives in Puno exported their first container to Ningbo.\n"
    )
    start_and_kill(tmp_path, settings, phase)

    # CURRENT is byte for byte what it was, and the previous generation still opens and answers
    assert index_dir.pointer.read_bytes() == pointer_bytes
    assert published(settings) == gens_before
    gen = open_current(index_dir)
    assert gen.name == first.generation and len(gen.documents) == 5
    hits = Assistant(settings, embedder=HashEmbedder()).search("China-CELAC Forum first ministerial meeting", k=3)
    assert hits and all(h.chunk.source != "new_note.txt" for h in hits)
    if phase == "write":
        leftovers = tmp_folders(settings)
        assert len(leftovers) == 1 and (leftovers[0] / "chunks.faiss").is_file()

    # the lock died with the child; the next build succeeds, publishes and clears the leftovers
    report = build_index(settings, HashEmbedder())
    assert report.published and report.added == ["new_note.txt"]
    assert tmp_folders(settings) == []
    assert index_dir.current() == report.generation != first.generation
    hits = Assistant(settings, embedder=HashEmbedder()).search("alpaca wool Puno Ningbo", k=1)
    assert hits[0].chunk.source == "new_note.txt"


def test_build_killed_while_embedding_resumes_without_re_embedding(tmp_path: Path, seeded_settings: Settings) -> None:
    """Vectors are cached batch by batch as they are computed: after a SIGKILL the next build embeds only the
    rest, and its index is the one a build never interrupted makes."""
    settings = seeded_settings
    start_and_kill(tmp_path, settings, "resume")
    assert IndexDir(settings.index_dir).current() is None  # nothing was published
    resumed_embedder = HashEmbedder()
    report = build_index(settings, resumed_embedder)
    assert report.published
    gen = open_current(IndexDir(settings.index_dir))
    total = len(set(gen.sentence_hashes))  # chunk vectors are pooled from the sentences': only sentences are embedded
    assert report.embedded == resumed_embedder.calls == total - 80  # the two cached batches were not redone
    fresh = Settings(sources_dir=settings.sources_dir, index_dir=tmp_path / "fresh")
    build_index(fresh, HashEmbedder())
    other = open_current(IndexDir(fresh.index_dir))
    assert (gen.chunk_vectors() == other.chunk_vectors()).all()
    assert (gen.sentence_vectors() == other.sentence_vectors()).all()
    assert not (Path(settings.index_dir) / "cache" / "vectors.sqlite").exists() or \
        VectorCache(Path(settings.index_dir) / "cache" / "vectors.sqlite", "hash-bow-64").get_many(gen.chunk_hashes) == {}


RANDOM_KILL_SCRIPT = """
import sys, time
import lacqa.build
from lacqa.config import Settings
from lacqa.embed import HashEmbedder

lacqa.build.EMBED_BATCH = 60


class Paced(HashEmbedder):  # a build that takes a few seconds: kills land in every phase
    def embed_documents(self, texts, progress=None):
        time.sleep(0.15)
        return super().embed_documents(texts, progress)


lacqa.build.build_index(Settings(sources_dir=sys.argv[1], index_dir=sys.argv[2]), Paced())
"""


def test_builds_killed_at_random_moments_never_break_the_serving_index(tmp_path: Path, seeded_settings: Settings) -> None:
    """Kill builds at random moments (scanning, embedding, writing, publishing): every time the last published
    generation still opens and answers, and the next build finishes and serves the change."""
    import random

    settings = seeded_settings
    build_index(settings, HashEmbedder())
    index_dir = IndexDir(settings.index_dir)
    script = tmp_path / "paced_build.py"
    script.write_text(RANDOM_KILL_SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}
    rng = random.Random(7)
    kills = int(os.environ.get("LACQA_RANDOM_KILLS", "8"))
    killed = 0
    # how long one such build takes on this machine now (start-up included): kills are drawn within it
    (Path(settings.sources_dir) / "note_ref.txt").write_text("Reference\n\nA note to time one build by.\n")
    t = time.monotonic()
    subprocess.run([sys.executable, str(script), str(settings.sources_dir), str(settings.index_dir)], env=env,
                   capture_output=True, cwd=tmp_path, check=True, timeout=120)
    span = time.monotonic() - t
    for i in range(kills):
        (Path(settings.sources_dir) / f"note_{i}.txt").write_text(
            f"Note {i}\\n\\nShipment number {i} of alpaca wool left Puno for Ningbo in week {i + 10}.\\n")
        proc = subprocess.Popen([sys.executable, str(script), str(settings.sources_dir), str(settings.index_dir)],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path)
        time.sleep(rng.uniform(0.0, 0.9 * span))  # interpreter start-up, scan, embed, write, publish: anywhere
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        killed += proc.returncode == -signal.SIGKILL
        proc.stderr.close()  # type: ignore[union-attr]
        # CURRENT names a whole generation that passes its checks: the previous one, or (a kill that landed
        # after the pointer switched) the new one complete
        gen = open_current(index_dir)
        assert set(gen.manifest["sources"]) <= {p.name for p in Path(settings.sources_dir).iterdir()}
        assert len(gen.documents) == len(gen.manifest["sources"]) >= 5
        hits = Assistant(settings, embedder=HashEmbedder()).search("China-CELAC Forum first ministerial meeting", k=1)
        assert hits
    assert killed >= kills // 2  # most builds were really cut short
    report = build_index(settings, HashEmbedder())
    gen = open_current(index_dir)
    assert gen.name == (report.generation if report.published else gen.name)
    assert {f"note_{i}.txt" for i in range(kills)} | {"note_ref.txt"} <= set(gen.manifest["sources"])
    assert tmp_folders(settings) == []
