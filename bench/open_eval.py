"""Open questions ("list", "why", "how", "summary", "compare") scored by key-point coverage.

Each question in the set (eval/open.jsonl) carries key points; a point is a list of alternative verbatim
phrases from the documents, and it counts as covered when any of them occurs in what the user is shown:
the answer text plus the quotes of its citations (lowercased, whitespace-normalised, markdown escapes
and emphasis removed). A question's coverage is the share of its points covered.

    .venv/bin/python bench/open_eval.py --set eval/open.jsonl [--library seeds|library2|library3] [--no-draft]
                                        [--limit N] [--ids open-001 open-002] [--out bench/out/open.json]
    .venv/bin/python bench/open_eval.py --check-phrases      # every phrase verbatim in its library? (no model)

seeds asks over seeds/ with the index in index/; library2 over eval/library2/ with the index given by
--index2 (default /tmp/lacqa-lib2-index), built on first use (incremental afterwards); library3 (the held-out
set eval/open_heldout.jsonl) likewise over eval/library3/ with the index given by --index3 (default
/tmp/lacqa-lib3-index).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

SHAPES = ("list", "why", "how", "summary", "compare")
LIBRARIES = ("seeds", "library2", "library3")

# ---------------------------------------------------------------------------------------------- scoring
# Pure functions: no lacqa import, so tests and other scripts can use them without the models.

_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|~<>$&\"'])")  # markdown backslash escapes: "\*" -> "*"
_EMPHASIS = re.compile(r"\*\*|__")  # bold markers around a phrase in a markdown source or answer
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " "})


def normalize(text: str) -> str:
    """Lowercase, typographic quotes made straight, markdown escapes and bold markers removed, whitespace
    collapsed to single spaces."""
    text = _ESCAPE.sub(r"\1", str(text or "").translate(_QUOTES))
    text = _EMPHASIS.sub("", text)
    return " ".join(text.lower().split())


def covered(shown_text: str, points: Sequence[Sequence[str]]) -> list[bool]:
    """For each key point, whether any of its alternative phrases occurs in the shown text."""
    shown = normalize(shown_text)
    return [any(normalize(p) and normalize(p) in shown for p in point) for point in points]


def coverage(shown_text: str, points: Sequence[Sequence[str]]) -> float:
    """Share of key points covered by the shown text (0.0 for a question without points)."""
    flags = covered(shown_text, points)
    return sum(flags) / len(flags) if flags else 0.0


def shown_text(answer: Any) -> str:
    """What the user is shown: the answer text and the quotes of its citations.

    Takes an ``Answer`` or the dict of ``Answer.to_json()``; fields other than the answer text and the
    citations' quotes (e.g. timings, draft, points) are ignored."""
    if isinstance(answer, Mapping):
        text = answer.get("answer", answer.get("text", "")) or ""
        cites = answer.get("citations") or ()
        quotes = [c.get("quote", "") if isinstance(c, Mapping) else getattr(c, "quote", "") for c in cites]
    else:
        text = getattr(answer, "text", "") or ""
        quotes = [getattr(c, "quote", "") for c in (getattr(answer, "citations", None) or ())]
    return "\n".join([str(text), *(str(q or "") for q in quotes)])


