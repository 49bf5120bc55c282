"""Fine-tune the answer-span reader: all-MiniLM-L6-v2 (the installed embedder's weights) with a start/end head.

    .venv/bin/python train/train_span.py            # ~60 min on 2 cores; checkpoints; resumes when re-run
    .venv/bin/python train/train_span.py --export   # export the last checkpoint to packages/lacqa-ranker

It reads (question, one sentence) and points at the characters of the sentence that answer the question, or at
nothing (the [CLS] token) when the sentence does not. The answer stage uses it to give a fact question a short
answer text taken verbatim from its best quote ("the answer span" of issue 11), and to tell a draft that answers
from one that only restates the quote.

Data: SQuAD v1.1 train, the sentence (lacqa's own splitter) that holds an answer string of the question; negatives
(target [CLS]) are other sentences of the same paragraph. Articles are split as for the ranker (train/pairs.py
``is_validation``): no validation article, and so none of the SQuAD libraries bench/squad_sets.py makes, is trained
on. Deterministic: fixed seed, data hash recorded; the validation curve goes to docs/span_validation.json.
Never run by CI or `make test`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out_span"
PACKAGE = REPO / "packages" / "lacqa-ranker" / "lacqa_ranker"
sys.path.insert(0, str(HERE))

from loop import Run, by_length, optimiser, progress, update  # noqa: E402
from pairs import (_norm, is_validation, load_articles, load_questions, perturb, question_names,  # noqa: E402
                   sentence_index)

from lacqa.embed import packaged_minilm_path  # noqa: E402

MAX_TOKENS = 128


def build(seed: int, negatives: float, foreign: float = 0.0, perturbed: float = 0.0
          ) -> tuple[list[dict], list[dict], dict]:
    """Examples {question, sentence, start, end} (character span in the sentence; -1 for no answer). Besides a
    sentence of the same paragraph (``negatives``), a no-answer example may be (``foreign``) the sentence a BM25
    search over the *other* articles ranks first for the question (the question asked of a library without its
    article), or (``perturbed``) the answer sentence under the question with a year, number or name swapped
    (train/pairs.py ``perturb``), which the sentence no longer answers."""
    rng = random.Random(seed)
    articles = load_articles()
    questions = load_questions()
    bm = flat = names = None
    if foreign or perturbed:
        import bm25s

        flat, bm = sentence_index(articles)
        names = question_names(questions)
    train, val = [], []
    for q in questions:
        title, paras = articles[q["doc"]]
        sents = paras[q["paragraph"]] if q["paragraph"] < len(paras) else []
        hit = None
        for s in sents:
            low = s.text.lower()
            for a in q["answers"]:
                i = low.find(a.lower().strip())
                if a.strip() and i >= 0:
                    hit = (s, i, i + len(a.strip()))
                    break
            if hit:
                break
        if hit is None:
            continue
        dest = val if is_validation(q["doc"]) else train
        s, i, j = hit
        dest.append({"question": q["q"], "sentence": s.text, "start": i, "end": j, "answers": q["answers"],
                     "group": q["id"]})
        others = [x for x in sents if x is not s and not any(_norm(a) in _norm(x.text) for a in q["answers"])]
        if others and rng.random() < negatives:
            dest.append({"question": q["q"], "sentence": rng.choice(others).text, "start": -1, "end": -1,
                         "answers": [], "group": q["id"]})
        if bm is not None and rng.random() < foreign:
            ids, _ = bm.retrieve(bm25s.tokenize([q["q"]], stopwords="en", show_progress=False), k=20,
                                 show_progress=False)
            away = next((flat[int(i)] for i in ids[0] if flat[int(i)].article != q["doc"]), None)
            if away is not None:
                dest.append({"question": q["q"], "sentence": away.text, "start": -1, "end": -1, "answers": [],
                             "group": q["id"] + "-f"})
        if bm is not None and rng.random() < perturbed and (bent := perturb(q["q"], rng, names)):
            dest.append({"question": bent, "sentence": s.text, "start": -1, "end": -1, "answers": [],
                         "group": q["id"] + "-p"})
    rng.shuffle(train)
    val = sorted(val, key=lambda e: e["group"])
    blob = json.dumps([train, val], sort_keys=True).encode()
    meta = {"seed": seed, "negatives": negatives, "foreign": foreign, "perturbed": perturbed,
            "train": len(train), "val": len(val),
            "data_hash": hashlib.sha256(blob).hexdigest()[:16], "max_tokens": MAX_TOKENS}
    return train, val, meta


def encode(tok, examples: list[dict], max_tokens: int):
    """Token tensors and start/end token targets (0 = [CLS] = no answer, also for a span cut off by truncation)."""
    import torch

    enc = tok([e["question"] for e in examples], [e["sentence"] for e in examples], truncation="only_second",
              max_length=max_tokens, padding=True, return_offsets_mapping=True, return_tensors="pt")
    starts, ends = [], []
    for b, e in enumerate(examples):
        st = en = 0
        if e["start"] >= 0:
            inside = [(t, a, z) for t, (sid, (a, z)) in enumerate(zip(enc.sequence_ids(b), enc["offset_mapping"][b].tolist()))
                      if sid == 1]
            first = [t for t, a, z in inside if z > e["start"]]
            last = [t for t, a, z in inside if a < e["end"]]
            if first and last and last[-1] >= first[0] and inside[-1][2] >= e["end"]:  # not cut off
                st, en = first[0], last[-1]
        starts.append(st)
        ends.append(en)
    enc.pop("offset_mapping")
    return enc, torch.tensor(starts), torch.tensor(ends)


def best_span(start_logits, end_logits, seq_ids, max_len: int = 30) -> tuple[int, int, float]:
    """The best (start, end) token pair inside the sentence, and its score less the no-answer score."""
    import numpy as np

    s, e = np.asarray(start_logits), np.asarray(end_logits)
    idx = [t for t, sid in enumerate(seq_ids) if sid == 1]
    best = (0, 0, -1e9)
    for a in idx:
        for b in idx:
            if a <= b < a + max_len and s[a] + e[b] > best[2]:
                best = (a, b, float(s[a] + e[b]))
    return best[0], best[1], best[2] - float(s[0] + e[0])


def evaluate(model, tok, val: list[dict], limit: int = 1200) -> dict:
    import torch

    model.eval()
    em, f1, noans = [], [], []
    by_kind: dict[str, list[bool]] = {}  # no-answer examples: paragraph, foreign, perturbed
    with torch.no_grad():
        for k in range(0, min(limit, len(val)), 64):
            chunk = val[k : k + 64]
            enc = tok([e["question"] for e in chunk], [e["sentence"] for e in chunk], truncation="only_second",
                      max_length=MAX_TOKENS, padding=True, return_offsets_mapping=True, return_tensors="pt")
            offsets = enc.pop("offset_mapping")
            out = model(**enc)
            for b, e in enumerate(chunk):
                a, z, margin = best_span(out.start_logits[b].tolist(), out.end_logits[b].tolist(), enc.sequence_ids(b))
                if e["start"] < 0:
                    noans.append(margin < 0)
                    kind = {"-f": "foreign", "-p": "perturbed"}.get(e["group"][-2:], "paragraph")
                    by_kind.setdefault(kind, []).append(margin < 0)
                    continue
                text = e["sentence"][int(offsets[b][a][0]) : int(offsets[b][z][1])]
                gold = [_norm(x) for x in e["answers"]]
                em.append(_norm(text) in gold)
                pw = _norm(text).split()
                scores = []
                for g in gold:
                    gw = g.split()
                    common = sum(min(pw.count(w), gw.count(w)) for w in set(pw))
                    scores.append(0.0 if not common else 2 * common / (len(pw) + len(gw)))
                f1.append(max(scores) if scores else 0.0)
    model.train()
    mean = lambda x: round(sum(x) / len(x), 4) if x else float("nan")  # noqa: E731
    return {"em": mean(em), "f1": mean(f1), "no_answer_right": mean(noans), "n": len(em),
            **({f"no_answer_{k}": mean(v) for k, v in sorted(by_kind.items())} if len(by_kind) > 1 else {})}


def train(args: argparse.Namespace) -> None:
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    OUT.mkdir(exist_ok=True)
    data_file = OUT / "examples.json"
    if data_file.exists():
        saved = json.loads(data_file.read_text())
    else:
        tr, va, meta = build(args.seed, args.negatives, args.foreign, args.perturbed)
        saved = {"train": tr, "val": va, "meta": meta}
        data_file.write_text(json.dumps(saved))
    train_ex, val_ex, meta = saved["train"], saved["val"], saved["meta"]
    print(json.dumps(meta), flush=True)
    base = packaged_minilm_path()
    tok = AutoTokenizer.from_pretrained(str(base))
    model = AutoModelForQuestionAnswering.from_pretrained(str(base))
    total = args.steps or len(train_ex) // args.batch
    opt, sched = optimiser(model, ("qa_outputs",), args.lr, args.head_lr, total, 0.06)
    run = Run(OUT)
    step = run.resume(model, opt, sched)
    if step:
        print(f"resumed at step {step}/{total}", flush=True)
    elif args.init:  # a warm start: another run's weights, a new optimiser and schedule
        model.load_state_dict(torch.load(args.init, weights_only=False)["model"])
        print(f"weights from {args.init}", flush=True)
    # batches of similar length, in a fixed shuffled order
    plan = by_length([len(e["question"]) + len(e["sentence"]) for e in train_ex], args.batch, random.Random(args.seed))
    model.train()
    t0, seen, running = time.time(), 0, 0.0
    ce = torch.nn.CrossEntropyLoss()
    while step < total:
        chunk = [train_ex[i] for i in plan[step % len(plan)]]
        enc, st, en = encode(tok, chunk, MAX_TOKENS)
        out = model(**enc)
        loss = (ce(out.start_logits, st) + ce(out.end_logits, en)) / 2
        update(model, opt, sched, loss)
        step += 1
        seen += len(chunk)
        running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
        if step % 25 == 0:
            print(progress(step, total, running, seen, t0, "ex", args.batch), flush=True)
        if step % args.every == 0 or step == total:
            run.save(model, opt, sched, step)
            if step % (args.every * args.eval_every) == 0 or step == total:
                run.record({"step": step, "examples": step * args.batch, **evaluate(model, tok, val_ex)})
    print("training done", flush=True)


def export(args: argparse.Namespace) -> None:
    """Export the last checkpoint to ONNX int8 beside the ranker, with span.json (hashes, validation)."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    torch.set_num_threads(2)
    base = packaged_minilm_path()
    tok = AutoTokenizer.from_pretrained(str(base))
    model = AutoModelForQuestionAnswering.from_pretrained(str(base))
    state = torch.load(OUT / "checkpoint.pt", weights_only=False)
    model.load_state_dict(state["model"])
    model.eval()
    saved = json.loads((OUT / "examples.json").read_text())
    v = evaluate(model, tok, saved["val"], limit=len(saved["val"]))
    fp32 = OUT / "span-fp32.onnx"
    enc = tok(["a question"], ["a candidate sentence"], return_tensors="pt")
    torch.onnx.export(
        model, (enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]), str(fp32),
        input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["start_logits", "end_logits"],
        dynamic_axes={n: {0: "batch", 1: "seq"} for n in ("input_ids", "attention_mask", "token_type_ids",
                                                          "start_logits", "end_logits")},
        opset_version=17, dynamo=False,
    )
    int8 = PACKAGE / "span-int8.onnx"
    # per-channel scales: as accurate as fp32 on validation (EM 0.484 vs 0.482 on 1,576 examples), where one scale
    # per tensor loses a point (0.471); same size and speed
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
    meta = {
        "model_id": f"lacqa-span-minilm-l6-{saved['meta']['data_hash']}-s{state['step']}",
        "model": int8.name, "tokenizer": "tokenizer.json", "max_tokens": MAX_TOKENS, "trained_steps": state["step"],
        "quantisation": "dynamic int8, per-channel weights",
        "validation": v, "data": saved["meta"],
        "files": {name: hashlib.sha256((PACKAGE / name).read_bytes()).hexdigest()
                  for name in (int8.name, "tokenizer.json")},
    }
    (PACKAGE / "span.json").write_text(json.dumps(meta, indent=1))
    curve = json.loads((OUT / "curve.json").read_text()) if (OUT / "curve.json").exists() else []
    (REPO / "docs" / "span_validation.json").write_text(json.dumps({"meta": meta, "curve": curve}, indent=1))
    print(json.dumps(v), flush=True)


def main() -> None:
    global OUT
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=8e-5)
    ap.add_argument("--head-lr", type=float, default=10.0, help="learning rate of the new head, as a multiple of --lr")
    ap.add_argument("--negatives", type=float, default=0.3, help="share of questions with a no-answer example")
    ap.add_argument("--foreign", type=float, default=0.0, help="share of questions with a no-answer example from "
                    "another article (BM25's best)")
    ap.add_argument("--perturbed", type=float, default=0.0, help="share of questions with a perturbed copy "
                    "(year, number or name swapped) that the answer sentence does not answer")
    ap.add_argument("--init", type=Path, help="start from this checkpoint's weights (e.g. another run's)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--every", type=int, default=100, help="checkpoint every N steps")
    ap.add_argument("--eval-every", type=int, default=4, help="validate every N checkpoints")
    ap.add_argument("--steps", type=int, default=0, help="train this many batches (0: one epoch)")
    ap.add_argument("--export", action="store_true")
    ap.add_argument("--out", type=Path, default=OUT, help="checkpoints, data and curve (default: %(default)s); "
                    "outside the work tree, a run survives a fresh checkout")
    args = ap.parse_args()
    OUT = args.out
    export(args) if args.export else train(args)


if __name__ == "__main__":
    main()
