"""Evaluation outputs: the per-task result record, eval.json and the success bar plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from vla.eval.stats import wilson_interval


def task_record(successes: list[bool], steps: list[int], seeds: list[int],
                milestones: list[dict[str, bool]] | None = None,
                end_states: list[dict[str, bool]] | None = None) -> dict[str, Any]:
    """Success rate, counts, Wilson 95% interval and mean episode length of one task, plus each episode's
    outcome and length (seed order), so a run can be compared with another seed by seed. With `milestones`
    (per episode, whether it ever reached each of the task's stages), `milestone_rates` says how far the
    episodes got: where a policy that fails loses the task. With `end_states` (per episode, the task's
    `end_state` when it ended), `end_rates_failed` says among the failed episodes how many ended in each state (a
    failure over the goal still holding the block never let go)."""
    n, k = len(successes), int(sum(successes))
    lo, hi = wilson_interval(k, n)
    rec = {"success_rate": k / n if n else 0.0, "episodes": n, "successes": k, "ci95": [lo, hi],
           "mean_steps": float(np.mean(steps)) if steps else 0.0, "seeds": seeds,
           "success": [bool(x) for x in successes], "steps": [int(x) for x in steps]}
    if milestones and milestones[0]:
        rec["milestone_rates"] = {name: sum(bool(ep[name]) for ep in milestones) / n for name in milestones[0]}
        rec["milestones"] = [[name for name, hit in ep.items() if hit] for ep in milestones]
    if end_states and end_states[0]:
        failed = [end for end, ok in zip(end_states, successes) if not ok]
        rec["end_rates_failed"] = {name: (sum(bool(ep[name]) for ep in failed) / len(failed) if failed else 0.0)
                                   for name in end_states[0]}
        rec["end_states"] = [[name for name, hit in ep.items() if hit] for ep in end_states]
    return rec


def write_json(summary: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(summary, indent=2) + "\n")


def plot_success(summary: dict[str, Any], path: Path) -> None:
    """Horizontal bars of per-task success (%) with the 95% interval as error bars; where the tasks have
    milestones, thin pale bars above each success bar show how many episodes reached each stage (named at the
    right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = summary["tasks"]
    names = list(tasks)
    rates = np.array([100 * tasks[t]["success_rate"] for t in names])
    lo = np.array([100 * tasks[t]["ci95"][0] for t in names])
    hi = np.array([100 * tasks[t]["ci95"][1] for t in names])
    staged = any(tasks[t].get("milestone_rates") for t in names)
    fig, ax = plt.subplots(figsize=(12 if staged else 8, 0.45 * len(names) + 1.4))
    err = [np.clip(rates - lo, 0, None), np.clip(hi - rates, 0, None)]
    for i, t in enumerate(names):
        stages = tasks[t].get("milestone_rates", {})
        for j, (name, rate) in enumerate(stages.items()):  # thin bars above the success bar, in stage order
            ax.barh(i - 0.36 + 0.13 * j, 100 * rate, height=0.12, color=("#c9d7ee", "#a6bde3", "#7f9fd3")[j % 3])
        if stages:
            ax.text(101, i, "  ".join(f"{name} {100 * rate:.0f}%" for name, rate in stages.items()),
                    va="center", fontsize=7, clip_on=False)
    ax.barh(np.arange(len(names)) + (0.2 if staged else 0), rates, height=0.38 if staged else 0.8, xerr=err,
            color="#3b7dd8", ecolor="#222222", capsize=3)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlim(0, 100)
    ax.invert_yaxis()
    n = tasks[names[0]]["episodes"] if names else 0
    ax.set_xlabel(f"success (%), {n} episodes per task, 95% Wilson interval"
                  + ("; thin pale bars: milestones reached, in order" if staged else ""))
    ax.set_title(f"{summary['suite']}: {summary['policy']}  (mean {100 * summary['success_rate']:.1f}%)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
