"""What the training scripts share: batches of similar length, AdamW with a faster-learning new head, a warm-up then
linear-decay schedule, one optimiser step, progress lines, and a crash-safe checkpoint with the validation curve
that a re-run resumes from. torch is imported by the callers' ``train`` only (an export needs none of this)."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def by_length(lengths: Sequence[int], size: int, rng: random.Random) -> list[list[int]]:
    """Batches of ``size`` indices of similar length (less padding), in a shuffled order."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    chunks = [order[s : s + size] for s in range(0, len(order), size)]
    rng.shuffle(chunks)
    return chunks


def optimiser(model: Any, head: tuple[str, ...], lr: float, head_lr: float, total: int, warm_share: float):
    """AdamW where parameters named with a ``head`` prefix (new, untrained layers) learn ``head_lr`` times faster,
    and a schedule that warms up over ``warm_share`` of ``total`` steps, then decays linearly to 0."""
    import torch

    own = [p for n, p in model.named_parameters() if n.startswith(head)]
    body = [p for n, p in model.named_parameters() if not n.startswith(head)]
    opt = torch.optim.AdamW([{"params": body, "lr": lr}, {"params": own, "lr": lr * head_lr}], weight_decay=0.01)
    warm = max(1, int(warm_share * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (total - s) / max(1, total - warm)))
    return opt, sched


def update(model: Any, opt: Any, sched: Any, loss: Any) -> None:
    """One optimiser step on ``loss`` (gradients clipped to norm 1)."""
    import torch

    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    opt.zero_grad()


def progress(step: int, total: int, loss: float, seen: int, t0: float, unit: str, per_step: int) -> str:
    """A progress line: step, smoothed loss, items a second and the time left."""
    rate = seen / max(1e-9, time.time() - t0)
    return (f"step {step}/{total} loss {loss:.4f} {rate:.1f} {unit}/s "
            f"eta {(total - step) * per_step / max(rate, 1e-9) / 60:.1f} min")


class Run:
    """A run's state on disk in ``out``: ``checkpoint.pt`` (model, optimiser, schedule, step; written to a temporary
    file and renamed, so a run killed while saving keeps the previous one) and ``curve.json`` (validation points)."""

    def __init__(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.checkpoint = out / "checkpoint.pt"
        self.curve_file = out / "curve.json"
        self.curve: list[dict] = json.loads(self.curve_file.read_text()) if self.curve_file.exists() else []

    def resume(self, model: Any, opt: Any, sched: Any) -> int:
        """Load the last checkpoint, if any, into the given objects; the step to go on from (0 for a new run)."""
        import torch

        if not self.checkpoint.exists():
            return 0
        state = torch.load(self.checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        return int(state["step"])

    def save(self, model: Any, opt: Any, sched: Any, step: int) -> None:
        import torch

        tmp = self.checkpoint.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "step": step}, tmp)
        tmp.replace(self.checkpoint)

    def record(self, point: dict) -> None:
        """Add a validation point to the curve (written at once)."""
        self.curve.append(point)
        self.curve_file.write_text(json.dumps(self.curve, indent=1))
        print(point, flush=True)
