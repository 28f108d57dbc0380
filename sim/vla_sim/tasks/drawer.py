"""Drawer tasks: open or close the drawer of a cabinet placed (and turned a little) at random."""

from __future__ import annotations

import mujoco
import numpy as np

from vla_sim import objects
from vla_sim.tasks.base import Task
from vla_sim.tasks.pick_place import gripper_holding

CABINET = "cabinet"
HANDLE = f"{CABINET}_handle"
SLIDE = f"{CABINET}_slide"
SLIDE_MAX = 0.16
HANDLE_Z = 0.122  # height of the handle bar's axis above the table (the drawer front spans 0.004-0.136)
CAB_X = (0.2, 0.26)
CAB_Y = (-0.1, 0.1)
CAB_YAW = (-0.25, 0.25)  # rad, about z: the drawer still opens roughly toward the robot

_WOODS = ((0.45, 0.33, 0.22), (0.6, 0.45, 0.3), (0.35, 0.25, 0.18), (0.55, 0.55, 0.52), (0.3, 0.35, 0.45))


class _DrawerTask(Task):
    """Shared cabinet building and randomization; subclasses set the initial opening and success."""

    num_targets = 2
    initial_slide: tuple[float, float] = (0.0, 0.0)

    def build(self, spec: mujoco.MjSpec) -> None:
        objects.add_drawer_cabinet(spec, spec.worldbody, CABINET, pos=(0.23, 0.0, 0.0))
        # Mount the handle high on the drawer front: the cabinet's top overhangs the handle, and at
        # mid height the Panda hand (21 cm across its closing axis) would hit the top when pinching
        # the bar from above; at this height it clears the top.
        handle = spec.body(HANDLE)
        handle.pos = [handle.pos[0], handle.pos[1], HANDLE_Z]

    def reset(self, env, rng) -> None:
        m, d = env.model, env.data
        cab = m.body(CABINET).id
        self.yaw = float(rng.uniform(*CAB_YAW))
        m.body_pos[cab] = [rng.uniform(*CAB_X), rng.uniform(*CAB_Y), 0.0]
        m.body_quat[cab] = [np.cos(self.yaw / 2), 0, 0, np.sin(self.yaw / 2)]
        self.start_slide = float(rng.uniform(*self.initial_slide))
        d.qpos[m.joint(SLIDE).qposadr[0]] = self.start_slide
        # Wood tones for the carcass and the drawer (the handle stays metal).
        wood = np.array(_WOODS[int(rng.integers(len(_WOODS)))])
        carcass = np.clip(wood + rng.uniform(-0.05, 0.05, 3), 0, 1)
        objects.set_body_rgba(m, CABINET, carcass)
        objects.set_body_rgba(m, f"{CABINET}_drawer", np.clip(carcass + rng.uniform(0.1, 0.25), 0, 1))
        self.slots = {}

    def slide(self, env) -> float:
        return float(env.data.qpos[env.model.joint(SLIDE).qposadr[0]])

    def pull_direction(self, env) -> np.ndarray:
        """Unit vector (world) along which the drawer opens."""
        return np.array([-np.cos(self.yaw), -np.sin(self.yaw), 0.0])

    def target_bodies(self, env) -> list[str]:
        return [HANDLE, CABINET]

    def handle_reached(self, env) -> bool:
        ee, _ = env.ee_pose()
        return bool(np.linalg.norm(ee - env.body_pos(HANDLE)) < 0.04)


class OpenDrawer(_DrawerTask):
    name = "open_drawer"
    instructions = (
        "open the drawer",
        "pull the drawer open",
        "pull out the drawer of the cabinet",
        "grab the handle and open the drawer",
    )
    max_steps = 200
    initial_slide = (0.0, 0.015)

    def success(self, env) -> bool:
        return self.slide(env) > 0.12

    def milestones(self, env) -> dict[str, bool]:
        slide = self.slide(env)
        return {"reached": self.handle_reached(env), "moved": slide > self.start_slide + 0.03, "half": slide > 0.06}


class CloseDrawer(_DrawerTask):
    name = "close_drawer"
    instructions = (
        "close the drawer",
        "push the drawer shut",
        "push the open drawer closed",
        "shut the drawer of the cabinet",
    )
    max_steps = 200
    initial_slide = (0.12, SLIDE_MAX)
    #: The tool point must end this far from the handle bar (the robot let go of the drawer).
    min_clearance = 0.05

    def success(self, env) -> bool:
        if self.slide(env) >= 0.01 or gripper_holding(env):
            return False
        ee, _ = env.ee_pose()
        return bool(np.linalg.norm(ee - env.body_pos(HANDLE)) > self.min_clearance)

    def milestones(self, env) -> dict[str, bool]:
        slide = self.slide(env)
        return {"reached": self.handle_reached(env), "moved": slide < self.start_slide - 0.03, "shut": slide < 0.01}
