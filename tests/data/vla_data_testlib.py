"""Shared helpers of the vla_data tests: a tiny synthetic dataset's features and frames."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

if importlib.util.find_spec("vla_data") is None:  # not installed: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "datasets"))

from vla_data import LeRobotDatasetWriter  # noqa: E402

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "lerobot_v3_reference"
FPS = 10
TASKS = ["pick up the red cube", "open the top drawer"]
LENGTHS = [6, 9, 7]

FEATURES = {
    "observation.images.scene": {"dtype": "video", "shape": [32, 48, 3], "names": ["height", "width", "channels"]},
    "observation.images.wrist": {"dtype": "video", "shape": [24, 32, 3], "names": ["height", "width", "channels"]},
    "observation.state": {"dtype": "float32", "shape": [4], "names": ["j0", "j1", "j2", "gripper"]},
    "action": {"dtype": "float32", "shape": [3], "names": None},
    "grounding.scene.target_points": {"dtype": "float32", "shape": [2, 2], "names": ["point", "uv"]},
    "grounding.scene.target_boxes": {"dtype": "float32", "shape": [1, 4], "names": ["box", "uvuv"]},
    "grounding.scene.ee_point": {"dtype": "float32", "shape": [2], "names": ["u", "v"]},
    "next.success": {"dtype": "bool", "shape": [1], "names": None},
    "step.count": {"dtype": "int64", "shape": [1], "names": None},
}


def make_frame(e: int, t: int, n: int) -> dict[str, np.ndarray]:
    """Deterministic frame t of episode e (n frames): images are flat colours so video stays close."""
    scene = np.zeros((32, 48, 3), np.uint8)
    scene[..., e % 3] = 30 + 12 * t
    scene[8:16, 8:16] = 200  # a bright square: a spatial structure the codec must keep
    state = np.array([e, t / 10, -t / 7, 0.5 * e + 0.125], np.float32)
    return {
        "observation.images.scene": scene,
        "observation.images.wrist": np.full((24, 32, 3), 50 + 20 * e + 3 * t, np.uint8),
        "observation.state": state,
        "action": (state[:3] * 2 + 0.1).astype(np.float32),
        "grounding.scene.target_points": np.array([[4 + t, 10], [-1, -1]], np.float32),
        "grounding.scene.target_boxes": np.array([[8, 8, 15, 15]], np.float32),
        "grounding.scene.ee_point": np.array([20, 5 + t], np.float32),
        "next.success": np.array([t == n - 1 and e != 1]),
        "step.count": np.array([100 * e + t], np.int64),
    }


def task_of(e: int) -> str:
    """Task of synthetic episode e."""
    return TASKS[e % 2]


def write_episodes(writer: LeRobotDatasetWriter, episodes: list[int], lengths: list[int] = LENGTHS) -> None:
    """Add and save the synthetic episodes with these indices."""
    for e in episodes:
        n = lengths[e % len(lengths)]
        for t in range(n):
            writer.add_frame(make_frame(e, t, n), task=task_of(e))
        assert writer.save_episode() == e
