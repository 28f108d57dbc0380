"""The scripted experts behind the Policy interface, so they are evaluated by the same loop as models."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from vla.policy import ActionChunk, Policy


class ScriptedPolicy(Policy):
    """One registry expert per batch row, returning 1-step chunks.

    PRIVILEGED: the experts ignore the observation and read the simulator state (object poses) of the
    env objects given at construction, so row b must be stepped in `envs[b]`. Its success rate is an
    upper reference for learned policies, not a comparable score.
    """

    n_action_steps = 1

    def __init__(self, suite: str, task: str, envs: Sequence[Any]) -> None:
        from vla_sim import registry

        self.envs = list(envs)
        self.experts = [registry.make_expert(suite, task) for _ in self.envs]
        self._fresh = np.ones(len(self.envs), dtype=bool)  # rows whose expert restarts at the next act

    def reset(self, rows: Sequence[int] | None = None) -> None:
        """Restart the plans of `rows` (all when None); done lazily at the next act, after the env reset."""
        self._fresh[list(range(len(self.envs))) if rows is None else list(rows)] = True

    def act(self, observation: dict[str, Any]) -> ActionChunk:
        """Actions [B, 1, A] from each row's expert; the observation only names the rows."""
        rows = [int(r) for r in observation.get("rows", range(len(observation["task"])))]
        if len(rows) != len(observation["task"]) or any(not 0 <= r < len(self.envs) for r in rows):
            raise ValueError(f"rows {rows} do not match a ScriptedPolicy of {len(self.envs)} envs")
        actions = []
        for b in rows:
            env, expert = self.envs[b], self.experts[b]
            if self._fresh[b]:
                expert.reset(env)
                self._fresh[b] = False
            actions.append(np.asarray(expert.act(env), np.float32))
        return ActionChunk(np.stack(actions)[:, None, :])
