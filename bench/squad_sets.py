"""SQuAD-style validation libraries from held-out *articles* of SQuAD v1.1 train (the ranker never trained on
them: train/pairs.py splits by a hash of the article name).

    .venv/bin/python bench/squad_sets.py OUT_DIR [--articles 10] [--answerable 150] [--removed 25] [--perturbed 25]

writes OUT_DIR/sources/ (the library: one .txt per article) and OUT_DIR/questions.jsonl in `lacqa eval` format:
answerable questions of the library's articles, questions whose article is not in the library ("removed"), and
questions of the library's articles with a year, number or name swapped ("perturbed"), which should abstain.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
from pairs import SQUAD, _NAME, is_validation, load_questions, perturb  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--articles", type=int, default=10)
    ap.add_argument("--answerable", type=int, default=150)
    ap.add_argument("--removed", type=int, default=25)
    ap.add_argument("--perturbed", type=int, default=25)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--fit", action="store_true", help="a library for fitting weights and thresholds: the validation "
                    "articles after the 40th (never in a measured library), its 'removed' questions from training "
                    "articles (the measured libraries take theirs from these articles)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    every = sorted(p.name for p in (SQUAD / "articles").glob("*.txt"))
    val = [n for n in every if is_validation(n)]
    library, outside = val[: args.articles], val[40:]  # articles 41+ are never in a library of up to 40
    if args.fit:
        library, outside = val[40 : 40 + args.articles], [n for n in every if not is_validation(n)]
    src = args.out / "sources"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    for name in library:
        shutil.copy(SQUAD / "articles" / name, src / name)
    questions = load_questions()
    names = sorted({m.group() for q in questions[:20000] for m in _NAME.finditer(q["q"]) if m.start() > 0})
    inside = [q for q in questions if q["doc"] in library]
    away = [q for q in questions if q["doc"] in outside]
    rng.shuffle(inside)
    rng.shuffle(away)
    items = []
    for q in inside[: args.answerable]:
        items.append({"id": q["id"], "q": q["q"], "answers": q["answers"], "doc": q["doc"], "answerable": True,
                      "kind": "squad"})
    for q in away[: args.removed]:
        items.append({"id": q["id"] + "-removed", "q": q["q"], "answers": [], "doc": None, "answerable": False,
                      "kind": "removed"})
    bent = 0
    for q in inside[args.answerable :]:
        if bent >= args.perturbed:
            break
        new = perturb(q["q"], rng, names)
        if new and new != q["q"]:
            items.append({"id": q["id"] + "-perturbed", "q": new, "answers": [], "doc": None, "answerable": False,
                          "kind": "perturbed"})
            bent += 1
    with open(args.out / "questions.jsonl", "w", encoding="utf-8") as f:
        for it in items:
            f.write(json.dumps(it) + "\n")
    print(f"{len(library)} articles, {len(items)} questions -> {args.out}")


if __name__ == "__main__":
    main()
