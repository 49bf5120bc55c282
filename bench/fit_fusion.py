"""Fit how the learned ranker and the hand-weighted score combine, on a library nobody measures on.

    .venv/bin/python bench/fit_fusion.py dump NAME INDEX SOURCES QUESTIONS   # features of each question's candidates
    .venv/bin/python bench/fit_fusion.py fit FIT[+FIT...] [--report NAME ...]  # fit on dumps, report on others

`dump` runs lacqa's own candidate search (retrieval, then the hand-weighted score's best `rank_candidates`
sentences) for every question of a `lacqa eval` set, and records for each candidate its hand score, the ranker's
logit and whether it holds a gold answer (bench/out/fusion_NAME.json). `fit` fits p = sigmoid(a*hand + b*logit + c)
by logistic regression on the candidates of the fitting dump (the SQuAD validation articles after the 40th:
`bench/squad_sets.py --fit`, never in a measured library), reports per dump how often the answer sentence comes
first (hand, ranker, fused) and how well the best candidate's probability separates answerable from unanswerable
questions (AUC), and with `--write` stores the weights in the repository's ranker.json (packages/lacqa-ranker) under "fusion".
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
    from lacqa.answer.span import OnnxSpanReader
    from lacqa.config import Settings
    from lacqa.evaluate import load_set, normalize
    from lacqa.evidence import candidate_texts
    from lacqa.pipeline import Assistant

    settings = Settings(index_dir=index, sources_dir=sources)
    settings.answer.ranker = "off"
    assistant = Assistant(settings)
    ranker = OnnxRanker(settings.ranker_path)
    reader = OnnxSpanReader(settings.ranker_path)
    gen = assistant.generation()
    rows = []
    for item in load_set(questions):
        _, sel = gather_evidence(item.q, gen, assistant.retriever, settings.answer,
                                 max(settings.retrieve.k, settings.answer.passages), reword=True)
        pool = list(sel.pool)
        texts = [gen.documents[s.doc_id].text[s.start : s.end] for _, s in pool]
        logits = ranker.logits(item.q, candidate_texts(gen, [s for _, s in pool])) if pool else np.zeros(0)
        spans = reader.read(item.q, texts) if pool else []
        gold = [normalize(a) for a in item.answers if a.strip()]
        rows.append({"id": item.id, "answerable": item.answerable, "kind": item.kind,
                     "hand": [float(h) for h, _ in pool], "logit": [float(z) for z in logits],
                     "span": [max(-20.0, sp.margin) if sp is not None else -20.0 for sp in spans],
                     "label": [int(any(g in normalize(t) for g in gold)) for t in texts]})
    OUT.mkdir(exist_ok=True)
    (OUT / f"fusion_{name}.json").write_text(json.dumps({"name": name, "questions": str(questions), "rows": rows}))
    print(f"{name}: {len(rows)} questions -> bench/out/fusion_{name}.json")


#: the candidate features a fit may combine, in this order in the weights
FEATURES = ("hand", "logit", "span")


def _columns(r: dict, features: tuple[str, ...]) -> np.ndarray:
    return np.array([r[f] for f in features], dtype=float).T.reshape(len(r["hand"]), len(features))


def _design(rows: list[dict], features: tuple[str, ...] = ("hand", "logit")) -> tuple[np.ndarray, np.ndarray]:
    x = np.vstack([_columns(r, features) for r in rows if r["hand"]])
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


def listwise(rows: list[dict], features: tuple[str, ...] = ("hand", "logit"), iters: int = 100) -> np.ndarray:
    """Weights maximising the likelihood that a question's answer sentences outscore its other candidates under a
    softmax over s = w . features (the loss the ranker itself was trained with), by damped Newton steps."""
    groups = []
    for r in rows:
        if r["answerable"] and any(r["label"]) and not all(r["label"]):
            groups.append((_columns(r, features), np.array(r["label"], dtype=bool)))
    d = len(features)
    w = np.array([1.0] + [0.1] * (d - 1))

    def loss_grad_hess(w: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        loss, g, h = 0.0, np.zeros(d), np.zeros((d, d))
        for x, pos in groups:
            z = x @ w
            for mask, sign in ((np.ones_like(pos), 1.0), (pos, -1.0)):
                zm = z[mask]
                m = zm.max()
                e = np.exp(zm - m)
                p = e / e.sum()
                xm = x[mask]
                mu = p @ xm
                loss += sign * (m + np.log(e.sum()))
                g += sign * mu
                h += sign * ((xm * p[:, None]).T @ xm - np.outer(mu, mu))
        return loss, g, h

    damping = 1e-3
    loss, g, h = loss_grad_hess(w)
    for _ in range(iters):
        step = np.linalg.solve(h + damping * np.eye(d), g)
        new = w - step
        new_loss, ng, nh = loss_grad_hess(new)
        if new_loss < loss:
            w, loss, g, h, damping = new, new_loss, ng, nh, damping / 3
            if np.abs(step).max() < 1e-7:
                break
        else:
            damping *= 10
    return w


def auc(pos: list[float], neg: list[float]) -> float:
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return float(wins / (len(pos) * len(neg)))


def report(rows: list[dict], w: np.ndarray, features: tuple[str, ...] = ("hand", "logit")) -> dict:
    def score(r: dict, how: str) -> np.ndarray:
        if how == "fused":
            return _columns(r, features) @ w[:-1] + w[-1]
        return np.array(r["logit" if how == "ranker" else how], dtype=float)

    out: dict = {}
    # questions with an answer sentence among all the candidates the dump holds (a cut keeps their count)
    held = [r for r in rows if r["answerable"] and r.get("held", any(r["label"]))]
    out["questions"] = len(rows)
    out["answer_among_candidates"] = round(len(held) / max(1, sum(r["answerable"] for r in rows)), 3)
    for how in ("hand", "ranker", *(("span",) if "span" in rows[0] else ()), "fused"):
        top1 = [r["label"][int(np.argmax(score(r, how)))] if r["label"] else 0 for r in held]
        top3 = [any(r["label"][i] for i in np.argsort(-score(r, how), kind="stable")[:3]) for r in held]
        best = {r["id"]: float(score(r, how).max()) if r["hand"] else -1e9 for r in rows}
        out[how] = {"top1": round(float(np.mean(top1)), 3), "top3": round(float(np.mean(top3)), 3),
                    "auc_unanswerable": round(auc([best[r["id"]] for r in rows if r["answerable"]],
                                                  [best[r["id"]] for r in rows if not r["answerable"]]), 3)}
    return out


def _load(name: str, top: int) -> list[dict]:
    """A dump's rows, each question's candidates cut to the hand score's best ``top`` (0: all)."""
    rows = json.loads((OUT / f"fusion_{name}.json").read_text())["rows"]
    if top:
        rows = [{**r, "held": any(r["label"]), **{k: r[k][:top] for k in (*FEATURES, "label") if k in r}}
                for r in rows]
    return rows


