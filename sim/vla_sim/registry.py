"""Suites and tasks by name, and the factory for environments and their scripted experts.

Each entry pairs a Task class with its expert plan. Suites register here; `vla sim list` prints them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from vla.errors import UserError
from vla_sim.experts.primitives import Arm, Plan, PlanExpert
from vla_sim.tasks.base import Task


@dataclass(frozen=True)
class TaskEntry:
    task: Callable[[], Task] | None
    expert: Callable[[Arm], Plan] | None  # None: no scripted expert for this task (yet)
    tool: Callable[[], object] | None = None  # the end-effector tool; None: the parallel gripper
    env: Callable[..., Any] | None = None  # a whole-environment factory (LIBERO), called with make_env's kwargs
    initial_states: int | None = None  # official initial states an evaluation walks through (LIBERO: 50)


_SUITES: dict[str, dict[str, TaskEntry]] = {}


def register(suite: str, name: str, entry: TaskEntry) -> None:
    _SUITES.setdefault(suite, {})[name] = entry


def _load_builtin() -> None:
    if _SUITES:
        return
    from vla_sim.suites import register_all

    register_all()


def suites() -> dict[str, list[str]]:
    """Suite name -> task names, in registration order."""
    _load_builtin()
    return {s: list(tasks) for s, tasks in _SUITES.items()}


def resolve_tasks(suite: str, tasks: list[str] | None = None) -> list[str]:
    """Validate a suite and an optional task list; return the task names (all of the suite by default). A task
    may be given by its position in the suite (0-based, as LIBERO numbers its tasks)."""
    _load_builtin()
    if suite not in _SUITES:
        raise UserError(f"unknown suite {suite!r}: valid suites are {', '.join(_SUITES)}")
    valid = list(_SUITES[suite])
    if not tasks:
        return valid
    for t in tasks:
        if t.isdigit() and int(t) >= len(valid):
            raise UserError(f"task index {t} is out of range: suite {suite!r} has {len(valid)} tasks "
                            f"(0-{len(valid) - 1})")
    tasks = [valid[int(t)] if t.isdigit() else t for t in tasks]
    unknown = [t for t in tasks if t not in _SUITES[suite]]
    if unknown:
        raise UserError(f"unknown task {unknown[0]!r} in suite {suite!r}: valid tasks are {', '.join(valid)}")
    return list(tasks)


def make_env(suite: str, task: str, **kwargs):
    """A ManipulationEnv for one task. kwargs: render_mode ("fast", "default" or None), image_size, cameras, action_mode ("delta" or "pose")."""
    from vla_sim.envs.manipulation import ManipulationEnv

    resolve_tasks(suite, [task])
    entry = _SUITES[suite][task]
    if entry.env is not None:
        return entry.env(**kwargs)
    tool = entry.tool() if entry.tool else None
    return ManipulationEnv(entry.task(), suite=suite, tool=tool, **kwargs)


def has_expert(suite: str, task: str) -> bool:
    """Whether a task has a scripted expert (LIBERO tasks whose goals no primitive handles yet have none)."""
    resolve_tasks(suite, [task])
    return _SUITES[suite][task].expert is not None


def require_experts(suite: str, tasks: list[str]) -> None:
    """Raise one UserError naming every task of the list that has no scripted expert (checked before any work)."""
    unsolved = [t for t in tasks if not has_expert(suite, t)]
    if unsolved:
        raise UserError(f"no scripted expert for {len(unsolved)} task(s) of {suite}: {', '.join(unsolved)}; "
                        f"leave them out with --tasks (nothing was written)")


def make_expert(suite: str, task: str) -> PlanExpert:
    """The scripted expert of a task: `expert.reset(env)` then `expert.act(env)` each step."""
    if not has_expert(suite, task):
        raise UserError(f"no scripted expert for {suite}/{task} yet")
    return PlanExpert(_SUITES[suite][task].expert)


def official_initial_states(suite: str) -> int | None:
    """How many official initial states each task of a suite has (episode k of an evaluation uses state k);
    None for suites that draw every episode from its seed."""
    resolve_tasks(suite)
    counts = {entry.initial_states for entry in _SUITES[suite].values()}
    return counts.pop() if len(counts) == 1 else None
