"""Pick-and-place tasks with spatial relations and colors in the instruction."""

from __future__ import annotations

import mujoco
import numpy as np

from vla_sim import grounding, objects
from vla_sim.tasks.base import Task, gripper_holding  # noqa: F401 (re-exported for the other tasks)

TABLE_X = (-0.05, 0.22)
TABLE_Y = (-0.25, 0.25)


def sample_positions(rng: np.random.Generator, n: int, min_dist: float, x=TABLE_X, y=TABLE_Y,
                     tries: int = 500) -> np.ndarray:
    """`n` table positions (x, y) at least `min_dist` apart."""
    for _ in range(tries):
        pts = np.c_[rng.uniform(*x, n), rng.uniform(*y, n)]
        d = np.linalg.norm(pts[:, None] - pts[None], axis=-1) + np.eye(n) * 9
        if d.min() >= min_dist:
            return pts
    raise RuntimeError(f"could not place {n} objects {min_dist} m apart")


def pick_colors(rng: np.random.Generator, n: int, exclude=("white", "black")) -> list[str]:
    names = [c for c in objects.COLORS if c not in exclude]
    return list(rng.choice(names, size=n, replace=False))


def color_rgb(rng: np.random.Generator, name: str) -> np.ndarray:
    """The named color with a small jitter (appearance randomization that keeps the name true)."""
    return np.clip(np.array(objects.COLORS[name]) + rng.uniform(-0.06, 0.06, 3), 0, 1)


class PickBlockByRelation(Task):
    """Two same-colored blocks sit left and right of a plate; move the one named by the relation onto it."""

    name = "pick_block_by_relation"
    instructions = (
        "put the block to the {side} of the plate on the plate",
        "pick up the {side} block and place it on the plate",
        "move the block that is {side} of the plate onto the plate",
        "place the {color} block on the {side} side of the plate onto the plate",
    )
    max_steps = 200

    def build(self, spec: mujoco.MjSpec) -> None:
        objects.add_plate(spec.worldbody, "plate")
        objects.add_block(spec.worldbody, "block_a")
        objects.add_block(spec.worldbody, "block_b")

    def reset(self, env, rng) -> None:
        m, d = env.model, env.data
        plate = np.array([rng.uniform(0.02, 0.16), rng.uniform(-0.08, 0.08)])
        offsets = rng.uniform(0.13, 0.19, 2)
        left = plate + [rng.uniform(-0.05, 0.05), offsets[0]]
        right = plate + [rng.uniform(-0.05, 0.05), -offsets[1]]
        self.side = str(rng.choice(["left", "right"]))
        # "left" is from the robot's (and the scene camera's mirrored) point of view: +y.
        self.mover, self.other = ("block_a", "block_b") if self.side == "left" else ("block_b", "block_a")
        objects.set_free_pose(m, d, "plate", [*plate, 0])
        objects.set_free_pose(m, d, "block_a", [*left, 0], rng.uniform(-0.5, 0.5))
        objects.set_free_pose(m, d, "block_b", [*right, 0], rng.uniform(-0.5, 0.5))
        color = pick_colors(rng, 1)[0]
        rgb = color_rgb(rng, color)
        objects.set_body_rgba(m, "block_a", rgb)
        objects.set_body_rgba(m, "block_b", rgb)
        objects.set_body_rgba(m, "plate", color_rgb(rng, "white"))
        self.slots = {"side": self.side, "color": color}

    def success(self, env) -> bool:
        return on_top(env, self.mover, "plate", max_xy=0.06) and not on_top(env, self.other, "plate", max_xy=0.08)

    def target_bodies(self, env) -> list[str]:
        return [self.mover, "plate"]

    def milestones(self, env) -> dict[str, bool]:
        return {"reached": tool_near(env, self.mover), "lifted": held_up(env, self.mover),
                "over_goal": xy_dist(env, self.mover, "plate") < 0.06}


