"""Expert for the toy suite: fly the open gripper, pointing down, straight to a point above the pad."""

from __future__ import annotations

import numpy as np

from vla_sim.experts.primitives import OPEN, Arm, Plan, down_quat, hold, move_to, yaw_of_tool

HOVER_Z = 0.06  # tool point height above the pad at the goal (success needs < 0.12)


def reach_pad(arm: Arm) -> Plan:
    yield from reach_xy(arm, arm.env.task.pad_xy(arm.env))


def reach_xy(arm: Arm, xy: np.ndarray) -> Plan:
    """Fly the open gripper, keeping its yaw, to HOVER_Z above a table point and stay there."""
    _, cur = arm.pose()
    quat = down_quat(yaw_of_tool(cur))
    goal = np.r_[xy, HOVER_Z]
    yield from move_to(arm, (goal, quat), OPEN, tol=0.01, max_steps=50, speed=0.5)
    yield from hold(arm, OPEN, 10, (goal, quat))


def reach_cued_pad(arm: Arm) -> Plan:
    """Wait, open and still, until the cue has been gone for a while (so the current frame holds no hint of
    the target when the reach starts), then reach the cued pad as `reach_pad` does."""
    from vla_sim.experts.history import wait_until
    from vla_sim.tasks.toy import CUE_STEPS

    yield from wait_until(arm, 2 * CUE_STEPS)
    yield from reach_xy(arm, arm.env.task.pad_xy(arm.env))
