"""History-dependent tasks: what the robot must do depends on world events it saw earlier.

The events are scripted, kinematic motions of objects (their free-joint poses are written every
physics substep, velocities zeroed), drawn from the episode's seeded rng at reset, so that they are
deterministic given the seed. During the events the robot should wait; the experts output zero arm
motion with the gripper open until the events are over.
"""

from __future__ import annotations

import mujoco
import numpy as np

from vla_sim import objects
from vla_sim.envs.manipulation import CONTROL_HZ, PHYSICS_DT
from vla_sim.tasks.base import Task
from vla_sim.tasks.pick_place import color_rgb, gripper_holding, held_up, pick_colors, tool_near

SUBSTEPS = int(round(1.0 / CONTROL_HZ / PHYSICS_DT))


def smoothstep(s: float) -> float:
    s = min(max(s, 0.0), 1.0)
    return s * s * (3 - 2 * s)


def set_kinematic(env, body: str, pos, yaw: float = 0.0) -> None:
    """Write a free body's pose and zero its velocity (scripted motion)."""
    objects.set_free_pose(env.model, env.data, body, pos, yaw)


def _float(env, bodies, on: bool) -> None:
    """Gravity compensation of scripted bodies: on while they are scripted (a hovering cup then stays
    put through the settling steps of `env.reset`, which run without the substep hook), off after."""
    for b in bodies:
        env.model.body_gravcomp[env.model.body(b).id] = 1.0 if on else 0.0


class _ScriptedEvents(Task):
    """Counts physics substeps from reset and calls `scripted(env, t)` before each, t in control steps."""

    history_dependent = True

    def _reset_clock(self) -> None:
        self._substep = 0

    def before_substep(self, env) -> None:
        t = self._substep / SUBSTEPS
        self._substep += 1
        self.scripted(env, t)

    def scripted(self, env, t: float) -> None:
        """Scripted motion at time `t` (in control steps since reset)."""


# --------------------------------------------------------------------------------------- cup shuffle
CUPS = ("cup_a", "cup_b", "cup_c")
HIDDEN = "hidden_block"
CUP_RADIUS = 0.035
CUP_HEIGHT = 0.06
KNOB_RADIUS = 0.012
KNOB_HALF = 0.018  # the knob on the cup's closed top: what the gripper grasps (the cup is 7.6 cm wide)
HIDDEN_HALF = 0.016  # the block's diagonal half (2.3 cm) fits well inside the cup (inner radius 3.2 cm)
SLOT_GAP = 0.12
HOVER_Z = 0.11

SHOW_STEPS = 20  # the block is visible, its cup hovers above it
LOWER_STEPS = 14  # the cup comes down over the block
SWAP_STEPS = 20  # one swap of two cups along half circles
PAUSE_STEPS = 4


