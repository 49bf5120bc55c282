"""The embedder on ONNX Runtime: exported once from the installed MiniLM, it gives sentence-transformers' vectors;
a damaged export is refused by name; the query path imports no torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lacqa.embed import MiniLMEmbedder, packaged_minilm_path
from lacqa.errors import ModelError
from lacqa.onnx_embed import MIN_COSINE, OnnxEmbedder, default_data_dir, export_onnx

pytestmark = pytest.mark.integration
SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@pytest.fixture(scope="module")
def export() -> Path:
    return export_onnx(packaged_minilm_path(), default_data_dir())


def test_the_export_gives_sentence_transformers_vectors_on_library_text(export: Path) -> None:
    from sentence_transformers import SentenceTransformer

    meta = json.loads((export / "embedder.json").read_text())
    assert meta["check"]["min_cosine"] >= MIN_COSINE
    text = next(SEEDS.glob("*.txt")).read_text(encoding="utf-8")
    texts = [line for line in text.splitlines() if line.strip()][:40] + ["What did the forum agree?", text[:5000]]
    reference = SentenceTransformer(str(packaged_minilm_path()), device="cpu", local_files_only=True).encode(
        texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    onnx = OnnxEmbedder(export)
    mine = onnx.embed_documents(texts)
    assert mine.shape == reference.shape == (len(texts), 384)
    assert float(np.sum(mine * reference, axis=1).min()) >= MIN_COSINE
    assert np.allclose(onnx.embed_query(texts[3]), mine[3], atol=1e-5)  # a batch of one, a batch of many: same
    assert np.allclose(np.linalg.norm(mine, axis=1), 1.0, atol=1e-5)


def test_the_default_embedder_runs_on_onnx_and_keeps_the_model_id(export: Path) -> None:
    emb = MiniLMEmbedder(data_dir=default_data_dir())
    assert emb.backend == "onnx"
    assert emb.model_id == MiniLMEmbedder(backend="torch").model_id  # indexes built by either serve the other
    assert emb.dim == 384


def test_a_damaged_export_is_refused_by_name(export: Path, tmp_path: Path) -> None:
    copy = tmp_path / "export"
    copy.mkdir()
    for f in export.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    model = copy / "model.onnx"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="model.onnx"):
        OnnxEmbedder(copy).embed_query("anything")


def test_search_as_a_process_imports_no_torch(export: Path, tmp_path: Path) -> None:
    """`lacqa search` on a built index: the query is embedded without torch or sentence-transformers."""
    from lacqa.config import Settings
    from lacqa.pipeline import Assistant

    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "a.txt").write_text("Trade\n\nChina-LAC trade reached 450 billion dollars in 2021.\n", encoding="utf-8")
    settings = Settings(sources_dir=sources, index_dir=tmp_path / "index")
    Assistant(settings).index()
    code = ("import sys; from lacqa.cli import main; sys.argv = ['lacqa', 'search', 'trade in 2021', '--json', "
            f"'--index', {str(settings.index_dir)!r}]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('TORCH' if 'torch' in sys.modules or 'sentence_transformers' in sys.modules else 'NO-TORCH')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "450 billion" in done.stdout and done.stdout.strip().endswith("NO-TORCH")
