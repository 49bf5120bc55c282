"""The sentence embedder on ONNX Runtime + ``tokenizers``: no torch at query time, faster indexing.

The ONNX file is exported once from the installed sentence-transformers model (torch is imported for that
export only), checked to give the same vectors as sentence-transformers (cosine >= ``MIN_COSINE`` on a fixed
sample), and kept in the per-user data folder under the model's content hash, so every index and every process
on the machine shares it. Vectors are the model's: mean pooling over the attention mask, L2-normalised.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import ModelError
from .store import sha256_file

MIN_COSINE = 0.9999
EXPORT_VERSION = 1
#: texts the export is checked on: short, long (past the 256-token limit), numbers, accents, punctuation
CHECK_SAMPLE = [
    "When was the first ministerial meeting held?",
    "China-LAC trade reached US$450 billion in 2021, up 41.1 percent.",
    "Asthma is a common long-term inflammatory disease of the airways of the lungs.",
    "Le président a visité São Paulo, Bogotá et Ciudad de México en novembre.",
    "x",
    "",
    "Which countries did Xi Jinping visit in November 2016?",
    " ".join(["The forum met again and again to discuss trade, finance and infrastructure."] * 40),
    ("The Normans (Norman: Nourmands; French: Normands; Latin: Normanni) were the people who in the 10th and "
     "11th centuries gave their name to Normandy, a region in France."),
    "What is 3 x 3? 3x3 = 9; (a) first, (b) second - and [c] third.",
    "\u4e2d\u56fd\u4e0e\u62c9\u4e01\u7f8e\u6d32 relations, 2015\u20132019",
    "e-mail: someone@example.org; URL https://example.org/a/b?c=d",
]


def default_data_dir() -> Path:
    """The per-user data folder: $LACQA_DATA_DIR, else $XDG_DATA_HOME/lacqa, else ~/.local/share/lacqa."""
    if os.environ.get("LACQA_DATA_DIR"):
        return Path(os.environ["LACQA_DATA_DIR"])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "lacqa"


def _weights_file(model_dir: Path) -> Path:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (model_dir / name).is_file():
            return model_dir / name
    raise ModelError(f"no weights (model.safetensors) in the embedding model folder {model_dir}")


def export_dir_for(model_dir: Path, data_dir: Path, int8: bool = False) -> Path:
    """Where the ONNX export of ``model_dir`` lives: keyed by the weights' hash, so a changed model re-exports."""
    digest = sha256_file(_weights_file(model_dir))[:16]
    return data_dir / "embedders" / f"{model_dir.name}-{digest}-v{EXPORT_VERSION}{'-int8' if int8 else ''}"


