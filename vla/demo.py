"""`make demo`: the project's main job on its embedded default.

Today: collect scripted demonstrations for every suite into LeRobot v3 datasets, then write a report
(dataset summaries, a plot, one rendered episode per suite) under the output folder.
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


def run_demo(out: str | Path, episodes: int = 3, suites: tuple[str, ...] | None = None) -> dict:
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
    _plot(summary, out / "expert_success.png")
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    (out / "report.md").write_text(_report(summary))
    print(f"demo report: {out / 'report.md'}")
    return summary


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
    return "\n".join(lines)
