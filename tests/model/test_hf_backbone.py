"""The optional Hugging Face vision backbone, on a tiny SigLIP built from a config (no download exists here)."""

from __future__ import annotations

import torch

from vla.model.modeling import VLAModel
from vla_model_testlib import make_batch, make_config


def _tiny_siglip(folder, with_weights: bool):
    from transformers import SiglipVisionConfig, SiglipVisionModel

    cfg = SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                             image_size=32, patch_size=8)
    if with_weights:
        torch.manual_seed(0)
        SiglipVisionModel(cfg).save_pretrained(folder)
    else:
        cfg.save_pretrained(folder)
    return folder


def test_hf_backbone_trains_and_loads_local_weights(tmp_path):
    path = _tiny_siglip(tmp_path / "siglip", with_weights=True)
    cfg = make_config("tiny", vision_backbone="hf", hf_path=str(path))
    model = VLAModel(cfg)
    backbone = model.cameras.encoder.backbone
    from safetensors.torch import load_file

    saved = load_file(str(path / "model.safetensors"))
    key = next(k for k in saved if k.endswith("patch_embedding.weight"))
    assert torch.equal(dict(backbone.named_parameters())[key.split("vision_model.", 1)[-1]], saved[key])
    batch = make_batch(cfg, 2)
    loss, _ = model.compute_loss(batch)
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in backbone.parameters())
    model.eval()
    chunk, _ = model.sample_chunk(batch)
    assert chunk.shape == (2, cfg.chunk, cfg.action_dim)


def test_hf_backbone_from_config_only(tmp_path):
    path = _tiny_siglip(tmp_path / "cfg_only", with_weights=False)
    model = VLAModel(make_config("tiny", vision_backbone="hf", hf_path=str(path), keypoints=4))
    tokens = model.cameras(torch.rand(3, 2, 3, 32, 32) * 2 - 1)
    assert tokens.shape == (3, 2 * (model.cfg.token_grid ** 2 + 1), model.cfg.d_model)  # grid + keypoint token
