"""End-effector tools mounted on the arm's flange: what they add to the model, action and state."""

from __future__ import annotations

from abc import ABC, abstractmethod

import mujoco
import numpy as np

from vla_sim.robots.panda import panda_gripper

GRIPPER_OPEN = 0.04  # m per finger (8 cm opening)


class Tool(ABC):
    """A tool: its MJCF, its slice of the action vector and of the state vector."""

    name: str
    action_names: tuple[str, ...]
    state_names: tuple[str, ...]
    prefix: str
    #: The tool's own site for the arm's IK (its name inside the tool's spec), or None for the arm's
    #: default (`ArmNames.ee_site`, the parallel gripper's grip site).
    ee_site: str | None = None

    @abstractmethod
    def spec(self) -> tuple[mujoco.MjSpec, str]:
        """The tool's MjSpec and the name of its root body (attached at the flange)."""

    @abstractmethod
    def bind(self, model: mujoco.MjModel) -> None:
        """Look up ids in the compiled model."""

    @abstractmethod
    def apply(self, data: mujoco.MjData, action: np.ndarray) -> None:
        """Write actuator controls for the tool's slice of the action."""

    @abstractmethod
    def state(self, data: mujoco.MjData) -> np.ndarray:
        ...

    @abstractmethod
    def reset(self, data: mujoco.MjData) -> None:
        """Put the tool in its initial (open) configuration."""

    @property
    def action_low(self) -> np.ndarray:
        return -np.ones(len(self.action_names))

    @property
    def action_high(self) -> np.ndarray:
        return np.ones(len(self.action_names))


class ParallelGripper(Tool):
    """Panda parallel gripper. Action: one value in [-1, 1], -1 fully open (8 cm), +1 closed;
    values in between are proportional opening targets. State: the two finger positions (m)."""

    name = "panda_gripper"
    action_names = ("gripper",)
    state_names = ("gripper.finger_left", "gripper.finger_right")
    prefix = "gripper0_"

    def spec(self):
        return panda_gripper()

    def bind(self, model):
        self.act_id = model.actuator(f"robot0_{self.prefix}fingers").id
        self.qadr = np.array([model.joint(f"robot0_{self.prefix}finger_joint{i}").qposadr[0] for i in (1, 2)])

    def apply(self, data, action):
        data.ctrl[self.act_id] = GRIPPER_OPEN * (1.0 - float(np.clip(action[0], -1, 1))) / 2.0

    def state(self, data):
        return data.qpos[self.qadr].copy()

    def reset(self, data):
        data.qpos[self.qadr] = [GRIPPER_OPEN, -GRIPPER_OPEN]
        data.ctrl[self.act_id] = GRIPPER_OPEN

    def opening(self, data) -> float:
        """Distance between the fingers (m)."""
        return float(data.qpos[self.qadr[0]] - data.qpos[self.qadr[1]])
