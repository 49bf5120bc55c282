"""Where an open answer loses its key points: for each question of an open set, each key point the shown answer
misses is placed relative to the candidates an open answer picks from (the evidence pool in the learned ranker's
order, the order ``open_points`` reads):

* ``pool@R``   - a pool sentence holds the point's phrase, at rank R (the pick step dropped it);
* ``beside``   - it sits within ``--near`` characters of a pool sentence of the same document (context, list items);
* ``unseen``   - no pool sentence is near it (retrieval never brought it).

    .venv/bin/python bench/open_misses.py --set eval/open_heldout.jsonl --library library3 [--out FILE]

It answers each question as ``bench/open_eval.py`` does, then re-runs evidence selection to see the pool. Nothing
here changes an answer; it is a diagnosis tool.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

import open_eval as oe  # noqa: E402


def place(phrase: str, pool_texts: list[tuple[str, int, int, str]], doc_texts: dict[str, str], near: int) -> str:
    p = oe.normalize(phrase)
    for rank, (doc_id, start, end, text) in enumerate(pool_texts):
        if p and p in oe.normalize(text):
            return f"pool@{rank}"
    for doc_id, text in doc_texts.items():
        at = oe.normalize(text).find(p)
        if at < 0:
            continue
        # normalised offsets are close to raw ones for these texts (whitespace runs folded): a coarse distance
        for d, start, end, _ in pool_texts:
            if d == doc_id and start - near <= at <= end + near:
                return "beside"
    return "unseen"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default=str(ROOT / "eval" / "open_heldout.jsonl"))
    ap.add_argument("--library", choices=oe.LIBRARIES)
    ap.add_argument("--near", type=int, default=400)
    ap.add_argument("--seeds-dir", default=str(ROOT / "seeds"))
    ap.add_argument("--index", default=str(ROOT / "index"))
    ap.add_argument("--library2-dir", default=str(ROOT / "eval" / "library2"))
    ap.add_argument("--index2", default="/tmp/lacqa-lib2-index")
    ap.add_argument("--library3-dir", default=str(ROOT / "eval" / "library3"))
    ap.add_argument("--index3", default="/tmp/lacqa-lib3-index")
    ap.add_argument("--out")
    args = ap.parse_args(argv)

    from lacqa.answer import gather_evidence, retrieval_query
    from lacqa.answer.shapes import CONTEXT_WEIGHT, Shape, ranked_pool, shape_of

    items = oe.load_open_set(Path(args.set))
    if args.library:
        items = [it for it in items if it["library"] == args.library]
    dirs = oe.library_dirs(args)
    assistants: dict[str, Any] = {}
    places: Counter[str] = Counter()
    rows = []
    for it in items:
        lib = it["library"]
        if lib not in assistants:
            assistants[lib] = oe.make_assistant(*dirs[lib], draft=False)
        a = assistants[lib]
        row = oe.ask_one(a, it)
        gen = a.generation()
        s = a.settings.answer
        _, sel = gather_evidence(retrieval_query(it["q"], []), gen, a.retriever, s, s.passages,
                                 ranker=a.ranker, reader=a.span_reader)
        pool = list(sel.pool)
        shape = shape_of(it["q"])
        if a.point_ranker is not None and not sel.ranked and shape is not Shape.SUMMARY:
            pool = ranked_pool(it["q"], pool, gen, a.point_ranker,
                               context=CONTEXT_WEIGHT if shape is Shape.EXPLAIN else 0.0)
        pool_texts = [(x.doc_id, x.start, x.end, gen.documents[x.doc_id].text[x.start:x.end]) for _, x in pool]
        docs = {d: doc.text for d, doc in gen.documents.items()}
        where = {}
        for point, ok in zip(it["points"], row["covered"]):
            if ok:
                continue
            best = min((place(p, pool_texts, docs, args.near) for p in point),
                       key=lambda w: (0, int(w[5:])) if w.startswith("pool@") else (1 if w == "beside" else 2, 0))
            where[point[0]] = best
            places["pool" if best.startswith("pool@") else best] += 1
        rows.append({**{k: row.get(k) for k in ("id", "shape", "coverage", "mode")}, "asked_shape": shape.value,
                     "missed": where})
        print(f"{it['id']} {it['shape']:7s} as {shape.value:7s} {row['coverage']:.2f} {row.get('mode')}  "
              + "  ".join(f"{w}" for w in where.values()), flush=True)
    print(dict(places))
    if args.out:
        Path(args.out).write_text(json.dumps({"places": places, "questions": rows}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
