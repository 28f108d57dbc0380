"""The memory toy (reach_cued_pad): the cue is seen only in the first observations, after it the frame
carries no hint of the target, the expert succeeds, and reaching any other pad fails."""

from __future__ import annotations

import numpy as np

import vla_sim  # noqa: F401  (picks the GL backend before mujoco renders)
from vla_sim.experts.history import wait_until
from vla_sim.experts.primitives import PlanExpert
from vla_sim.experts.toy import reach_xy
from vla_sim.registry import make_env, make_expert, suites
from vla_sim.tasks.toy import CUE_STEPS, CUED_PADS


def _run(env, expert: PlanExpert, seed: int) -> tuple[bool, list[dict]]:
    obs, _ = env.reset(seed=seed)
    expert.reset(env)
    seen = [obs]
    while True:
        obs, _, terminated, truncated, info = env.step(expert.act(env))
        seen.append(obs)
        if terminated or truncated:
            assert info["success"] == terminated
            return terminated, seen


def test_registered_as_a_history_dependent_suite_of_its_own():
    assert suites()["toy_memory"] == ["reach_cued_pad"]
    env = make_env("toy_memory", "reach_cued_pad", render_mode=None)
    env.reset(seed=0)
    assert env.task.history_dependent and env.task.target_bodies(env) == [env.task.cued]
    pads = np.array([env.task.pad_xy(env, p) for p in CUED_PADS])
    assert min(np.linalg.norm(pads[i] - pads[j]) for i in range(3) for j in range(i + 1, 3)) >= 0.14


def test_cue_is_visible_only_in_the_first_observations():
    env = make_env("toy_memory", "reach_cued_pad", render_mode="fast", image_size=64)
    expert = make_expert("toy_memory", "reach_cued_pad")
    for seed in range(3):
        _, seen = _run(env, expert, seed)
        pts = {}
        for pad in CUED_PADS:  # where each pad is in the scene image, from the grounding projection
            env.task.cued, cued = pad, env.task.cued
            pts[pad] = np.round(env.grounding()["grounding.scene.target_points"][0]).astype(int)
            env.task.cued = cued

        def color(obs, pad):
            img = obs["observation.images.scene"]
            img = img if img.shape[-1] == 3 else img.transpose(1, 2, 0)
            u, v = pts[pad]
            return img[v - 1:v + 2, u - 1:u + 2].reshape(-1, 3).astype(float).mean(0)

        others = [p for p in CUED_PADS if p != env.task.cued]
        for t in (0, CUE_STEPS - 1):  # cue on: the cued pad is far brighter than the others
            assert color(seen[t], env.task.cued).min() > max(color(seen[t], p).min() for p in others) + 60, (seed, t)
        for t in (CUE_STEPS, 2 * CUE_STEPS):  # cue off: the three pads look alike
            colors = [color(seen[t], p) for p in CUED_PADS]
            assert max(np.abs(c - colors[0]).max() for c in colors) < 40, (seed, t, colors)
    env.close()


def test_expert_succeeds_and_reaching_another_pad_fails():
    env = make_env("toy_memory", "reach_cued_pad", render_mode=None)
    expert = make_expert("toy_memory", "reach_cued_pad")
    for seed in range(6):
        ok, seen = _run(env, expert, seed)
        assert ok and len(seen) - 1 > 2 * CUE_STEPS, f"expert failed on seed {seed}"
    for seed in range(3):
        env.reset(seed=seed)
        other = next(p for p in CUED_PADS if p != env.task.cued)

        def wrong(arm, other=other):
            yield from wait_until(arm, 2 * CUE_STEPS)
            yield from reach_xy(arm, arm.env.task.pad_xy(arm.env, other))

        ok, _ = _run(env, PlanExpert(wrong), seed)
        assert not ok, f"reaching {other} instead of the cued pad succeeded on seed {seed}"
