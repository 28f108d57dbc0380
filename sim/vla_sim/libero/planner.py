"""Scripted experts for LIBERO tasks: the BDDL goal, parsed into a plan of motion primitives.

Each goal predicate becomes primitives that read the simulator every step (privileged state):
- On(obj, target), In(obj, container): grasp `obj`, carry it above the target's support, lower it and let go
  (`vla_sim.libero.experts`). Plates are pushed instead (wider than the open fingers, too flat to grasp by the
  rim; `vla_sim.libero.pushing`). A container inside a shut drawer: open it first, after sliding the object out
  from under where the drawer will stand.
- Open(drawer), Close(drawer): pull the handle, push it home; TurnOn/TurnOff(stove): turn its knob
  (`vla_sim.libero.articulated`). Hinged doors (the microwave) have no primitive yet: their tasks no expert.
Order: knobs first, then drawers opened, objects moved, drawers closed (libero_10 lists "close" before "in").
"""

from __future__ import annotations

from typing import Callable

import mujoco
import numpy as np

from vla_sim.experts.primitives import OPEN, Arm, Plan, hold
from vla_sim.libero.articulated import close_drawer, fixture_joint, open_drawer, open_room, turn_knob
from vla_sim.libero.experts import pick_object, place_on
from vla_sim.libero.geometry import Geometry
from vla_sim.libero.pushing import nudge, out_of_drawer_shift, push_object

SUPPORTED = {"on", "in", "open", "close", "turnon", "turnoff"}
NO_PRIMITIVE = ("microwave",)  # hinged doors: nothing opens or closes them yet
PUSHED = ("plate",)  # object categories pushed along the table rather than carried
ORDER = {"turnon": 0, "turnoff": 0, "open": 1, "on": 2, "in": 2, "close": 3}
SETTLE_STEPS, AT_REST = 30, 0.02  # wait at most this long for objects to stop (their speeds below, m/s, rad/s)


def expert_for(suite: str, task: str) -> Callable[[Arm], Plan] | None:
    """The plan function of a task, or None when its goal has predicates no primitive handles yet."""
    from vla_sim.libero.env import bddl_goal

    goal = bddl_goal(suite, task)
    if not goal or any(pred[0] not in SUPPORTED or any(k in w for w in pred[1:] for k in NO_PRIMITIVE)
                       for pred in goal):
        return None
    return plan_goal


def plan_goal(arm: Arm) -> Plan:
    env = arm.env
    goal = [[w.lower() for w in pred] for pred in env.raw.env.parsed_problem["goal_state"]]
    yield from wait_still(arm)
    for pred in sorted(goal, key=lambda p: ORDER[p[0]]):
        kind, args = pred[0], pred[1:]
        if kind in ("turnon", "turnoff"):
            yield from turn_knob(arm, args[0], on=kind == "turnon")
        elif kind == "open":
            yield from open_drawer(arm, args[0])
        elif kind == "close":
            yield from close_drawer(arm, args[0])
        elif any(key in Geometry(env, args[0]).category for key in PUSHED):
            yield from push_object(arm, args[0], args[1])
        else:
            keep_out = None
            if kind == "in" and _in_drawer(env, args[1]):
                # Half under the open drawer, the object could not be grasped: slide it out first (quickly, and
                # the fingers leave it toward the handle without rising first: the step budget is tight).
                shift = out_of_drawer_shift(env, args[0], args[1])
                if shift is not None:
                    yield from nudge(arm, args[0], shift, retreat=False, speed=1.0)
                yield from open_drawer(arm, args[1], nearest_pose=shift is not None)
                keep_out = open_room(env, args[1])  # the grasp keeps the hand and wrist out from under it
            yield from pick_object(arm, args[0], toward=Geometry(env, args[1]).center(), keep_out=keep_out)
            yield from place_on(arm, args[0], args[1], inside=kind == "in")


def wait_still(arm: Arm) -> Plan:
    """Hold until every loose object has come to rest: some official states are not at rest after the
    protocol's settling steps (the bowl on the ramekin keeps tipping for about 8 more), and a grasp planned on
    a moving object misses."""
    m, d = arm.env.model, arm.env.data
    dofs = np.concatenate([np.arange(m.jnt_dofadr[j], m.jnt_dofadr[j] + 6) for j in range(m.njnt)
                           if m.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE] or [np.zeros(0, int)])
    for _ in range(SETTLE_STEPS):
        if not dofs.size or np.abs(d.qvel[dofs]).max() < AT_REST:
            return
        yield from hold(arm, OPEN, 1)


def _in_drawer(env, region: str) -> bool:
    """Whether a region is the inside of a drawer (it moves with a slide joint)."""
    try:
        return env.model.jnt_type[fixture_joint(env, region)] == mujoco.mjtJoint.mjJNT_SLIDE
    except ValueError:
        return False
