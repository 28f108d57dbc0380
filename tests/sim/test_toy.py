"""The toy suite (reach_pad): registered, short expert episodes that succeed, idling fails, pad in view."""

from __future__ import annotations

import numpy as np

import vla_sim  # noqa: F401  (picks the GL backend before mujoco renders)
from vla_sim.registry import make_env, make_expert, suites
from vla_sim.tasks.toy import SUCCESS_XY, SUCCESS_Z


def _run(env, act, seed: int, expert=None) -> tuple[bool, int]:
    """One episode; returns (success, steps)."""
    env.reset(seed=seed)
    if expert is not None:
        expert.reset(env)
    steps = 0
    while True:
        _, _, terminated, truncated, info = env.step(act(env))
        steps += 1
        if terminated or truncated:
            assert info["success"] == terminated
            return terminated, steps


def test_registered_as_suite_toy_with_one_target():
    assert suites()["toy"] == ["reach_pad"]
    env = make_env("toy", "reach_pad", render_mode=None)
    env.reset(seed=0)
    assert env.task.max_steps == 60 and env.task.num_targets == 1
    assert env.task.target_bodies(env) == ["target_pad"]
    assert env.task.slots["color"] in env.instruction


def test_expert_succeeds_in_a_few_dozen_steps_and_idling_fails():
    env = make_env("toy", "reach_pad", render_mode=None)
    expert = make_expert("toy", "reach_pad")
    lengths = []
    for seed in range(10):
        ok, n = _run(env, expert.act, seed, expert)
        assert ok, f"expert failed on seed {seed}"
        lengths.append(n)
        ee, _ = env.ee_pose()
        assert np.linalg.norm(ee[:2] - env.task.pad_xy(env)) < SUCCESS_XY and ee[2] < SUCCESS_Z
    assert 15 <= np.mean(lengths) <= 35 and max(lengths) <= 45, lengths
    idle = np.r_[np.zeros(6), -1.0].astype(np.float32)  # arm still, gripper open
    for seed in range(3):
        assert _run(env, lambda e: idle, seed) == (False, 60)


def test_pad_is_in_the_scene_camera_and_seeds_vary():
    env = make_env("toy", "reach_pad", render_mode="fast", image_size=64)
    pads = []
    for seed in range(8):
        _, info = env.reset(seed=seed)
        pts = info["grounding"]["grounding.scene.target_points"]
        assert pts.shape == (1, 2) and (pts >= 0).all(), seed
        pads.append(env.task.pad_xy(env))
    assert np.ptp(np.array(pads), axis=0).min() > 0.05
    env.close()
