"""Expert for pushing a block onto a target pad: closed fingers, pushing from behind the block.

Closed loop: the pusher aims at the point behind the block on the line from the pad through the block
and advances toward the pad; when the block has turned or drifted off that line, it lifts, moves
behind the block again and lowers.
"""

from __future__ import annotations

import numpy as np

from vla_sim.experts.primitives import CLOSE, Arm, Plan, down_quat, grasp_yaw, hold, move_to, yaw_of_tool
from vla_sim.tasks.push import BLOCK

PUSH_Z = 0.02  # tool point height while pushing (fingertips about 7 mm above the table)
CLEAR_Z = 0.09  # height for moving around the block
CONTACT = 0.038  # tool point behind the block's center when touching it (half block + half finger)
DONE = 0.008  # block center this close to the pad center: stop


def push_block_to_target(arm: Arm) -> Plan:
    env = arm.env
    task = env.task

    def geometry():
        b = env.body_pos(BLOCK)[:2]
        e = task.pad_xy(env) - b
        dist = float(np.linalg.norm(e))
        return b, e / max(dist, 1e-9), dist

    _, d0, _ = geometry()
    _, cur = arm.pose()
    # Fingers close across the push direction: the closed pair presents its wide side to the block.
    quat = down_quat(grasp_yaw(float(np.arctan2(d0[1], d0[0])), np.pi, yaw_of_tool(cur)))

    def behind(back: float, z: float):
        def target():
            b, u, _ = geometry()
            return np.r_[b - u * (CONTACT + back), z], quat
        return target

    yield from hold(arm, CLOSE, 6)  # close the gripper first
    aligned = False
    for _ in range(400):
        b, u, dist = geometry()
        if dist < DONE:
            break
        # Measured, not nominal (Arm.nominal_pose): a push is aligned by where the fingers really are. With the
        # nominal pose the expert kept 20 of 35 noisy attempts on seeds 50000+, with the measured one 20 of 21.
        ee, _ = arm.pose()
        rel = ee[:2] - b
        along, across = rel @ u, rel @ np.array([-u[1], u[0]])
        if not aligned or along > -0.02 or abs(across) > 0.015 or ee[2] > PUSH_Z + 0.02:
            # Go around: up, behind the block, down.
            if ee[2] < CLEAR_Z - 0.02 and (along > -0.02 or abs(across) > 0.015):
                yield from move_to(arm, (ee + [0, 0, CLEAR_Z - ee[2]], quat), CLOSE, tol=0.015, max_steps=20)
            yield from move_to(arm, behind(0.03, CLEAR_Z), CLOSE, tol=0.01, max_steps=60)
            yield from move_to(arm, behind(0.02, PUSH_Z), CLOSE, tol=0.006, max_steps=40, speed=0.5)
            aligned = True
            continue
        # Push: aim a little beyond the contact point, through the block's center toward the pad.
        step = min(0.02, dist)
        target = np.r_[b - u * CONTACT + u * (step + 0.01), PUSH_Z]
        yield arm.action(target, quat, CLOSE, speed=0.3)
    ee, _ = arm.pose()
    b, u, _ = geometry()
    yield from move_to(arm, (np.r_[ee[:2] - u * 0.03, PUSH_Z + 0.01], quat), CLOSE, tol=0.01, max_steps=15)
    yield from move_to(arm, (np.r_[ee[:2] - u * 0.04, CLEAR_Z + 0.03], quat), CLOSE, tol=0.01, max_steps=30)
