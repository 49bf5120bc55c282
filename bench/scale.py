"""Issue-12 figures on a real library, each beside a baseline checkout measured in the same run.

    .venv/bin/python bench/scale.py --articles 40 --baseline /path/to/old/checkout [--out bench/out/scale40.json]

The library is the first N articles (by file name) of ../shared/datasets/squad-v1.1-train/articles. Every figure is a
whole process as a user runs it (wall time, peak RSS from /usr/bin/time): full build, no-op rebuild, a one-document
change, `lacqa search`, `lacqa ask`, app start to first answer, then ask latency through the app's API (SQuAD train
questions of these articles). The baseline is another lacqa source tree (e.g. a `git worktree` of an older commit)
run with the same interpreter and packages. Nothing here is a unit test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "datasets" / "squad-v1.1-train"
if not DATA.is_dir():
    DATA = Path("/work/shared/datasets/squad-v1.1-train")
MODEL = ROOT / "models" / "gemma-3-270m-q4_k_m.gguf"


def library(n: int, dest: Path) -> list[str]:
    names = sorted(p.name for p in (DATA / "articles").glob("*.txt"))[:n]
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy2(DATA / "articles" / name, dest / name)
    return names


def questions(names: list[str], n: int) -> list[str]:
    wanted = set(names)
    rows = [json.loads(line) for line in open(DATA / "qa.jsonl", encoding="utf-8")]
    rows = [r for r in rows if r["doc"] in wanted]
    step = max(1, len(rows) // n)
    return [r["q"] for r in rows[::step][:n]]


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, stdout) of one process."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        t = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", tf.name, *cmd], env=env, cwd=cwd,
                              capture_output=True, text=True)
        wall = time.perf_counter() - t
        if done.returncode != 0:
            raise SystemExit(f"failed: {' '.join(cmd)}\n{done.stderr[-3000:]}")
        rss_kb = float(tf.read().strip().splitlines()[-1])
    return wall, rss_kb / 1024, done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return float(line.split()[1]) / 1024
    return float("nan")


def start_app(repo: Path, env: dict[str, str], port: int) -> tuple[subprocess.Popen, Any]:
    """`python app.py` of the checkout ``repo`` served on ``port``, once its API answers: (process, client)."""
    from gradio_client import Client

    proc = subprocess.Popen([sys.executable, str(repo / "app.py")], env=env, cwd=repo,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        if proc.poll() is not None:
            raise SystemExit("the app exited")
        try:
            return proc, Client(f"http://127.0.0.1:{port}/", verbose=False)
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.1)


def stop_app(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def app_figures(src: Path, env: dict[str, str], sources: Path, index: Path, qs: list[str]) -> dict:
    import gradio_client  # noqa: F401 - imported before the clock starts: the client's import is not the app's start

    port = free_port()
    app_env = {**env, "LACQA_SOURCES_DIR": str(sources), "LACQA_INDEX_DIR": str(index), "LACQA_PORT": str(port),
               "LACQA_MODEL": str(MODEL)}
    t0 = time.perf_counter()
    proc, client = start_app(src.parent, app_env, port)
    try:
        client.predict(qs[0], None, api_name="/ask")
        first = time.perf_counter() - t0
        # the app asks its example questions in the background after a start (once per generation): latency is
        # measured after that, as a user meets it from then on
        gen = index / "generations" / (index / "CURRENT").read_text().strip()
        waited = time.perf_counter()
        while (src / "lacqa" / "examples.py").exists() and not (gen / "examples.json").exists() \
                and time.perf_counter() - waited < 180:
            time.sleep(0.5)
        examples_ready = time.perf_counter() - t0
        lat = []
        for q in qs[1:]:
            t = time.perf_counter()
            client.predict(q, None, api_name="/ask")
            lat.append(time.perf_counter() - t)
        return {"start_to_first_answer_s": round(first, 2), "examples_ready_s": round(examples_ready, 1), "ask_p50_s": round(statistics.median(lat), 3),
                "ask_p95_s": round(sorted(lat)[int(0.95 * (len(lat) - 1))], 3), "asks": len(lat),
                "serving_peak_rss_mb": round(vm_hwm_mb(proc.pid), 1)}
    finally:
        stop_app(proc)


def measure(label: str, src: Path, work: Path, names: list[str], qs: list[str], repeats: int,
            eval_set: Path | None = None) -> dict:
    sources, index = work / f"{label}-sources", work / f"{label}-index"
    shutil.copytree(work / "library", sources)
    env = {**os.environ, "PYTHONPATH": str(src), "LACQA_DATA_DIR": str(work / "data-shared"),
           "TOKENIZERS_PARALLELISM": "false"}
    cli = [sys.executable, "-m", "lacqa.cli"]
    r: dict = {"source": str(src)}
    wall, rss, out = timed([*cli, "index", "--sources", str(sources), "--index", str(index), "--json"], env, work)
    report = json.loads(out.strip().splitlines()[-1])
    manifest = json.loads(next((index / "generations").glob("g-*/manifest.json")).read_text())
    items = manifest["counts"]["chunks"] + manifest["counts"]["sentences"]
    r["full_build_s"], r["build_peak_rss_mb"], r["items"] = round(wall, 1), round(rss, 1), items
    r["items_per_s"] = round(report.get("embedded", items) / wall, 1)
    r["embedded"] = report.get("embedded")
    noop = [timed([*cli, "index", "--sources", str(sources), "--index", str(index), "--json"], env, work)[0]
            for _ in range(repeats)]
    r["noop_rebuild_s"] = round(statistics.median(noop), 2)
    target = sources / names[len(names) // 2]
    with open(target, "a", encoding="utf-8") as fh:
        fh.write("\n\nA paragraph added for the benchmark: the archive reopened in 2026 with a new reading room.\n")
    r["one_doc_change_s"] = round(timed([*cli, "index", "--sources", str(sources), "--index", str(index)], env,
                                        work)[0], 1)
    search = [timed([*cli, "search", qs[0], "--index", str(index), "--json"], env, work) for _ in range(repeats)]
    r["search_process_s"] = round(statistics.median(w for w, _, _ in search), 2)
    r["search_peak_rss_mb"] = round(max(m for _, m, _ in search), 1)
    ask = [timed([*cli, "ask", q, "--index", str(index), "--model", str(MODEL), "--json"], env, work)
           for q in qs[1 : 1 + repeats]]
    r["ask_process_s"] = round(statistics.median(w for w, _, _ in ask), 2)
    r["ask_peak_rss_mb"] = round(max(m for _, m, _ in ask), 1)
    r.update(app_figures(src, env, sources, index, qs[repeats + 1 :]))
    r["index_mb"] = round(sum(p.stat().st_size for p in index.rglob("*") if p.is_file()) / 1e6, 1)
    if eval_set is not None:  # accuracy on questions of the library's own articles (SQuAD train: all answerable)
        _, _, out = timed([*cli, "eval", "--set", str(eval_set), "--index", str(index), "--sources", str(sources),
                           "--model", str(MODEL), "--json"], env, work)
        report = json.loads(out.strip().splitlines()[-1])["lacqa"]
        r["eval"] = {k: v for k, v in report.items() if not isinstance(v, (dict, list))}
    return r


def eval_questions(names: list[str], n: int, dest: Path, validation: bool = False) -> Path:
    """``n`` questions spread evenly over the library's articles, as a `lacqa eval` set; ``validation``: only of
    the articles the evidence ranker never trained on (train/pairs.py splits by a hash of the article name)."""
    wanted = set(names)
    if validation:
        sys.path.insert(0, str(ROOT / "train"))
        from pairs import is_validation

        wanted = {x for x in wanted if is_validation(x)}
    rows = [json.loads(line) for line in open(DATA / "qa.jsonl", encoding="utf-8")]
    rows = [r for r in rows if r["doc"] in wanted]
    step = max(1, len(rows) // n)
    with open(dest, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps({"id": r["id"], "q": r["q"], "answers": r["answers"], "doc": r["doc"],
                                 "answerable": True, "kind": "squad"}) + "\n" for r in rows[step // 2 :: step][:n])
    return dest


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=40)
    ap.add_argument("--baseline", type=Path, help="another lacqa checkout (its src/ is used)")
    ap.add_argument("--questions", type=int, default=24)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "scale.json")
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--eval", type=int, default=0, help="also run `lacqa eval` on this many of the library's questions")
    ap.add_argument("--eval-validation", action="store_true", help="... of its validation articles only (never "
                    "trained on)")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="lacqa-scale-"))
    names = library(args.articles, work / "library")
    qs = questions(names, args.questions)
    size = sum((work / "library" / n).stat().st_size for n in names)
    results: dict = {"articles": len(names), "library_mb": round(size / 1e6, 2), "questions": len(qs),
                     "machine": f"{os.cpu_count()} cores", "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    # the ONNX export is made once per machine (data folder); measured on its own, then shared by the runs
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "LACQA_DATA_DIR": str(work / "data-shared")}
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from lacqa.embed import make_embedder; make_embedder().embed_query('x')"],
                   env=env, check=True, capture_output=True)
    results["onnx_export_once_s"] = round(time.perf_counter() - t, 1)
    variants = [("baseline", args.baseline / "src")] if args.baseline else []
    variants.append(("current", ROOT / "src"))
    for label, src in variants:
        print(f"measuring {label} ({src})", flush=True)
        eval_set = (eval_questions(names, args.eval, work / "eval.jsonl", args.eval_validation)
                    if args.eval else None)
        results[label] = measure(label, src, work, names, qs, args.repeats, eval_set)
        print(json.dumps(results[label]), flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
