"""Primitives for LIBERO's articulated fixtures: drawers (slide joints) and stove knobs (hinges).

Everything is read from the model each step: the joint's axis and position in the world, the moving body's
mesh points. A drawer is opened by grasping its handle bar from the front (the tool horizontal, fingers
closing vertically around the bar) and pulling along the slide; it is closed by pushing the handle home.
A knob is grasped from above and turned about its hinge axis (the tool orbits the axis as it turns).
"""

from __future__ import annotations

from typing import Callable

import mujoco
import numpy as np

from vla_sim.controller import quat_error
from vla_sim.experts.primitives import CLOSE, OPEN, Arm, Plan, down_quat, hold, move_to, tool_quat, yaw_of_tool
from vla_sim.libero.geometry import Geometry

DRAWER_OPEN, DRAWER_SHUT = -0.15, 0.008  # LIBERO's Open needs < -0.14 and Close > 0 (range -0.16..0.01)
KNOB_ON, KNOB_OFF = 0.8, -0.004  # LIBERO's TurnOn needs >= 0.5 and TurnOff < 0 (range -0.005..2.1)
HANDLE_DEPTH = 0.012  # the handle is the part of a drawer's front within this of its frontmost point (m)
FRONT_BEHIND_HANDLE = 0.03  # a drawer's front face lies about this far behind its handle's center (m)
FRONT_WALL = 0.02  # thickness of a drawer's front (m)
STANDOFF = 0.10  # the tool lines up this far in front of a handle before it moves in (m)
# Steps for the fingers to close on a handle bar, and to let it go (with 6 the grip slipped off the handle in
# some episodes).
HANDLE_CLOSE_STEPS, HANDLE_OPEN_STEPS = 10, 6


def fixture_joint(env, name: str) -> int:
    """The joint that moves a region's fixture part (a drawer's slide) or an object's (a stove's knob)."""
    inner = env.raw.env
    site = inner.object_sites_dict.get(name)
    joints = list(getattr(site, "joints", None) or [])
    if not joints:
        m = env.model
        joints = [m.joint(j).name for j in range(m.njnt)
                  if m.joint(j).name.startswith(name + "_") and m.jnt_type[j] != mujoco.mjtJoint.mjJNT_FREE]
    if len(joints) != 1:
        raise ValueError(f"{name} has {len(joints)} movable joints ({joints}): a primitive needs exactly one")
    return env.model.joint(joints[0]).id


def joint_qpos(env, joint: int) -> float:
    return float(env.data.qpos[env.model.jnt_qposadr[joint]])


def _moving_points(env, joint: int) -> np.ndarray:
    """World points (visual mesh vertices) of the body a joint moves."""
    return Geometry(env, env.model.body(env.model.jnt_bodyid[joint]).name, part=True).points()


def _slide(env, joint: int) -> tuple[np.ndarray, np.ndarray, float]:
    """A drawer's pull direction (horizontal unit vector that opens it), its handle's center, and the
    handle's height."""
    axis = env.data.xaxis[joint].copy()
    lo, hi = env.model.jnt_range[joint]
    pull = axis * (1.0 if DRAWER_OPEN > (lo + hi) / 2 else -1.0)  # open is the negative end: move along -axis
    pull[2] = 0.0
    pull /= np.linalg.norm(pull)
    points = _moving_points(env, joint)
    reach = points @ pull
    handle = points[reach > reach.max() - HANDLE_DEPTH]
    center = (handle.min(axis=0) + handle.max(axis=0)) / 2
    return pull, center, float(np.ptp(handle[:, 2]))


