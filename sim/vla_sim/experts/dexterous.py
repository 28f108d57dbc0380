"""Scripted experts for the dexterous suite (Allegro Hand): approach, pre-shape, descend, close, lift, hold.

Grasp: the palm faces down(-forward); index, middle and ring fingers curl down on one side of the
object and the opposed thumb on the other, so the object is squeezed along the fingers' direction
(the EE site's x axis) between the fingertips, about `PALM_DEPTH` below the palm. Hand postures come
from a small fingertip IK on the free-standing hand (base_link frame: x out of the palm, y toward the
index finger, z along the fingers): a pre-shape sized to the object whose fingertips clear it, and a
closing posture whose fingertips aim just past the object's center, so that the servos press with
their saturated torque (0.7 N m) once they touch it. Cubes and boxes are grasped across a pair of
faces (the narrow pair for boxes); the grasp height follows the object's height.
"""

from __future__ import annotations

from functools import lru_cache

import mujoco
import numpy as np

from vla_sim.experts.primitives import Arm, Plan, down_quat, grasp_yaw, hold, move_to, yaw_of_tool
from vla_sim.robots import allegro

#: The grasp center's depth in base_link x (the palm surface is at x = 0.0117).
PALM_DEPTH = 0.095
#: Lateral position of the grasp center (base_link y): between the index and middle fingers.
GRASP_Y = allegro.EE_IN_BASE[1]
APPROACH = 0.08  # m above the grasp pose before descending
LIFT = 0.2  # m
CLOSE_STEPS = 14
#: Closing targets (base_link z) of the fingertips and of the thumb tip: past the object's center.
CLOSE_Z = (-0.01, 0.01)
SETTLE_STEPS = 6


@lru_cache(maxsize=1)
def _hand() -> tuple[mujoco.MjModel, mujoco.MjData]:
    spec, _ = allegro.allegro_hand(mount=None)
    model = spec.compile()
    return model, mujoco.MjData(model)


def fingertip_ik(targets: dict[int, np.ndarray], q_init: np.ndarray, fixed: tuple[int, ...] = (),
                 iters: int = 60) -> np.ndarray:
    """Joint positions placing fingertip sites (finger index -> base_link point) by damped least squares."""
    model, data = _hand()
    q = np.array(q_init, float)
    lo, hi = allegro.JOINT_LIMITS.T
    jac = np.zeros((3, model.nv))
    for _ in range(iters):
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        mujoco.mj_comPos(model, data)
        for finger, target in targets.items():
            sid = model.site(allegro.TIP_SITES[finger]).id
            err = np.asarray(target) - data.site_xpos[sid]
            cols = [i for i in range(4 * finger, 4 * finger + 4) if i not in fixed]
            mujoco.mj_jacSite(model, data, jac, None, sid)
            j = jac[:, cols]
            dq = j.T @ np.linalg.solve(j @ j.T + 1e-4 * np.eye(3), err)
            q[cols] = np.clip(q[cols] + dq, lo[cols], hi[cols])
    return q


_FINGER_Y = (0.045, 0.0, -0.045)  # fingertip targets across the hand (base_link y): index, middle, ring


def _fingers_and_thumb(depth: float, z_fingers: float, z_thumb: float, thumb_q0) -> np.ndarray:
    """Fingertips at base_link (depth, y, z): fingers at z_fingers, the thumb at z_thumb; the finger
    abduction joints and the thumb's rotation joint stay at their initial values."""
    q0 = np.clip(np.r_[[0, 0.6, 0.6, 0.5] * 3, thumb_q0], *allegro.JOINT_LIMITS.T)
    targets = {f: np.array([depth, y, z_fingers]) for f, y in enumerate(_FINGER_Y)}
    targets[3] = np.array([depth, GRASP_Y, z_thumb])
    return fingertip_ik(targets, q0, fixed=(0, 4, 8, 12))


@lru_cache(maxsize=64)
def grasp_postures(half_width: float) -> tuple[np.ndarray, np.ndarray]:
    """(pre-shape, closing posture) for an object `half_width` (m) from its center along the closing axis.

    Pre-shape: fingertips `half_width` + tip radius + 12 mm from the grasp center on either side (the
    thumb at most 5 cm: its reach). Closing posture: fingertips aimed 1 cm past the center
    (`CLOSE_Z`), so that the servos press with their saturated torque once they touch the object."""
    r = allegro.FINGERTIP_RADIUS
    clear = half_width + r + 0.012
    pre = _fingers_and_thumb(PALM_DEPTH, clear, -min(clear, 0.05), (1.396, 0.6, -0.1, 1.3))
    close = _fingers_and_thumb(PALM_DEPTH, CLOSE_Z[0], CLOSE_Z[1], (1.396, 0.5, 0.8, 0.3))
    return pre, close


def grasp_offset(env) -> np.ndarray:
    """The grasp center (base_link point (PALM_DEPTH, GRASP_Y, 0)) in the EE site's frame."""
    m, d = env.model, env.data
    base = m.body(env.tool.full_name("base_link")).id
    site = env.controller.site_id
    world = d.xpos[base] + d.xmat[base].reshape(3, 3) @ np.array([PALM_DEPTH, GRASP_Y, 0.0])
    return d.site_xmat[site].reshape(3, 3).T @ (world - d.site_xpos[site])


def _grasp_yaw(env) -> float:
    task = env.task
    current = yaw_of_tool(env.ee_pose()[1])
    if task.shape == "cube":
        return grasp_yaw(task.yaw, np.pi / 2, current)
    if task.shape == "box":
        # Close across the narrow side (the object's y): the site x axis along the object's y.
        return grasp_yaw(task.yaw, np.pi, current)
    return current


def _half_width(env) -> float:
    return float(env.task.size[1] if env.task.shape == "box" else env.task.size[0])


def lift_object(arm: Arm) -> Plan:
    env = arm.env
    task = env.task
    body = task.body
    quat = down_quat(_grasp_yaw(env))
    half_width = _half_width(env)
    pre, close = grasp_postures(round(half_width, 3))
    # Grasp the object at its middle, or lower on tall objects (but keep the fingertips off the table).
    grasp_z = float(np.clip(task.size[2], 0.028, 0.045))
    offset = grasp_offset(env)  # EE site -> grasp center, in the EE site frame
    rot = np.zeros(9)
    mujoco.mju_quat2Mat(rot, quat)
    site_to_grasp = rot.reshape(3, 3) @ offset

    def at(height: float):
        def target():
            p = env.body_pos(body)
            return np.array([p[0], p[1], grasp_z + height]) - site_to_grasp, quat
        return target

    yield from move_to(arm, at(APPROACH), pre, tol=0.01, max_steps=60)
    yield from move_to(arm, at(0.0), pre, tol=0.004, speed=0.5, max_steps=40)
    target = at(0.0)()
    for k in range(1, CLOSE_STEPS + 1):
        s = k / CLOSE_STEPS
        yield arm.action(target[0], target[1], (1 - s) * pre + s * close)
    yield from hold(arm, close, SETTLE_STEPS, target)
    top = (target[0] + [0, 0, LIFT], quat)
    yield from move_to(arm, top, close, tol=0.01, speed=0.4, max_steps=60)
    yield from hold(arm, close, 40, top)


# One expert per task (same plan; pre-shapes follow the object's shape and size).
lift_cube = lift_object
lift_cylinder = lift_object
lift_sphere = lift_object
lift_box = lift_object
