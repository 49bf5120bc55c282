"""Choose the abstention threshold on held-out articles and draw the risk-coverage curve.

    .venv/bin/python bench/calibrate.py DETAILS.jsonl [DETAILS.jsonl ...] [--max-false-abstention 0.05]
        [--svg docs/risk_coverage.svg] [--json docs/calibration.json]

Each DETAILS file is `lacqa eval --ablate confidence --details FILE` output: every question answered unless another
check abstained, with the ranker's confidence recorded, so that what each threshold would do can be read off:
answered = confidence >= t; an answerable question is right when its shown answer holds the answer; an
unanswerable one is right when it is not answered.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def load(paths: list[Path]) -> list[dict]:
    rows = []
    for p in paths:
        for line in p.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            if r.get("system") == "lacqa" and r.get("confidence") is not None:
                rows.append(r)
    return rows


def at(rows: list[dict], t: float) -> dict:
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    answered = [r for r in rows if not r["abstained"] and r["confidence"] >= t]
    right = [r for r in answered if r["answerable"] and r["correct"]]
    false_abst = [r for r in ans if r["abstained"] or r["confidence"] < t]
    return {
        "threshold": round(t, 4),
        "coverage": len(answered) / max(1, len(rows)),
        "accuracy_answered": len(right) / max(1, len(answered)),
        "false_abstention": len(false_abst) / max(1, len(ans)),
        "abstained_unanswerable": sum(1 for r in una if r["abstained"] or r["confidence"] < t) / max(1, len(una)),
        "accuracy_answerable": sum(1 for r in ans if not r["abstained"] and r["confidence"] >= t and r["correct"]) / max(1, len(ans)),
    }


def choose(rows: list[dict], max_fa: float) -> dict:
    """The highest threshold whose false-abstention rate stays within ``max_fa``."""
    ts = sorted({r["confidence"] for r in rows} | {0.0})
    best = at(rows, 0.0)
    for t in ts:
        point = at(rows, t)
        if point["false_abstention"] <= max_fa:
            best = point
    return best


def svg(curves: dict[str, list[dict]], chosen: dict[str, dict], path: Path) -> None:
    """Accuracy of the answered questions against the share answered, one line per set."""
    w, h, pad = 560, 380, 50
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]

    def xy(c: float, a: float) -> tuple[float, float]:
        return pad + c * (w - 2 * pad), h - pad - a * (h - 2 * pad)

    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' font-family='sans-serif' font-size='12'>",
             f"<rect width='{w}' height='{h}' fill='white'/>",
             f"<line x1='{pad}' y1='{h - pad}' x2='{w - pad}' y2='{h - pad}' stroke='black'/>",
             f"<line x1='{pad}' y1='{pad}' x2='{pad}' y2='{h - pad}' stroke='black'/>",
             f"<text x='{w / 2}' y='{h - 12}' text-anchor='middle'>coverage (share of questions answered)</text>",
             f"<text x='14' y='{h / 2}' transform='rotate(-90 14 {h / 2})' text-anchor='middle'>accuracy of answered</text>",
             f"<text x='{w / 2}' y='22' text-anchor='middle' font-size='14'>Risk-coverage: lacqa ranker threshold</text>"]
    for i in range(0, 11, 2):
        x, y = xy(i / 10, 0)
        parts.append(f"<text x='{x}' y='{h - pad + 16}' text-anchor='middle'>{i / 10:.1f}</text>")
        x, y = xy(0, i / 10)
        parts.append(f"<text x='{pad - 6}' y='{y + 4}' text-anchor='end'>{i / 10:.1f}</text>")
    for k, (name, pts) in enumerate(curves.items()):
        col = colors[k % len(colors)]
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(p["coverage"], p["accuracy_answered"]) for p in pts))
        parts.append(f"<polyline fill='none' stroke='{col}' stroke-width='2' points='{line}'/>")
        c = chosen[name]
        x, y = xy(c["coverage"], c["accuracy_answered"])
        parts.append(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='5' fill='{col}'/>")
        parts.append(f"<text x='{w - pad - 4}' y='{h - pad - 16 - 16 * k}' text-anchor='end' fill='{col}'>{name} "
                     f"(dot: threshold {c['threshold']:.2f})</text>")
    parts.append("</svg>")
    path.write_text("\n".join(parts), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("details", type=Path, nargs="+")
    ap.add_argument("--max-false-abstention", type=float, default=0.05)
    ap.add_argument("--svg", type=Path, default=Path("docs/risk_coverage.svg"))
    ap.add_argument("--json", type=Path, default=Path("docs/calibration.json"))
    args = ap.parse_args()
    sets = {p.stem: load([p]) for p in args.details}
    pooled = [r for rows in sets.values() for r in rows]
    chosen_all = choose(pooled, args.max_false_abstention)
    curves, chosen = {}, {}
    for name, rows in sets.items():
        ts = sorted({r["confidence"] for r in rows} | {0.0})
        curves[name] = [at(rows, t) for t in ts]
        chosen[name] = at(rows, chosen_all["threshold"])
    svg(curves, chosen, args.svg)
    out = {"threshold": chosen_all["threshold"], "max_false_abstention": args.max_false_abstention,
           "pooled": chosen_all, "per_set": chosen}
    args.json.write_text(json.dumps(out, indent=1), encoding="utf-8")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
