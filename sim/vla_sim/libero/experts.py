"""Scripted experts for LIBERO tasks: the BDDL goal, parsed into a plan of motion primitives.

Each goal predicate becomes primitives that read the simulator every step (privileged state):
- On(obj, target), In(obj, container): grasp `obj` (bowls by the rim, everything else from above across its
  narrow side), carry it above the target's support, lower it and let go.
Other predicates (Open, Close, TurnOn, TurnOff) have no primitive yet: their tasks have no expert.
Geometry comes from the objects' meshes (bounding boxes of their visible geoms), not from per-object tables.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from vla_sim.experts.primitives import CLOSE, OPEN, Arm, Plan, down_quat, hold, move_to, yaw_of_tool
from vla_sim.libero.geometry import Geometry

SUPPORTED = {"on", "in"}
RIM_GRASP = ("bowl",)  # object categories grasped by the rim: they are wider than the gripper opens
MAX_OPENING = 0.075  # widest span the Panda's fingers close around (m)
GRASP_DEPTH = 0.03  # how far below an object's top the fingertips go (m)
RIM_ROOM = 0.03  # free space (3D) a rim grasp needs around the fingertips and the hand (m)
HAND_ABOVE = 0.08  # height of the hand's body above the fingertips (m)
CORRIDOR = 0.08  # half-width of the strip a carried object sweeps on its way (m)
APPROACH = 0.07  # the tool comes down the last this-many metres to a grasp slowly, straight (m)


def expert_for(suite: str, task: str) -> Callable[[Arm], Plan] | None:
    """The plan function of a task, or None when its goal has predicates no primitive handles yet."""
    from vla_sim.libero.env import bddl_goal

    goal = bddl_goal(suite, task)
    if not goal or any(pred[0].lower() not in SUPPORTED for pred in goal):
        return None
    return plan_goal


def plan_goal(arm: Arm) -> Plan:
    env = arm.env
    for pred in env.raw.env.parsed_problem["goal_state"]:
        kind, obj, target = pred[0].lower(), pred[1], pred[2]
        yield from pick_object(arm, obj)
        yield from place_on(arm, obj, target, inside=kind == "in")


def pick_object(arm: Arm, name: str) -> Plan:
    """Grasp `name` from above and lift it clear of everything."""
    env = arm.env
    obj = Geometry(env, name)
    lo, hi = obj.box()
    center = (lo + hi) / 2
    tool_yaw = yaw_of_tool(arm.pose()[1])
    if any(key in obj.category for key in RIM_GRASP):
        point, closing = rim_grasp(env, obj, tool_yaw)
        yaw = _nearest_yaw(closing - np.pi / 2, tool_yaw)
    else:
        yaw_obj, along, across = obj.yaw_and_extents()
        # The fingers close along the tool's y axis: rotate it across the object's narrow side.
        closing = yaw_obj if along <= across else yaw_obj + np.pi / 2
        yaw = _nearest_yaw(closing - np.pi / 2, tool_yaw)
        depth = min(GRASP_DEPTH, 0.5 * (hi[2] - lo[2]))
        point = np.r_[center[:2], hi[2] - depth]
    quat = down_quat(yaw)
    above = np.r_[point[:2], point[2] + APPROACH]
    yield from move_to(arm, (above, quat), OPEN, tol=0.012, max_steps=70)
    yield from move_to(arm, (point, quat), OPEN, tol=0.006, max_steps=30, speed=0.6)
    yield from hold(arm, CLOSE, 10, (point, quat))
    yield from move_to(arm, (above + [0, 0, 0.04], quat), CLOSE, tol=0.03, max_steps=30)


def rim_grasp(env, obj: "Geometry", tool_yaw: float) -> tuple[np.ndarray, float]:
    """Where fingers straddle a bowl's rim, and the closing direction (world yaw, radial there).

    The rim is found in the body's frame (bowls' meshes are upright there, origin at the bottom), so tilted
    bowls (one resting on a ramekin) work; of 16 places around it, the one farthest (3D) from other objects."""
    rot, origin = env.data.xmat[obj.body].reshape(3, 3), env.data.xpos[obj.body]
    local = (obj.points() - origin) @ rot
    top = local[:, 2].max()
    ring = local[local[:, 2] > top - 0.004]
    radius = float(np.median(np.linalg.norm(ring[:, :2], axis=1)))
    angles = np.linspace(-np.pi, np.pi, 16, endpoint=False)
    radial = np.c_[np.cos(angles), np.sin(angles), np.zeros_like(angles)]
    points = origin + (radial * (radius - 0.008) + [0, 0, top - 0.018]) @ rot.T
    others = obstacles(env, exclude=obj.name)
    closing = np.array([np.arctan2(d[1], d[0]) for d in radial @ rot.T])
    clearance = np.array([hand_clearance(p, c, others) for p, c in zip(points, closing)])
    # Of the places with room for a finger, the one needing the least turn of the wrist (turns are slow).
    roomy = clearance >= min(RIM_ROOM, clearance.max())
    turn = np.abs(np.angle(np.exp(2j * (closing - np.pi / 2 - tool_yaw)))) / 2  # the gripper is symmetric
    best = int(np.argmin(np.where(roomy, turn, np.inf)))
    return points[best], float(closing[best])


def obstacles(env, exclude: str) -> np.ndarray:
    """Points on every object and fixture of the scene but one (subsampled mesh vertices)."""
    inner = env.raw.env
    names = [n for n in list(inner.objects_dict) + list(inner.fixtures_dict) if n != exclude]
    return np.concatenate([Geometry(env, n).points()[::5] for n in names])


def hand_clearance(point: np.ndarray, closing: float, others: np.ndarray) -> float:
    """Free space around a grasp: the fingertips' point and the hand above it, which spans about 20 cm along
    the closing direction."""
    along = np.array([np.cos(closing), np.sin(closing), 0.0])
    probes = [point] + [point + along * t + [0, 0, HAND_ABOVE] for t in (-0.09, -0.045, 0.0, 0.045, 0.09)]
    return float(min(np.min(np.linalg.norm(others - p, axis=1)) for p in probes))


def place_on(arm: Arm, name: str, target: str, inside: bool = False) -> Plan:
    """Carry the held object above `target`, lower it until it is just above the support, release, retreat."""
    env = arm.env
    obj, dest = Geometry(env, name), Geometry(env, target)
    ee, quat = arm.pose()
    below_grip = ee[2] - obj.box()[0][2]  # from the tool point down to the object's bottom
    lo, hi = dest.box()
    top = hi[2] if not inside else hi[2] + 0.01
    release_z = top + below_grip + 0.02
    # Carry high enough that the object's bottom clears whatever stands in the corridor to the target.
    start, goal = obj.center()[:2], dest.center()[:2]
    others = obstacles(env, exclude=name)
    near = _segment_distance(others[:, :2], start, goal) < CORRIDOR
    tallest = others[near, 2].max() if near.any() else hi[2]
    travel = max(release_z + 0.03, tallest + below_grip + 0.03)

    def over(z: float):
        """The tool pose that puts the held object's center over the target's (the grasp may be off-center)."""
        def pose():
            tool, _ = arm.pose()
            offset = tool[:2] - obj.center()[:2]
            return np.r_[dest.center()[:2] + offset, z], quat
        return pose

    yield from move_to(arm, over(travel), CLOSE, tol=0.015, max_steps=80)
    yield from move_to(arm, over(release_z), CLOSE, tol=0.008, max_steps=40, speed=0.5)
    release = over(release_z)()
    yield from hold(arm, OPEN, 8, release)
    yield from move_to(arm, (release[0] + [0, 0, 0.1], quat), OPEN, tol=0.02, max_steps=30)


def _segment_distance(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distances of 2D points to the segment a-b."""
    ab = b - a
    t = np.clip((points - a) @ ab / max(ab @ ab, 1e-9), 0.0, 1.0)
    return np.linalg.norm(points - (a + t[:, None] * ab), axis=1)


def _nearest_yaw(yaw: float, current: float) -> float:
    """The gripper is symmetric under a half turn: of yaw and yaw + pi, the one nearer the current yaw."""
    k = np.round((current - yaw) / np.pi)
    return float(yaw + k * np.pi)