def mean(values: Iterable[float]) -> float | None:
    vals = list(values)
    return round(statistics.fmean(vals), 3) if vals else None


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean coverage overall, per shape and per library (and the share of questions fully covered)."""
    def block(rs: list[dict[str, Any]]) -> dict[str, Any]:
        return {"n": len(rs), "coverage": mean(r["coverage"] for r in rs),
                "full": mean(float(r["coverage"] >= 1.0) for r in rs),
                "abstained": sum(bool(r.get("abstained")) for r in rs),
                "errors": sum(bool(r.get("error")) for r in rs)}
    return {
        "overall": block(rows),
        "by_shape": {s: block([r for r in rows if r["shape"] == s]) for s in SHAPES
                     if any(r["shape"] == s for r in rows)},
        "by_library": {lib: block([r for r in rows if r["library"] == lib]) for lib in LIBRARIES
                       if any(r["library"] == lib for r in rows)},
        "p50_latency_s": round(statistics.median(lat), 2) if (lat := [r["latency_s"] for r in rows
                                                                      if r.get("latency_s") is not None]) else None,
    }


# ---------------------------------------------------------------------------------------------- the set

def load_open_set(path: Path) -> list[dict[str, Any]]:
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        it = json.loads(line)
        for key in ("id", "q", "library", "shape", "points"):
            if key not in it:
                raise ValueError(f"{path}:{n}: missing '{key}'")
        if it["library"] not in LIBRARIES:
            raise ValueError(f"{path}:{n}: unknown library {it['library']!r}")
        it["points"] = [[p] if isinstance(p, str) else list(p) for p in it["points"]]
        items.append(it)
    return items


# ---------------------------------------------------------------------------------------------- running

def library_dirs(args: argparse.Namespace) -> dict[str, tuple[Path, Path]]:
    return {"seeds": (Path(args.seeds_dir), Path(args.index)),
            "library2": (Path(args.library2_dir), Path(args.index2)),
            "library3": (Path(args.library3_dir), Path(args.index3))}


def make_assistant(sources: Path, index: Path, draft: bool | None, ablate: Sequence[str] = ()) -> Any:
    sys.path.insert(0, str(ROOT / "src"))
    from lacqa.cli import ABLATIONS
    from lacqa.config import Settings
    from lacqa.pipeline import Assistant

    settings = Settings(sources_dir=sources, index_dir=index)
    if draft is not None:
        settings.answer.draft = draft
    for name in ablate:
        ABLATIONS[name](settings)
    assistant = Assistant(settings)
    t = time.perf_counter()
    report = assistant.index()  # incremental: cheap when the index is current
    state = "rebuilt" if getattr(report, "published", False) else "current"
    print(f"# index {index} over {sources}: {state} ({time.perf_counter() - t:.1f}s)", flush=True)
    return assistant


def ask_one(assistant: Any, it: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"id": it["id"], "library": it["library"], "shape": it["shape"], "doc": it.get("doc"),
                           "q": it["q"], "n_points": len(it["points"])}
    t = time.perf_counter()
    try:
        ans = assistant.ask(it["q"])
        data = ans.to_json() if hasattr(ans, "to_json") else dict(ans)
    except Exception as exc:  # one failing question is a score of 0, not the end of the run
        row.update(coverage=0.0, covered=[False] * len(it["points"]), error=f"{type(exc).__name__}: {exc}",
                   latency_s=round(time.perf_counter() - t, 2))
        return row
    shown = shown_text(data)
    flags = covered(shown, it["points"])
    row.update(
        coverage=round(sum(flags) / len(flags), 3) if flags else 0.0,
        covered=flags,
        missing=[p[0] for p, f in zip(it["points"], flags) if not f],
        abstained=bool(data.get("abstained")),
        mode=data.get("mode"),
        citations=len(data.get("citations") or ()),
        cited_docs=sorted({c.get("source", "") for c in (data.get("citations") or ()) if isinstance(c, Mapping)}),
        latency_s=round(time.perf_counter() - t, 2),
        answer=data.get("answer"),
    )
    return row


def check_phrases(items: list[dict[str, Any]], dirs: dict[str, tuple[Path, Path]]) -> int:
    """Every phrase must occur verbatim (normalised) in the text lacqa reads from its library."""
    sys.path.insert(0, str(ROOT / "src"))
    from lacqa.load import load_documents

    texts: dict[str, dict[str, str]] = {}
    for lib in {it["library"] for it in items}:
        docs, skipped = load_documents(dirs[lib][0], 50 * 2**20)
        for s in skipped:
            print(f"# skipped in {lib}: {s}")
        texts[lib] = {Path(d.source).name: normalize(d.text) for d in docs}
    bad = 0
    for it in items:
        lib = texts[it["library"]]
        for point in it["points"]:
            for phrase in point:
                where = [n for n, t in lib.items() if normalize(phrase) in t]
                if not where:
                    bad += 1
                    print(f"MISSING {it['id']}: {phrase!r}")
                elif it.get("doc") and it["doc"] not in where:
                    print(f"note {it['id']}: {phrase!r} not in {it['doc']} but in {where}")
    n = sum(len(p) for it in items for p in it["points"])
    print(f"{n} phrases in {len(items)} questions: {n - bad} found, {bad} missing")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default=str(ROOT / "eval" / "open.jsonl"))
    ap.add_argument("--library", choices=LIBRARIES, help="only the questions over this library")
    ap.add_argument("--shape", choices=SHAPES, help="only the questions of this shape")
    ap.add_argument("--ids", nargs="*", help="only these question ids")
    ap.add_argument("--limit", type=int, help="only the first N questions (after filtering)")
    ap.add_argument("--seeds-dir", default=str(ROOT / "seeds"))
    ap.add_argument("--index", default=str(ROOT / "index"), help="index folder of the seeds")
    ap.add_argument("--library2-dir", default=str(ROOT / "eval" / "library2"))
    ap.add_argument("--index2", default="/tmp/lacqa-lib2-index", help="index folder of library2")
    ap.add_argument("--library3-dir", default=str(ROOT / "eval" / "library3"))
    ap.add_argument("--index3", default="/tmp/lacqa-lib3-index", help="index folder of library3")
    ap.add_argument("--draft", action=argparse.BooleanOptionalAction, default=None,
                    help="let the language model draft (default: the Settings default)")
    ap.add_argument("--ablate", nargs="*", default=[], help="units switched off, as `lacqa eval --ablate`")
    ap.add_argument("--out", help="write a JSON summary with every question's result here")
    ap.add_argument("--check-phrases", action="store_true",
                    help="only check that every key-point phrase occurs in its library (no answers)")
    args = ap.parse_args(argv)

    items = load_open_set(Path(args.set))
    if args.library:
        items = [it for it in items if it["library"] == args.library]
    if args.shape:
        items = [it for it in items if it["shape"] == args.shape]
    if args.ids:
        wanted = set(args.ids)
        items = [it for it in items if it["id"] in wanted]
    if args.limit:
        items = items[: args.limit]
    if not items:
        print("no questions selected", file=sys.stderr)
        return 2
    dirs = library_dirs(args)
    if args.check_phrases:
        return check_phrases(items, dirs)

    assistants: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for it in items:
        lib = it["library"]
        if lib not in assistants:
            assistants[lib] = make_assistant(*dirs[lib], draft=args.draft, ablate=args.ablate)
        row = ask_one(assistants[lib], it)
        rows.append(row)
        hits = sum(row["covered"])
        tail = f"ERROR {row['error']}" if row.get("error") else (
            ("abstained " if row.get("abstained") else f"{row.get('mode')} ") + f"missing: {row.get('missing')}")
        print(f"{row['id']}  {lib:8s} {row['shape']:7s} {row['coverage']:.2f} ({hits}/{row['n_points']})"
              f"  {row['latency_s']:5.1f}s  {tail}", flush=True)

    summary = summarize(rows)
    print()
    print(f"{'':10s} {'n':>3s} {'coverage':>8s} {'full':>5s} {'abst':>4s}")
    for label, block in [*summary["by_shape"].items(), *summary["by_library"].items(), ("overall", summary["overall"])]:
        cov = "-" if block["coverage"] is None else f"{block['coverage']:.3f}"
        full = "-" if block["full"] is None else f"{block['full']:.2f}"
        print(f"{label:10s} {block['n']:3d} {cov:>8s} {full:>5s} {block['abstained']:4d}")
    print(f"# {len(rows)} questions in {time.perf_counter() - t0:.0f}s")

    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        meta = {"set": str(args.set), "library": args.library, "shape": args.shape, "draft": args.draft,
                "index": args.index, "index2": args.index2, "index3": args.index3,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
        out.write_text(json.dumps({"meta": meta, "summary": summary, "questions": rows}, indent=2,
                                  ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"# wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
