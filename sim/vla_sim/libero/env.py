"""One LIBERO task as a gymnasium environment with the project's observation names.

- Observations: `observation.images.scene` (LIBERO's `agentview`), `observation.images.wrist`
  (`robot0_eye_in_hand`), rendered by `vla_sim.render.CameraRig` upright (row 0 at the top; robosuite's own
  images are upside down), `observation.state` (joints, end-effector position and wxyz quaternion, finger
  positions) and `task` (the instruction LIBERO derives from the task's file name).
- Actions: LIBERO's own, so converted LIBERO demonstrations and policies trained here mean the same thing:
  robosuite's OSC_POSE delta in [-1, 1] (x 0.05 m and x 0.5 rad per step, base frame) and the gripper
  (-1 open, +1 closed), at 20 Hz.
- `reset(seed=s)` draws a new scene from LIBERO's placement regions (seeded: for collecting data);
  `reset(seed=s, options={"init_state": k})` applies official initial state k (for evaluation). Both then
  take `SETTLE_STEPS` no-op steps.
"""

from __future__ import annotations

import os
import re
from typing import Any, Sequence

import gymnasium as gym
import mujoco
import numpy as np

from vla_sim import grounding
from vla_sim.libero.geometry import Geometry
from vla_sim.libero import OFFICIAL_STATES, SETTLE_STEPS, SUITE_MAX_STEPS, language_from_name, task_names
from vla_sim.render import CameraRig, RenderMode

CONTROL_HZ = 20
CAMERAS = {"scene": "agentview", "wrist": "robot0_eye_in_hand"}  # project name -> LIBERO camera
EE_SITE = "gripper0_grip_site"
COLLISION_GROUP = 0  # robosuite's collision geoms, not drawn
ACTION_NAMES = ("osc.dx", "osc.dy", "osc.dz", "osc.drx", "osc.dry", "osc.drz", "gripper")
OSC_MAX_TRANSLATION, OSC_MAX_ROTATION = 0.05, 0.5  # what an action of 1 means (robosuite's OSC_POSE defaults)
STATE_NAMES = tuple(f"arm.joint{i}" for i in range(1, 8)) + ("ee.x", "ee.y", "ee.z", "ee.qw", "ee.qx", "ee.qy",
                                                            "ee.qz", "gripper.finger_left", "gripper.finger_right")
NOOP = np.array([0, 0, 0, 0, 0, 0, -1], np.float64)  # hold still, gripper open


class LiberoTask:
    """What the runners read from `env.task`: name, episode length, success, grounding targets."""

    def __init__(self, suite: str, name: str, index: int) -> None:
        self.suite, self.name, self.index = suite, name, index
        self.max_steps = SUITE_MAX_STEPS[suite]
        self.instruction = language_from_name(name)

    def success(self, env: "LiberoEnv") -> bool:
        return bool(env.raw.check_success())

    def milestones(self, env: "LiberoEnv") -> dict[str, bool]:
        """No stages for LIBERO's goals yet (see Task.milestones)."""
        return {}

    def end_state(self, env: "LiberoEnv") -> dict[str, bool]:
        """Nothing recorded at an episode's end yet (see Task.end_state)."""
        return {}

    def target_bodies(self, env: "LiberoEnv") -> list[str]:
        """The root bodies of the BDDL's objects of interest, in the file's order (a region: its parent's)."""
        inner = env.raw.env
        bodies = []
        for name in inner.obj_of_interest:
            thing = inner.get_object(name)
            while not hasattr(thing, "root_body"):
                thing = inner.get_object(thing.parent_name)
            bodies.append(thing.root_body)
        return bodies


