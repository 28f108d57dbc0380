"""Shared helpers of the training tests: a tiny synthetic dataset whose values encode (episode, frame).

Every value is a known function of the episode e and the frame t, so windows, chunks, traces and
padding can be checked exactly against hand-computed expectations.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vla_data import LeRobotDatasetWriter

FPS = 10
IMAGE_SIZE = 16  # what the `store` fixture loads at
LENGTHS = [5, 7, 4]  # frames of episodes 0, 1, 2
STARTS = [0, 5, 12]  # their global index of the first frame
TASKS = ["reach the red pad", "reach the blue pad", "reach the red pad"]
SCENE_HW, WRIST_HW = (32, 48), (24, 32)  # (height, width) on disk; grounding pixels are normalized by these

FEATURES = {
    "observation.images.scene": {"dtype": "video", "shape": [*SCENE_HW, 3], "names": ["height", "width", "channels"]},
    "observation.images.wrist": {"dtype": "video", "shape": [*WRIST_HW, 3], "names": ["height", "width", "channels"]},
    "observation.state": {"dtype": "float32", "shape": [3], "names": ["ep", "t", "code"]},
    "action": {"dtype": "float32", "shape": [2], "names": ["code", "neg_t"]},
    # grounding only for the scene camera: the wrist camera's labels must come back all missing
    "grounding.scene.target_points": {"dtype": "float32", "shape": [2, 2], "names": ["u", "v"]},
    "grounding.scene.target_boxes": {"dtype": "float32", "shape": [2, 4],
                                     "names": ["u_min", "v_min", "u_max", "v_max"]},
    "grounding.scene.ee_point": {"dtype": "float32", "shape": [2], "names": ["u", "v"]},
}


def state(e: int, t: int) -> list[float]:
    return [e, t, 100 * e + t]


def action(e: int, t: int) -> list[float]:
    return [1000 * e + t, -t]


def points_px(e: int, t: int) -> list[list[float]]:
    """Target 0 moves with t; target 1 is out of view (-1) on odd frames."""
    return [[t + 1, 2 * t + 1], [-1, -1] if t % 2 else [12, 16]]


def boxes_px(e: int, t: int) -> list[list[float]]:
    """Box 0 is the whole image; box 1 is missing."""
    return [[0, 0, SCENE_HW[1], SCENE_HW[0]], [-1, -1, -1, -1]]


def ee_px(e: int, t: int) -> list[float]:
    """The end effector is out of view at frame 2 of every episode."""
    return [-1, -1] if t == 2 else [2 * t + 1, e + 1]


def scene_level(e: int, t: int) -> int:
    return 10 + 20 * t


def wrist_level(e: int, t: int) -> int:
    return 60 + 60 * e


def make_frame(e: int, t: int) -> dict[str, np.ndarray]:
    scene = np.zeros((*SCENE_HW, 3), np.uint8)
    scene[..., e % 3] = scene_level(e, t)  # flat colours: the codec keeps them within a few levels
    return {
        "observation.images.scene": scene,
        "observation.images.wrist": np.full((*WRIST_HW, 3), wrist_level(e, t), np.uint8),
        "observation.state": np.array(state(e, t), np.float32),
        "action": np.array(action(e, t), np.float32),
        "grounding.scene.target_points": np.array(points_px(e, t), np.float32),
        "grounding.scene.target_boxes": np.array(boxes_px(e, t), np.float32),
        "grounding.scene.ee_point": np.array(ee_px(e, t), np.float32),
    }


def write_dataset(root: Path, lengths: list[int] = LENGTHS, features: dict = FEATURES) -> Path:
    """The synthetic dataset (or a variant with other features: keys missing from them are dropped)."""
    with LeRobotDatasetWriter(root, fps=FPS, features=features, robot_type="test_arm") as w:
        for e, n in enumerate(lengths):
            for t in range(n):
                w.add_frame({k: v for k, v in make_frame(e, t).items() if k in features}, task=TASKS[e % len(TASKS)])
            w.save_episode()
    return root


def where(g: int) -> tuple[int, int]:
    """(episode, frame) of a global frame index of the synthetic dataset."""
    e = max(i for i, s in enumerate(STARTS) if s <= g)
    return e, g - STARTS[e]


def expected_window(g: int, T: int, s: int, H: int, K: int, ks: int) -> dict[str, torch.Tensor]:
    """The window of current frame g, computed position by position from the formulas above."""
    e, t = where(g)
    n = LENGTHS[e]
    w, h = SCENE_HW[1], SCENE_HW[0]

    def norm_pt(p):
        return [-1.0, -1.0] if min(p) < 0 else [p[0] / w, p[1] / h]

    out: dict[str, list] = {k: [] for k in ("state", "action", "action_pad", "history_pad", "frame_index",
                                            "points", "points_valid", "boxes", "boxes_valid", "trace",
                                            "trace_valid")}
    for j in range(T):
        nominal = t - (T - 1 - j) * s
        p = max(nominal, 0)
        out["history_pad"].append(nominal < 0)
        out["frame_index"].append(nominal)
        out["state"].append(state(e, p))
        out["action"].append([action(e, min(p + i, n - 1)) for i in range(H)])
        out["action_pad"].append([p + i > n - 1 for i in range(H)])
        pts = [norm_pt(q) for q in points_px(e, p)]
        out["points"].append([pts, [[-1.0, -1.0]] * 2])  # scene, wrist (no labels)
        out["points_valid"].append([[min(q) >= 0 for q in pts], [False, False]])
        bxs = [[-1.0] * 4 if min(b) < 0 else [b[0] / w, b[1] / h, b[2] / w, b[3] / h] for b in boxes_px(e, p)]
        out["boxes"].append([bxs, [[-1.0] * 4] * 2])
        out["boxes_valid"].append([[min(b) >= 0 for b in bxs], [False, False]])
        tr = [norm_pt(ee_px(e, min(p + k * ks, n - 1))) for k in range(1, K + 1)]
        out["trace"].append([tr, [[-1.0, -1.0]] * K])
        out["trace_valid"].append([[min(q) >= 0 for q in tr], [False] * K])
    dtypes = {"action_pad": torch.bool, "history_pad": torch.bool, "frame_index": torch.int64,
              "points_valid": torch.bool, "boxes_valid": torch.bool, "trace_valid": torch.bool}
    return {k: torch.tensor(v, dtype=dtypes.get(k, torch.float32)) for k, v in out.items()}
