"""Experts for the drawer tasks.

Opening: the gripper points down with its fingers closing along the drawer's axis, pinches the
handle bar from above, and pulls along the drawer's axis. Closing: with closed fingers pointing down,
the expert pushes the handle bar until the drawer is shut, then lets go, backs off and lifts.
"""

from __future__ import annotations

import numpy as np

from vla_sim.experts.primitives import CLOSE, OPEN, Arm, Plan, down_quat, hold, move_to
from vla_sim.tasks.drawer import HANDLE

PINCH_OPEN = 0.05  # 3.8 cm between the fingers: the rear one fits between the bar and the drawer front
BAR_OFFSET = 0.004  # tool point this far toward the robot from the bar: more room for the rear finger
GRASP_DZ = 0.0  # tool point height relative to the bar's axis


def open_drawer(arm: Arm) -> Plan:
    env = arm.env
    task = env.task
    out = task.pull_direction(env)
    # Fingers close along the drawer's axis (across the bar), the actuated finger toward the robot.
    quat = down_quat(task.yaw + np.pi / 2)

    def above(dz: float):
        return lambda: (env.body_pos(HANDLE) + out * BAR_OFFSET + [0, 0, GRASP_DZ + dz], quat)

    yield from move_to(arm, above(0.08), PINCH_OPEN, tol=0.01, rot_tol=0.08, max_steps=60)
    yield from move_to(arm, above(0.0), PINCH_OPEN, tol=0.004, max_steps=40, speed=0.4, measured=True)
    yield from hold(arm, CLOSE, 8, above(0.0)())
    for _ in range(120):  # pull, with a carrot a few centimetres ahead of the bar
        if task.slide(env) > 0.15:
            break
        pos, _ = above(0.0)()
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
