"""Closed-loop motion primitives for the arm, written as generators that yield one action per step.

A plan is a generator function composing primitives with `yield from`; each primitive reads the
current simulator state at every step (privileged information), so plans react to slips and drift.
"""

from __future__ import annotations

from typing import Callable, Iterator

import mujoco
import numpy as np

from vla_sim.controller import MAX_ROTATION, MAX_TRANSLATION, quat_error

Action = np.ndarray
Plan = Iterator[Action]
OPEN, CLOSE = -1.0, 1.0

# Gripper pointing down; at yaw 0 the fingers close along world y.
_DOWN = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])


def down_quat(yaw: float) -> np.ndarray:
    """Orientation (wxyz) of a downward-pointing tool turned by `yaw` about world z."""
    c, s = np.cos(yaw), np.sin(yaw)
    rz = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    q = np.zeros(4)
    mujoco.mju_mat2Quat(q, (rz @ _DOWN).ravel())
    return q


def tool_quat(approach, closing) -> np.ndarray:
    """Orientation (wxyz) of a tool pointing along `approach` whose fingers close along `closing` (world
    vectors; `closing` is made orthogonal to `approach`). `down_quat(yaw)` is the special case of a
    downward approach."""
    a = np.asarray(approach, float)
    a = a / np.linalg.norm(a)
    c = np.asarray(closing, float)
    c = c - (c @ a) * a
    c = c / np.linalg.norm(c)
    q = np.zeros(4)
    mujoco.mju_mat2Quat(q, np.column_stack([c, np.cross(a, c), a]).ravel())
    return q


def grasp_yaw(object_yaw: float, symmetry: float = np.pi / 2, current: float = 0.0) -> float:
    """The tool yaw aligned with an object face that is closest to `current` (objects with symmetry)."""
    k = np.round((current - object_yaw) / symmetry)
    return float(object_yaw + k * symmetry)


def yaw_of(quat: np.ndarray) -> float:
    w, x, y, z = quat
    return float(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))


class Arm:
    """Reads the tool pose from an env and turns pose targets into clipped delta actions."""

    def __init__(self, env, gain: float = 1.0, rot_gain: float = 1.0):
        self.env = env
        self.gain, self.rot_gain = gain, rot_gain
        self.tool_dim = env.action_space.shape[0] - 6
        # Envs whose arm actions are normalized (LIBERO's OSC: 1 = 0.05 m / 0.5 rad) say what 1 means.
        self.scale = np.asarray(getattr(env, "arm_action_scale", np.ones(6)), float)
        # The translation a data collector added to the last executed action (DART noise; zero otherwise).
        self.perturbation = np.zeros(3)

    def pose(self) -> tuple[np.ndarray, np.ndarray]:
        return self.env.ee_pose()

    def nominal_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """Where the tool would be without the collector's last perturbation.

        Plans decide when a phase is done on this pose and compute their actions from the measured one. So
        injected noise changes the states a demonstration visits and the corrections it labels, not the
        moments the plan moves on: a learned policy, run without noise, then sees the timing of the clean
        expert. Gating on the measured pose instead, a 1 cm perturbation against a 5 mm tolerance keeps the
        expert hovering for tens of steps at every gate, and the policy learns to hover."""
        pos, quat = self.pose()
        return pos - self.perturbation, quat

    def action(self, pos: np.ndarray, quat: np.ndarray, tool: np.ndarray | float, speed: float = 1.0) -> Action:
        cur_pos, cur_quat = self.pose()
        dp = self.gain * (np.asarray(pos) - cur_pos)
        limit = MAX_TRANSLATION * speed
        n = np.linalg.norm(dp)
        if n > limit:
            dp *= limit / n
        dr = np.clip(self.rot_gain * quat_error(quat, cur_quat), -MAX_ROTATION, MAX_ROTATION)
        return np.r_[np.r_[dp, dr] / self.scale, np.broadcast_to(tool, (self.tool_dim,))].astype(np.float32)


def move_to(arm: Arm, target: Callable[[], tuple[np.ndarray, np.ndarray]] | tuple[np.ndarray, np.ndarray],
            tool, tol: float = 0.006, rot_tol: float = 0.08, max_steps: int = 80, speed: float = 1.0,
            measured: bool = False) -> Plan:
    """Servo the tool to a pose (or a pose function re-evaluated every step) until within tolerance.

    The tolerance is checked on the nominal pose (Arm.nominal_pose) unless `measured`: a grasp whose
    success needs the real tool within millimetres (a pinch) waits for it."""
    for _ in range(max_steps):
        pos, quat = target() if callable(target) else target
        cur_pos, cur_quat = arm.pose() if measured else arm.nominal_pose()
        if np.linalg.norm(pos - cur_pos) < tol and np.linalg.norm(quat_error(quat, cur_quat)) < rot_tol:
            return
        yield arm.action(pos, quat, tool, speed)


