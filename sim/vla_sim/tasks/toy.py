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


# ------------------------------------------------------------------------------- the memory toy task
CUED_PADS = ("pad_a", "pad_b", "pad_c")
CUE_STEPS = 10  # observations 0..9 show the cued pad lit white; from step 10 on the three pads look alike
PAD_GAP = 0.14  # minimum distance between pad centers (m): reaching one never passes over another's cell


class ReachCuedPad(Task):
    """Three identical pads; one is lit white for the first second, then all look alike. Move the gripper
    above the pad that was lit. The reach itself is `reach_pad`'s; what is new is that once the cue is gone
    the current frame says nothing about which pad is meant: a policy without memory can only guess (1 in 3).
    It isolates the memory from manipulation precision (the tabletop history tasks need both)."""

    name = "reach_cued_pad"
    instructions = (
        "move the gripper above the pad that lit up",
        "reach the {color} pad that flashed white",
        "hover over the pad that was highlighted",
        "put the gripper over the {color} square that lit up",
    )
    max_steps = 80
    num_targets = 1
    history_dependent = True

    def build(self, spec: mujoco.MjSpec) -> None:
        for pad in CUED_PADS:
            objects.add_target_pad(spec.worldbody, pad, half=PAD_HALF)

    def reset(self, env, rng) -> None:
        m, d = env.model, env.data
        for _ in range(1000):
            xy = np.column_stack([rng.uniform(*PAD_X, 3), rng.uniform(*PAD_Y, 3)])
            gaps = [np.linalg.norm(xy[i] - xy[j]) for i in range(3) for j in range(i + 1, 3)]
            if min(gaps) >= PAD_GAP:
                break
        else:  # pragma: no cover
            raise RuntimeError("could not place the pads")
        for pad, p in zip(CUED_PADS, xy):
            mocap = m.body(pad).mocapid[0]
            d.mocap_pos[mocap] = [*p, 0.0]
            d.mocap_quat[mocap] = [1, 0, 0, 0]
        self.cued = CUED_PADS[int(rng.integers(3))]
        color = pick_colors(rng, 1)[0]
        self._rgb = color_rgb(rng, color)
        self._cue_rgb = np.array(objects.COLORS["white"])
        self.slots = {"color": color}
        self._show_cue(m, True)

    def _show_cue(self, m, on: bool) -> None:
        for pad in CUED_PADS:
            objects.set_body_rgba(m, pad, self._cue_rgb if on and pad == self.cued else self._rgb)

    def before_step(self, env) -> None:
        # The observation after this step is number env.steps + 1: the cue is seen in observations 0..CUE_STEPS-1.
        if env.steps + 1 == CUE_STEPS:
            self._show_cue(env.model, False)

    def pad_xy(self, env, pad: str | None = None) -> np.ndarray:
        """Center of the cued pad (or of the named one)."""
        return env.data.mocap_pos[env.model.body(pad or self.cued).mocapid[0], :2].copy()

    def success(self, env) -> bool:
        ee, _ = env.ee_pose()
        return bool(np.linalg.norm(ee[:2] - self.pad_xy(env)) < SUCCESS_XY and ee[2] < SUCCESS_Z)

    def target_bodies(self, env) -> list[str]:
        return [self.cued]
