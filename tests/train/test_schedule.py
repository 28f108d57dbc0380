"""The learning-rate schedule: transformers' cosine-with-warmup over steps, and over a time budget."""

from __future__ import annotations

import csv

import pytest
import torch

from vla.train.schedule import CosineSchedule


def _lrs(factor, steps: int) -> list[float]:
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    out = []
    for _ in range(steps):
        out.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    return out


def test_without_a_time_budget_it_is_the_usual_cosine_with_warmup():
    from transformers import get_cosine_schedule_with_warmup

    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    reference = get_cosine_schedule_with_warmup(opt, 10, 100).lr_lambdas[0]
    assert _lrs(CosineSchedule(10, 100), 101) == pytest.approx(_lrs(reference, 101))
    assert _lrs(CosineSchedule(10, 100), 120)[100:] == [0.0] * 20  # past the end it stays at zero (theirs rises)


def test_the_time_budget_drives_the_cosine_when_it_runs_out_first():
    schedule = CosineSchedule(warmup_steps=10, total_steps=20_000)
    schedule.time_fraction = 0.5
    assert schedule(100) == pytest.approx(0.5)  # half the minutes spent: half way down, at step 100 of 20,000
    schedule.time_fraction = 1.0
    assert schedule(200) == 0.0
    assert schedule(5) == pytest.approx(0.5)  # warmup is by steps, whatever the clock says


@pytest.mark.slow
def test_a_run_with_minutes_ends_with_its_learning_rate_decayed(tmp_path):
    """`vla train --steps 100000 --minutes M`: the run stops on time with the LR near zero (it used to stop at
    nearly the full LR: the cosine spanned the 100,000 steps it never reached)."""
    from vla.collection import collect
    from vla.train.loop import train

    collect("toy", None, 4, tmp_path / "data", image_size=64, progress=False)
    result = train("tiny", tmp_path / "data", tmp_path / "run", steps=100_000, minutes=0.3, log_every=1,
                   progress=False, overrides={"image_size": 32, "warmup_steps": 1})
    lr = [float(r["lr"]) for r in csv.DictReader((tmp_path / "run" / "metrics.csv").open())]
    peak = result["config"]["lr"]
    assert 2 <= result["step"] < result["config"]["steps"]  # stopped by the clock, however slow the machine
    assert lr[-1] < 0.05 * peak  # decayed to (nearly) zero by the end of the budget; it used to stay at peak
    assert all(b <= a for a, b in zip(lr, lr[1:]))  # and on its way down from the first step on
