"""The training scripts' shared loop (train/loop.py): a run killed after a checkpoint resumes where it was, with the
same weights, optimiser and schedule; the new head learns faster; batches group similar lengths."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
from loop import Run, by_length, optimiser, update  # noqa: E402


class Tiny(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = torch.nn.Linear(3, 3)
        self.head = torch.nn.Linear(3, 1)

    def forward(self, x):
        return self.head(torch.relu(self.body(x)))


def _steps(model, opt, sched, n: int, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    for _ in range(n):
        x = torch.randn(8, 3, generator=g)
        update(model, opt, sched, ((model(x) - x.sum(1, keepdim=True)) ** 2).mean())


def test_resume_continues_the_same_run(tmp_path: Path) -> None:
    torch.manual_seed(0)
    straight = Tiny()
    opt, sched = optimiser(straight, ("head",), 1e-2, 10.0, total=10, warm_share=0.2)
    _steps(straight, opt, sched, 4, seed=1)
    _steps(straight, opt, sched, 4, seed=2)

    torch.manual_seed(0)
    first = Tiny()
    opt, sched = optimiser(first, ("head",), 1e-2, 10.0, total=10, warm_share=0.2)
    _steps(first, opt, sched, 4, seed=1)
    Run(tmp_path).save(first, opt, sched, step=4)
    assert not (tmp_path / "checkpoint.tmp").exists()  # written aside, then renamed

    torch.manual_seed(123)  # another start: the checkpoint must overwrite it all
    again = Tiny()
    opt2, sched2 = optimiser(again, ("head",), 1e-2, 10.0, total=10, warm_share=0.2)
    assert Run(tmp_path).resume(again, opt2, sched2) == 4
    assert sched2.last_epoch == 4
    _steps(again, opt2, sched2, 4, seed=2)
    for a, b in zip(straight.parameters(), again.parameters(), strict=True):
        assert torch.allclose(a, b)


def test_new_run_starts_at_zero_and_records_its_curve(tmp_path: Path) -> None:
    model = Tiny()
    opt, sched = optimiser(model, ("head",), 1e-3, 10.0, total=5, warm_share=0.2)
    run = Run(tmp_path / "out")
    assert run.resume(model, opt, sched) == 0
    run.record({"step": 0, "top1": 0.5})
    run.record({"step": 5, "top1": 0.7})
    assert Run(tmp_path / "out").curve == [{"step": 0, "top1": 0.5}, {"step": 5, "top1": 0.7}]


def test_head_learns_faster_and_schedule_warms_then_decays() -> None:
    model = Tiny()
    opt, sched = optimiser(model, ("head",), 1e-3, 30.0, total=10, warm_share=0.2)
    body, head = opt.param_groups
    assert {id(p) for p in head["params"]} == {id(p) for p in model.head.parameters()}
    assert head["lr"] == pytest.approx(30 * body["lr"])
    rates = []
    for _ in range(10):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert rates[0] < rates[1]  # warming up over the first 2 steps, then a linear decay to 0 at step 10
    assert all(a > b for a, b in zip(rates[1:], rates[2:]))
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0)


def test_by_length_groups_similar_lengths_in_a_fixed_order() -> None:
    rng = random.Random(3)
    lengths = [rng.randint(1, 500) for _ in range(100)]
    plan = by_length(lengths, 10, random.Random(7))
    assert sorted(i for b in plan for i in b) == list(range(100))
    assert plan == by_length(lengths, 10, random.Random(7))
    spans = sorted((min(lengths[i] for i in b), max(lengths[i] for i in b)) for b in plan)
    assert all(hi <= lo2 for (_, hi), (lo2, _) in zip(spans, spans[1:]))  # batches do not overlap in length
