"""`make demo`: the project's main job on its embedded default.

1. collect scripted demonstrations for every suite into LeRobot v3 datasets (summaries, a plot, one
   rendered episode per suite);
2. collect a larger tabletop dataset, train the default `cpu` preset of the VLA on it for a fixed
   number of minutes, evaluate it closed loop on every tabletop task, and report the loss curves, the
   success plot with 95% intervals and rollout videos. About 25 minutes on 2 cores by default.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from vla.errors import UserError

MARKER = ".vla-demo"


def _prepare(out: Path) -> None:
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).exists():
            raise UserError(f"{out} exists and was not made by `vla demo`: choose another --out (nothing was deleted)")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("made by vla demo; safe to delete\n")


def run_demo(out: str | Path, episodes: int = 3, suites: tuple[str, ...] | None = None, *,
             policy_episodes: int = 20, train_minutes: float = 12.0, eval_episodes: int = 10,
             preset: str = "cpu", policy_suite: str = "tabletop") -> dict:
    from vla.collection import collect
    from vla_data.info import summarize
    from vla_data.render import render_episode
    from vla_sim import registry

    out = Path(out)
    _prepare(out)
    summary: dict = {"suites": {}}
    for suite in suites or tuple(registry.suites()):
        t0 = time.time()
        res = collect(suite, None, episodes, out / suite, seed=0)
        info = summarize(out / suite)
        video = out / f"{suite}_episode0.mp4"
        render_episode(out / suite, 0, video)
        summary["suites"][suite] = {
            "dataset": str(out / suite), "episodes": res.episodes, "frames": res.frames,
            "expert_attempts": res.attempts, "expert_successes": res.successes,
            "minutes": round((time.time() - t0) / 60, 2), "video": video.name,
            "tasks": info.get("tasks"),
        }
    if policy_episodes > 0:
        summary["policy"] = _policy_stage(out, policy_suite, policy_episodes, train_minutes, eval_episodes, preset)
    _plot(summary, out / "expert_success.png")
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    (out / "report.md").write_text(_report(summary))
    print(f"demo report: {out / 'report.md'}")
    return summary


def _policy_stage(out: Path, suite: str, episodes: int, minutes: float, eval_episodes: int, preset: str) -> dict:
    """Collect -> train -> evaluate the VLA on one suite."""
    from vla.checkpoint import load_policy
    from vla.collection import collect
    from vla.eval.runner import evaluate
    from vla.model.configuration import get_preset
    from vla.train.loop import train

    t0 = time.time()
    collect(suite, None, episodes, out / "policy" / "data", seed=0)
    t1 = time.time()
    run = out / "policy" / "run"
    # a cosine schedule that ends with the budget (about 70-100 steps a minute for the cpu preset on 2 cores);
    # the preset's grounding pre-training is sized for an hour: a short demo gives it a fifth of its steps
    steps = max(10, int(minutes * 100))
    pretrain = min(get_preset(preset).grounding_pretrain_steps, steps // 5)
    trained = train(preset, out / "policy" / "data", run, minutes=minutes, steps=steps,
                    overrides={"grounding_pretrain_steps": pretrain})
    t2 = time.time()
    result = evaluate(lambda envs: load_policy(run), suite, None, eval_episodes, out / "policy" / "eval",
                      num_envs=8, videos=1, policy_name=f"vla-{preset}")
    return {"suite": suite, "preset": preset, "train_episodes_per_task": episodes, "train_steps": trained["step"],
            "train_minutes": round(trained["train_seconds"] / 60, 2), "collect_minutes": round((t1 - t0) / 60, 2),
            "eval_minutes": round((time.time() - t2) / 60, 2), "eval_episodes_per_task": eval_episodes,
            "success_rate": result["success_rate"],
            "tasks": {t: r["success_rate"] for t, r in result["tasks"].items()}}


def _plot(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, rates = [], []
    for suite, s in summary["suites"].items():
        for task, n in s["expert_attempts"].items():
            labels.append(f"{suite}/{task}")
            rates.append(100.0 * s["expert_successes"][task] / max(n, 1))
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(labels) + 1.2))
    ax.barh(labels, rates, color="#3b7dd8")
    ax.set_xlim(0, 100)
    ax.set_xlabel("scripted expert success during collection (%)")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _report(summary: dict) -> str:
    lines = ["# vla demo report", "", "![expert success](expert_success.png)", ""]
    for suite, s in summary["suites"].items():
        lines += [f"## {suite}", "", f"- dataset: `{s['dataset']}` ({s['episodes']} episodes, {s['frames']} frames, "
                  f"{s['minutes']} min)", f"- rendered episode 0: [{s['video']}]({s['video']})", "",
                  "| task | expert successes / attempts |", "|---|---|"]
        lines += [f"| {t} | {s['expert_successes'][t]} / {n} |" for t, n in s["expert_attempts"].items()]
        lines.append("")
    pol = summary.get("policy")
    if pol:
        lines += [f"## VLA policy ({pol['suite']})", "",
                  f"Preset `{pol['preset']}`, {pol['train_episodes_per_task']} demonstrations per task, "
                  f"{pol['train_steps']} steps in {pol['train_minutes']} min of training; evaluated on "
                  f"{pol['eval_episodes_per_task']} unseen seeds per task: mean success "
                  f"{100 * pol['success_rate']:.0f}%. A short demo budget: see docs/RESULTS.md for the full runs.", "",
                  "![loss](policy/run/loss.png)", "", "![success](policy/eval/success.png)", "",
                  "Rollout videos: `policy/eval/videos/`.", "", "| task | success |", "|---|---|"]
        lines += [f"| {t} | {100 * r:.0f}% |" for t, r in pol["tasks"].items()]
        lines.append("")
    return "\n".join(lines)
