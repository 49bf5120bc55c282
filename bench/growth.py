"""How build time, open time (a `lacqa search` process) and ask latency grow with the library: a log-log SVG from
the results of bench/scale.py at several sizes (e.g. 5, 40 and 440 articles).

    .venv/bin/python bench/growth.py bench/out/scale5.json bench/out/scale40.json bench/out/scale440.json \
        --out docs/growth.svg
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

SERIES = [("full_build_s", "full build", "#4f46e5"), ("search_process_s", "lacqa search (process)", "#059669"),
          ("ask_process_s", "lacqa ask (process)", "#d97706"), ("ask_p50_s", "ask p50 in the app", "#dc2626"),
          ("noop_rebuild_s", "no-op rebuild", "#6b7280")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("results", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, default=Path("docs/growth.svg"))
    args = ap.parse_args()
    points = []
    for path in args.results:
        data = json.loads(path.read_text())
        points.append((data["library_mb"], data["articles"], data["current"]))
    points.sort()
    w, h, left, right, top, bottom = 640, 380, 60, 190, 20, 50
    xs = [math.log10(mb) for mb, _, _ in points]
    values = [r[key] for _, _, r in points for key, _, _ in SERIES if r.get(key)]
    y_lo, y_hi = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    x_lo, x_hi = math.floor(min(xs)), math.ceil(max(xs))

    def px(x: float) -> float:
        return left + (x - x_lo) / max(1e-9, x_hi - x_lo) * (w - left - right)

    def py(v: float) -> float:
        return h - bottom - (math.log10(v) - y_lo) / max(1e-9, y_hi - y_lo) * (h - top - bottom)

    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' font-family='sans-serif' "
             "font-size='12'>", f"<rect width='{w}' height='{h}' fill='white'/>"]
    for e in range(y_lo, y_hi + 1):
        y = py(10 ** e)
        parts.append(f"<line x1='{left}' x2='{w - right}' y1='{y:.1f}' y2='{y:.1f}' stroke='#e5e7eb'/>")
        parts.append(f"<text x='{left - 6}' y='{y + 4:.1f}' text-anchor='end'>{10 ** e:g} s</text>")
    for mb, n, _ in points:
        x = px(math.log10(mb))
        parts.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{top}' y2='{h - bottom}' stroke='#e5e7eb'/>")
        parts.append(f"<text x='{x:.1f}' y='{h - bottom + 16}' text-anchor='middle'>{n} articles</text>")
        parts.append(f"<text x='{x:.1f}' y='{h - bottom + 30}' text-anchor='middle' fill='#6b7280'>{mb:g} MB</text>")
    for i, (key, label, colour) in enumerate(SERIES):
        line = [(px(math.log10(mb)), py(r[key])) for mb, _, r in points if r.get(key)]
        if not line:
            continue
        parts.append(f"<polyline fill='none' stroke='{colour}' stroke-width='2' points='"
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in line) + "'/>")
        parts += [f"<circle cx='{x:.1f}' cy='{y:.1f}' r='3' fill='{colour}'/>" for x, y in line]
        ly = top + 16 + 18 * i
        parts.append(f"<line x1='{w - right + 12}' x2='{w - right + 32}' y1='{ly - 4}' y2='{ly - 4}' "
                     f"stroke='{colour}' stroke-width='2'/><text x='{w - right + 38}' y='{ly}'>{label}</text>")
    parts.append("</svg>")
    args.out.write_text("\n".join(parts), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
