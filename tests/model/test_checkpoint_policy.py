"""Save/load round trips for every preset, clear errors on mismatched checkpoints, and the policy wrapper:
cached history gives the same actions as recomputing the whole window."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from vla.checkpoint import CheckpointError, load_model, load_policy, save_checkpoint
from vla.errors import UserError
from vla.model.configuration import VLAConfig, get_preset, presets
from vla.model.modeling import VLAModel
from vla.model.policy import VLAPolicy
from vla.model.processing import Normalizer, resize_images
from vla_model_testlib import TASKS, make_config


def _normalizer(cfg) -> Normalizer:
    g = torch.Generator().manual_seed(1)
    return Normalizer({"state_mean": torch.randn(cfg.state_dim, generator=g), "state_std": torch.rand(cfg.state_dim, generator=g) + 0.5,
                       "action_min": -torch.rand(cfg.action_dim, generator=g) - 0.1, "action_max": torch.rand(cfg.action_dim, generator=g) + 0.1})


def _perturbed_model(cfg, scale: float) -> VLAModel:
    """A seeded model with noise on every weight, so that the zero-initialized layers matter too."""
    torch.manual_seed(0)
    model = VLAModel(cfg)
    for p in model.parameters():
        p.data += torch.randn_like(p) * scale
    return model


def _observation(cfg, rng: np.random.Generator, b: int = 2, size: int = 40) -> dict:
    obs = {f"observation.images.{c}": rng.integers(0, 256, (b, size, size, 3), dtype=np.uint8) for c in cfg.cameras}
    obs["observation.state"] = rng.normal(size=(b, cfg.state_dim)).astype(np.float32)
    obs["task"] = [TASKS[i % 2] for i in range(b)]
    return obs


@pytest.mark.parametrize("preset", presets())
def test_round_trip_every_preset(preset, tmp_path):
    cfg = make_config(preset)
    model = _perturbed_model(cfg, 0.01)
    model.fit_text(TASKS)
    norm = _normalizer(cfg)
    save_checkpoint(tmp_path / "ckpt", model, norm, meta={"step": 3})
    obs = _observation(cfg, np.random.default_rng(0), size=cfg.image_size)
    before = VLAPolicy(model, norm, seed=5).act(dict(obs, frame_index=np.zeros(2, np.int64)))
    after = load_policy(tmp_path / "ckpt", seed=5).act(dict(obs, frame_index=np.zeros(2, np.int64)))
    assert after.actions.shape == (2, cfg.chunk, cfg.action_dim)
    np.testing.assert_allclose(after.actions, before.actions, atol=1e-5)
    loaded, _, doc = load_model(tmp_path / "ckpt")
    assert loaded.cfg == model.cfg and doc["meta"]["step"] == 3
    assert set(loaded.text.texts) == set(TASKS)  # instruction embeddings travel with the weights
    policy = load_policy(tmp_path / "ckpt")  # the executor the preset recommends travels with it too
    assert (policy.executor, policy.ensemble_horizon) == (cfg.executor, cfg.ensemble_horizon)


def test_checkpoints_saved_before_the_executor_field_run_as_a_queue(tmp_path):
    """Older configs have no `executor`: they load with the queue, the executor their results were measured with."""
    cfg = make_config("cpu")
    assert cfg.executor == "ensemble" and cfg.ensemble_horizon == 4  # the default preset's recommendation
    save_checkpoint(tmp_path / "ckpt", VLAModel(cfg), _normalizer(cfg))
    config_file = tmp_path / "ckpt" / "config.json"
    doc = json.loads(config_file.read_text())
    del doc["config"]["executor"], doc["config"]["ensemble_horizon"]
    config_file.write_text(json.dumps(doc))
    policy = load_policy(tmp_path / "ckpt")
    assert (policy.executor, policy.ensemble_horizon) == ("queue", None)


def test_mismatched_checkpoints_fail_clearly(tmp_path):
    cfg = make_config("tiny")
    save_checkpoint(tmp_path / "a", VLAModel(cfg), _normalizer(cfg))
    doc = json.loads((tmp_path / "a" / "config.json").read_text())
    doc["schema_version"] = 999
    (tmp_path / "a" / "config.json").write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="schema version 999"):
        load_model(tmp_path / "a")
    # weights of a wider model under a config that builds a narrower one
    save_checkpoint(tmp_path / "b", VLAModel(make_config("tiny", d_model=64)), _normalizer(cfg))
    save_checkpoint(tmp_path / "c", VLAModel(cfg), _normalizer(cfg))
    (tmp_path / "c" / "model.safetensors").write_bytes((tmp_path / "b" / "model.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="has shape"):
        load_model(tmp_path / "c")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_policy(tmp_path / "nope")
    (tmp_path / "d").mkdir()
    with pytest.raises(CheckpointError, match="neither a VLA checkpoint"):
        load_policy(tmp_path / "d")


def test_cached_history_equals_recomputed_window():
    """Acting step by step with the moment cache == encoding the whole right-aligned window from scratch."""
    cfg = make_config("tiny", history_len=4, history_stride=2, n_action_steps=2)
    model = _perturbed_model(cfg, 0.05)
    norm = _normalizer(cfg)
    policy = VLAPolicy(model, norm)
    rng = np.random.default_rng(0)
    frames = [_observation(cfg, rng, b=1) for _ in range(7)]  # calls at frame 0, 2, ..., 12
    for k, obs in enumerate(frames):
        t = k * cfg.history_stride
        policy.generator.manual_seed(11)
        cached = policy.act(dict(obs, frame_index=np.array([t])))
        # recompute: slot j holds frame t - (T-1-j)*s, padded before the episode start
        slots = [k - (cfg.history_len - 1 - j) for j in range(cfg.history_len)]
        pick = [frames[max(i, 0)] for i in slots]
        images = torch.stack([torch.stack([torch.as_tensor(o[f"observation.images.{c}"][0]).permute(2, 0, 1)
                                           for c in cfg.cameras]) for o in pick])[None]
        batch = {"images": resize_images(images, cfg.image_size),
                 "state": norm.state(torch.as_tensor(np.stack([o["observation.state"][0] for o in pick]))[None]),
                 "history_pad": torch.tensor([[i < 0 for i in slots]]), "task": obs["task"]}
        chunk, _ = model.sample_chunk(batch, torch.Generator().manual_seed(11))
        state = torch.as_tensor(obs["observation.state"])
        np.testing.assert_allclose(cached.actions, policy.codec.from_model(norm.unaction(chunk), state).numpy(), atol=1e-4)


def test_rows_keep_separate_histories_and_reset():
    cfg = make_config("tiny", history_len=3, history_stride=1, n_action_steps=1)
    model = _perturbed_model(cfg, 0.05)
    policy = VLAPolicy(model, _normalizer(cfg))
    rng = np.random.default_rng(0)
    a, b = _observation(cfg, rng, b=1), _observation(cfg, rng, b=1)
    policy.act(dict(a, frame_index=np.array([0]), rows=np.array([0])))
    policy.act(dict(b, frame_index=np.array([0]), rows=np.array([1])))
    policy.generator.manual_seed(3)
    row0 = policy.act(dict(b, frame_index=np.array([1]), rows=np.array([0]))).actions  # history: a
    policy.generator.manual_seed(3)
    row1 = policy.act(dict(b, frame_index=np.array([1]), rows=np.array([1]))).actions  # history: b
    assert not np.allclose(row0, row1)
    policy.reset([0])
    policy.act(dict(b, frame_index=np.array([0]), rows=np.array([0])))
    policy.generator.manual_seed(3)
    again = policy.act(dict(b, frame_index=np.array([1]), rows=np.array([0]))).actions  # history now: b
    np.testing.assert_allclose(again, row1, atol=1e-5)


def test_bad_observations_are_rejected():
    cfg = make_config("tiny")
    policy = VLAPolicy(VLAModel(cfg), _normalizer(cfg))
    obs = _observation(cfg, np.random.default_rng(0))
    with pytest.raises(ValueError, match="observation.images.wrist"):
        policy.act({k: v for k, v in obs.items() if k != "observation.images.wrist"})
    with pytest.raises(ValueError, match="expects 9 values"):
        policy.act(dict(obs, **{"observation.state": np.zeros((2, 4), np.float32)}))
    bad = obs["observation.state"].copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        policy.act(dict(obs, **{"observation.state": bad}))


def test_config_overrides_take_the_types_a_loaded_config_has():
    """`--set` values arrive as JSON: a list for a tuple field becomes a tuple, so a resumed run's saved config
    compares equal; a bare string is refused instead of read as characters; one setting returns to the queue."""
    cfg = get_preset("cpu", ensemble_newest=["gripper"], conv_channels=[8, 16, 32, 32])
    assert cfg.ensemble_newest == ("gripper",) and cfg.conv_channels == (8, 16, 32, 32)
    assert VLAConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(UserError, match=r'ensemble_newest=\["gripper"\]'):
        get_preset("cpu", ensemble_newest="gripper")
    assert get_preset("cpu", executor="queue").executor == "queue"  # the preset's horizon is then unused
