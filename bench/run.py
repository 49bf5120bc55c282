"""lacqa benchmarks, each beside its baseline in the same run. Writes docs/BENCHMARKS.md and bench/out/results.json.

    .venv/bin/python bench/run.py [--sets eval/dev.jsonl eval/heldout.jsonl] [--skip-answers]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from lacqa.config import Settings  # noqa: E402
from lacqa.embed import SentenceTransformerEmbedder  # noqa: E402
from lacqa.evaluate import NaiveBaseline, load_set, run_pipeline, summarize  # noqa: E402
from lacqa.pipeline import Assistant  # noqa: E402
from lacqa.verify import normalize  # noqa: E402


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def retrieval(assistant: Assistant, naive: NaiveBaseline, items: list) -> dict:
    ans = [i for i in items if i.answerable]
    out: dict = {}
    for label in ("lacqa", "naive"):
        h1 = h5 = a5 = p1 = 0
        lat = []
        for it in ans:
            t = time.perf_counter()
            if label == "lacqa":
                hits = assistant.search(it.q, 5)
                docs, texts = [h.chunk.source for h in hits], [h.chunk.text for h in hits]
            else:
                top = naive.retrieve(it.q, 5)
                docs, texts = [s for s, _ in top], [c for _, c in top]
            lat.append(time.perf_counter() - t)
            h1 += bool(docs) and docs[0] == it.doc
            # a fact stated in two documents: a first passage from either, holding the answer, is right too
            p1 += bool(docs) and (docs[0] == it.doc or any(normalize(a) in normalize(texts[0]) for a in it.answers))
            h5 += it.doc in docs
            a5 += any(normalize(a) in normalize(" ".join(texts)) for a in it.answers)
        n = len(ans)
        out[label] = {"hit@1": round(h1 / n, 3), "first_right": round(p1 / n, 3), "hit@5": round(h5 / n, 3), "answer_in_top5": round(a5 / n, 3),
                      "p50_ms": round(1000 * statistics.median(lat), 1), "p95_ms": round(1000 * pct(lat, 95), 1)}
    return out


def build(settings: Settings, embedder: SentenceTransformerEmbedder) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        s = settings.model_copy(update={"index_dir": Path(tmp) / "index"})
        a = Assistant(s, embedder=embedder)
        t = time.perf_counter()
        report = a.index()
        full = time.perf_counter() - t
        texts = report.embedded
        noop = []
        for _ in range(5):
            t = time.perf_counter()
            r = a.index()
            noop.append(time.perf_counter() - t)
            assert not r.published and r.embedded == 0
        env = {**os.environ, "LACQA_INDEX_DIR": str(s.index_dir), "LACQA_SOURCES_DIR": str(s.sources_dir)}
        cli = []
        for _ in range(3):
            t = time.perf_counter()
            subprocess.run([str(ROOT / ".venv/bin/lacqa"), "index", "--json"], env=env, check=True,
                           capture_output=True)
            cli.append(time.perf_counter() - t)
        return {"documents": report.documents, "chunks": report.chunks, "texts_embedded": texts,
                "full_build_s": round(full, 2), "texts_per_s": round(texts / full, 1),
                "noop_rebuild_in_process_ms": round(1000 * statistics.median(noop), 1),
                "noop_rebuild_cli_s": round(statistics.median(cli), 2)}


def answers(assistant: Assistant, naive: NaiveBaseline, items: list) -> dict:
    ours = summarize(run_pipeline(assistant, items))
    theirs = summarize(naive.run(items))
    return {"lacqa": ours, "naive": theirs}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", nargs="+", default=["eval/dev.jsonl", "eval/heldout.jsonl", "eval/heldout2.jsonl",
                                                   "eval/heldout3.jsonl"])
    ap.add_argument("--skip-answers", action="store_true")
    ap.add_argument("--libraries", nargs="*", default=["eval/library2.jsonl=eval/library2"],
                    help="SET=SOURCES: question sets over other libraries, each indexed in a temporary folder")
    args = ap.parse_args()
    os.chdir(ROOT)
    settings = Settings()
    embedder = SentenceTransformerEmbedder()
    results: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                 "date": time.strftime("%Y-%m-%d")}}
    results["build"] = build(settings, embedder)
    print(json.dumps(results["build"]), flush=True)
    assistant = Assistant(settings, embedder=embedder)
    assistant.index()
    assistant.warm()
    naive = NaiveBaseline(settings.sources_dir, embedder, assistant.generator)  # type: ignore[arg-type]
    for path in args.sets:
        items = load_set(Path(path))
        entry = {"retrieval": retrieval(assistant, naive, items)}
        print(path, json.dumps(entry["retrieval"]), flush=True)
        if not args.skip_answers:
            entry["answers"] = answers(assistant, naive, items)
            print(path, json.dumps(entry["answers"]), flush=True)
        results[path] = entry
    for spec in args.libraries:
        qset, sources = spec.split("=", 1)
        with tempfile.TemporaryDirectory() as tmp:
            s2 = settings.model_copy(update={"sources_dir": Path(sources), "index_dir": Path(tmp) / "index"})
            other = Assistant(s2, embedder=embedder, generator=assistant.generator)
            other.index()
            items = load_set(Path(qset))
            naive2 = NaiveBaseline(Path(sources), embedder, assistant.generator)  # type: ignore[arg-type]
            entry = {"sources": sources, "retrieval": retrieval(other, naive2, items)}
            if not args.skip_answers:
                entry["answers"] = answers(other, naive2, items)
            print(qset, json.dumps(entry), flush=True)
            results[qset] = entry
            args.sets.append(qset)
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    (ROOT / "docs" / "BENCHMARKS.md").write_text(render(results, args.sets))
    print("wrote docs/BENCHMARKS.md")


def render(r: dict, sets: list[str]) -> str:
    b = r["build"]
    lines = [
        "# Benchmarks", "",
        f"Measured by `make bench` (`bench/run.py`) on {r['machine']['date']}: {r['machine']['cpus']} CPU cores, "
        f"Python {r['machine']['python']}, no GPU. Each lacqa figure sits beside its baseline from the same run: "
        "the naive pipeline is LangChain's defaults (raw files, 1000/200 recursive chunks, MiniLM, FAISS top-k "
        "dense only; for answers, the top-4 chunks stuffed into the classic \"Use the following pieces of context\" "
        "prompt for the same gemma-3-270m model).", "",
        "## Index build", "",
        "| measure | value |", "|---|---|",
        f"| documents / chunks | {b['documents']} / {b['chunks']} |",
        f"| full build (chunks + sentences embedded) | {b['full_build_s']} s for {b['texts_embedded']} texts "
        f"({b['texts_per_s']} texts/s) |",
        f"| no-op rebuild, in process | {b['noop_rebuild_in_process_ms']} ms |",
        f"| no-op rebuild, `lacqa index` CLI (incl. Python start) | {b['noop_rebuild_cli_s']} s |",
        f"| peak RSS of the benchmark process (embedder + LLM + index) | {r['peak_rss_mb']} MB |", "",
    ]
    for path in sets:
        e = r[path]
        rt = e["retrieval"]
        lines += [f"## {path}", ""]
        if "sources" in e:
            lines += [f"Over another library, `{e['sources']}/` (an HTML page with its site chrome, a 4-page PDF, "
                      "Markdown, a Windows-1252 text file with CRLF line endings), indexed for this run. The naive "
                      "baseline reads only its .txt and .md files, as LangChain's TextLoader would.", ""]
        lines += ["Retrieval (right document; answerable questions):", "",
                  "| measure | lacqa hybrid | naive dense |", "|---|---|---|"]
        for k in ("hit@1", "first_right", "hit@5", "answer_in_top5", "p50_ms", "p95_ms"):
            lines.append(f"| {k} | {rt['lacqa'][k]} | {rt['naive'][k]} |")
        if "answers" in e:
            a = e["answers"]
            lines += ["", "Answers (`lacqa eval --baseline`):", "", "| measure | lacqa | naive RAG |", "|---|---|---|"]
            for k in ("accuracy", "accuracy_answer_text", "abstained_unanswerable", "false_abstention", "quotes_verbatim",
                      "unsupported_facts", "latency_p50_s", "latency_p95_s"):
                lines.append(f"| {k} | {a['lacqa'][k]} | {a['naive'][k]} |")
            lines.append(f"| accuracy by kind | {a['lacqa']['by_kind']} | {a['naive']['by_kind']} |")
        lines.append("")
    lines += ["hit@1: the first passage comes from the document the question was written from; first_right: "
              "it does, or it holds the answer string (a fact stated in two documents).", "",
              "Accuracy: the share of answerable questions answered right, i.e. one of the answer strings appears "
              "in the answer or its quotes (the naive pipeline shows no quotes, so only its answer text counts). "
              "accuracy_answer_text is stricter: the answer text alone must hold the answer string (a drafted "
              "short answer that picked the wrong figure from a right quote counts as wrong). "
              "Unanswerable questions are measured by abstained_unanswerable. Unsupported facts: numbers and names in an answer "
              "found in none of its quotes (for the naive pipeline: in none of its context chunks).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
