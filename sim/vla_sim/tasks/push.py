"""Non-prehensile pushing: push a block onto a colored square marked on the table."""

from __future__ import annotations

import mujoco
import numpy as np

from vla_sim import objects
from vla_sim.tasks.base import Task
from vla_sim.tasks.pick_place import color_rgb, gripper_holding, pick_colors, tool_near

BLOCK = "block"
PAD = "target_pad"
PAD_HALF = 0.04
BLOCK_X = (-0.03, 0.18)
BLOCK_Y = (-0.18, 0.18)
PAD_X = (-0.04, 0.2)
PAD_Y = (-0.2, 0.2)
PUSH_DIST = (0.12, 0.2)  # block-to-pad distance: a real push is needed


class PushBlockToTarget(Task):
    name = "push_block_to_target"
    instructions = (
        "push the {color} block onto the {pad} square",
        "slide the {color} block onto the {pad} target",
        "push the {color} block until it sits on the {pad} square",
        "without picking it up, move the {color} block onto the {pad} square",
    )
    max_steps = 220

    def build(self, spec: mujoco.MjSpec) -> None:
        objects.add_block(spec.worldbody, BLOCK)
        objects.add_target_pad(spec.worldbody, PAD, half=PAD_HALF)

    def reset(self, env, rng) -> None:
        m, d = env.model, env.data
        for _ in range(1000):
            block = np.array([rng.uniform(*BLOCK_X), rng.uniform(*BLOCK_Y)])
            angle = rng.uniform(-np.pi, np.pi)
            direction = np.array([np.cos(angle), np.sin(angle)])
            pad = block + rng.uniform(*PUSH_DIST) * direction
            behind = block - 0.08 * direction  # where the pusher starts: must be reachable too
            if (PAD_X[0] <= pad[0] <= PAD_X[1] and PAD_Y[0] <= pad[1] <= PAD_Y[1]
                    and -0.12 <= behind[0] <= 0.26 and abs(behind[1]) <= 0.26):
                break
        else:  # pragma: no cover - the ranges above always admit a layout
            raise RuntimeError("could not place the block and the pad")
        self.block_start = block
        objects.set_free_pose(m, d, BLOCK, [*block, 0], rng.uniform(-np.pi / 4, np.pi / 4))
        d.mocap_pos[m.body(PAD).mocapid[0]] = [*pad, 0.0]
        d.mocap_quat[m.body(PAD).mocapid[0]] = [1, 0, 0, 0]
        c_block, c_pad = pick_colors(rng, 2)
        objects.set_body_rgba(m, BLOCK, color_rgb(rng, c_block))
        objects.set_body_rgba(m, PAD, color_rgb(rng, c_pad))
        self.slots = {"color": c_block, "pad": c_pad}

    def pad_xy(self, env) -> np.ndarray:
        return env.data.mocap_pos[env.model.body(PAD).mocapid[0], :2].copy()

    def on_pad(self, env) -> bool:
        return bool(np.abs(env.body_pos(BLOCK)[:2] - self.pad_xy(env)).max() < PAD_HALF)

    def success(self, env) -> bool:
        return self.on_pad(env) and env.body_pos(BLOCK)[2] < 0.01 and not gripper_holding(env)

    def milestones(self, env) -> dict[str, bool]:
        moved = np.linalg.norm(env.body_pos(BLOCK)[:2] - self.block_start) > 0.03
        return {"reached": tool_near(env, BLOCK, xy=0.07), "moved": bool(moved), "over_goal": self.on_pad(env)}

    def target_bodies(self, env) -> list[str]:
        return [BLOCK, PAD]
