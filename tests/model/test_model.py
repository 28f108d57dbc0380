"""Shapes, masking, memory causality, losses that learn, determinism."""

from __future__ import annotations

import pytest
import torch

from vla_model_testlib import DELTA_SPACE, make_batch, make_config
from vla.model.memory import MomentMemory
from vla.model.modeling import VLAModel


@pytest.mark.parametrize("head", ["diffusion", "flow"])
def test_loss_and_chunk_shapes(head):
    cfg = make_config(head=head)
    torch.manual_seed(0)
    model = VLAModel(cfg)
    batch = make_batch(cfg, 3, start_pad=1)
    loss, metrics = model.compute_loss(batch)
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert {"action", "ground_points", "ground_boxes", "ground_trace", "time_contrastive"} <= set(metrics)
    loss.backward()
    assert model.cameras.encoder.net[0][0].weight.grad.abs().sum() > 0  # gradients reach the image encoder
    model.eval()
    chunk, pred = model.sample_chunk(batch, torch.Generator().manual_seed(0))
    assert chunk.shape == (3, cfg.chunk, cfg.action_dim)
    assert chunk.abs().max() <= 1.0
    assert pred["points"].shape == (3, 2, 2, 2) and pred["trace"].shape == (3, 2, cfg.trace_len, 2)


def test_memory_is_block_causal_and_ignores_padding(tiny_cfg):
    torch.manual_seed(0)
    mem = MomentMemory(tiny_cfg).eval()
    t, m, d = tiny_cfg.history_len, tiny_cfg.n_moment_tokens, tiny_cfg.d_model
    x = torch.randn(1, t, m, d)
    pad = torch.tensor([[True] + [False] * (t - 1)])
    base = mem(x, pad)
    future = x.clone()
    future[:, -1] += torch.randn(m, d) * 3  # the last slot must not influence earlier slots
    assert torch.allclose(mem(future, pad)[:, :-1], base[:, :-1], atol=1e-5)
    padded = x.clone()
    padded[:, 0] = torch.randn(m, d) * 10  # a padded slot's content must not influence real slots
    assert torch.allclose(mem(padded, pad)[:, 1:], base[:, 1:], atol=1e-5)
    past = x.clone()
    past[:, 1] += torch.randn(m, d) * 3  # a real past slot does influence the current one
    assert not torch.allclose(mem(past, pad)[:, -1], base[:, -1], atol=1e-3)


def _current_condition(model, batch):
    b, t = batch["state"].shape[:2]
    moments, gq = model.encode_frames(batch["images"].flatten(0, 1), batch["state"].flatten(0, 1),
                                      model.text(batch["task"]).repeat_interleave(t, 0))
    moments, gq = moments.unflatten(0, (b, t)), gq.unflatten(0, (b, t))
    if model.memory is None:
        moments, pad = moments[:, -1:], batch["history_pad"][:, -1:]
    else:
        pad = batch["history_pad"]
    cond, _ = model.condition(moments, pad, gq[:, -1], last_only=True)
    return cond


@pytest.mark.parametrize("memory", [True, False])
def test_current_condition_depends_on_history_only_with_memory(memory):
    cfg = make_config(memory=memory)
    torch.manual_seed(0)
    model = VLAModel(cfg).eval()
    batch = make_batch(cfg, 2)
    other = dict(batch, images=batch["images"].clone())
    other["images"][:, 0] = 255 - other["images"][:, 0]  # change the oldest frame only
    with torch.no_grad():
        a, b = _current_condition(model, batch), _current_condition(model, other)
    assert torch.allclose(a, b, atol=1e-5) != memory


def test_action_loss_ignores_padding(tiny_cfg):
    torch.manual_seed(0)
    model = VLAModel(tiny_cfg.replace(grounding=False, time_contrastive_weight=0.0))
    batch = make_batch(tiny_cfg, 2, start_pad=2)
    changed = dict(batch, action=batch["action"].clone())
    changed["action"][:, :2] = -50.0  # positions before the episode start carry no loss
    torch.manual_seed(3)
    l1, _ = model.compute_loss(batch)
    torch.manual_seed(3)
    l2, _ = model.compute_loss(changed)
    assert torch.allclose(l1, l2)
    all_pad = dict(batch, action_pad=torch.ones_like(batch["action_pad"]))  # every chunk step past the end
    _, metrics = model.compute_loss(all_pad)
    assert float(metrics["action"]) == 0.0


def test_training_skips_padded_slots_without_changing_real_ones(tiny_cfg, monkeypatch):
    """Padded history slots are not encoded, and every real slot's head condition equals the one computed
    with every slot encoded (the padded slots' frames may hold anything)."""
    torch.manual_seed(0)
    model = VLAModel(tiny_cfg.replace(shift_augment=0)).eval()
    batch = make_batch(tiny_cfg, 3, start_pad=2)
    batch["history_pad"][0, :3] = True  # windows with different amounts of padding
    b, t = batch["history_pad"].shape
    keep = ~batch["history_pad"]
    text = model.text(batch["task"]).repeat_interleave(t, 0)
    encoded: list[int] = []
    real_encode = model.encode_frames
    monkeypatch.setattr(model, "encode_frames", lambda images, *a, **k: encoded.append(len(images)) or
                        real_encode(images, *a, **k))
    with torch.no_grad():
        conds = []
        for mask in (keep.flatten(), torch.ones(b * t, dtype=torch.bool)):
            moments, ground_q = model._encode_real(batch, text, mask)
            cond, _ = model.condition(moments.unflatten(0, (b, t)), batch["history_pad"], ground_q.unflatten(0, (b, t)))
            conds.append(cond)
    assert encoded == [int(keep.sum()), b * t]
    assert torch.allclose(conds[0][keep], conds[1][keep], atol=1e-5)


