"""Is the int8 embedder worth it? Retrieval hit@1 / hit@5 / answer@5 and indexing items/s, fp32 ONNX beside int8
ONNX, on the seed sets and a held-out SQuAD library, in one run.

    .venv/bin/python bench/embed_int8.py [--squad /tmp/sq10]   (a library made by bench/squad_sets.py)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from retrieval import hybrid  # noqa: E402

from lacqa.config import Settings  # noqa: E402
from lacqa.embed import make_embedder  # noqa: E402
from lacqa.evaluate import load_set  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--squad", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "embed_int8.json")
    args = ap.parse_args()
    libraries = [("seeds", ROOT / "seeds", [ROOT / "eval" / f for f in ("dev.jsonl", "heldout.jsonl", "heldout2.jsonl",
                                                                       "heldout3.jsonl")])]
    if args.squad:
        libraries.append(("squad", args.squad / "sources", [args.squad / "questions.jsonl"]))
    results: dict = {}
    for kind in ("onnx", "onnx-int8"):
        emb = make_embedder(kind=kind)
        emb.embed_query("warm up")
        for name, sources, sets in libraries:
            items = [it for s in sets for it in load_set(s)]
            with tempfile.TemporaryDirectory() as tmp:
                settings = Settings(sources_dir=sources, index_dir=Path(tmp))
                t = time.perf_counter()
                r = hybrid(items, settings, emb)
                r["build_and_search_s"] = round(time.perf_counter() - t, 1)
            results[f"{name}/{kind}"] = {k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}
            print(name, kind, results[f"{name}/{kind}"], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
