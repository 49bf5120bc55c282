"""Many people at once on the real app: N clients send R requests in all through the app's API (`/ask`), real
models, the bundled seeds (or --sources/--index). Records refused and failed requests and the latency under load.

    .venv/bin/python bench/load.py [--clients 50] [--requests 200] [--out bench/out/load.json]

Issue 12's target: 50 clients, 200 requests, 0 refused, 0 errors. Figures depend on the machine: not a unit test
(tests/test_concurrency.py checks the queue and the locks on fakes).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from scale import MODEL, free_port, start_app, stop_app  # noqa: E402

QUESTIONS = [json.loads(line)["q"] for line in open(ROOT / "eval" / "dev.jsonl", encoding="utf-8")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--sources", type=Path, default=ROOT / "seeds")
    ap.add_argument("--index", type=Path, default=ROOT / "index")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "load.json")
    args = ap.parse_args()
    port = free_port()
    env = {**os.environ, "LACQA_SOURCES_DIR": str(args.sources), "LACQA_INDEX_DIR": str(args.index),
           "LACQA_PORT": str(port), "LACQA_MODEL": str(MODEL), "PYTHONPATH": str(ROOT / "src")}
    proc, client = start_app(ROOT, env, port)
    try:
        client.predict(QUESTIONS[0], None, api_name="/ask")  # the first answer warms the models

        def ask(i: int) -> tuple[str, float]:
            t = time.perf_counter()
            try:
                out = client.predict(QUESTIONS[i % len(QUESTIONS)], None, api_name="/ask")
            except Exception as exc:  # noqa: BLE001 - counted
                return ("refused" if "queue is full" in str(exc).lower() else f"error: {exc}"), time.perf_counter() - t
            state = "error" if "error" in out else ("abstained" if out.get("abstained") else "answered")
            return state, time.perf_counter() - t

        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            results = list(pool.map(ask, range(args.requests)))
        wall = time.perf_counter() - t0
    finally:
        stop_app(proc)
    lat = sorted(t for _, t in results)
    states = [s for s, _ in results]
    report = {"clients": args.clients, "requests": args.requests, "wall_s": round(wall, 1),
              "answered": states.count("answered"), "abstained": states.count("abstained"),
              "refused": states.count("refused"), "errors": sum(s.startswith("error") for s in states),
              "p50_s": round(statistics.median(lat), 2), "p95_s": round(lat[int(0.95 * (len(lat) - 1))], 2),
              "max_s": round(lat[-1], 2), "throughput_per_s": round(args.requests / wall, 2),
              "machine": f"{os.cpu_count()} cores", "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