@pytest.mark.parametrize("head", ["diffusion", "flow"])
def test_head_fits_a_conditional_target(head):
    """A few hundred steps on two fixed windows: the sampled chunks approach each window's own actions."""
    cfg = make_config(head=head, shift_augment=0, grounding=False, time_contrastive_weight=0.0, head_samples=8,
                      **DELTA_SPACE)
    torch.manual_seed(0)
    model = VLAModel(cfg)
    batch = make_batch(cfg, 2)
    batch["action"][0] = 0.6
    batch["action"][1] = -0.6
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(300):
        loss, _ = model.compute_loss(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    chunk, _ = model.sample_chunk(batch, torch.Generator().manual_seed(0))
    assert (chunk[0] - 0.6).abs().mean() < 0.15 and (chunk[1] + 0.6).abs().mean() < 0.15
    # one step from pure noise is the head's conditional mean (what bench/action_fit.py scores)
    mean, _ = model.sample_chunk(batch, torch.Generator().manual_seed(1), steps=1)
    assert (mean[0] - 0.6).abs().mean() < 0.15 and (mean[1] + 0.6).abs().mean() < 0.15


def test_fixed_seed_gives_identical_chunks(tiny_cfg):
    torch.manual_seed(0)
    model = VLAModel(tiny_cfg).eval()
    batch = make_batch(tiny_cfg, 2)
    a, _ = model.sample_chunk(batch, torch.Generator().manual_seed(7))
    b, _ = model.sample_chunk(batch, torch.Generator().manual_seed(7))
    c, _ = model.sample_chunk(batch, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_spatial_keypoints_follow_a_bright_spot_with_sub_cell_precision():
    """A heat map that responds to brightness puts its keypoint on the spot, between grid cells when the
    spot straddles two (the precision the pooled token grid loses)."""
    from vla.model.encoders import SpatialKeypoints

    kp = SpatialKeypoints(1, 1, 8)
    with torch.no_grad():
        kp.heat.weight.fill_(1.0)
        kp.heat.bias.zero_()
        kp.log_temperature.fill_(-3.0)
    grid = torch.linspace(-1, 1, 8)
    feat = torch.zeros(2, 1, 8, 8)
    feat[0, 0, 2, 5] = 1.0
    feat[1, 0, 6, 1] = feat[1, 0, 6, 2] = 1.0  # halfway between columns 1 and 2
    pts = kp.points(feat)
    assert torch.allclose(pts[0, 0], torch.stack([grid[5], grid[2]]), atol=1e-3)
    assert torch.allclose(pts[1, 0], torch.stack([(grid[1] + grid[2]) / 2, grid[6]]), atol=1e-3)
    assert kp(feat).shape == (2, 1, 8)


def test_text_whitening_separates_instructions_that_differ_in_one_word():
    """Raw MiniLM embeddings of left/right variants of an instruction are nearly identical; after the
    whitening fitted on the instruction set they are far apart, and the set has unit variance."""
    from vla.model.encoders import SentenceEncoder, TextWhitening

    templates = ["pick up the {} block and place it on the plate", "put the block to the {} of the plate on the plate",
                 "move the block that is {} of the plate onto the plate", "place the red block on the {} side of the plate"]
    texts = [t.format(side) for t in templates for side in ("left", "right")]
    raw = SentenceEncoder.encode(texts)
    white = TextWhitening(raw.shape[1])
    white.fit(raw)
    z = white(raw)
    cos = torch.nn.functional.cosine_similarity
    for i in range(0, len(texts), 2):
        assert cos(raw[i], raw[i + 1], dim=0) > 0.95
        assert cos(z[i], z[i + 1], dim=0) < 0.6
    def spread(x: torch.Tensor) -> float:  # largest / smallest variance among the directions they differ in
        c = (x - x.mean(0)).double()
        v = torch.linalg.eigvalsh(c.T @ c / len(x)).flip(0)[:len(texts) - 1]
        return float(v.max() / v.min())

    assert spread(z) < spread(raw) / 5
    centered = (z - z.mean(0)).double()
    assert 0.8 < float(centered.pow(2).sum(1).mean()) <= 1.0  # the overall scale stays that of the raw ones


@pytest.mark.parametrize("memory", [True, False])
def test_grounding_reads_the_past_only_through_the_memory(memory):
    """With ground_from_memory, the current grounding depends on an earlier frame exactly when memory is on
    (what lets the policy point at the cup that hid the block); the history never changes it without."""
    cfg = make_config(memory=memory, shift_augment=0)
    assert cfg.ground_from_memory  # presets turn it on
    torch.manual_seed(0)
    model = VLAModel(cfg).eval()
    torch.nn.init.normal_(model.ground_memory[1].weight, std=0.5)  # zero at init: start as per-frame grounding
    batch = make_batch(cfg, 1)
    base = model.ground_last(batch)["points"]
    past = {**batch, "images": batch["images"].clone()}
    past["images"][:, 0] = 255 - past["images"][:, 0]  # change the oldest frame only
    changed = model.ground_last(past)["points"]
    assert torch.allclose(changed, base, atol=1e-6) != memory
    assert torch.equal(VLAModel(cfg).ground_memory[1].weight, torch.zeros_like(model.ground_memory[1].weight))
