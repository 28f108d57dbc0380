"""Experts for the pick-and-place tabletop tasks."""

from __future__ import annotations

import numpy as np

from vla_sim.experts.primitives import Arm, Plan, pick, place

BLOCK_GRASP_Z = 0.02  # tool point height above a block's base when grasping
BLOCK = 0.044


def pick_block_by_relation(arm: Arm) -> Plan:
    task = arm.env.task
    yield from pick(arm, task.mover, BLOCK_GRASP_Z)
    plate = arm.env.body_pos("plate")
    yield from place(arm, plate + [0, 0, 0.012 + BLOCK_GRASP_Z + 0.004])


def place_block_relative(arm: Arm) -> Plan:
    task = arm.env.task
    yield from pick(arm, "block", BLOCK_GRASP_Z)
    goal = task.goal_xy(arm.env)
    yield from place(arm, np.r_[goal, BLOCK_GRASP_Z + 0.004])


def stack_blocks(arm: Arm) -> Plan:
    yield from pick(arm, "top", BLOCK_GRASP_Z)
    bottom = arm.env.body_pos("bottom")
    yield from place(arm, bottom + [0, 0, BLOCK + BLOCK_GRASP_Z + 0.004])
