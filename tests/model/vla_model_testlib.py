"""Synthetic configs and window batches for model tests (no simulator, no dataset)."""

from __future__ import annotations

import torch

from vla.model.action_space import POSE_NAMES
from vla.model.configuration import VLAConfig, get_preset

TASKS = ["pick the red block", "open the drawer"]
STATE_NAMES = ("ee.x", "ee.y", "ee.z", "ee.qw", "ee.qx", "ee.qy", "ee.qz", "gripper.finger_left", "gripper.finger_right")


# the recorded end-effector delta layout (7 dims), for tests about the heads rather than the action space
DELTA_SPACE = dict(action_space="delta", action_dim=7, action_names=("ee.dx", "ee.dy", "ee.dz", "ee.drx", "ee.dry",
                   "ee.drz", "gripper"), action_layout={"arm": [0, 6], "gripper": [6, 7]})


def make_config(preset: str = "tiny", **overrides) -> VLAConfig:
    base = dict(cameras=("scene", "wrist"), state_dim=9, state_names=STATE_NAMES, action_space="pose", action_dim=10,
                action_names=POSE_NAMES + ("gripper",), action_layout={"arm": [0, 9], "gripper": [9, 10]}, n_targets=2)
    base.update(overrides)
    return get_preset(preset, **base)


def make_batch(cfg: VLAConfig, b: int, seed: int = 0, start_pad: int = 0) -> dict:
    """A normalized window batch; the first `start_pad` slots are before the episode start."""
    g = torch.Generator().manual_seed(seed)
    t, nc, p, k, s = cfg.history_len, len(cfg.cameras), max(cfg.n_targets, 1), cfg.trace_len, cfg.image_size
    pad = (torch.arange(t) < start_pad)[None].expand(b, t).clone()
    return {
        "images": torch.randint(0, 256, (b, t, nc, 3, s, s), generator=g, dtype=torch.uint8),
        "state": torch.randn(b, t, cfg.state_dim, generator=g),
        "action": torch.rand(b, t, cfg.chunk, cfg.action_dim, generator=g) * 2 - 1,
        "action_pad": torch.zeros(b, t, cfg.chunk, dtype=torch.bool),
        "history_pad": pad,
        "frame_index": torch.arange(t)[None].expand(b, t) * cfg.history_stride,
        "task": [TASKS[i % 2] for i in range(b)],
        "points": torch.rand(b, t, nc, p, 2, generator=g), "points_valid": torch.ones(b, t, nc, p, dtype=torch.bool),
        "boxes": torch.rand(b, t, nc, p, 4, generator=g), "boxes_valid": torch.ones(b, t, nc, p, dtype=torch.bool),
        "trace": torch.rand(b, t, nc, k, 2, generator=g), "trace_valid": torch.ones(b, t, nc, k, dtype=torch.bool),
    }
