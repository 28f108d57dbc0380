"""Expert for the toy suite: fly the open gripper, pointing down, straight to a point above the pad."""

from __future__ import annotations

import numpy as np

from vla_sim.experts.primitives import OPEN, Arm, Plan, down_quat, hold, move_to, yaw_of_tool

HOVER_Z = 0.06  # tool point height above the pad at the goal (success needs < 0.12)


def reach_pad(arm: Arm) -> Plan:
    env = arm.env
    _, cur = arm.pose()
    quat = down_quat(yaw_of_tool(cur))
    goal = np.r_[env.task.pad_xy(env), HOVER_Z]
    yield from move_to(arm, (goal, quat), OPEN, tol=0.01, max_steps=50, speed=0.5)
    yield from hold(arm, OPEN, 10, (goal, quat))
