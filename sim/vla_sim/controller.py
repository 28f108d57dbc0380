"""End-effector delta-pose control through differential IK (mink) onto joint position servos.

Action convention (documented in docs/SIM.md): translation delta in metres and rotation delta as an
axis-angle vector in radians, both in the world frame, relative to the measured end-effector pose
(as LIBERO's OSC controller). Every link, the tool's included, is gravity compensated, so a zero
action holds the pose without sag.

Pose targets (the env's `action_mode="pose"`) are turned into the same clipped delta, measured against
the current pose at every control step: an arm that lags behind a target keeps being pulled to it,
which is what makes open-loop chunks of pose targets robust where chunks of deltas drift. The target
orientation is the 6D representation (Zhou et al. 2019): the first two columns of the rotation matrix,
continuous and safe to average, unlike quaternions or axis-angle near a half turn.
"""

from __future__ import annotations

import mink
import mujoco
import numpy as np
from scipy.spatial.transform import Rotation

MAX_TRANSLATION = 0.05  # m per control step
MAX_ROTATION = 0.5  # rad per control step


class EEDeltaController:
    """Turns an end-effector delta pose into arm joint targets with one differential-IK solve."""

    def __init__(self, model: mujoco.MjModel, ee_site: str, arm_joints: tuple[str, ...], home_qpos: np.ndarray,
                 control_dt: float):
        self.model = model
        self.config = mink.Configuration(model)
        self.ee_task = mink.FrameTask(frame_name=ee_site, frame_type="site", position_cost=1.0,
                                      orientation_cost=0.5, lm_damping=1e-3)
        self.posture = mink.PostureTask(model, cost=1e-4)
        self.limits = [mink.ConfigurationLimit(model)]
        self.arm_qadr = np.array([model.joint(j).qposadr[0] for j in arm_joints])
        self.home_qpos = np.asarray(home_qpos, float)
        self.control_dt = control_dt
        self.site_id = model.site(ee_site).id

    def reset(self, data: mujoco.MjData) -> None:
        q = data.qpos.copy()
        q[self.arm_qadr] = self.home_qpos
        self.posture.set_target(q)
        self.target_pos, self.target_quat = self.ee_pose(data)

    def ee_pose(self, data: mujoco.MjData) -> tuple[np.ndarray, np.ndarray]:
        """Current end-effector position (m) and orientation (wxyz quaternion), world frame."""
        quat = np.zeros(4)
        mujoco.mju_mat2Quat(quat, data.site_xmat[self.site_id])
        return data.site_xpos[self.site_id].copy(), quat

    def joint_targets(self, data: mujoco.MjData, delta_pos: np.ndarray, delta_rot: np.ndarray) -> np.ndarray:
        """Arm joint targets (rad) that move the end effector by the (clipped) delta."""
        delta_pos = np.clip(delta_pos, -MAX_TRANSLATION, MAX_TRANSLATION)
        delta_rot = np.clip(delta_rot, -MAX_ROTATION, MAX_ROTATION)
        pos, quat = self.ee_pose(data)
        self.target_pos = pos + delta_pos
        self.target_quat = apply_rotvec(quat, delta_rot)
        self.ee_task.set_target(mink.SE3.from_rotation_and_translation(mink.SO3(self.target_quat), self.target_pos))
        self.config.update(data.qpos)
        for _ in range(2):
            vel = mink.solve_ik(self.config, [self.ee_task, self.posture], self.control_dt, solver="daqp",
                                damping=1e-4, limits=self.limits)
            self.config.integrate_inplace(vel, self.control_dt)
        return self.config.q[self.arm_qadr].copy()


def rot6d_from_quat(quat: np.ndarray) -> np.ndarray:
    """wxyz quaternion -> 6D rotation (first column of the matrix, then the second)."""
    mat = np.zeros(9)
    mujoco.mju_quat2Mat(mat, np.asarray(quat, float))
    m = mat.reshape(3, 3)
    return np.r_[m[:, 0], m[:, 1]]


def quat_from_rot6d(r6: np.ndarray) -> np.ndarray:
    """6D rotation -> wxyz quaternion (Gram-Schmidt). Raises ValueError when the two columns are degenerate."""
    r6 = np.asarray(r6, float)
    a, b = r6[:3], r6[3:6]
    na = np.linalg.norm(a)
    if na < 1e-6:
        raise ValueError("rotation target is degenerate: its first column is zero")
    a = a / na
    b = b - (a @ b) * a
    nb = np.linalg.norm(b)
    if nb < 1e-6:
        raise ValueError("rotation target is degenerate: its two columns are parallel")
    b = b / nb
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, np.column_stack([a, b, np.cross(a, b)]).ravel())
    return quat


def pose_to_delta(pos: np.ndarray, quat: np.ndarray, target_pos: np.ndarray, target_r6: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The delta action (translation, world axis-angle) from the measured pose to a pose target."""
    return np.asarray(target_pos, float) - pos, quat_error(quat_from_rot6d(target_r6), quat)


def delta_to_pose(pos: np.ndarray, wxyz: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorized inverse of `pose_to_delta` for recorded data: measured poses [N, 3] + [N, 4] (wxyz) and
    delta actions [N, 6] -> the pose targets the controller aimed at, position [N, 3] and 6D rotation
    [N, 6]. Clipping matches `joint_targets`, so executing the targets reproduces the recorded commands."""
    dpos = np.clip(delta[:, :3], -MAX_TRANSLATION, MAX_TRANSLATION)
    drot = np.clip(delta[:, 3:6], -MAX_ROTATION, MAX_ROTATION)
    measured = Rotation.from_quat(np.asarray(wxyz)[:, [1, 2, 3, 0]])
    mat = (Rotation.from_rotvec(drot) * measured).as_matrix()  # world-frame rotation applied on the left
    return pos + dpos, np.concatenate([mat[:, :, 0], mat[:, :, 1]], axis=1)


def apply_rotvec(quat: np.ndarray, rotvec: np.ndarray) -> np.ndarray:
    """World-frame rotation `rotvec` (axis-angle) applied to `quat` (wxyz)."""
    angle = float(np.linalg.norm(rotvec))
    if angle < 1e-12:
        return quat.copy()
    dq, out = np.zeros(4), np.zeros(4)
    mujoco.mju_axisAngle2Quat(dq, rotvec / angle, angle)
    mujoco.mju_mulQuat(out, dq, quat)
    return out / np.linalg.norm(out)


def quat_error(target: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Axis-angle (world frame) rotating `current` into `target`."""
    inv, dq, vel = np.zeros(4), np.zeros(4), np.zeros(3)
    mujoco.mju_negQuat(inv, current)
    mujoco.mju_mulQuat(dq, target, inv)
    if dq[0] < 0:
        dq = -dq
    mujoco.mju_quat2Vel(vel, dq, 1.0)
    return vel
