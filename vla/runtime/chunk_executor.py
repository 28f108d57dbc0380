"""Turns action chunks into one command per control step, for a batch of rows (envs or robots).

Two modes:

- ``queue``: run the first ``n_action_steps`` actions of a chunk open-loop, then ask for a new chunk.
- ``ensemble``: temporal ensembling as in ACT (Zhao et al. 2023): a new chunk every step; the command
  for step t is the weighted mean of every stored chunk's prediction for t, with weight
  ``exp(-decay * i)`` where i = 0 is the *oldest* chunk (the oldest prediction weighs most). With a horizon K
  only the K newest chunks that cover the step take part (with a chunk every step: those of the last K steps):
  older plans may hold motions (a retreat) that the world has not caught up with. ``newest_dims`` follow the
  newest covering chunk instead of the average: a parallel gripper's command is nearly binary, and the mean of
  "open" and "closed" is a grip that neither plan asked for (it holds the block a step longer than either).

Both sim evaluation and the ROS node use this class, so a policy behaves the same in both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np

ExecutorMode = Literal["queue", "ensemble"]
EXECUTOR_MODES: tuple[str, ...] = ("queue", "ensemble")


@dataclass(frozen=True)
class ExecutorSettings:
    """How to run a policy's chunks: the mode, for the ensemble the horizon (None: every covering chunk) and the
    action groups (names of the policy's `action_layout`) that follow the newest chunk instead of the average."""

    mode: str = "queue"
    horizon: int | None = None
    newest: tuple[str, ...] = ()

    def newest_dims(self, layout: dict[str, Sequence[int]]) -> list[int]:
        """The action indices of the `newest` groups in a policy's layout ({group: [start, end)})."""
        unknown = [g for g in self.newest if g not in layout]
        if unknown:
            raise ValueError(f"unknown action group {unknown[0]!r} for the ensemble's newest-chunk dimensions: "
                             f"this policy's groups are {', '.join(layout) or 'none'}")
        return [i for g in self.newest for i in range(*layout[g])]


def resolve_executor(policy: object, mode: str | None = None, horizon: int | None = None,
                     newest: Sequence[str] | None = None) -> ExecutorSettings:
    """The executor settings to run `policy` with. An explicit `mode` wins, with `horizon` and `newest` as given
    (an ensemble without a horizon averages every chunk, as it always did); without one, the policy's own
    recommendation (`Policy.executor`, `ensemble_horizon`, `ensemble_newest`, saved in a checkpoint's config),
    each unless given. Anything without a recommendation (the scripted experts) runs as a queue."""
    if mode is not None:
        return ExecutorSettings(mode, horizon, tuple(newest or ()))
    own = getattr(policy, "executor", "queue")
    if own != "ensemble":
        return ExecutorSettings(own, horizon, tuple(newest or ()))
    return ExecutorSettings(own, horizon if horizon is not None else getattr(policy, "ensemble_horizon", None),
                            tuple(newest if newest is not None else getattr(policy, "ensemble_newest", ())))


class ChunkExecutor:
    """Per-row action queues (queue mode) or chunk ensembles (ensemble mode).

    Each control step: push a chunk for the rows where `needs_chunk()` is true, then `pop()` one action
    per row. `reset(rows)` when a row's episode restarts.
    """

    def __init__(self, num_rows: int, n_action_steps: int | None = None, mode: ExecutorMode = "queue",
                 ensemble_decay: float = 0.01, ensemble_horizon: int | None = None,
                 newest_dims: Sequence[int] = ()) -> None:
        """n_action_steps: actions run per chunk in queue mode (None: the whole chunk); unused when ensembling.
        ensemble_horizon: in ensemble mode, average only this many of the newest chunks that cover a step (None: all).
        newest_dims: in ensemble mode, action dimensions taken from the newest chunk rather than averaged."""
        if num_rows < 1:
            raise ValueError(f"num_rows must be at least 1 (got {num_rows})")
        if n_action_steps is not None and n_action_steps < 1:
            raise ValueError(f"n_action_steps must be at least 1 or None (got {n_action_steps})")
        if mode not in EXECUTOR_MODES:
            raise ValueError(f"unknown executor mode {mode!r}: valid are {', '.join(EXECUTOR_MODES)}")
        if ensemble_decay < 0:
            raise ValueError(f"ensemble_decay must be >= 0 (got {ensemble_decay})")
        if ensemble_horizon is not None and ensemble_horizon < 1:
            raise ValueError(f"ensemble_horizon must be at least 1 or None (got {ensemble_horizon})")
        self.num_rows = num_rows
        self.n_action_steps = n_action_steps
        self.mode = mode
        self.ensemble_decay = float(ensemble_decay)
        self.ensemble_horizon = ensemble_horizon
        self.newest_dims = [int(i) for i in newest_dims]
        if any(i < 0 for i in self.newest_dims):
            raise ValueError(f"newest_dims must be action indices >= 0 (got {self.newest_dims})")
        self.action_dim: int | None = None
        # queue mode: the remaining actions of each row, first one next
        self._queue: list[np.ndarray] = [np.zeros((0, 0), np.float32) for _ in range(num_rows)]
        # ensemble mode: each row's chunks, oldest first, with how many steps ago each was pushed
        self._chunks: list[list[np.ndarray]] = [[] for _ in range(num_rows)]
        self._ages: list[list[int]] = [[] for _ in range(num_rows)]

    # ----------------------------------------------------------------- queries
    def needs_chunk(self) -> np.ndarray:
        """bool [num_rows]: rows that should get a new chunk before the next `pop()`."""
        if self.mode == "queue":
            return np.array([len(q) == 0 for q in self._queue], dtype=bool)
        return np.array([not ages or ages[-1] > 0 for ages in self._ages], dtype=bool)

    def queued(self) -> np.ndarray:
        """int [num_rows]: steps each row can still pop without a new chunk."""
        if self.mode == "queue":
            return np.array([len(q) for q in self._queue], dtype=np.int64)
        return np.array([max((len(c) - a for c, a in zip(cs, ages)), default=0)
                         for cs, ages in zip(self._chunks, self._ages)], dtype=np.int64)

    # ----------------------------------------------------------------- updates
    def push(self, rows: Sequence[int], chunk: np.ndarray) -> None:
        """Give `rows` new chunks: `chunk[i]` (float [H, A]) is for row `rows[i]`, starting at the next pop.

        Queue mode: replaces whatever the row had left. Ensemble mode: adds to the row's ensemble
        (a second push before the next pop replaces the first).
        """
        rows = self._check_rows(rows)
        chunk = np.asarray(chunk, dtype=np.float32)
        if chunk.ndim != 3 or chunk.shape[0] != len(rows) or chunk.shape[1] < 1:
            raise ValueError(f"chunk must have shape [len(rows)={len(rows)}, H>=1, A]: got {chunk.shape}")
        if not np.all(np.isfinite(chunk)):  # never queue a NaN/Inf action for an actuator
            raise ValueError("chunk contains NaN or Inf actions: rejected")
        if self.action_dim is None:
            self.action_dim = int(chunk.shape[2])
        elif chunk.shape[2] != self.action_dim:
            raise ValueError(f"chunk actions have {chunk.shape[2]} dimensions: expected {self.action_dim}")
        if self.newest_dims and max(self.newest_dims) >= self.action_dim:
            raise ValueError(f"newest_dims {self.newest_dims} out of range for {self.action_dim}-dim actions")
        for i, r in enumerate(rows):
            if self.mode == "queue":
                self._queue[r] = chunk[i, : self.n_action_steps].copy()
            else:
                if self._ages[r] and self._ages[r][-1] == 0:
                    self._chunks[r].pop()
                    self._ages[r].pop()
                self._chunks[r].append(chunk[i].copy())
                self._ages[r].append(0)

    def pop(self, rows: Sequence[int] | None = None) -> np.ndarray:
        """The action of this step for `rows` (all when None), float32 [len(rows), A]; advances them a step.

        Raises RuntimeError naming the rows that have no action for this step.
        """
        rows = list(range(self.num_rows)) if rows is None else self._check_rows(rows)
        queued = self.queued()
        empty = [r for r in rows if queued[r] == 0]
        if empty or self.action_dim is None:
            raise RuntimeError(f"rows {empty or rows} have no action queued: push a chunk for them before pop()")
        out = np.empty((len(rows), self.action_dim), np.float32)
        for i, r in enumerate(rows):
            out[i] = self._pop_queue(r) if self.mode == "queue" else self._pop_ensemble(r)
        return out

    def reset(self, rows: Sequence[int] | None = None) -> None:
        """Drop everything queued for `rows` (all when None): their next pop needs a new chunk."""
        for r in range(self.num_rows) if rows is None else self._check_rows(rows):
            self._queue[r] = np.zeros((0, 0), np.float32)
            self._chunks[r] = []
            self._ages[r] = []

    # ----------------------------------------------------------------- internals
    def _pop_queue(self, r: int) -> np.ndarray:
        action, self._queue[r] = self._queue[r][0], self._queue[r][1:]
        return action

    def _pop_ensemble(self, r: int) -> np.ndarray:
        live = [(c, a) for c, a in zip(self._chunks[r], self._ages[r]) if a < len(c)]  # oldest first
        used = live[-self.ensemble_horizon:] if self.ensemble_horizon else live
        preds = np.stack([c[a] for c, a in used]).astype(np.float64)
        weights = np.exp(-self.ensemble_decay * np.arange(len(preds)))
        action = (weights[:, None] * preds).sum(axis=0) / weights.sum()
        action[self.newest_dims] = preds[-1, self.newest_dims]
        # advance: every chunk is a step older; forget chunks with nothing left for the next step (and those past
        # the horizon: a newer chunk covers every step they would)
        kept = [(c, a + 1) for c, a in used if a + 1 < len(c)]
        self._chunks[r] = [c for c, _ in kept]
        self._ages[r] = [a for _, a in kept]
        return action.astype(np.float32)

    def _check_rows(self, rows: Sequence[int]) -> list[int]:
        rows = [int(r) for r in rows]
        bad = [r for r in rows if not 0 <= r < self.num_rows]
        if bad:
            raise IndexError(f"rows {bad} out of range: this executor has rows 0..{self.num_rows - 1}")
        if len(set(rows)) != len(rows):
            raise ValueError(f"rows {rows} contain duplicates")
        return rows