class LiberoEnv(gym.Env):
    """A LIBERO task (robosuite 1.4.0 underneath), rendered by the project's camera rig."""

    metadata = {"render_modes": ["fast", "default"], "render_fps": CONTROL_HZ}
    robot_type = "panda_libero"
    arm_action_scale = np.array([OSC_MAX_TRANSLATION] * 3 + [OSC_MAX_ROTATION] * 3)  # what an action of 1 means

    def __init__(self, suite: str, task: str, *, render_mode: RenderMode | None = "fast",
                 image_size: int | tuple[int, int] = 128, cameras: Sequence[str] = tuple(CAMERAS),
                 action_mode: str = "delta"):
        names = task_names(suite)
        self.task = LiberoTask(suite, task, names.index(task))
        self.suite = suite
        self.render_mode = render_mode
        self.height, self.width = (image_size, image_size) if isinstance(image_size, int) else image_size
        self.cameras = tuple(cameras) if render_mode else ()
        for cam in self.cameras:
            if cam not in CAMERAS:
                raise ValueError(f"unknown camera {cam!r}: valid are {', '.join(CAMERAS)}")
        self.set_action_mode(action_mode)
        self.state_names = STATE_NAMES

        benchmark = _benchmark(suite)
        self._bddl = benchmark.get_task_bddl_file_path(self.task.index)
        self.init_states = np.asarray(benchmark.get_task_init_states(self.task.index), np.float64)
        self.raw = _make_control_env(self._bddl)
        self._rig: CameraRig | None = None
        self._rig_model: Any = None
        self._targets: list[Geometry] | None = None  # grounding targets, made at the first reset
        self.instruction = self.task.instruction
        self.steps = 0
        self._obs: dict[str, np.ndarray] = {}

        spaces: dict[str, gym.Space] = {
            f"observation.images.{c}": gym.spaces.Box(0, 255, (self.height, self.width, 3), np.uint8)
            for c in self.cameras
        }
        spaces["observation.state"] = gym.spaces.Box(-np.inf, np.inf, (len(STATE_NAMES),), np.float32)
        spaces["task"] = gym.spaces.Text(max_length=256)
        self.observation_space = gym.spaces.Dict(spaces)

    @property
    def official_initial_states(self) -> int:
        return min(OFFICIAL_STATES, len(self.init_states))

    def set_action_mode(self, mode: str) -> None:
        if mode != "delta":
            raise ValueError(f"LIBERO tasks take LIBERO's own delta actions only (action_mode 'delta', got {mode!r})")
        self.action_mode = mode
        self.action_space = gym.spaces.Box(-1.0, 1.0, (len(ACTION_NAMES),), np.float32)
        self.action_names = ACTION_NAMES

    # ----------------------------------------------------------------- gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        # robosuite draws placements (and fixture poses) from numpy's global generator: seed it per episode.
        self.raw.seed(0 if seed is None else int(seed) % 2**32)
        self.raw.reset()
        _reset_gripper_commands(self.raw.env)
        if "init_state" in options:
            k = int(options["init_state"])
            if not 0 <= k < len(self.init_states):
                raise ValueError(f"initial state {k} is out of range: {self.suite}/{self.task.name} has "
                                 f"{len(self.init_states)} (0-{len(self.init_states) - 1})")
            self.raw.set_init_state(self.init_states[k])
        for _ in range(SETTLE_STEPS):
            obs, *_ = self.raw.step(NOOP)
        self._obs = obs
        self.steps = 0
        return self._observation(), self._info(False)

    def step(self, action: np.ndarray):
        action = np.asarray(action, dtype=np.float64).reshape(-1)
        if action.shape != self.action_space.shape:
            raise ValueError(f"action has shape {action.shape}: expected {self.action_space.shape} "
                             f"({', '.join(self.action_names)})")
        if not np.all(np.isfinite(action)):
            raise ValueError("action contains NaN or Inf")
        self._obs, *_ = self.raw.step(np.clip(action, -1.0, 1.0))
        self.steps += 1
        success = self.task.success(self)
        truncated = self.steps >= self.task.max_steps
        return self._observation(), float(success), success, truncated, self._info(success)

    def render(self):
        images = self._render()
        return np.concatenate(list(images.values()), axis=1) if images else None

    def close(self):
        if getattr(self, "_rig", None) is not None:
            self._rig.close()
            self._rig = None
        raw = getattr(self, "raw", None)
        if raw is not None and hasattr(raw, "env"):
            raw.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    # ----------------------------------------------------------------- observations
    @property
    def model(self) -> mujoco.MjModel:
        return self.raw.sim.model._model

    @property
    def data(self) -> mujoco.MjData:
        return self.raw.sim.data._data

    def state(self) -> np.ndarray:
        o = self._obs
        x, y, z, w = o["robot0_eef_quat"]  # robosuite: xyzw
        return np.concatenate([o["robot0_joint_pos"], o["robot0_eef_pos"], [w, x, y, z],
                               o["robot0_gripper_qpos"]]).astype(np.float32)

    def ee_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """The grip site's world position and wxyz orientation."""
        sid = self.model.site(EE_SITE).id
        quat = np.zeros(4)
        mujoco.mju_mat2Quat(quat, self.data.site_xmat[sid])
        return self.data.site_xpos[sid].copy(), quat

    def body_pos(self, body: str) -> np.ndarray:
        return self.data.xpos[self.model.body(body).id].copy()

    def body_quat(self, body: str) -> np.ndarray:
        return self.data.xquat[self.model.body(body).id].copy()

    def _render(self) -> dict[str, np.ndarray]:
        if not self.cameras:
            return {}
        if self._rig is None or self._rig_model is not self.model:  # robosuite rebuilds the model on hard resets
            if self._rig is not None:
                self._rig.close()
            self._rig = CameraRig(self.model, [CAMERAS[c] for c in self.cameras], self.height, self.width,
                                  self.render_mode, low_poly=False,
                                  hidden_groups=(COLLISION_GROUP,))
            self._rig_model = self.model
        images = self._rig.render(self.data)
        return {c: images[CAMERAS[c]] for c in self.cameras}

    def _observation(self) -> dict[str, Any]:
        obs: dict[str, Any] = {f"observation.images.{c}": img for c, img in self._render().items()}
        obs["observation.state"] = self.state()
        obs["task"] = self.instruction
        return obs

    def _info(self, success: bool) -> dict[str, Any]:
        return {"success": success, "grounding": self.grounding(), "steps": self.steps}

    def grounding(self) -> dict[str, np.ndarray]:
        """Per camera: points (K,2) and boxes (K,4) of the BDDL's objects of interest (objects or regions, from
        their mesh vertices), and the end-effector point (2,)."""
        m, d = self.model, self.data
        if self._targets is None:
            self._targets = [Geometry(self, name) for name in self.raw.env.obj_of_interest]
        shapes = [t.hull_points() for t in self._targets]
        centers = np.array([(p.min(axis=0) + p.max(axis=0)) / 2 for p in shapes])
        ee = self.ee_pose()[0]
        h, w = self.height, self.width
        out = {}
        for cam, libero_cam in CAMERAS.items():
            cid = m.camera(libero_cam).id
            out[f"grounding.{cam}.target_points"] = grounding.in_image(
                grounding.project_points(m, d, cid, centers, h, w), h, w).astype(np.float32)
            out[f"grounding.{cam}.target_boxes"] = np.array(
                [grounding.points_box(grounding.project_points(m, d, cid, p, h, w), h, w) for p in shapes], np.float32)
            out[f"grounding.{cam}.ee_point"] = grounding.in_image(
                grounding.project_points(m, d, cid, ee, h, w), h, w)[0].astype(np.float32)
        return out