def export_int8(model_dir: Path, data_dir: Path) -> Path:
    """The fp32 export's weights quantized to int8 (ONNX Runtime dynamic quantization): about 1.8x the speed on
    2 cores, but other vectors (cosine ~0.96 to fp32), so an index built with it is its own (model id '+int8')."""
    out = export_dir_for(model_dir, data_dir, int8=True)
    if (out / "embedder.json").is_file():
        return out
    fp32 = export_onnx(model_dir, data_dir)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=out.parent))
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(fp32 / "model.onnx"), str(tmp / "model.onnx"), weight_type=QuantType.QInt8)
        shutil.copy(fp32 / "tokenizer.json", tmp / "tokenizer.json")
        meta = json.loads((fp32 / "embedder.json").read_text(encoding="utf-8"))
        meta["files"] = {n: sha256_file(tmp / n) for n in ("model.onnx", "tokenizer.json")}
        ref = OnnxEmbedder(fp32).embed_documents(CHECK_SAMPLE)
        cos = np.sum(ref * OnnxEmbedder(tmp, meta=meta).embed_documents(CHECK_SAMPLE), axis=1)
        meta["check"] = {"texts": len(CHECK_SAMPLE), "cosine_to_fp32_min": round(float(cos.min()), 4),
                         "cosine_to_fp32_mean": round(float(cos.mean()), 4)}
        meta["quantized"] = "int8"
        (tmp / "embedder.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        try:
            tmp.rename(out)
        except OSError:
            if not (out / "embedder.json").is_file():
                raise
    except Exception as exc:  # any failure of the quantization is a model problem
        raise ModelError(f"could not quantize the embedder export {fp32}: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _max_tokens(model_dir: Path) -> int:
    try:
        return int(json.loads((model_dir / "sentence_bert_config.json").read_text(encoding="utf-8"))["max_seq_length"])
    except (OSError, ValueError, KeyError):
        return 256


def export_onnx(model_dir: Path, data_dir: Path) -> Path:
    """Export ``model_dir`` (a sentence-transformers folder) to ONNX once, check it against sentence-transformers,
    and return the folder holding ``model.onnx``, ``tokenizer.json`` and ``embedder.json``. Idempotent; the
    folder appears complete or not at all (written aside, then renamed)."""
    out = export_dir_for(model_dir, data_dir)
    if (out / "embedder.json").is_file():
        return out
    from .embed import offline_hub_env

    offline_hub_env()
    if not (model_dir / "tokenizer.json").is_file():
        raise ModelError(f"the embedding model folder {model_dir} has no tokenizer.json: cannot run it without torch")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=out.parent))
    except OSError as exc:
        raise ModelError(f"cannot write the embedder export in {out.parent}: {exc} - set LACQA_DATA_DIR") from exc
    try:
        import torch
        from transformers import AutoModel

        class _Hidden(torch.nn.Module):  # the export returns the token states; pooling is done in numpy
            def __init__(self, inner: torch.nn.Module) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
                return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                                  token_type_ids=token_type_ids).last_hidden_state

        model = _Hidden(AutoModel.from_pretrained(str(model_dir), local_files_only=True)).eval()
        ids = torch.ones((2, 8), dtype=torch.long)
        with torch.no_grad():
            torch.onnx.export(
                model, (ids, torch.ones_like(ids), torch.zeros_like(ids)), str(tmp / "model.onnx"),
                input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["hidden"],
                dynamic_axes={n: {0: "batch", 1: "seq"} for n in ("input_ids", "attention_mask", "token_type_ids", "hidden")},
                opset_version=17, dynamo=False,
            )
        shutil.copy(model_dir / "tokenizer.json", tmp / "tokenizer.json")
        meta = {
            "source": str(model_dir), "source_sha256": sha256_file(_weights_file(model_dir)),
            "max_tokens": _max_tokens(model_dir), "export_version": EXPORT_VERSION,
            "files": {n: sha256_file(tmp / n) for n in ("model.onnx", "tokenizer.json")},
        }
        meta["check"] = _check_against_torch(model_dir, tmp, meta)
        (tmp / "embedder.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        try:
            tmp.rename(out)
        except OSError:  # another process finished the same export first: keep theirs
            if not (out / "embedder.json").is_file():
                raise
    except ModelError:
        raise
    except Exception as exc:  # any failure of the export is a model problem for the user
        raise ModelError(f"could not export the embedding model {model_dir} to ONNX: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _check_against_torch(model_dir: Path, folder: Path, meta: dict) -> dict:
    """The export must give sentence-transformers' vectors: min cosine over the sample >= MIN_COSINE."""
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True).encode(
        CHECK_SAMPLE, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    mine = OnnxEmbedder(folder, threads=2, meta=meta).embed_documents(CHECK_SAMPLE)
    cosines = np.sum(reference * mine, axis=1)
    worst = float(cosines.min())
    if worst < MIN_COSINE:
        raise ModelError(f"the ONNX export of {model_dir} does not match sentence-transformers "
                         f"(min cosine {worst:.6f} < {MIN_COSINE}); lacqa keeps using torch")
    return {"texts": len(CHECK_SAMPLE), "min_cosine": round(worst, 7)}


class OnnxEmbedder:
    """A checked ONNX export of a sentence-transformers model; files verified against their hashes on load."""

    def __init__(self, folder: Path, model_id: str = "sentence-transformers/all-MiniLM-L6-v2", threads: int = 2,
                 batch_size: int = 32, meta: dict | None = None) -> None:
        self._folder = Path(folder)
        self._model_id = model_id
        self._threads = threads
        self._batch_size = batch_size
        self._meta = meta
        self._session = None
        self._tokenizer = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return int(self._run(["dimension"]).shape[1])

    def _load(self) -> None:
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            from .onnxrt import check_files, load_session

            meta = self._meta
            if meta is None:
                try:
                    meta = json.loads((self._folder / "embedder.json").read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise ModelError(f"the embedder export {self._folder} is incomplete ({exc}): delete the folder "
                                     "and run `lacqa index` to export it again") from exc
                check_files(self._folder, meta.get("files", {}), "embedder export", "embedder.json",
                            "delete the folder and run `lacqa index` to export it again")

            session, tokenizer = load_session(self._folder / "model.onnx", self._folder / "tokenizer.json",
                                              self._threads, "embedder export")
            tokenizer.enable_truncation(max_length=int(meta.get("max_tokens", 256)))
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            self._tokenizer, self._session = tokenizer, session

    def _run(self, texts: Sequence[str]) -> np.ndarray:
        self._load()
        assert self._tokenizer is not None and self._session is not None
        enc = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask,
                                          "token_type_ids": np.zeros_like(ids)})[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)

    def embed_documents(self, texts: Sequence[str], progress=None) -> np.ndarray:  # type: ignore[no-untyped-def]
        """Vectors in the order given; computed in batches of similar length (little padding), longest first."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out: np.ndarray | None = None
        done = 0
        for start in range(0, len(order), self._batch_size):
            rows = order[start : start + self._batch_size]
            vecs = self._run([texts[i] for i in rows])
            if out is None:
                out = np.zeros((len(texts), vecs.shape[1]), np.float32)
            out[rows] = vecs
            done += len(rows)
            if progress:
                progress(done, len(texts))
        assert out is not None
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self._run([text])[0]
