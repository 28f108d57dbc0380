"""The Allegro Hand as an end-effector tool: 16 absolute joint position targets."""

from __future__ import annotations

import numpy as np

from vla_sim.robots import allegro
from vla_sim.tools import Tool

#: The hand's rest pose at reset: fingers straight, thumb turned in a little (rad).
OPEN_QPOS = np.clip(np.zeros(16), allegro.JOINT_LIMITS[:, 0], allegro.JOINT_LIMITS[:, 1])
OPEN_QPOS[12] = 0.6


class AllegroHandTool(Tool):
    """Right Allegro Hand on the Panda flange.

    Action slice: 16 absolute joint position targets (rad) for joint_0.0 ... joint_15.0 (index 0-3,
    middle 4-7, ring 8-11, thumb 12-15), clipped to the URDF joint limits (`action_low`/`action_high`).
    State slice: the 16 measured joint positions (rad), same order. The arm controls the site
    `ee_site` on the palm.
    """

    name = "allegro_hand"
    prefix = "allegro_"
    ee_site = allegro.EE_SITE
    action_names = tuple(f"hand.{j}" for j in allegro.JOINT_NAMES)
    state_names = tuple(f"hand.{j}" for j in allegro.JOINT_NAMES)

    def __init__(self, mount: allegro.MountPose = allegro.MountPose()):
        self.mount = mount

    def spec(self):
        return allegro.allegro_hand(self.mount)

    def full_name(self, name: str) -> str:
        """Name of a hand element in the compiled model (after the arm's and the tool's prefixes)."""
        return f"robot0_{self.prefix}{name}"

    def bind(self, model):
        self.qadr = np.array([model.joint(self.full_name(j)).qposadr[0] for j in allegro.JOINT_NAMES])
        self.dadr = np.array([model.joint(self.full_name(j)).dofadr[0] for j in allegro.JOINT_NAMES])
        self.act_ids = np.array([model.actuator(self.full_name(f"act_{j}")).id for j in allegro.JOINT_NAMES])
        self.tip_site_ids = np.array([model.site(self.full_name(s)).id for s in allegro.TIP_SITES])
        body_ids = [model.body(self.full_name(b)).id for b in allegro.HAND_BODIES]
        self.geom_ids = np.flatnonzero(np.isin(model.geom_bodyid, body_ids))

    def apply(self, data, action):
        data.ctrl[self.act_ids] = np.clip(action, self.action_low, self.action_high)

    def state(self, data):
        return data.qpos[self.qadr].copy()

    def reset(self, data):
        data.qpos[self.qadr] = OPEN_QPOS
        data.qvel[self.dadr] = 0
        data.ctrl[self.act_ids] = OPEN_QPOS

    @property
    def action_low(self) -> np.ndarray:
        return allegro.JOINT_LIMITS[:, 0].copy()

    @property
    def action_high(self) -> np.ndarray:
        return allegro.JOINT_LIMITS[:, 1].copy()

    def fingertips(self, data) -> np.ndarray:
        """World positions (4, 3) of the fingertip sites: index, middle, ring, thumb."""
        return data.site_xpos[self.tip_site_ids].copy()