class PlaceBlockRelativeTo(Task):
    """Place a colored block on the named side (left/right/front/behind) of a bowl."""

    name = "place_block_relative"
    instructions = (
        "put the {color} block {relation} the bowl",
        "place the {color} block {relation} the bowl",
        "move the {color} block so that it is {relation} the bowl",
    )
    max_steps = 200
    RELATIONS = {"to the left of": (0, 1), "to the right of": (0, -1), "in front of": (-1, 0), "behind": (1, 0)}

    def build(self, spec):
        objects.add_ring_container(spec.worldbody, "bowl", radius=0.05, height=0.04, open_top=True)
        objects.add_block(spec.worldbody, "block")
        objects.add_block(spec.worldbody, "distractor")

    def reset(self, env, rng):
        m, d = env.model, env.data
        bowl, block, distractor = sample_positions(rng, 3, 0.12, x=(0.0, 0.16), y=(-0.16, 0.16))
        objects.set_free_pose(m, d, "bowl", [*bowl, 0])
        objects.set_free_pose(m, d, "block", [*block, 0], rng.uniform(-0.5, 0.5))
        objects.set_free_pose(m, d, "distractor", [*distractor, 0], rng.uniform(-0.5, 0.5))
        c_block, c_dist, c_bowl = pick_colors(rng, 3)
        objects.set_body_rgba(m, "block", color_rgb(rng, c_block))
        objects.set_body_rgba(m, "distractor", color_rgb(rng, c_dist))
        objects.set_body_rgba(m, "bowl", color_rgb(rng, c_bowl))
        self.relation = str(rng.choice(list(self.RELATIONS)))
        self.slots = {"color": c_block, "relation": self.relation}

    def goal_xy(self, env) -> np.ndarray:
        return env.body_pos("bowl")[:2] + 0.11 * np.array(self.RELATIONS[self.relation], float)

    def in_goal_region(self, env) -> bool:
        """The block's centre lies in the success region beside the bowl (at any height)."""
        direction = np.array(self.RELATIONS[self.relation], float)
        rel = env.body_pos("block")[:2] - env.body_pos("bowl")[:2]
        along = rel @ direction
        across = abs(rel @ np.array([-direction[1], direction[0]]))
        return bool(0.07 < along < 0.17 and across < 0.05)

    def success(self, env):
        return self.in_goal_region(env) and env.body_pos("block")[2] < 0.01 and not gripper_holding(env)

    def target_bodies(self, env):
        return ["block", "bowl"]

    grounding_labels = "block+goal_place"  # until 2026-12-07: "target_bodies" (the block and the bowl)

    def grounding_targets(self, env):
        """The block, then the place it must go (not the bowl): the relation word decides that place, so
        labelling it is what teaches the grounding heads to read "left of" / "in front of"."""
        m, d = env.model, env.data
        half = float(m.geom("block_geom").size[0])
        return [grounding.body_box_corners(m, d, m.body("block").id),
                grounding.footprint_corners(self.goal_xy(env), half, 2 * half)]

    def milestones(self, env) -> dict[str, bool]:
        return {"reached": tool_near(env, "block"), "lifted": held_up(env, "block"),
                "over_goal": self.in_goal_region(env)}


class StackBlocks(Task):
    """Stack one colored block on another, with a distractor block."""

    name = "stack_blocks"
    instructions = (
        "stack the {top} block on the {bottom} block",
        "put the {top} block on top of the {bottom} block",
        "place the {top} block onto the {bottom} one",
    )
    max_steps = 200

    def build(self, spec):
        for n in ("top", "bottom", "distractor"):
            objects.add_block(spec.worldbody, n)

    def reset(self, env, rng):
        m, d = env.model, env.data
        pts = sample_positions(rng, 3, 0.1)
        colors = pick_colors(rng, 3)
        for body, p, c in zip(("top", "bottom", "distractor"), pts, colors):
            objects.set_free_pose(m, d, body, [*p, 0], rng.uniform(-0.6, 0.6))
            objects.set_body_rgba(m, body, color_rgb(rng, c))
        self.slots = {"top": colors[0], "bottom": colors[1]}

    def success(self, env):
        return on_top(env, "top", "bottom", max_xy=0.02, height=0.044) and not gripper_holding(env)

    def target_bodies(self, env):
        return ["top", "bottom"]

    def milestones(self, env) -> dict[str, bool]:
        return {"reached": tool_near(env, "top"), "lifted": held_up(env, "top"),
                "over_goal": xy_dist(env, "top", "bottom") < 0.02}


def on_top(env, upper: str, lower: str, max_xy: float, height: float | None = None) -> bool:
    """`upper` rests above `lower`: horizontally within `max_xy`, vertically at `height` (+-1.5 cm) or above."""
    if xy_dist(env, upper, lower) > max_xy:
        return False
    u, lo = env.body_pos(upper), env.body_pos(lower)
    dz = u[2] - lo[2]
    if height is not None:
        return abs(dz - height) < 0.015
    return 0.003 < dz < 0.05


def xy_dist(env, a: str, b: str) -> float:
    return float(np.linalg.norm(env.body_pos(a)[:2] - env.body_pos(b)[:2]))


def tool_near(env, body: str, xy: float = 0.03, above: float = 0.06) -> bool:
    """The tool point is within `xy` of the body horizontally and at most `above` over its origin (a block's
    origin is its bottom face): where a grasp of it would close."""
    ee, _ = env.ee_pose()
    pos = env.body_pos(body)
    return bool(np.linalg.norm(ee[:2] - pos[:2]) < xy and ee[2] - pos[2] < above)


def held_up(env, body: str, height: float = 0.03) -> bool:
    """The gripper holds something and the body's origin is `height` above the table."""
    return bool(env.body_pos(body)[2] > height and gripper_holding(env))


