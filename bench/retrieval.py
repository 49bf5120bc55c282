"""Retrieval quality on an eval set: right document at rank 1 / in top 5, and answer-string recall in the
top chunks, for lacqa's hybrid retriever and for the naive LangChain-default dense baseline."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from lacqa.config import ChunkSettings, RetrieveSettings, Settings
from lacqa.embed import SentenceTransformerEmbedder
from lacqa.evaluate import NaiveBaseline, load_set
from lacqa.pipeline import Assistant
from lacqa.verify import normalize


def hybrid(items, settings: Settings, embedder) -> dict:
    assistant = Assistant(settings, embedder=embedder)
    assistant.index()
    h1 = h5 = rec = 0
    lat = []
    ans = [i for i in items if i.answerable]
    for it in ans:
        t = time.perf_counter()
        hits = assistant.search(it.q, 5)
        lat.append(time.perf_counter() - t)
        docs = [h.chunk.source for h in hits]
        h1 += bool(docs and docs[0] == it.doc)
        h5 += it.doc in docs
        text = normalize(" ".join(h.chunk.text for h in hits))
        rec += any(normalize(a) in text for a in it.answers)
    lat.sort()
    n = len(ans)
    return {"hit@1": h1 / n, "hit@5": h5 / n, "answer@5": rec / n, "p50_ms": 1000 * lat[n // 2],
            "p95_ms": 1000 * lat[int(n * 0.95)], "chunks": len(assistant.generation().chunks)}


def naive(items, sources: Path, embedder) -> dict:
    base = NaiveBaseline(sources, embedder, generator=None)  # type: ignore[arg-type]
    ans = [i for i in items if i.answerable]
    h1 = h5 = rec = 0
    for it in ans:
        top = base.retrieve(it.q, 5)
        docs = [s for s, _ in top]
        h1 += bool(docs and docs[0] == it.doc)
        h5 += it.doc in docs
        rec += any(normalize(a) in normalize(" ".join(c for _, c in top)) for a in it.answers)
    n = len(ans)
    return {"hit@1": h1 / n, "hit@5": h5 / n, "answer@5": rec / n, "chunks": len(base.chunks)}


if __name__ == "__main__":
    items = load_set(Path(sys.argv[1] if len(sys.argv) > 1 else "eval/dev.jsonl"))
    emb = SentenceTransformerEmbedder()
    print("naive", naive(items, Path("seeds"), emb))
    for size, overlap in [(400, 80), (600, 120), (800, 160)]:
        for dw, lw, sw in [(1.0, 1.0, 0.0), (1.0, 1.0, 1.0), (0.5, 1.0, 1.0), (0.0, 1.0, 1.0)]:
            with tempfile.TemporaryDirectory() as tmp:
                s = Settings(index_dir=Path(tmp), chunk=ChunkSettings(size=size, overlap=overlap),
                             retrieve=RetrieveSettings(dense_weight=dw, lexical_weight=lw, sentence_weight=sw))
                print(size, overlap, dw, lw, sw, hybrid(items, s, emb))
