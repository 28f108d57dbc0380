"""The toy suite: one short task for quick end-to-end learning tests (a tiny policy learns it in minutes).

reach_pad: a colored pad lies at a random place on the table; move the gripper above it. The scripted
expert needs about 10-25 steps.
"""

from __future__ import annotations

import mujoco
import numpy as np

from vla_sim import objects
from vla_sim.tasks.base import Task
from vla_sim.tasks.pick_place import color_rgb, pick_colors

PAD = "target_pad"
PAD_HALF = 0.04
PAD_X = (-0.04, 0.2)  # pad center ranges on the table (m): all reachable, all in the scene view
PAD_Y = (-0.2, 0.2)
SUCCESS_XY = 0.04  # tool point within this horizontal distance of the pad's center ...
SUCCESS_Z = 0.12  # ... and below this height above the table


class ReachPad(Task):
    name = "reach_pad"
    instructions = (
        "move the gripper above the {color} pad",
        "put the gripper over the {color} pad",
        "reach the {color} pad",
        "hover just above the {color} square",
    )
    max_steps = 60
    num_targets = 1

    def build(self, spec: mujoco.MjSpec) -> None:
        objects.add_target_pad(spec.worldbody, PAD, half=PAD_HALF)

    def reset(self, env, rng) -> None:
        m, d = env.model, env.data
        mocap = m.body(PAD).mocapid[0]
        d.mocap_pos[mocap] = [rng.uniform(*PAD_X), rng.uniform(*PAD_Y), 0.0]
        d.mocap_quat[mocap] = [1, 0, 0, 0]
        color = pick_colors(rng, 1)[0]
        objects.set_body_rgba(m, PAD, color_rgb(rng, color))
        self.slots = {"color": color}

    def pad_xy(self, env) -> np.ndarray:
        return env.data.mocap_pos[env.model.body(PAD).mocapid[0], :2].copy()

    def success(self, env) -> bool:
        ee, _ = env.ee_pose()
        return bool(np.linalg.norm(ee[:2] - self.pad_xy(env)) < SUCCESS_XY and ee[2] < SUCCESS_Z)

    def target_bodies(self, env) -> list[str]:
        return [PAD]
