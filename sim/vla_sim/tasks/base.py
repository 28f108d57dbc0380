"""What a task adds to the shared scene: objects, their randomization, language, success, targets."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import mujoco
import numpy as np

from vla_sim import grounding

if TYPE_CHECKING:
    from vla_sim.envs.manipulation import ManipulationEnv


class Task(ABC):
    """One task of a suite. Subclasses are small: build, reset, success, targets, instructions."""

    name: str = ""
    #: Paraphrases of the instruction; `{placeholders}` are filled from `self.slots` at reset.
    instructions: tuple[str, ...] = ()
    max_steps: int = 300
    #: Body names of the objects the instruction is about, in a fixed order (grounding targets).
    num_targets: int = 2
    #: What the grounding labels mark, recorded per task in a dataset's meta/vla_collection.json: datasets whose
    #: labels for the same task differ (collected before and after a change) must not train together.
    grounding_labels: str = "target_bodies"
    #: True when the current frame alone does not determine the right action.
    history_dependent: bool = False

    def __init__(self) -> None:
        self.slots: dict[str, str] = {}

    @abstractmethod
    def build(self, spec: mujoco.MjSpec) -> None:
        """Add the task's bodies to the scene (once, before compiling)."""

    @abstractmethod
    def reset(self, env: "ManipulationEnv", rng: np.random.Generator) -> None:
        """Randomize object poses and colors, and fill `self.slots` for the instruction."""

    @abstractmethod
    def success(self, env: "ManipulationEnv") -> bool:
        ...

    @abstractmethod
    def target_bodies(self, env: "ManipulationEnv") -> list[str]:
        """`num_targets` body names, in a fixed order: the object acted on, then the reference."""

    def grounding_targets(self, env: "ManipulationEnv") -> list[np.ndarray]:
        """World points (N,3) outlining each grounding target, one array per target: their mean is the
        target's point label, their projection its box. Default: the bounding-box corners of
        `target_bodies`. A task whose goal is a place rather than an object overrides it."""
        m, d = env.model, env.data
        return [grounding.body_box_corners(m, d, m.body(b).id) for b in self.target_bodies(env)]

    def milestones(self, env: "ManipulationEnv") -> dict[str, bool]:
        """Stages on the way to success, in task order, each true when it holds at this step. Evaluation
        records which ones an episode ever reached, so a failure says how far it got. Default: none."""
        return {}

    def end_state(self, env: "ManipulationEnv") -> dict[str, bool]:
        """What holds when an episode ends: the milestones at that moment and whether the gripper still holds
        something. Evaluation records it per episode, so a failure that reached the goal says whether it ended
        there still holding (never let go), let go elsewhere (dropped on the way) or left it again."""
        return {**self.milestones(env), "holding": gripper_holding(env)}

    def before_step(self, env: "ManipulationEnv") -> None:
        """World events that happen without the robot (shuffles, moved objects)."""

    def before_substep(self, env: "ManipulationEnv") -> None:
        """Called before every physics substep (for scripted, kinematic object motion)."""

    def instruction(self, rng: np.random.Generator) -> str:
        template = self.instructions[int(rng.integers(len(self.instructions)))]
        return template.format(**self.slots)


def gripper_holding(env: "ManipulationEnv") -> bool:
    """The gripper is closed on something (not fully closed and not open); False for tools without a gripper."""
    tool = env.tool
    if not hasattr(tool, "opening"):
        return False
    width = tool.opening(env.data)
    closing = env.data.ctrl[tool.act_id] < 0.02
    return bool(closing and width > 0.01)