def fit(fit_name: str, others: list[str], write: bool, pointwise: bool = False, top: int = 0,
        features: tuple[str, ...] = ("hand", "logit"), key: str = "fusion") -> None:
    rows = [r for name in fit_name.split("+") for r in _load(name, top)]  # "sqfit+dev": both dumps
    x, y = _design(rows, features)
    # the order from the listwise fit; the probability from a Platt fit of that score over every candidate
    # (unanswerable questions' included), so that a threshold on it means the same across libraries
    if pointwise:
        w = logistic(x, y)
    else:
        ab = listwise(rows, features)
        alpha, beta = logistic((x @ ab)[:, None], y)
        w = np.r_[alpha * ab, beta]
    weights = {**{f: round(float(v), 4) for f, v in zip(features, w[:-1], strict=True)}, "intercept": round(float(w[-1]), 4)}
    print(json.dumps({"fitted_on": fit_name, "pairs": len(y), "positives": int(y.sum()), "weights": weights}))
    results = {n: report(_load(n, top), w, features) for n in [*fit_name.split("+"), *others]}
    for n, r in results.items():
        print(n, json.dumps(r))
    (OUT / f"{key}_report.json").write_text(json.dumps({"fitted_on": fit_name, "features": list(features),
                                                        "weights": w.tolist(), "results": results}, indent=1))
    if write:
        meta_path = REPO / "packages" / "lacqa-ranker" / "lacqa_ranker" / "ranker.json"
        meta = json.loads(meta_path.read_text())
        meta[key] = {**{f: float(v) for f, v in zip(features, w[:-1], strict=True)}, "intercept": float(w[-1]),
                          "fitted_on": f"bench/fit_fusion.py on {fit_name}", "pairs": len(y),
                     **({"top": top} if top else {})}
        meta_path.write_text(json.dumps(meta, indent=1) + "\n")
        print(f"{key} weights written to {meta_path}: reinstall it (`make install`, or "
              "`pip install --no-deps --force-reinstall ./packages/lacqa-ranker`)")


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
    f.add_argument("--top", type=int, default=0, help="as if the ranker read only the hand score's best N")
    f.add_argument("--features", default="hand,logit", help=f"which of {','.join(FEATURES)} to combine")
    f.add_argument("--key", default="fusion", help="where --write stores the weights in ranker.json: 'fusion' "
                   "(LACQA_ANSWER__RANKER=fused) or 'rerank' (=rerank)")
    f.add_argument("--pointwise", action="store_true", help="one logistic regression over every candidate, not the "
                   "listwise order then a Platt fit")
    args = ap.parse_args()
    if args.cmd == "dump":
        dump(args.name, args.index, args.sources, args.questions)
    else:
        fit(args.fit_name, args.report, args.write, args.pointwise, args.top, tuple(args.features.split(",")), args.key)


if __name__ == "__main__":
    sys.exit(main())
