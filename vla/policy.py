"""The client-facing policy interface: what sim evaluation, the ROS node, teleop and RL all call.

A policy takes a *batch* of observations (one row per environment or robot) and returns an action
chunk per row, in raw robot units. Normalization, image resizing and history caching live inside
the policy; callers never normalize. Observation keys follow LeRobot's names:

- ``observation.images.<camera>``: uint8 array [B, H, W, 3]
- ``observation.state``: float32 [B, S]
- ``task``: list of B instruction strings
- ``frame_index``: int64 [B], control steps since the row's episode began. History-aware policies
  use it to pick which cached past moments to attend to, so it must restart at 0 after `reset`.
- ``rows`` (optional): int64 [B], which persistent rows (environments, robots) the batch rows are, so
  a caller may ask for chunks for only some of them; default ``0..B-1``. `reset(rows)` uses the same ids.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np


@dataclass
class ActionChunk:
    """`actions[b, h]` is the action for row b, `h` control steps after the observation was taken."""

    actions: np.ndarray  # float32 [B, H, A], raw robot units
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # e.g. predicted grounding, per row

    @property
    def horizon(self) -> int:
        return int(self.actions.shape[1])


class Policy(abc.ABC):
    """reset() between episodes, act() whenever a new chunk is needed."""

    #: how many actions of each chunk the executor should run before asking again (None: all of them)
    n_action_steps: int | None = None
    #: what the actions are: "delta" (end-effector deltas against the measured pose) or "pose" (pose
    #: targets: world position, 6D rotation); the robot or env must be driven in the same mode
    action_space: str = "delta"
    #: how a caller's chunk executor should run the chunks unless told otherwise: "queue" or "ensemble", and for
    #: the ensemble how many of the newest chunks to average (None: every chunk that covers the step)
    executor: str = "queue"
    ensemble_horizon: int | None = None
    #: action groups (keys of `action_layout`) the ensemble takes from the newest chunk instead of averaging
    ensemble_newest: tuple[str, ...] = ()
    #: which slice of the action vector each part of the robot reads: {group: [start, end)}
    action_layout: dict[str, list[int]] = {}

    @abc.abstractmethod
    def reset(self, rows: Sequence[int] | None = None) -> None:
        """Forget the history of the given batch rows (all rows when None): their episodes restart."""

    @abc.abstractmethod
    def act(self, observation: dict[str, Any]) -> ActionChunk:
        """One action chunk per row of a batched observation."""