def drawer_opening(env, region: str) -> np.ndarray | None:
    """Where to put things into the drawer under `region`: the middle of the part pulled out of the cabinet
    (world xy); None when the region is not in a drawer. (The region's own center lies under the cabinet.)"""
    try:
        joint = fixture_joint(env, region)
    except ValueError:
        return None
    if env.model.jnt_type[joint] != mujoco.mjtJoint.mjJNT_SLIDE:
        return None
    pull, handle, _ = _slide(env, joint)
    shut = env.model.jnt_range[joint][1]
    front = handle[:2] - pull[:2] * FRONT_BEHIND_HANDLE
    return front - pull[:2] * (FRONT_WALL + 0.5 * max(abs(joint_qpos(env, joint) - shut) - FRONT_WALL, 0.0))


def open_footprint(env, region: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the drawer under `region` will stand when open, seen from above: its pull direction (xy unit vector)
    and the box its parts cover then, as low and high corners in (along pull, across pull) coordinates."""
    joint = fixture_joint(env, region)
    pull = _slide(env, joint)[0][:2]
    across = np.array([-pull[1], pull[0]])
    points = _moving_points(env, joint)[:, :2]
    u, v = points @ pull + max(joint_qpos(env, joint) - DRAWER_OPEN, 0.0), points @ across
    return pull, np.array([u.min(), v.min()]), np.array([u.max(), v.max()])


def open_room(env, region: str) -> Callable[[np.ndarray], float]:
    """How far xy points stand outside the drawer under `region` when open, seen from above (negative: under
    it), as a function of the points (an `experts.KeepOut`)."""
    pull, lo, hi = open_footprint(env, region)
    across = np.array([-pull[1], pull[0]])

    def room(xy: np.ndarray) -> float:
        q = np.c_[xy @ pull, xy @ across]
        out = np.maximum(lo - q, q - hi)
        inside = (out < 0).all(axis=1)
        return float(np.min(np.where(inside, out.max(axis=1), np.linalg.norm(np.maximum(out, 0.0), axis=1))))

    return room


def _front_quat(pull: np.ndarray, nearest_to: np.ndarray | None = None) -> np.ndarray:
    """The tool horizontal, pointing into the drawer (against `pull`), fingers closing vertically. There are two
    such poses, half a turn apart about the tool's axis: a fixed one, or (given `nearest_to`) the one nearer
    that orientation."""
    poses = [tool_quat(-pull, [0.0, 0.0, s]) for s in (1.0, -1.0)]
    if nearest_to is None:
        return poses[0]
    return min(poses, key=lambda q: float(np.linalg.norm(quat_error(q, nearest_to))))


def open_drawer(arm: Arm, region: str, nearest_pose: bool = False) -> Plan:
    """Grasp the handle of the drawer under `region` from the front and pull it fully open.

    From the arm's start (the tool pointing down) the fixed handle pose is a half turn away, the other a quarter
    turn; the fixed one is the better (libero_goal task 0, 50 official states: 50 against 44 opened: the quarter
    turn swings the hand's lower end through a bowl standing in front of the cabinet). After a nudge has turned
    the wrist, the half turn drives the last wrist joint to its limit and the arm flails: `nearest_pose` takes
    the nearer pose then."""
    env = arm.env
    joint = fixture_joint(env, region)
    if joint_qpos(env, joint) <= DRAWER_OPEN:
        return
    pull, handle, _ = _slide(env, joint)
    quat = _front_quat(pull, arm.pose()[1] if nearest_pose else None)
    yield from move_to(arm, (handle + pull * STANDOFF, quat), OPEN, tol=0.012, max_steps=80)
    yield from move_to(arm, lambda: (_slide(env, joint)[1] - pull * 0.004, quat), OPEN, tol=0.006, max_steps=40,
                       speed=0.8)
    grip = arm.pose()[0]
    yield from hold(arm, CLOSE, HANDLE_CLOSE_STEPS, (grip, quat))
    for _ in range(80):
        if joint_qpos(env, joint) <= DRAWER_OPEN:
            break
        yield arm.action(arm.pose()[0] + pull * 0.03, quat, CLOSE, speed=0.8)
    here = arm.pose()[0]
    yield from hold(arm, OPEN, HANDLE_OPEN_STEPS, (here, quat))
    yield from move_to(arm, (here + pull * 0.08, quat), OPEN, tol=0.02, max_steps=25)
    yield from move_to(arm, (here + pull * 0.08 + [0, 0, 0.12], down_quat(yaw_of_tool(arm.pose()[1]))), OPEN,
                       tol=0.03, max_steps=40)


def close_drawer(arm: Arm, region: str) -> Plan:
    """Push the drawer under `region` home with the closed fingers against its handle."""
    env = arm.env
    joint = fixture_joint(env, region)
    if joint_qpos(env, joint) >= DRAWER_SHUT:
        return
    pull, handle, _ = _slide(env, joint)
    quat = _front_quat(pull)
    yield from move_to(arm, (handle + pull * STANDOFF + [0, 0, 0.03], quat), CLOSE, tol=0.015, max_steps=80)
    yield from move_to(arm, (handle + pull * STANDOFF, quat), CLOSE, tol=0.01, max_steps=30)
    for _ in range(100):
        if joint_qpos(env, joint) >= DRAWER_SHUT:
            break
        yield arm.action(_slide(env, joint)[1] - pull * 0.04, quat, CLOSE, speed=0.5)
    here = arm.pose()[0]
    yield from move_to(arm, (here + pull * 0.08 + [0, 0, 0.05], quat), CLOSE, tol=0.02, max_steps=25)


def turn_knob(arm: Arm, name: str, on: bool = True) -> Plan:
    """Grasp the knob of `name` (a stove) from above across its lever and turn it about its hinge."""
    env = arm.env
    joint = fixture_joint(env, name)
    goal = KNOB_ON if on else KNOB_OFF
    done = (lambda: joint_qpos(env, joint) >= 0.55) if on else (lambda: joint_qpos(env, joint) <= KNOB_OFF)
    if done():
        return
    axis_point = env.data.xanchor[joint].copy()
    points = _moving_points(env, joint)
    lo, hi = points.min(axis=0), points.max(axis=0)
    center = (lo + hi) / 2
    # The lever is long along one horizontal direction: close the fingers across it.
    extent = hi - lo
    closing = np.pi / 2 if extent[0] >= extent[1] else 0.0
    yaw0 = _nearest(closing - np.pi / 2, yaw_of_tool(arm.pose()[1]))
    grasp = np.r_[center[:2], hi[2] - min(0.02, 0.5 * extent[2])]
    quat = down_quat(yaw0)
    yield from move_to(arm, (grasp + [0, 0, 0.07], quat), OPEN, tol=0.012, max_steps=70)
    yield from move_to(arm, (grasp, quat), OPEN, tol=0.006, max_steps=30, speed=0.6)
    yield from hold(arm, CLOSE, 10, (grasp, quat))
    start = joint_qpos(env, joint)
    sign = 1.0 if env.data.xaxis[joint][2] > 0 else -1.0  # a turn of +1 rad about world z moves the joint by sign
    for _ in range(60):
        if done():
            break
        turned = np.clip((goal - start) * sign - (joint_qpos(env, joint) - start) * sign, -0.25, 0.25)
        theta = (joint_qpos(env, joint) - start) * sign + turned
        c, s = np.cos(theta), np.sin(theta)
        offset = grasp[:2] - axis_point[:2]
        pos = np.r_[axis_point[:2] + [c * offset[0] - s * offset[1], s * offset[0] + c * offset[1]], grasp[2]]
        yield arm.action(pos, down_quat(yaw0 + theta), CLOSE)
    here, q = arm.pose()
    yield from hold(arm, OPEN, 6, (here, q))
    yield from move_to(arm, (here + [0, 0, 0.1], q), OPEN, tol=0.02, max_steps=30)


def _nearest(yaw: float, current: float) -> float:
    k = np.round((current - yaw) / np.pi)
    return float(yaw + k * np.pi)
