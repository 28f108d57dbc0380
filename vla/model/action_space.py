"""What the action head predicts, and how that becomes what the robot executes (kept out of the model).

Datasets record end-effector *deltas* against the measured pose (`ee.dx .. ee.drz`, then the tool).
Two action spaces:

- `delta` (default): the head predicts those deltas; the robot runs them as they are.
- `pose`: each recorded step becomes the pose target the controller actually aimed at
  (measured pose + clipped delta: world position and 6D rotation, `ee.x .. ee.rot6d.5`, then the tool).
  The head predicts a chunk of these targets with positions relative to the end-effector position at
  the chunk's first frame (as UMI), and the policy adds that position back. The env's
  `action_mode="pose"` then measures each target against the current pose at every step.

Why: the arm covers only part of each commanded step in one 50 ms control period. A closed-loop
expert compensates every step, but an open-loop chunk of deltas replays a lag it cannot see, and its
errors add up over the chunk; a chunk of pose targets keeps pulling the arm to the same places.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from vla.errors import UserError

# the robot-side conventions (vla_sim's env action modes and names; a test keeps them equal), spelled out here
# so that loading a policy never imports the simulator
ACTION_SPACES = ("delta", "pose")
DELTA_NAMES = ("ee.dx", "ee.dy", "ee.dz", "ee.drx", "ee.dry", "ee.drz")
POSE_NAMES = ("ee.x", "ee.y", "ee.z") + tuple(f"ee.rot6d.{i}" for i in range(6))
POS_STATE_NAMES = ("ee.x", "ee.y", "ee.z")
QUAT_STATE_NAMES = ("ee.qw", "ee.qx", "ee.qy", "ee.qz")


def _indices(names: Sequence[str], wanted: Sequence[str], what: str) -> list[int]:
    missing = [w for w in wanted if w not in names]
    if missing:
        raise UserError(f"action_space 'pose' needs {what} {', '.join(wanted)}; the dataset lacks {missing[0]!r} "
                        f"(train with --set action_space=delta)")
    return [list(names).index(w) for w in wanted]


def delta_to_pose(state: np.ndarray, action: np.ndarray, state_names: Sequence[str],
                  action_names: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Recorded deltas [N, 6 + tool] -> the pose targets they commanded [N, 9 + tool] and their names
    (the conversion itself is the controller's: `vla_sim.controller.delta_to_pose`)."""
    from vla_sim import controller

    if list(action_names[:6]) != list(DELTA_NAMES):
        raise UserError(f"action_space 'pose' needs the actions to start with {', '.join(DELTA_NAMES)} "
                        f"(got {', '.join(action_names[:6])}); train with --set action_space=delta")
    pos = state[:, _indices(state_names, POS_STATE_NAMES, "state")]
    wxyz = state[:, _indices(state_names, QUAT_STATE_NAMES, "state")]
    target_pos, rot6d = controller.delta_to_pose(pos, wxyz, action[:, :6])
    pose = np.concatenate([target_pos, rot6d, action[:, 6:]], axis=1).astype(np.float32)
    return pose, list(POSE_NAMES) + list(action_names[6:])


@dataclass(frozen=True)
class ActionCodec:
    """Chunk transform between executed actions and the head's targets; `to_model` for training,
    `from_model` at inference. Identity for the `delta` space."""

    space: str
    pos_state_index: tuple[int, ...] = ()

    @classmethod
    def for_config(cls, space: str, state_names: Sequence[str]) -> "ActionCodec":
        if space not in ACTION_SPACES:
            raise UserError(f"unknown action_space {space!r}: valid are {', '.join(ACTION_SPACES)}")
        if space == "delta":
            return cls(space)
        return cls(space, tuple(_indices(state_names, POS_STATE_NAMES, "state")))

    def to_model(self, chunk: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """chunk [..., H, A] of executed actions, state [..., S] at the chunk's first frame."""
        if self.space == "delta":
            return chunk
        out = chunk.clone()
        out[..., :3] -= state[..., None, list(self.pos_state_index)]
        return out

    def from_model(self, chunk: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        if self.space == "delta":
            return chunk
        out = chunk.clone()
        out[..., :3] += state[..., None, list(self.pos_state_index)]
        return out


def chunk_action_stats(action: torch.Tensor, state: torch.Tensor, ep_end: torch.Tensor, chunk: int,
                       codec: ActionCodec) -> dict[str, torch.Tensor]:
    """min / max per dimension of the head's targets over every chunk of the dataset (what the
    min-max normalization needs when targets are chunk-relative). ep_end [N]: exclusive end of each
    frame's episode; chunks repeat an episode's last action, as training does."""
    n = action.shape[0]
    lo = torch.full((action.shape[1],), float("inf"))
    hi = torch.full((action.shape[1],), float("-inf"))
    offsets = torch.arange(chunk)
    for start in range(0, n, 4096):
        idx = torch.arange(start, min(n, start + 4096))
        pos = torch.minimum(idx[:, None] + offsets, ep_end[idx][:, None] - 1)
        target = codec.to_model(action[pos], state[idx])
        lo = torch.minimum(lo, target.amin((0, 1)))
        hi = torch.maximum(hi, target.amax((0, 1)))
    return {"min": lo, "max": hi}
