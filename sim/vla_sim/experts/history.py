"""Experts for the history-dependent tasks. They wait (zero arm motion, gripper open) while the world
events run, then act on privileged memory: which cup hides the block, where the block started."""

from __future__ import annotations

import numpy as np

from vla_sim.experts.pick_place import BLOCK_GRASP_Z, TABLE_RELEASE_Z
from vla_sim.experts.primitives import OPEN, Arm, Plan, move_to, pick, place
from vla_sim.tasks.history import CUP_HEIGHT, KNOB_HALF

KNOB_GRASP_Z = CUP_HEIGHT + KNOB_HALF + 0.004  # tool point at the knob (fingertips clear of the cup's top)


def wait_until(arm: Arm, step: int) -> Plan:
    """Zero arm motion with the gripper open until the env has run `step` control steps."""
    while arm.env.steps < step:
        yield np.r_[np.zeros(6), np.full(arm.tool_dim, OPEN)].astype(np.float32)


def cup_shuffle(arm: Arm) -> Plan:
    task = arm.env.task
    yield from wait_until(arm, task.shuffle_end)
    yield from pick(arm, task.hider, KNOB_GRASP_Z, approach=0.08, lift=0.13)


def return_block(arm: Arm) -> Plan:
    env = arm.env
    task = env.task
    yield from wait_until(arm, task.release_step + 1)
    yield from pick(arm, "block", BLOCK_GRASP_Z)
    yield from place(arm, np.r_[task.start_xy, TABLE_RELEASE_Z])
    pos, quat = arm.pose()
    yield from move_to(arm, (pos + [0, 0, 0.05], quat), OPEN, tol=0.01, max_steps=20)
