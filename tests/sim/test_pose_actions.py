"""Pose-target actions: recorded deltas converted to pose targets replay the same episode exactly, and a
pose-mode env refuses or bounds bad targets."""

import numpy as np
import pytest

from vla.model import action_space
from vla.model.action_space import delta_to_pose
from vla_sim import registry
from vla_sim.controller import MAX_TRANSLATION, quat_from_rot6d, rot6d_from_quat
from vla_sim.envs import manipulation


def test_policy_side_names_match_the_env():
    assert action_space.ACTION_SPACES == manipulation.ACTION_MODES
    assert action_space.DELTA_NAMES == manipulation.ARM_ACTION_NAMES
    assert action_space.POSE_NAMES == manipulation.ARM_POSE_ACTION_NAMES


@pytest.mark.parametrize("task", ["stack_blocks", "open_drawer"])
def test_pose_targets_replay_the_expert_episode(task):
    env = registry.make_env("tabletop", task, render_mode=None)
    expert = registry.make_expert("tabletop", task)
    obs, _ = env.reset(seed=3)
    expert.reset(env)
    states, actions, success = [], [], False
    for _ in range(env.task.max_steps):
        action = expert.act(env)
        states.append(obs["observation.state"])
        actions.append(action)
        obs, _, success, truncated, _ = env.step(action)
        if success or truncated:
            break
    assert success
    pose, names = delta_to_pose(np.array(states), np.array(actions), env.state_names, env.action_names)
    replay = registry.make_env("tabletop", task, render_mode=None, action_mode="pose")
    assert tuple(names) == replay.action_names and pose.shape[1] == replay.action_space.shape[0]
    obs, _ = replay.reset(seed=3)
    for k, target in enumerate(pose):
        np.testing.assert_allclose(obs["observation.state"], states[k], atol=1e-5)
        obs, _, replay_success, _, _ = replay.step(target)
    assert replay_success


def test_rot6d_round_trip_and_degenerate_targets_are_refused():
    rng = np.random.default_rng(0)
    for _ in range(20):
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        back = quat_from_rot6d(rot6d_from_quat(q))
        assert min(np.abs(back - q).max(), np.abs(back + q).max()) < 1e-9
    env = registry.make_env("tabletop", "push_block_to_target", render_mode=None, action_mode="pose")
    env.reset(seed=0)
    pos = env.ee_pose()[0]
    with pytest.raises(ValueError, match="degenerate"):
        env.step(np.r_[pos, [1, 0, 0, 2, 0, 0], -1.0].astype(np.float32))


def test_a_far_pose_target_moves_at_most_one_clipped_step():
    env = registry.make_env("tabletop", "push_block_to_target", render_mode=None, action_mode="pose")
    obs, _ = env.reset(seed=0)
    pos, quat = env.ee_pose()
    far = np.r_[pos + [0.0, 0.0, 5.0], rot6d_from_quat(quat), -1.0].astype(np.float32)  # 5 m up: clipped
    env.step(far)
    moved = env.ee_pose()[0] - pos
    assert 0.005 < moved[2] <= MAX_TRANSLATION + 1e-3
    assert np.abs(moved[:2]).max() < 0.01