def _benchmark(suite: str):
    _quiet_imports()
    from libero.libero import benchmark

    return benchmark.get_benchmark(suite)(task_order_index=0)


def _make_control_env(bddl: str):
    """LIBERO's ControlEnv without robosuite's own cameras: the project's rig renders instead (one render a
    step, two looks). `ignore_done`: episode length is this adapter's business."""
    _quiet_imports()
    from libero.libero.envs.env_wrapper import ControlEnv

    return ControlEnv(bddl_file_name=bddl, has_offscreen_renderer=False, use_camera_obs=False,
                      control_freq=CONTROL_HZ, ignore_done=True, hard_reset=False)


def _quiet_imports() -> None:
    """robosuite 1.4 forces MUJOCO_GL=egl unless it is osmesa/glx, and LIBERO reads a user config file if one
    exists: pin both to what this process already uses / the package's defaults."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    os.environ.setdefault("LIBERO_CONFIG_PATH", os.path.join(os.path.dirname(__file__), "_no_user_config"))



def bddl_goal(suite: str, task: str) -> list[list[str]]:
    """The task's goal predicates, lower-cased, e.g. [["on", "akita_black_bowl_1", "plate_1"]], read from the
    `(:goal (And ...))` block of its BDDL file without importing the simulator."""
    from importlib.util import find_spec

    root = os.path.dirname(find_spec("libero.libero").origin)
    with open(os.path.join(root, "bddl_files", suite, f"{task}.bddl"), encoding="utf-8") as f:
        text = f.read()
    goal = text[text.lower().index("(:goal"):]
    return [[w.lower() for w in m.split()] for m in re.findall(r"\((\w+(?: \w+)+)\)", goal)]


def _reset_gripper_commands(inner) -> None:
    """robosuite moves each gripper a step at a time toward its last command and keeps that command across
    resets (only a new env starts from zero): an episode would depend on how the one before it ended (libero_goal
    task 0 lost 3 of 12 episodes after ones that ended with the fingers closed). Every episode starts as the
    first one of a fresh env does."""
    for robot in inner.robots:
        grippers = robot.gripper.values() if isinstance(robot.gripper, dict) else [robot.gripper]
        for gripper in grippers:
            gripper.current_action = np.zeros(gripper.dof)
