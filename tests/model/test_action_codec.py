"""The action space transforms: chunk-relative pose targets, their normalization stats, clear errors."""

import numpy as np
import pytest
import torch

from vla.errors import UserError
from vla.model.action_space import ActionCodec, chunk_action_stats, delta_to_pose
from vla_model_testlib import STATE_NAMES


def test_pose_chunks_are_relative_to_the_first_frame_and_invert_exactly():
    codec = ActionCodec.for_config("pose", STATE_NAMES)
    g = torch.Generator().manual_seed(0)
    state = torch.randn(4, 9, generator=g)
    chunk = torch.randn(4, 6, 10, generator=g)
    rel = codec.to_model(chunk, state)
    np.testing.assert_allclose(rel[..., :3], chunk[..., :3] - state[:, None, :3], atol=1e-6)
    assert torch.equal(rel[..., 3:], chunk[..., 3:])  # rotation and gripper stay absolute
    np.testing.assert_allclose(codec.from_model(rel, state), chunk, atol=1e-6)
    delta = ActionCodec.for_config("delta", STATE_NAMES)
    assert delta.to_model(chunk, state) is chunk and delta.from_model(chunk, state) is chunk


def test_chunk_stats_cover_every_chunk_and_repeat_the_episode_end():
    codec = ActionCodec.for_config("pose", STATE_NAMES)
    g = torch.Generator().manual_seed(1)
    n, h = 11, 4
    state, action = torch.randn(n, 9, generator=g), torch.randn(n, 10, generator=g)
    ep_end = torch.tensor([5] * 5 + [11] * 6)
    stats = chunk_action_stats(action, state, ep_end, h, codec)
    rows = []
    for i in range(n):
        for k in range(h):
            j = min(i + k, int(ep_end[i]) - 1)
            rows.append(torch.cat([action[j, :3] - state[i, :3], action[j, 3:]]))
    brute = torch.stack(rows)
    np.testing.assert_allclose(stats["min"], brute.min(0).values, atol=1e-6)
    np.testing.assert_allclose(stats["max"], brute.max(0).values, atol=1e-6)


def test_pose_space_needs_end_effector_names():
    with pytest.raises(UserError, match="ee.x.*action_space=delta"):
        ActionCodec.for_config("pose", ["joint1", "joint2"])
    with pytest.raises(UserError, match="valid are delta, pose"):
        ActionCodec.for_config("joints", STATE_NAMES)
    with pytest.raises(UserError, match="start with ee.dx"):
        delta_to_pose(np.zeros((2, 9)), np.zeros((2, 7)), STATE_NAMES, ["a"] * 7)


def test_pose_space_moves_the_action_layout(tmp_path):
    import json
    from types import SimpleNamespace

    from vla.train.loop import resolve_config
    from vla_model_testlib import make_config

    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "vla_collection.json").write_text(json.dumps(
        {"action": {"arm_ee_delta": {"slice": [0, 6]}, "gripper": {"slice": [6, 7]}}}))
    store = SimpleNamespace(root=tmp_path, cameras=["scene", "wrist"], state=torch.zeros(1, 9), action=torch.zeros(1, 10),
                            state_names=list(STATE_NAMES), action_names=["x"] * 10, points=torch.zeros(1, 2, 2, 2),
                            fps=20, source_image_size=128)
    cfg = resolve_config(make_config(), store)
    assert cfg.action_layout == {"arm_ee_pose": [0, 9], "gripper": [9, 10]}
    assert cfg.state_names == STATE_NAMES
