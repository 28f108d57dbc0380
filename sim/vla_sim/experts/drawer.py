"""Experts for the drawer tasks.

Opening: the cabinet's top overhangs the handle, so a top-down grasp would hit it with the hand; the
expert grasps the bar from the front and above instead, the tool pitched 45 degrees down toward the
cabinet, fingers closing in the vertical plane across the bar, then pulls along the drawer's axis.
Closing: with closed fingers pointing down, the expert pushes on the handle bar until the drawer is
shut, then backs off and lifts.
"""

from __future__ import annotations

import numpy as np

from vla_sim.experts.primitives import CLOSE, OPEN, Arm, Plan, down_quat, hold, move_to, tool_quat
from vla_sim.tasks.drawer import HANDLE

PITCH = np.deg2rad(45)
UP = np.array([0.0, 0.0, 1.0])
HALF_OPEN = -0.3  # about 5 cm between the fingers: the rear finger fits between bar and drawer front


def _grasp_frame(env) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Approach and closing axes of the pitched grasp, and its orientation."""
    into = -env.task.pull_direction(env)
    approach = np.cos(PITCH) * into - np.sin(PITCH) * UP
    closing = np.sin(PITCH) * into + np.cos(PITCH) * UP
    return approach, closing, tool_quat(approach, closing)


def open_drawer(arm: Arm) -> Plan:
    env = arm.env
    task = env.task
    approach, _, quat = _grasp_frame(env)
    out = task.pull_direction(env)

    def at(offset: float):
        return lambda: (env.body_pos(HANDLE) + approach * offset, quat)

    yield from move_to(arm, at(-0.12), HALF_OPEN, tol=0.015, rot_tol=0.1, max_steps=60)
    yield from move_to(arm, at(-0.05), HALF_OPEN, tol=0.006, max_steps=40, speed=0.5)
    yield from move_to(arm, at(0.004), HALF_OPEN, tol=0.004, max_steps=40, speed=0.3)
    yield from hold(arm, CLOSE, 8, at(0.004)())
    for _ in range(120):  # pull, with a carrot a few centimetres ahead of the bar
        if task.slide(env) > 0.15:
            break
        pos, _ = at(0.004)()
        yield arm.action(pos + 0.03 * out, quat, CLOSE, speed=0.4)
    yield from hold(arm, CLOSE, 4)


def close_drawer(arm: Arm) -> Plan:
    env = arm.env
    task = env.task
    out = task.pull_direction(env)
    quat = down_quat(task.yaw)  # closing axis along the bar: the closed fingers make a flat front
    standoff = 0.022  # tool point in front of the bar's axis (bar radius + half a finger)

    def before(extra: float, dz: float = 0.0):
        return lambda: (env.body_pos(HANDLE) + out * (standoff + extra) + [0, 0, dz], quat)

    yield from move_to(arm, before(0.05, 0.08), CLOSE, tol=0.012, rot_tol=0.1, max_steps=60)
    yield from move_to(arm, before(0.05), CLOSE, tol=0.006, max_steps=40, speed=0.5)
    for _ in range(100):  # push, carrot behind the bar
        if task.slide(env) < 0.003:
            break
        pos, _ = before(-0.03)()
        yield arm.action(pos, quat, CLOSE, speed=0.4)
    pos, _ = arm.pose()
    yield from move_to(arm, (pos + out * 0.06, quat), OPEN, tol=0.01, max_steps=30)
    yield from move_to(arm, (pos + out * 0.08 + [0, 0, 0.08], quat), OPEN, tol=0.01, max_steps=30)
