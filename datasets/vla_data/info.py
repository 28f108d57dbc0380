"""A summary of a dataset: sizes, tasks, features, cameras, stats, success rate."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from vla_data.durable import TMP_DIR
from vla_data.layout import STATS_PATH, is_video, load_json
from vla_data.reader import DatasetReader

SUCCESS_KEY = "next.success"


def _disk_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and TMP_DIR not in p.parts)


def _stats_summary(root: Path) -> dict[str, dict[str, list]]:
    if not (root / STATS_PATH).exists():
        return {}
    out = {}
    for key, st in load_json(root / STATS_PATH).items():
        out[key] = {s: np.asarray(st[s], dtype=float).reshape(-1).round(6).tolist()
                    for s in ("min", "max", "mean", "std") if s in st}
    return out


def summarize(root: str | Path) -> dict[str, Any]:
    """Everything `vla dataset info` shows, as a JSON-able dict."""
    root = Path(root)
    with DatasetReader(root) as r:
        lengths = [r.episode_meta(k)["length"] for k in range(r.num_episodes)]
        per_task: Counter[str] = Counter(t for k in range(r.num_episodes) for t in r.episode_meta(k)["tasks"])
        summary: dict[str, Any] = {
            "root": str(root),
            "codebase_version": r.info["codebase_version"],
            "robot_type": r.info.get("robot_type"),
            "episodes": r.num_episodes,
            "frames": r.num_frames,
            "fps": r.fps,
            "duration_s": round(r.num_frames / r.fps, 3),
            "episode_length": {"min": min(lengths, default=0), "max": max(lengths, default=0),
                               "mean": round(float(np.mean(lengths)), 2) if lengths else 0.0},
            "tasks": [{"task": t, "task_index": i, "episodes": per_task.get(t, 0)} for i, t in enumerate(r.tasks)],
            "features": {k: {"dtype": ft["dtype"], "shape": list(ft["shape"])} for k, ft in r.features.items()},
            "cameras": {
                k: {"height": ft["shape"][0], "width": ft["shape"][1],
                    "codec": ft.get("info", {}).get("video.codec"), "pix_fmt": ft.get("info", {}).get("video.pix_fmt")}
                for k, ft in r.features.items() if is_video(ft)
            },
            "stats": _stats_summary(root),
            "disk_bytes": _disk_bytes(root),
        }
        if SUCCESS_KEY in r.features and r.num_episodes:
            ok = [bool(np.any(r.episode(k, video=False)[SUCCESS_KEY])) for k in range(r.num_episodes)]
            summary["success"] = {"key": SUCCESS_KEY, "episodes_successful": int(sum(ok)),
                                  "success_rate": round(sum(ok) / len(ok), 4)}
    return summary


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _fmt_vals(v: list) -> str:
    shown = ", ".join(f"{x:.4g}" for x in v[:6])
    return f"[{shown}{', ...' if len(v) > 6 else ''}]"


def format_summary(s: dict[str, Any]) -> str:
    """A human-readable multi-line rendering of `summarize()`."""
    el = s["episode_length"]
    lines = [
        f"dataset   {s['root']}  (LeRobot {s['codebase_version']}, robot_type={s['robot_type']})",
        f"episodes  {s['episodes']}   frames {s['frames']}   fps {s['fps']}   duration {s['duration_s']:.1f} s",
        f"lengths   min {el['min']}  mean {el['mean']}  max {el['max']} frames",
        f"disk      {_fmt_bytes(s['disk_bytes'])}",
    ]
    if "success" in s:
        sc = s["success"]
        lines.append(f"success   {sc['episodes_successful']}/{s['episodes']} episodes ({100 * sc['success_rate']:.1f}%)"
                     f" from {sc['key']}")
    lines.append("tasks")
    lines += [f"  [{t['task_index']}] {t['task']!r}: {t['episodes']} episodes" for t in s["tasks"]]
    if s["cameras"]:
        lines.append("cameras")
        lines += [f"  {k}: {c['width']}x{c['height']} {c['codec']} {c['pix_fmt']}" for k, c in s["cameras"].items()]
    lines.append("features")
    for k, ft in s["features"].items():
        st = s["stats"].get(k)
        extra = f"  min {_fmt_vals(st['min'])} max {_fmt_vals(st['max'])} mean {_fmt_vals(st['mean'])}" if st else ""
        lines.append(f"  {k}: {ft['dtype']} {ft['shape']}{extra}")
    return "\n".join(lines)


def summary_json(root: str | Path) -> str:
    """The summary as indented JSON."""
    return json.dumps(summarize(root), indent=2)
