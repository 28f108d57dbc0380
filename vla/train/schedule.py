"""The learning-rate schedule: linear warmup, then a cosine to zero over the run's steps or its time budget.

A run given `--minutes` stops when the time is spent, usually long before the preset's step count: a
schedule over steps alone would stop barely decayed (a 50-minute CPU run of the `cpu` preset ended at
lr 3.0e-4 of 3.0e-4). The cosine follows whichever of the two, steps or minutes, is further along.
"""

from __future__ import annotations

import math


class CosineSchedule:
    """An LR multiplier for `torch.optim.lr_scheduler.LambdaLR`; set `time_fraction` (time spent / budget)
    before each `scheduler.step()` when the run has a time budget."""

    def __init__(self, warmup_steps: int, total_steps: int):
        self.warmup_steps, self.total_steps = warmup_steps, total_steps
        self.time_fraction = 0.0

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return step / max(1, self.warmup_steps)
        by_steps = (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps)
        progress = min(1.0, max(by_steps, self.time_fraction))
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))
