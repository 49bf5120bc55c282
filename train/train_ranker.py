"""Fine-tune the evidence ranker: all-MiniLM-L6-v2 (the installed embedder's weights) as a cross-encoder.

    .venv/bin/python train/train_ranker.py            # ~60 min on 2 cores; checkpoints; resumes when re-run
    .venv/bin/python train/train_ranker.py --export   # export the last checkpoint to packages/lacqa-ranker

Deterministic: a fixed seed for data and training, the data hash recorded. The validation curve (held-out
*articles*) goes to docs/ranker_validation.json and docs/RANKER.md. Never run by CI or `make test`.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"
PACKAGE = REPO / "packages" / "lacqa-ranker" / "lacqa_ranker"
sys.path.insert(0, str(HERE))

from loop import Run, optimiser, progress, update  # noqa: E402
from pairs import Pair, build, data_hash  # noqa: E402

from lacqa.answer.ranker import MAX_TOKENS  # noqa: E402
from lacqa.embed import packaged_minilm_path  # noqa: E402


def auc(pos: list[float], neg: list[float]) -> float:
    if not pos or not neg:
        return float("nan")
    allv = np.array(pos + neg)
    order = allv.argsort().argsort() + 1
    r_pos = order[: len(pos)].sum()
    return float((r_pos - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def evaluate(model, tok, val: list[Pair], batch: int = 64) -> dict:
    """Ranking and abstention measures on the validation groups."""
    import torch

    model.eval()
    logits: list[float] = []
    with torch.no_grad():
        order = sorted(range(len(val)), key=lambda i: len(val[i].question) + len(val[i].candidate))
        out = [0.0] * len(val)
        for s in range(0, len(order), batch):
            idx = order[s : s + batch]
            enc = tok([val[i].question for i in idx], [val[i].candidate for i in idx], truncation="only_second",
                      max_length=MAX_TOKENS, padding=True, return_tensors="pt")
            z = model(**enc).logits.reshape(-1).tolist()
            for i, v in zip(idx, z):
                out[i] = v
        logits = out
    model.train()
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(val):
        groups.setdefault(p.group, []).append(i)
    top1 = []
    answerable_top, foreign_top, perturbed_top = [], [], []
    for g, idx in groups.items():
        labels = [val[i].label for i in idx]
        if g.endswith("-p"):
            perturbed_top.append(max(logits[i] for i in idx))
            continue
        if not any(labels):
            continue
        best = max(idx, key=lambda i: logits[i])
        top1.append(val[best].label == 1)
        answerable_top.append(max(logits[i] for i in idx))
        foreign = [logits[i] for i in idx if val[i].kind == "foreign"]
        if foreign:
            foreign_top.append(max(foreign))
    return {
        "top1": float(np.mean(top1)) if top1 else float("nan"),
        "groups": len(top1),
        "auc_foreign": auc(answerable_top, foreign_top),
        "auc_perturbed": auc(answerable_top, perturbed_top),
        "logits": logits,
    }


def platt(logits: list[float], labels: list[int]) -> tuple[float, float]:
    """Fit p = sigmoid(a z + b) on validation pairs (Newton steps on the log loss)."""
    z = np.array(logits, dtype=np.float64)
    y = np.array(labels, dtype=np.float64)
    a, b = 1.0, 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-(a * z + b)))
        g = np.array([((p - y) * z).sum(), (p - y).sum()])
        w = p * (1 - p) + 1e-9
        h = np.array([[(w * z * z).sum(), (w * z).sum()], [(w * z).sum(), w.sum()]])
        step = np.linalg.solve(h + 1e-6 * np.eye(2), g)
        a, b = a - step[0], b - step[1]
        if abs(step).max() < 1e-6:
            break
    return float(a), float(b)


def grouped_batches(pairs: list[Pair], n_groups: int, negatives: int, rng: random.Random
                    ) -> list[tuple[list[list[int]], list[int]]]:
    """Batches of ``n_groups`` questions, each as [its answer sentence, up to ``negatives`` other candidates],
    plus pairs with no answer to rank against (perturbed questions, seed questions without one) for the
    pointwise loss. One pass over the questions."""
    by_group: dict[str, list[int]] = {}
    for i, p in enumerate(pairs):
        by_group.setdefault(p.group, []).append(i)
    ranked, loose = [], []
    for g, idx in sorted(by_group.items()):
        pos = [i for i in idx if pairs[i].label == 1]
        neg = [i for i in idx if pairs[i].label == 0]
        if pos and neg:
            for j, p in enumerate(pos):  # a seed question repeated three times has three copies of its answer
                if j and pairs[p].candidate == pairs[pos[0]].candidate:
                    continue
                rng.shuffle(neg)
                ranked.append([p, *neg[:negatives]])
        else:
            loose.extend(idx)
    rng.shuffle(ranked)
    rng.shuffle(loose)
    plan = []
    per = max(1, len(loose) // max(1, len(ranked) // n_groups))
    for b in range(0, len(ranked) - n_groups + 1, n_groups):
        k = b // n_groups
        plan.append((ranked[b : b + n_groups], loose[k * per : (k + 1) * per][:8]))
    return plan


def train(args: argparse.Namespace) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    OUT.mkdir(exist_ok=True)
    data_file = OUT / "pairs.json"
    if data_file.exists():
        saved = json.loads(data_file.read_text())
        train_pairs = [Pair(**p) for p in saved["train"]]
        val_pairs = [Pair(**p) for p in saved["val"]]
        meta = saved["meta"]
    else:
        t = time.time()
        train_pairs, val_pairs, meta = build(args.questions, args.val_questions, args.seed)
        meta["train_hash"], meta["val_hash"] = data_hash(train_pairs), data_hash(val_pairs)
        meta["build_seconds"] = round(time.time() - t, 1)
        data_file.write_text(json.dumps({"train": [p.__dict__ for p in train_pairs],
                                         "val": [p.__dict__ for p in val_pairs], "meta": meta}))
    print(json.dumps({k: v for k, v in meta.items() if k != "val_articles"}), flush=True)
    base = packaged_minilm_path()
    tok = AutoTokenizer.from_pretrained(str(base))
    model = AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=1)
    rng = random.Random(args.seed)
    plan = grouped_batches(train_pairs, args.groups, args.negatives, rng)
    total = min(len(plan), args.steps) if args.steps else len(plan)
    # the classifier is new and the pooler was never trained for this (the embedder mean-pools): a small learning
    # rate on them leaves the model at the base rate for hundreds of steps, so the head learns 30x faster
    opt, sched = optimiser(model, ("classifier", "bert.pooler"), args.lr, args.head_lr, total, 0.1)
    run = Run(OUT)
    step = run.resume(model, opt, sched)
    if step:
        print(f"resumed at step {step}/{total}", flush=True)

    def validate() -> None:
        v = evaluate(model, tok, val_pairs)
        (OUT / "val_logits.json").write_text(json.dumps({"step": step, "logits": v["logits"]}))
        run.record({"step": step, "pairs": seen, **{k: v[k] for k in ("top1", "auc_foreign", "auc_perturbed")}})

    seen = 0
    if step == 0 and not run.curve:
        validate()
    bce = torch.nn.BCEWithLogitsLoss()
    model.train()
    t0, running = time.time(), 0.0
    while step < total:
        groups, extra = plan[step]
        idx = [i for g in groups for i in g] + extra
        enc = tok([train_pairs[i].question for i in idx], [train_pairs[i].candidate for i in idx],
                  truncation="only_second", max_length=args.max_tokens, padding=True, return_tensors="pt")
        z = model(**enc).logits.reshape(-1)
        y = torch.tensor([float(train_pairs[i].label) for i in idx])
        # listwise: within each question's group the answer sentence must outscore the others (a constant output
        # cannot satisfy it, unlike a pointwise loss on 1-in-5 positives); pointwise BCE keeps scores comparable
        # across questions and teaches "no answer here" on perturbed questions and on questions without one
        loss = args.bce * bce(z, y)
        pos = 0
        for g in groups:
            zg = z[pos : pos + len(g)]
            loss = loss + torch.nn.functional.cross_entropy(zg.unsqueeze(0), torch.zeros(1, dtype=torch.long)) / len(groups)
            pos += len(g)
        update(model, opt, sched, loss)
        step += 1
        seen += len(idx)
        running = 0.95 * running + 0.05 * loss.item() if step > 1 else loss.item()
        if step % 25 == 0:
            print(progress(step, total, running, seen, t0, "pairs", len(idx)), flush=True)
        if step % args.every == 0 or step == total:
            run.save(model, opt, sched, step)
            if step % (args.every * args.eval_every) == 0 or step == total:
                validate()
    print("training done", flush=True)


def export(args: argparse.Namespace) -> None:
    """Export the last checkpoint to ONNX (fp32 and int8), fit Platt scaling on validation, write the package."""
    import hashlib
    import shutil

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.set_num_threads(2)
    base = packaged_minilm_path()
    tok = AutoTokenizer.from_pretrained(str(base))
    model = AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=1)
    state = torch.load(OUT / "checkpoint.pt", weights_only=False)
    model.load_state_dict(state["model"])
    model.eval()
    saved = json.loads((OUT / "pairs.json").read_text())
    val_pairs = [Pair(**p) for p in saved["val"]]
    cached = OUT / "val_logits.json"
    if cached.exists() and json.loads(cached.read_text())["step"] == state["step"]:
        curve = json.loads((OUT / "curve.json").read_text())[-1]
        v = {**curve, "logits": json.loads(cached.read_text())["logits"], "groups": None}
    else:
        v = evaluate(model, tok, val_pairs)
    a, b = platt(v["logits"], [p.label for p in val_pairs])
    PACKAGE.mkdir(parents=True, exist_ok=True)
    fp32 = OUT / "ranker-fp32.onnx"
    enc = tok(["a question"], ["a candidate sentence [SEP] title"], return_tensors="pt")
    torch.onnx.export(
        model, (enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]), str(fp32),
        input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logits"],
        dynamic_axes={n: {0: "batch", 1: "seq"} for n in ("input_ids", "attention_mask", "token_type_ids")}
        | {"logits": {0: "batch"}}, opset_version=17, dynamo=False,
    )
    from onnxruntime.quantization import QuantType, quantize_dynamic

    int8 = PACKAGE / "ranker-int8.onnx"
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    tok.backend_tokenizer.save(str(PACKAGE / "tokenizer.json"))
    shutil.copy(fp32, OUT / "ranker-fp32.onnx.bak") if args.keep_fp32 else None

    def sha(p: Path) -> str:
        return hashlib.sha256(p.read_bytes()).hexdigest()

    meta = {
        "model_id": f"lacqa-ranker-minilm-l6-{saved['meta']['train_hash']}-s{state['step']}",
        "model": int8.name, "tokenizer": "tokenizer.json", "max_tokens": args.max_tokens, "trained_steps": state["step"],
        "platt": [a, b],
        "validation": {k: v[k] for k in ("top1", "auc_foreign", "auc_perturbed", "groups")},
        "data": {k: saved["meta"][k] for k in saved["meta"] if k != "val_articles"},
        "files": {int8.name: sha(int8), "tokenizer.json": sha(PACKAGE / "tokenizer.json")},
    }
    (PACKAGE / "ranker.json").write_text(json.dumps(meta, indent=1))
    print(json.dumps(meta["validation"]), "platt", a, b, flush=True)


def main() -> None:
    global OUT
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=int, default=7000)
    ap.add_argument("--val-questions", type=int, default=400)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=6e-5)
    ap.add_argument("--head-lr", type=float, default=30.0, help="learning rate of the new head, as a multiple of --lr")
    ap.add_argument("--groups", type=int, default=6, help="questions per batch (listwise loss)")
    ap.add_argument("--negatives", type=int, default=4, help="other candidates per question in a batch")
    ap.add_argument("--bce", type=float, default=0.5, help="weight of the pointwise loss")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--every", type=int, default=100, help="checkpoint every N steps")
    ap.add_argument("--eval-every", type=int, default=5, help="validate every N checkpoints")
    ap.add_argument("--steps", type=int, default=0, help="train this many batches (learning rate annealed to 0 by "
                    "then); 0: one epoch")
    ap.add_argument("--max-tokens", type=int, default=MAX_TOKENS, help="pairs are cut to this many tokens")
    ap.add_argument("--export", action="store_true")
    ap.add_argument("--keep-fp32", action="store_true")
    ap.add_argument("--out", type=Path, default=OUT, help="checkpoints, data and curve (default: %(default)s); "
                    "outside the work tree, a run survives a fresh checkout")
    args = ap.parse_args()
    OUT = args.out
    export(args) if args.export else train(args)


if __name__ == "__main__":
    main()
