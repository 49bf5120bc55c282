"""Loading an ONNX model with its tokenizer on ONNX Runtime's CPU provider: shared by the embedder and the ranker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import ModelError
from .store import sha256_file


def check_files(folder: Path, files: dict[str, str], what: str, described_in: str, remedy: str) -> None:
    """Every file a model's description lists is in ``folder`` with its recorded sha256, else a ModelError that
    names the file and says what to do (``remedy``)."""
    for name, digest in files.items():
        file = folder / name
        if not file.is_file():
            raise ModelError(f"the {what} file {file} is missing: {remedy}")
        if sha256_file(file) != digest:
            raise ModelError(f"the {what} file {file} is damaged (sha256 does not match {described_in}): {remedy}")


def load_session(model: Path, tokenizer: Path, threads: int, what: str) -> tuple[Any, Any]:
    """(InferenceSession, Tokenizer); a file that fails to load is a ModelError naming ``what`` and its folder."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
        return session, Tokenizer.from_file(str(tokenizer))
    except Exception as exc:  # any load failure is a damaged or foreign model file
        raise ModelError(f"the {what} in {model.parent} failed to load: {exc}") from exc
