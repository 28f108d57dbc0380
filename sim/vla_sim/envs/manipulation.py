"""A gymnasium environment: a Panda arm with a tool on the shared table, and one task.

Observations use LeRobot's feature names: `observation.images.<camera>` (uint8 HxWx3),
`observation.state` (float32) and `task` (the instruction). Actions (float32), then the tool's slice:
- `action_mode="delta"` (default; what the experts and datasets record): end-effector delta pose in the
  world frame (metres, axis-angle radians; see `vla_sim.controller`);
- `action_mode="pose"`: an end-effector pose target (world position, 6D rotation), turned into the same
  clipped delta against the measured pose at each step.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import gymnasium as gym
import mujoco
import numpy as np

from vla_sim import grounding, scene
from vla_sim.controller import MAX_ROTATION, MAX_TRANSLATION, EEDeltaController, pose_to_delta
from vla_sim.render import CameraRig, RenderMode
from vla_sim.robots.panda import HOME_QPOS, ArmNames, add_panda
from vla_sim.tasks.base import Task
from vla_sim.tools import ParallelGripper, Tool

CONTROL_HZ = 20
MAX_RESET_DRAWS = 20  # scenes drawn per reset until one does not already satisfy the task
PHYSICS_DT = 0.002
ARM_ACTION_NAMES = ("ee.dx", "ee.dy", "ee.dz", "ee.drx", "ee.dry", "ee.drz")
ARM_POSE_ACTION_NAMES = ("ee.x", "ee.y", "ee.z") + tuple(f"ee.rot6d.{i}" for i in range(6))
ACTION_MODES = ("delta", "pose")
WORKSPACE_HALF = (1.0, 1.0, 1.0)  # pose targets are clipped to this box around the arm's base (m)
ARM_STATE_NAMES = tuple(f"arm.joint{i}" for i in range(1, 8)) + ("ee.x", "ee.y", "ee.z", "ee.qw", "ee.qx",
                                                                  "ee.qy", "ee.qz")
CAMERAS = (scene.SCENE_CAMERA, scene.WRIST_CAMERA)
_TEXT_CHARSET = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.'-")


class ManipulationEnv(gym.Env):
    """Tabletop manipulation with domain randomization, seeded and reproducible.

    render_mode: "fast" or "default" renders the cameras into the observation; None turns cameras off
    (state-only observations, for fast expert evaluation).
    """

    metadata = {"render_modes": ["fast", "default"], "render_fps": CONTROL_HZ}

    def __init__(self, task: Task, *, suite: str = "", render_mode: RenderMode | None = "fast",
                 image_size: int | tuple[int, int] = 128, cameras: Sequence[str] = CAMERAS,
                 tool: Tool | None = None, randomize: bool = True, action_mode: str = "delta"):
        self.task = task
        self.suite = suite
        self.tool = tool or ParallelGripper()
        self.render_mode = render_mode
        self.randomize = randomize
        self.height, self.width = (image_size, image_size) if isinstance(image_size, int) else image_size
        self.cameras = tuple(cameras) if render_mode else ()
        for cam in self.cameras:
            if cam not in CAMERAS:
                raise ValueError(f"unknown camera {cam!r}: valid are {', '.join(CAMERAS)}")

        self.model, self.names = self._build()
        self.data = mujoco.MjData(self.model)
        self.tool.bind(self.model)
        self.n_substeps = int(round(1.0 / CONTROL_HZ / PHYSICS_DT))
        self.controller = EEDeltaController(self.model, self.names.ee_site, self.names.joints, HOME_QPOS,
                                            1.0 / CONTROL_HZ)
        self.arm_qadr = self.controller.arm_qadr
        self.arm_act = np.array([self.model.actuator(a).id for a in self.names.actuators])
        self._nominal = self._snapshot_nominal()
        self._rig = CameraRig(self.model, self.cameras, self.height, self.width, render_mode) if self.cameras else None
        self._cam_ids = {c: self.model.camera(c).id for c in CAMERAS}

        self.set_action_mode(action_mode)
        self.state_names = ARM_STATE_NAMES + self.tool.state_names
        spaces: dict[str, gym.Space] = {
            f"observation.images.{c}": gym.spaces.Box(0, 255, (self.height, self.width, 3), np.uint8)
            for c in self.cameras
        }
        spaces["observation.state"] = gym.spaces.Box(-np.inf, np.inf, (len(self.state_names),), np.float32)
        spaces["task"] = gym.spaces.Text(max_length=256, charset=_TEXT_CHARSET)
        self.observation_space = gym.spaces.Dict(spaces)
        self.instruction = ""
        self.steps = 0
        self._rng = np.random.default_rng()

    def set_action_mode(self, mode: str) -> None:
        """Switch between end-effector deltas ("delta") and pose targets ("pose"); see the module docstring."""
        if mode not in ACTION_MODES:
            raise ValueError(f"unknown action_mode {mode!r}: valid are {', '.join(ACTION_MODES)}")
        if mode == "delta":
            arm_low = np.r_[[-MAX_TRANSLATION] * 3, [-MAX_ROTATION] * 3]
            arm_high, arm_names = -arm_low, ARM_ACTION_NAMES
        else:
            base, half = np.asarray(scene.ROBOT_BASE), np.asarray(WORKSPACE_HALF)
            arm_low, arm_high = np.r_[base - half, [-1.0] * 6], np.r_[base + half, [1.0] * 6]
            arm_names = ARM_POSE_ACTION_NAMES
        self.action_mode, self._arm_dim = mode, len(arm_names)
        self.action_space = gym.spaces.Box(np.r_[arm_low, self.tool.action_low].astype(np.float32),
                                           np.r_[arm_high, self.tool.action_high].astype(np.float32),
                                           dtype=np.float32)
        self.action_names = arm_names + self.tool.action_names

    # ----------------------------------------------------------------- building
    def _build(self) -> tuple[mujoco.MjModel, ArmNames]:
        spec = scene.base_scene(f"{self.suite}-{self.task.name}")
        tool_spec, tool_root = self.tool.spec()
        names = add_panda(spec.worldbody, spec, pos=scene.ROBOT_BASE, tool=tool_spec, tool_body=tool_root,
                          tool_prefix=self.tool.prefix)
        if getattr(self.tool, "ee_site", None):  # a tool with its own control point (e.g. a hand's palm)
            names = dataclasses.replace(names, ee_site=f"robot0_{self.tool.prefix}{self.tool.ee_site}")
        scene.add_wrist_camera(spec.body(names.flange_body))
        self.task.build(spec)
        return spec.compile(), names

    def _snapshot_nominal(self) -> dict[str, np.ndarray]:
        m = self.model
        return {"light_diffuse": m.light_diffuse.copy(), "light_pos": m.light_pos.copy(),
                "light_dir": m.light_dir.copy(), "cam_pos": m.cam_pos.copy(), "cam_quat": m.cam_quat.copy(),
                "geom_rgba": m.geom_rgba.copy()}

    # ----------------------------------------------------------------- gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._rng = np.random.default_rng(seed)
        m, d = self.model, self.data
        # A scene that already satisfies the task is drawn again from the same seeded stream (same seed, same
        # scene): e.g. place_block_relative put the block inside its goal region for 4% of seeds, a free success.
        for _ in range(MAX_RESET_DRAWS):
            mujoco.mj_resetData(m, d)
            for key, value in self._nominal.items():
                getattr(m, key)[:] = value
            if self.randomize:
                self._randomize_appearance(self._rng)
            q0 = HOME_QPOS + (self._rng.uniform(-0.03, 0.03, 7) if self.randomize else 0)
            d.qpos[self.arm_qadr] = q0
            d.ctrl[self.arm_act] = q0
            self.tool.reset(d)
            self.task.reset(self, self._rng)
            mujoco.mj_forward(m, d)
            self.controller.reset(d)
            for _ in range(40):  # let objects settle onto the table
                mujoco.mj_step(m, d)
            if not self.task.success(self):
                break
        else:
            raise RuntimeError(f"task {self.task.name} started solved in {MAX_RESET_DRAWS} draws for seed {seed}")
        self.steps = 0
        self.instruction = self.task.instruction(self._rng)
        return self._observation(), self._info()

    def step(self, action: np.ndarray):
        action = np.asarray(action, dtype=np.float64).reshape(-1)
        if action.shape != self.action_space.shape:
            raise ValueError(f"action has shape {action.shape}: expected {self.action_space.shape} "
                             f"({', '.join(self.action_names)})")
        if not np.all(np.isfinite(action)):
            raise ValueError("action contains NaN or Inf")
        action = np.clip(action, self.action_space.low, self.action_space.high)
        m, d = self.model, self.data
        if self.action_mode == "pose":
            dpos, drot = pose_to_delta(*self.controller.ee_pose(d), action[:3], action[3:9])
        else:
            dpos, drot = action[:3], action[3:6]
        self.task.before_step(self)
        d.ctrl[self.arm_act] = self.controller.joint_targets(d, dpos, drot)
        self.tool.apply(d, action[self._arm_dim:])
        for _ in range(self.n_substeps):
            self.task.before_substep(self)
            mujoco.mj_step(m, d)
        self.steps += 1
        success = bool(self.task.success(self))
        truncated = self.steps >= self.task.max_steps
        return self._observation(), float(success), success, truncated, self._info(success)

    def render(self):
        if self._rig is None:
            return None
        return np.concatenate(list(self._rig.render(self.data).values()), axis=1)

    def close(self):
        if getattr(self, "_rig", None) is not None:
            self._rig.close()
            self._rig = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    # ----------------------------------------------------------------- observations
    def state(self) -> np.ndarray:
        pos, quat = self.controller.ee_pose(self.data)
        return np.concatenate([self.data.qpos[self.arm_qadr], pos, quat, self.tool.state(self.data)]).astype(np.float32)

    def _observation(self) -> dict[str, Any]:
        obs: dict[str, Any] = {}
        if self._rig is not None:
            for cam, img in self._rig.render(self.data).items():
                obs[f"observation.images.{cam}"] = img
        obs["observation.state"] = self.state()
        obs["task"] = self.instruction
        return obs

    def _info(self, success: bool = False) -> dict[str, Any]:
        return {"success": success, "grounding": self.grounding(), "steps": self.steps}

    def grounding(self) -> dict[str, np.ndarray]:
        """Per camera: target object points (K,2) and boxes (K,4), and the end-effector point (2,)."""
        m, d = self.model, self.data
        targets = self.task.grounding_targets(self)
        centers = np.array([corners.mean(axis=0) for corners in targets])
        ee = d.site_xpos[self.controller.site_id]
        out = {}
        for cam in CAMERAS:
            cid = self._cam_ids[cam]
            out[f"grounding.{cam}.target_points"] = grounding.in_image(grounding.project_points(
                m, d, cid, centers, self.height, self.width), self.height, self.width).astype(np.float32)
            out[f"grounding.{cam}.target_boxes"] = np.array(
                [grounding.project_corners_box(m, d, cid, c, self.height, self.width) for c in targets], np.float32)
            out[f"grounding.{cam}.ee_point"] = grounding.in_image(grounding.project_points(
                m, d, cid, ee, self.height, self.width), self.height, self.width)[0].astype(np.float32)
        return out

    # ----------------------------------------------------------------- helpers for tasks and experts
    def _randomize_appearance(self, rng: np.random.Generator) -> None:
        m = self.model
        m.light_diffuse[:] = self._nominal["light_diffuse"] * rng.uniform(0.7, 1.3, (m.nlight, 1))
        m.light_pos[:] = self._nominal["light_pos"] + rng.uniform(-0.3, 0.3, (m.nlight, 3))
        cid = m.camera(scene.SCENE_CAMERA).id
        m.cam_pos[cid] = self._nominal["cam_pos"][cid] + rng.uniform(-0.03, 0.03, 3)
        jitter = np.zeros(4)
        mujoco.mju_axisAngle2Quat(jitter, rng.normal(size=3) / np.sqrt(3), np.deg2rad(rng.uniform(0, 2.5)))
        mujoco.mju_mulQuat(m.cam_quat[cid], jitter, self._nominal["cam_quat"][cid].copy())
        table = m.geom("table").id
        m.geom_rgba[table, :3] = np.clip(self._nominal["geom_rgba"][table, :3] + rng.uniform(-0.12, 0.12, 3), 0, 1)

    @property
    def robot_type(self) -> str:
        return f"panda_{self.tool.name}"

    @property
    def rng(self) -> np.random.Generator:
        return self._rng

    def body_pos(self, body: str) -> np.ndarray:
        return self.data.xpos[self.model.body(body).id].copy()

    def body_quat(self, body: str) -> np.ndarray:
        return self.data.xquat[self.model.body(body).id].copy()

    def ee_pose(self) -> tuple[np.ndarray, np.ndarray]:
        return self.controller.ee_pose(self.data)

