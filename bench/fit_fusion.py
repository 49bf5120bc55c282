"""Fit how the learned ranker and the hand-weighted score combine, on a library nobody measures on.

    .venv/bin/python bench/fit_fusion.py dump NAME INDEX SOURCES QUESTIONS   # features of each question's candidates
    .venv/bin/python bench/fit_fusion.py fit FIT_NAME [--report NAME ...]    # fit on one dump, report on others

`dump` runs lacqa's own candidate search (retrieval, then the hand-weighted score's best `rank_candidates`
sentences) for every question of a `lacqa eval` set, and records for each candidate its hand score, the ranker's
logit and whether it holds a gold answer (bench/out/fusion_NAME.json). `fit` fits p = sigmoid(a*hand + b*logit + c)
by logistic regression on the candidates of the fitting dump (the SQuAD validation articles after the 40th:
`bench/squad_sets.py --fit`, never in a measured library), reports per dump how often the answer sentence comes
first (hand, ranker, fused) and how well the best candidate's probability separates answerable from unanswerable
questions (AUC), and with `--write` stores the weights in the shipped ranker.json under "fusion".
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"


def dump(name: str, index: Path, sources: Path, questions: Path) -> None:
    from lacqa.answer import gather_evidence
    from lacqa.answer.ranker import OnnxRanker
    from lacqa.config import Settings
    from lacqa.evaluate import load_set, normalize
    from lacqa.evidence import candidate_texts
    from lacqa.pipeline import Assistant

    settings = Settings(index_dir=index, sources_dir=sources)
    settings.answer.ranker = "off"
    assistant = Assistant(settings)
    ranker = OnnxRanker(settings.ranker_path)
    gen = assistant.generation()
    rows = []
    for item in load_set(questions):
        _, sel = gather_evidence(item.q, gen, assistant.retriever, settings.answer,
                                 max(settings.retrieve.k, settings.answer.passages), reword=True)
        pool = list(sel.pool)
        texts = [gen.documents[s.doc_id].text[s.start : s.end] for _, s in pool]
        logits = ranker.logits(item.q, candidate_texts(gen, [s for _, s in pool])) if pool else np.zeros(0)
        gold = [normalize(a) for a in item.answers if a.strip()]
        rows.append({"id": item.id, "answerable": item.answerable, "kind": item.kind,
                     "hand": [float(h) for h, _ in pool], "logit": [float(z) for z in logits],
                     "label": [int(any(g in normalize(t) for g in gold)) for t in texts]})
    OUT.mkdir(exist_ok=True)
    (OUT / f"fusion_{name}.json").write_text(json.dumps({"name": name, "questions": str(questions), "rows": rows}))
    print(f"{name}: {len(rows)} questions -> bench/out/fusion_{name}.json")


def _design(rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    x = np.array([[h, z] for r in rows for h, z in zip(r["hand"], r["logit"])], dtype=float)
    y = np.array([v for r in rows for v in r["label"]], dtype=float)
    return x, y


def logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, iters: int = 50) -> np.ndarray:
    """Weights (one per column, then the intercept) of an L2-regularised logistic regression, by Newton steps."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(xb @ w)))
        g = xb.T @ (p - y) + l2 * np.r_[w[:-1], 0]
        h = (xb * (p * (1 - p))[:, None]).T @ xb + l2 * np.eye(len(w))
        step = np.linalg.solve(h, g)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def auc(pos: list[float], neg: list[float]) -> float:
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return float(wins / (len(pos) * len(neg)))


def report(rows: list[dict], w: np.ndarray) -> dict:
    def score(r: dict, how: str) -> np.ndarray:
        h, z = np.array(r["hand"]), np.array(r["logit"])
        if how == "hand":
            return h
        if how == "ranker":
            return z
        return w[0] * h + w[1] * z + w[2]

    out: dict = {}
    held = [r for r in rows if r["answerable"] and any(r["label"])]
    out["questions"] = len(rows)
    out["answer_among_candidates"] = round(len(held) / max(1, sum(r["answerable"] for r in rows)), 3)
    for how in ("hand", "ranker", "fused"):
        top1 = [r["label"][int(np.argmax(score(r, how)))] for r in held]
        top3 = [any(r["label"][i] for i in np.argsort(-score(r, how), kind="stable")[:3]) for r in held]
        best = {r["id"]: float(score(r, how).max()) if r["hand"] else -1e9 for r in rows}
        out[how] = {"top1": round(float(np.mean(top1)), 3), "top3": round(float(np.mean(top3)), 3),
                    "auc_unanswerable": round(auc([best[r["id"]] for r in rows if r["answerable"]],
                                                  [best[r["id"]] for r in rows if not r["answerable"]]), 3)}
    return out


def fit(fit_name: str, others: list[str], write: bool) -> None:
    rows = json.loads((OUT / f"fusion_{fit_name}.json").read_text())["rows"]
    x, y = _design(rows)
    w = logistic(x, y)
    print(json.dumps({"fitted_on": fit_name, "pairs": len(y), "positives": int(y.sum()),
                      "weights": {"hand": round(w[0], 4), "logit": round(w[1], 4), "intercept": round(w[2], 4)}}))
    results = {n: report(json.loads((OUT / f"fusion_{n}.json").read_text())["rows"], w) for n in [fit_name, *others]}
    for n, r in results.items():
        print(n, json.dumps(r))
    (OUT / "fusion_report.json").write_text(json.dumps({"fitted_on": fit_name, "weights": w.tolist(),
                                                        "results": results}, indent=1))
    if write:
        from lacqa.answer.ranker import packaged_ranker_path

        meta_path = packaged_ranker_path() / "ranker.json"
        meta = json.loads(meta_path.read_text())
        meta["fusion"] = {"hand": float(w[0]), "logit": float(w[1]), "intercept": float(w[2]),
                          "fitted_on": f"bench/fit_fusion.py on {fit_name}", "pairs": int(len(y))}
        meta_path.write_text(json.dumps(meta, indent=1) + "\n")
        print(f"fusion weights written to {meta_path}")


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("name")
    d.add_argument("index", type=Path)
    d.add_argument("sources", type=Path)
    d.add_argument("questions", type=Path)
    f = sub.add_parser("fit")
    f.add_argument("fit_name")
    f.add_argument("--report", nargs="*", default=[])
    f.add_argument("--write", action="store_true")
    args = ap.parse_args()
    if args.cmd == "dump":
        dump(args.name, args.index, args.sources, args.questions)
    else:
        fit(args.fit_name, args.report, args.write)


if __name__ == "__main__":
    sys.exit(main())