class CupShuffle(_ScriptedEvents):
    """Three identical cups; one is lowered over a block, then the cups swap places 2-3 times. Lift
    the cup that hides the block."""

    name = "cup_shuffle"
    instructions = (
        "lift the cup that hides the block",
        "pick up the cup with the {color} block under it",
        "raise the cup that the {color} block is hidden under",
        "find the {color} block: lift the cup covering it",
    )
    max_steps = 280
    lift_height = 0.08

    def build(self, spec: mujoco.MjSpec) -> None:
        for cup in CUPS:
            body = objects.add_ring_container(spec.worldbody, cup, radius=CUP_RADIUS, height=CUP_HEIGHT,
                                              open_top=False)
            body.add_geom(name=f"{cup}_knob", type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[KNOB_RADIUS, KNOB_HALF, 0],
                          pos=[0, 0, CUP_HEIGHT + KNOB_HALF], mass=0.01, friction=[1.5, 0.01, 0.0002], condim=4,
                          rgba=[1, 1, 1, 1])
        objects.add_block(spec.worldbody, HIDDEN, half=HIDDEN_HALF, mass=0.03)

    def reset(self, env, rng) -> None:
        m = env.model
        self._reset_clock()
        center = np.array([rng.uniform(0.04, 0.12), rng.uniform(-0.05, 0.05)])
        self.slots_xy = np.array([center + [rng.uniform(-0.01, 0.01), k * SLOT_GAP] for k in (-1, 0, 1)])
        # Which cup body stands on which slot at first (cup bodies are interchangeable: they look the same).
        self.slot_of = {cup: int(k) for cup, k in zip(CUPS, rng.permutation(3))}
        self.hider = CUPS[int(rng.integers(3))]
        n_swaps = int(rng.integers(2, 4))
        # Each swap: (slot i, slot j, direction of travel of the cup leaving slot i: +1 away from the robot).
        self.swaps = []
        for _ in range(n_swaps):
            i, j = sorted(rng.choice(3, size=2, replace=False).tolist())
            self.swaps.append((i, j, float(rng.choice([-1.0, 1.0]))))
        self.shuffle_start = SHOW_STEPS + LOWER_STEPS
        self.shuffle_end = self.shuffle_start + n_swaps * (SWAP_STEPS + PAUSE_STEPS)
        self._yaw = float(rng.uniform(-np.pi, np.pi))  # the block's yaw (cups have none: all look alike)
        self._released = False
        self.schedule = self._positions_per_phase()
        cup_color = str(rng.choice(["white", "red", "blue", "green", "yellow", "purple", "orange"]))
        cup_rgb = color_rgb(rng, cup_color)  # one color for all three: the cups must look alike
        for cup in CUPS:
            objects.set_body_rgba(m, cup, cup_rgb)
        block_color = pick_colors(rng, 1, exclude=("white", "black", cup_color))[0]
        objects.set_body_rgba(m, HIDDEN, color_rgb(rng, block_color))
        self.slots = {"color": block_color}
        self.scripted(env, 0.0)

    def _positions_per_phase(self) -> list[dict[str, int]]:
        """The slot of every cup before each swap (and after the last one)."""
        slot_of = dict(self.slot_of)
        out = [dict(slot_of)]
        for i, j, _ in self.swaps:
            at = {v: k for k, v in slot_of.items()}
            slot_of[at[i]], slot_of[at[j]] = j, i
            out.append(dict(slot_of))
        return out

    def cup_xy(self, cup: str, t: float) -> np.ndarray:
        """Scripted position of a cup at time t (control steps)."""
        if t < self.shuffle_start:
            return self.slots_xy[self.schedule[0][cup]]
        period = SWAP_STEPS + PAUSE_STEPS
        k = int((t - self.shuffle_start) // period)
        if k >= len(self.swaps):
            return self.slots_xy[self.schedule[-1][cup]]
        slot = self.schedule[k][cup]
        i, j, sign = self.swaps[k]
        if slot not in (i, j):
            return self.slots_xy[slot]
        s = smoothstep((t - self.shuffle_start - k * period) / SWAP_STEPS)  # 1 during the pause
        mid = (self.slots_xy[i] + self.slots_xy[j]) / 2
        rel = self.slots_xy[slot] - mid
        # Both cups turn about the midpoint by the same angle: they stay opposite, never collide, and
        # the third cup (if between them) stays inside the circle they travel on.
        angle = sign * np.pi * s
        c, sn = np.cos(angle), np.sin(angle)
        return mid + np.array([c * rel[0] - sn * rel[1], sn * rel[0] + c * rel[1]])

    def scripted(self, env, t: float) -> None:
        if self._released:
            return
        if t >= self.shuffle_end:
            t = self.shuffle_end
            self._released = True  # last write: final poses at rest, then physics takes over
        for cup in CUPS:
            z = 0.0
            if cup == self.hider and t < self.shuffle_start:
                z = HOVER_Z * (1 - smoothstep((t - SHOW_STEPS) / LOWER_STEPS))
            set_kinematic(env, cup, [*self.cup_xy(cup, t), z])
        set_kinematic(env, HIDDEN, [*self.cup_xy(self.hider, t), 0.0], self._yaw)
        _float(env, (*CUPS, HIDDEN), not self._released)

    def success(self, env) -> bool:
        if not self._released:
            return False
        if env.body_pos(self.hider)[2] < self.lift_height:
            return False
        return all(env.body_pos(c)[2] < 0.01 for c in CUPS if c != self.hider)

    def target_bodies(self, env) -> list[str]:
        return [self.hider, HIDDEN]

    def milestones(self, env) -> dict[str, bool]:
        if not self._released:
            return {"reached": False, "lifted_any": False, "lifted_hider": False}
        return {"reached": tool_near(env, self.hider, xy=0.03, above=0.12),
                "lifted_any": any(env.body_pos(c)[2] > 0.03 for c in CUPS),
                "lifted_hider": env.body_pos(self.hider)[2] > 0.03}


# --------------------------------------------------------------------------------------- return block
MOVED = "block"
HOLD_STEPS = 20  # the block rests at its start for 1 s
MOVE_STEPS = 20  # then slides away over 1 s
START_X = (-0.03, 0.18)
START_Y = (-0.18, 0.18)
MOVE_DIST = (0.12, 0.2)


class ReturnBlock(_ScriptedEvents):
    """A block rests at its start, the world slides it elsewhere; put it back where it was."""

    name = "return_block"
    instructions = (
        "put the block back where it was",
        "return the {color} block to its starting place",
        "move the {color} block back to where it started",
        "put the {color} block back in its original spot",
    )
    max_steps = 200
    tolerance = 0.03

    def build(self, spec: mujoco.MjSpec) -> None:
        objects.add_block(spec.worldbody, MOVED)

    def reset(self, env, rng) -> None:
        m, d = env.model, env.data
        self._reset_clock()
        for _ in range(1000):
            start = np.array([rng.uniform(*START_X), rng.uniform(*START_Y)])
            angle = rng.uniform(-np.pi, np.pi)
            end = start + rng.uniform(*MOVE_DIST) * np.array([np.cos(angle), np.sin(angle)])
            if START_X[0] <= end[0] <= START_X[1] and START_Y[0] <= end[1] <= START_Y[1]:
                break
        else:  # pragma: no cover
            raise RuntimeError("could not place the block")
        self.start_xy, self.end_xy = start, end
        self.start_yaw = float(rng.uniform(-np.pi / 4, np.pi / 4))
        self.end_yaw = self.start_yaw + float(rng.uniform(-0.6, 0.6))
        self.move_start, self.release_step = HOLD_STEPS, HOLD_STEPS + MOVE_STEPS
        self._released = False
        objects.set_free_pose(m, d, MOVED, [*start, 0], self.start_yaw)
        color = pick_colors(rng, 1)[0]
        objects.set_body_rgba(m, MOVED, color_rgb(rng, color))
        self.slots = {"color": color}

    def scripted(self, env, t: float) -> None:
        if self._released or t < self.move_start:
            return  # resting under physics before the move
        if t >= self.release_step:
            t = self.release_step
            self._released = True
        s = smoothstep((t - self.move_start) / MOVE_STEPS)
        xy = self.start_xy + s * (self.end_xy - self.start_xy)
        yaw = self.start_yaw + s * (self.end_yaw - self.start_yaw)
        set_kinematic(env, MOVED, [*xy, 0.0], yaw)

    def success(self, env) -> bool:
        if not self._released:
            return False
        block = env.body_pos(MOVED)
        return bool(np.linalg.norm(block[:2] - self.start_xy) < self.tolerance and block[2] < 0.01
                    and not gripper_holding(env))

    def target_bodies(self, env) -> list[str]:
        return [MOVED, MOVED]

    def milestones(self, env) -> dict[str, bool]:
        if not self._released:
            return {"reached": False, "lifted": False, "over_goal": False}
        return {"reached": tool_near(env, MOVED), "lifted": held_up(env, MOVED),
                "over_goal": bool(np.linalg.norm(env.body_pos(MOVED)[:2] - self.start_xy) < self.tolerance)}
