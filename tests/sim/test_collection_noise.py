"""DART-style collection noise: the arm is pushed off the expert's path, the dataset keeps the expert's clean
corrective actions, and the scene of a seed does not change."""

import json

import numpy as np
import pytest

from vla.collection import NOISE_CORRELATION, collect
from vla.errors import UserError
from vla.train.data import EpisodeStore
from vla_sim import registry
from vla_sim.experts.primitives import OPEN, Arm, PlanExpert, move_to
from vla_sim.experts.toy import HOVER_Z

SPEED_LIMIT = 0.025  # the toy expert's move_to(speed=0.5) step, m


def _collect(root, noise):
    collect("toy", None, 2, root, image_size=32, progress=False, seed=5, noise=noise)
    return EpisodeStore.load(root, image_size=32, progress=False), json.loads((root / "meta" / "vla_collection.json").read_text())


def test_noisy_collection_records_the_clean_expert_actions(tmp_path):
    clean, _ = _collect(tmp_path / "clean", 0.0)
    noisy, meta = _collect(tmp_path / "noisy", 0.01)
    assert meta["noise"] == 0.01 and meta["gates"] == "nominal" and meta["seeds"]["reach_pad"] == [5, 6]
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
        offsets = _replayed_perturbations(seed, 0.01, len(pos))
        moved = 0
        for p, a, offset in zip(pos, act, offsets):
            to_goal = goal - p
            if np.linalg.norm(goal - (p - offset)) < 0.01:  # tolerance met by the nominal pose: it holds
                break
            expected = to_goal * min(1.0, SPEED_LIMIT / np.linalg.norm(to_goal))
            np.testing.assert_allclose(a, expected, atol=1e-5)  # the clean action from the noisy state
            moved += 1
        assert moved >= 5
    env.close()


def _replayed_perturbations(seed: int, noise: float, n: int) -> np.ndarray:
    """The translation added to the action before each recorded frame (the collector's AR(1) stream)."""
    rng = np.random.default_rng([seed, 1])
    out, perturb = [], np.zeros(3)
    for _ in range(n):
        out.append(perturb.copy())
        perturb = NOISE_CORRELATION * perturb + rng.normal(0.0, noise, 3) * np.sqrt(1 - NOISE_CORRELATION ** 2)
    return np.array(out)


def test_phase_gates_decide_on_the_pose_without_the_perturbation():
    """A 1 cm push off a 5 mm tolerance must not keep the expert servoing: the demonstration's timing is the
    clean expert's (so the policy, run without noise, does not learn to hover at gates), while its action
    still corrects the real error."""
    env = registry.make_env("toy", "reach_pad", render_mode=None)
    env.reset(seed=3)
    arm = Arm(env)
    pos, quat = arm.pose()
    offset = np.array([0.01, 0.0, 0.0])
    arm.perturbation = offset
    # the arm was pushed 1 cm: the nominal pose is at the target, the measured one is not
    nominal_gate = list(move_to(arm, (pos - offset, quat), OPEN, tol=0.005))
    measured_gate = list(move_to(arm, (pos - offset, quat), OPEN, tol=0.005, measured=True, max_steps=1))
    assert nominal_gate == []  # done at once
    assert len(measured_gate) == 1 and np.allclose(measured_gate[0][:3], -offset, atol=1e-6)  # correcting
    # the collector tells a plan expert the perturbation; without it the same expert keeps correcting
    told, untold = PlanExpert(lambda a: move_to(a, (pos - offset, quat), OPEN, tol=0.005)), None
    told.reset(env)
    told.set_perturbation(offset)
    untold = PlanExpert(lambda a: move_to(a, (pos - offset, quat), OPEN, tol=0.005))
    untold.reset(env)
    assert np.allclose(told.act(env)[:6], 0.0, atol=1e-6)  # plan over: holds where it is
    assert np.allclose(untold.act(env)[:3], -offset, atol=1e-6)
    env.close()


def test_noise_out_of_range_is_refused(tmp_path):
    with pytest.raises(UserError, match="--noise must be in"):
        collect("toy", None, 1, tmp_path / "x", noise=-0.01, progress=False)
    assert not (tmp_path / "x").exists()


def test_collector_tells_the_expert_each_perturbation_before_it_acts(tmp_path, monkeypatch):
    told = []
    make_expert = registry.make_expert

    def recording_expert(suite, task):
        expert = make_expert(suite, task)
        tell = expert.set_perturbation
        expert.set_perturbation = lambda t: (told.append(np.array(t)), tell(t))
        return expert

    monkeypatch.setattr(registry, "make_expert", recording_expert)
    collect("toy", None, 1, tmp_path / "d", image_size=32, progress=False, seed=5, noise=0.01)
    expected = _replayed_perturbations(5, 0.01, len(told))
    assert len(told) > 5 and np.abs(expected).max() > 0.002
    np.testing.assert_allclose(np.array(told), expected, atol=1e-6)