def hold(arm: Arm, tool, steps: int, target: tuple[np.ndarray, np.ndarray] | None = None) -> Plan:
    """Stay at the current (or given) pose for a number of steps while commanding the tool."""
    pos, quat = target if target is not None else arm.pose()
    for _ in range(steps):
        yield arm.action(pos, quat, tool)


def pick(arm: Arm, body: str, grasp_height: float, yaw_symmetry: float = np.pi / 2, approach: float = 0.1,
         lift: float = 0.12, close_steps: int = 10) -> Plan:
    """Top-down grasp of `body` (origin at its bottom center) and lift."""
    env = arm.env
    _, cur_q = arm.pose()
    yaw = grasp_yaw(yaw_of(env.body_quat(body)), yaw_symmetry, yaw_of_tool(cur_q))
    quat = down_quat(yaw)

    def above():
        return env.body_pos(body) + [0, 0, grasp_height + approach], quat

    def at():
        return env.body_pos(body) + [0, 0, grasp_height], quat

    yield from move_to(arm, above, OPEN, tol=0.01)
    yield from move_to(arm, at, OPEN, tol=0.005, speed=0.5)
    target = at()
    yield from hold(arm, CLOSE, close_steps, target)
    yield from move_to(arm, (target[0] + [0, 0, lift], quat), CLOSE, tol=0.01)


def place(arm: Arm, xyz: np.ndarray, approach: float = 0.08, release_steps: int = 6, retreat: float = 0.1,
          touch_tol: float = 0.006, xy_tol: float = 0.008, max_steps: int = 80) -> Plan:
    """Carry the held object above `xyz` (the tool point at release), lower, open and retreat.

    The gripper opens once the measured tool height is within `touch_tol` of `xyz`'s (and the nominal xy
    within `xy_tol`): a moment the policy can see in its state. Gated on the whole nominal pose within 5 mm,
    the release waited a varying number of steps for the lagging arm's xy to settle, which no observation
    shows, and trained policies learnt no release time (docs/RESULTS.md, "The release")."""
    _, quat = arm.pose()
    xyz = np.asarray(xyz, float)
    yield from move_to(arm, (xyz + [0, 0, approach], quat), CLOSE, tol=0.008)
    for _ in range(max_steps):
        measured, _ = arm.pose()
        nominal, _ = arm.nominal_pose()
        if measured[2] - xyz[2] < touch_tol and np.linalg.norm(nominal[:2] - xyz[:2]) < xy_tol:
            break
        yield arm.action(xyz, quat, CLOSE, speed=0.4)
    yield from hold(arm, OPEN, release_steps, (xyz, quat))
    yield from move_to(arm, (xyz + [0, 0, retreat], quat), OPEN, tol=0.01)


def yaw_of_tool(quat: np.ndarray) -> float:
    """Yaw of a downward tool relative to `down_quat(0)`."""
    m = np.zeros(9)
    mujoco.mju_quat2Mat(m, quat)
    r = m.reshape(3, 3) @ _DOWN.T
    return float(np.arctan2(r[1, 0], r[0, 0]))


class PlanExpert:
    """Runs a plan generator; after the plan ends, holds still with the tool in its last state."""

    def __init__(self, plan_fn: Callable[[Arm], Plan]):
        self.plan_fn = plan_fn
        self._plan: Plan | None = None
        self._arm: Arm | None = None
        self._last_tool = OPEN

    def set_perturbation(self, translation: np.ndarray) -> None:
        """Tell the plan the translation the collector added to the last action (see Arm.nominal_pose)."""
        assert self._arm is not None, "call reset(env) first"
        self._arm.perturbation = np.asarray(translation, float).copy()

    def reset(self, env) -> None:
        self._arm = Arm(env)
        self._plan = self.plan_fn(self._arm)
        self._last_tool = OPEN

    def act(self, env) -> Action:
        assert self._arm is not None and self._plan is not None, "call reset(env) first"
        try:
            action = next(self._plan)
            self._last_tool = action[6:]
            return action
        except StopIteration:
            pos, quat = self._arm.pose()
            return self._arm.action(pos, quat, self._last_tool)
