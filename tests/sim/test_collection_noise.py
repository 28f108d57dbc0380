"""DART-style collection noise: the arm is pushed off the expert's path, the dataset keeps the expert's clean
corrective actions, and the scene of a seed does not change."""

import json

import numpy as np
import pytest

from vla.collection import collect
from vla.errors import UserError
from vla.train.data import EpisodeStore
from vla_sim import registry
from vla_sim.experts.toy import HOVER_Z

SPEED_LIMIT = 0.025  # the toy expert's move_to(speed=0.5) step, m


def _collect(root, noise):
    collect("toy", None, 2, root, image_size=32, progress=False, seed=5, noise=noise)
    return EpisodeStore.load(root, image_size=32, progress=False), json.loads((root / "meta" / "vla_collection.json").read_text())


def test_noisy_collection_records_the_clean_expert_actions(tmp_path):
    clean, _ = _collect(tmp_path / "clean", 0.0)
    noisy, meta = _collect(tmp_path / "noisy", 0.01)
    assert meta["noise"] == 0.01 and meta["seeds"]["reach_pad"] == [5, 6]
    assert meta["grounding_labels"] == {"reach_pad": "target_bodies"} == noisy.grounding_labels
    ee = [noisy.state_names.index(n) for n in ("ee.x", "ee.y", "ee.z")]
    # same scenes, different arm paths
    np.testing.assert_array_equal(clean.state[0], noisy.state[0])
    assert not np.allclose(clean.state[clean.episode_index == 0][:5, ee], noisy.state[noisy.episode_index == 0][:5, ee],
                           atol=1e-3)
    env = registry.make_env("toy", "reach_pad", render_mode=None)
    for ep, seed in enumerate(meta["seeds"]["reach_pad"]):
        env.reset(seed=seed)
        goal = np.r_[env.task.pad_xy(env), HOVER_Z]
        rows = (noisy.episode_index == ep).numpy()
        pos, act = noisy.state[rows][:, ee].numpy(), noisy.action[rows][:, :3].numpy()
        for p, a in zip(pos, act):
            to_goal = goal - p
            if np.linalg.norm(to_goal) < 0.01:  # the expert's tolerance: it switches to holding
                break
            expected = to_goal * min(1.0, SPEED_LIMIT / np.linalg.norm(to_goal))
            np.testing.assert_allclose(a, expected, atol=1e-5)  # the clean action from the noisy state
    env.close()


def test_noise_out_of_range_is_refused(tmp_path):
    with pytest.raises(UserError, match="--noise must be in"):
        collect("toy", None, 1, tmp_path / "x", noise=-0.01, progress=False)
    assert not (tmp_path / "x").exists()
