"""Experts for the pick-and-place tabletop tasks."""

from __future__ import annotations

import numpy as np

from vla_sim.experts.primitives import Arm, Plan, pick, place

BLOCK_GRASP_Z = 0.02  # tool point height above a block's base when grasping
BLOCK = 0.044
# Where a block is let go on the table: the tool point 1.2 cm higher than at the grasp (a 2 cm drop tipped a block
# held askew onto its side in 2 of 50 clean episodes).
# Released at the grasp's own height, "closed on the block, low, about to open" looked like "closed on the
# block, low, about to lift" and trained policies lifted the block again instead of letting go
# (docs/RESULTS.md, "The release"). Stacking and the plate already release well above the grasp height.
TABLE_RELEASE_Z = BLOCK_GRASP_Z + 0.012


def pick_block_by_relation(arm: Arm) -> Plan:
    task = arm.env.task
    yield from pick(arm, task.mover, BLOCK_GRASP_Z)
    plate = arm.env.body_pos("plate")
    yield from place(arm, plate + [0, 0, 0.012 + BLOCK_GRASP_Z + 0.004])


def place_block_relative(arm: Arm) -> Plan:
    task = arm.env.task
    yield from pick(arm, "block", BLOCK_GRASP_Z)
    goal = task.goal_xy(arm.env)
    yield from place(arm, np.r_[goal, TABLE_RELEASE_Z])


def stack_blocks(arm: Arm) -> Plan:
    yield from pick(arm, "top", BLOCK_GRASP_Z)
    bottom = arm.env.body_pos("bottom")
    yield from place(arm, bottom + [0, 0, BLOCK + BLOCK_GRASP_Z + 0.004])
