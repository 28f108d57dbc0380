"""The VLA model: per-frame fusion into moment tokens, memory over past moments, grounding, action head.

Training sees `compute_loss(batch)` on windows of T positions (see vla/train/data.py for the batch);
inference goes through `encode_frames` once per new frame and `act_from_window` over cached moments.
"""

from __future__ import annotations

import torch
from torch import nn

from vla.model.blocks import Transformer
from vla.model.configuration import VLAConfig
from vla.model.encoders import CameraTokenizer, TextCache, TextWhitening
from vla.model.grounding import GroundingHead, SpatialPrompt, grounding_loss
from vla.model.heads import make_head
from vla.model.memory import MomentMemory, time_contrastive_loss
from vla.model.processing import to_model_images


class VLAModel(nn.Module):
    def __init__(self, cfg: VLAConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        d, n_cam = cfg.d_model, len(cfg.cameras)
        self.cameras = CameraTokenizer(cfg)
        self.text = TextCache(cfg.text_dim)
        self.text_proj = nn.Linear(cfg.text_dim, d)
        self.text_white = TextWhitening(cfg.text_dim) if cfg.text_whitening else None
        self.state_proj = nn.Sequential(nn.Linear(cfg.state_dim, d), nn.GELU(), nn.Linear(d, d))
        self.moment_queries = nn.Parameter(torch.randn(cfg.n_moment_tokens, d) * 0.02)
        self.ground_queries = nn.Parameter(torch.randn(n_cam, d) * 0.02)
        self.kind = nn.Parameter(torch.randn(2, d) * 0.02)  # text, state token types
        self.fusion = Transformer(d, cfg.n_heads, cfg.fusion_layers, cfg.mlp_ratio, cfg.dropout)
        self.memory = MomentMemory(cfg) if cfg.memory else None
        self.grounding = GroundingHead(cfg) if cfg.grounding else None
        self.prompt = SpatialPrompt(cfg) if cfg.grounding and cfg.spatial_prompt else None
        self.ground_memory = None
        if cfg.grounding and cfg.ground_from_memory:
            self.ground_memory = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, d))
            nn.init.zeros_(self.ground_memory[1].weight)  # starts as per-frame grounding
            nn.init.zeros_(self.ground_memory[1].bias)
        n_cond = cfg.n_moment_tokens + (n_cam if self.prompt is not None else 0)
        self.head = make_head(cfg, n_cond * d)

    def fit_text(self, instructions: list[str]) -> None:
        """Cache the training instructions' embeddings and, with text_whitening, fit the whitening on them."""
        self.text.add(instructions)
        if self.text_white is not None and len(set(instructions)) >= 2:
            self.text_white.fit(self.text(sorted(set(instructions))))

    # ------------------------------------------------------------------ per frame
    def encode_frames(self, images: torch.Tensor, state: torch.Tensor, text: torch.Tensor,
                      augment: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """images uint8 [N, n_cam, 3, h, w], normalized state [N, S], text embeddings [N, 384]
        -> moment tokens [N, M, d] and grounding query features [N, n_cam, d]."""
        x = to_model_images(images, self.cfg.shift_augment if augment else 0)
        n, m = x.shape[0], self.cfg.n_moment_tokens
        text = text if self.text_white is None else self.text_white(text)
        tokens = torch.cat([
            self.cameras(x, text),
            (self.text_proj(text) + self.kind[0])[:, None],
            (self.state_proj(state) + self.kind[1])[:, None],
            self.moment_queries.expand(n, -1, -1),
            self.ground_queries.expand(n, -1, -1),
        ], 1)
        out = self.fusion(tokens)
        n_g = self.ground_queries.shape[0]
        return out[:, -(m + n_g):-n_g], out[:, -n_g:]

    # ------------------------------------------------------------------ over a window of positions
    def condition(self, moments: torch.Tensor, pad: torch.Tensor, ground_q: torch.Tensor, last_only: bool = False):
        """moments [B, T, M, d], pad [B, T], ground_q [B, T, n_cam, d] (or [B, n_cam, d] with last_only)
        -> action-head condition [B, T, C] (or [B, C]) and the grounding predictions."""
        mem = self.memory(moments, pad) if self.memory is not None else moments
        if last_only:
            mem = mem[:, -1]
        parts = [mem.flatten(-2)]
        if self.ground_memory is not None:  # every camera's query gets its timestep's memory summary
            ground_q = ground_q + self.ground_memory(mem.mean(-2)).unsqueeze(-2)
        pred = self.grounding(ground_q) if self.grounding is not None else None
        if self.prompt is not None:
            parts.append(self.prompt(ground_q, pred).flatten(-2))
        return torch.cat(parts, -1), pred

    def forward(self, batch: dict, grounding_only: bool = False) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self.grounding_pretrain_loss(batch) if grounding_only else self.compute_loss(batch)

    def grounding_pretrain_loss(self, batch: dict) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The target points' grounding loss alone (the pre-training stage; see `grounding_pretrain_steps`)."""
        if self.grounding is None:
            raise ValueError("grounding pre-training needs grounding=true")
        b, t = batch["state"].shape[:2]
        keep = ~batch["history_pad"]
        moments, ground_q = self._encode_real(batch, self.text(batch["task"]).repeat_interleave(t, 0), keep.flatten())
        _, pred = self.condition(moments.unflatten(0, (b, t)), batch["history_pad"], ground_q.unflatten(0, (b, t)))
        loss, metrics = grounding_loss(pred, batch, keep, keys=("points",))
        return loss, {**metrics, "loss": loss.detach()}

    def compute_loss(self, batch: dict) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """batch: a normalized window batch (state and action already normalized by the Normalizer)."""
        cfg = self.cfg
        b, t = batch["state"].shape[:2]
        text = self.text(batch["task"])
        keep = ~batch["history_pad"]
        moments, ground_q = self._encode_real(batch, text.repeat_interleave(t, 0), keep.flatten())
        moments, ground_q = moments.unflatten(0, (b, t)), ground_q.unflatten(0, (b, t))
        cond, pred = self.condition(moments, batch["history_pad"], ground_q)
        weight = (keep[..., None] & ~batch["action_pad"]).float()[..., None].expand_as(batch["action"])
        r = cfg.head_samples
        sel = keep.flatten()
        actions = batch["action"].flatten(0, 1)[sel].repeat(r, 1, 1)
        w = weight.flatten(0, 1)[sel].repeat(r, 1, 1)
        loss = self.head.loss(actions, cond.flatten(0, 1)[sel].repeat(r, 1), w)
        metrics = {"action": loss.detach()}
        if pred is not None:
            g_loss, g_metrics = grounding_loss(pred, batch, keep)
            loss = loss + cfg.grounding_weight * g_loss
            metrics.update(g_metrics)
        if self.memory is not None and cfg.time_contrastive_weight > 0:
            tc = time_contrastive_loss(moments, batch["history_pad"], cfg.time_contrastive_temperature)
            loss = loss + cfg.time_contrastive_weight * tc
            metrics["time_contrastive"] = tc.detach()
        metrics["loss"] = loss.detach()
        return loss, metrics

    def _encode_real(self, batch: dict, text: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode only the non-padded slots of a window batch; padded slots get zeros.

        Windows reach back history_len * history_stride steps, longer than most episodes, so most slots are
        padding. No real slot ever attends to a padded one (see MomentMemory) and every loss masks them, so
        skipping them changes no result and saves most of the encoder's work."""
        images, state = batch["images"].flatten(0, 1), batch["state"].flatten(0, 1)
        idx = real.nonzero().squeeze(1)
        m_real, g_real = self.encode_frames(images[idx], state[idx], text[idx], augment=self.training)
        moments = m_real.new_zeros(real.shape[0], *m_real.shape[1:]).index_copy(0, idx, m_real)
        ground_q = g_real.new_zeros(real.shape[0], *g_real.shape[1:]).index_copy(0, idx, g_real)
        return moments, ground_q

    @torch.no_grad()
    def ground_last(self, batch: dict) -> dict[str, torch.Tensor]:
        """Grounding predictions for the last position of a normalized window batch, with its history."""
        b, t = batch["state"].shape[:2]
        pad = batch["history_pad"]
        moments, ground_q = self._encode_real(batch, self.text(batch["task"]).repeat_interleave(t, 0),
                                              (~pad).flatten())
        moments, ground_q = moments.unflatten(0, (b, t)), ground_q.unflatten(0, (b, t))
        if self.memory is None:
            moments, pad = moments[:, -1:], pad[:, -1:]
        return self.condition(moments, pad, ground_q[:, -1], last_only=True)[1]

    @torch.no_grad()
    def act_from_window(self, moments: torch.Tensor, pad: torch.Tensor, ground_q: torch.Tensor,
                        generator: torch.Generator | None = None, steps: int | None = None):
        """moments [B, T, M, d] with the current frame in the last slot, ground_q [B, n_cam, d] of the
        current frame -> normalized chunk [B, H, A] and the current grounding predictions."""
        if self.memory is None:
            moments, pad = moments[:, -1:], pad[:, -1:]
        cond, pred = self.condition(moments, pad, ground_q, last_only=True)
        chunk = self.head.sample(cond, (self.cfg.chunk, self.cfg.action_dim), generator, steps)
        return chunk, pred

    @torch.no_grad()
    def condition_last(self, batch: dict) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Recompute every position of a normalized window batch -> the action-head condition [B, C] of its last
        position and that position's grounding predictions."""
        b, t = batch["state"].shape[:2]
        text = self.text(batch["task"])
        moments, ground_q = self.encode_frames(batch["images"].flatten(0, 1), batch["state"].flatten(0, 1),
                                               text.repeat_interleave(t, 0))
        moments, pad = moments.unflatten(0, (b, t)), batch["history_pad"]
        if self.memory is None:
            moments, pad = moments[:, -1:], pad[:, -1:]
        return self.condition(moments, pad, ground_q.unflatten(0, (b, t))[:, -1], last_only=True)

    @torch.no_grad()
    def sample_chunk(self, batch: dict, generator: torch.Generator | None = None, steps: int | None = None):
        """Recompute every position of a normalized window batch and sample a chunk for its last position.
        One step (`steps=1`) returns the head's clean-chunk estimate from pure noise: its conditional mean."""
        cond, pred = self.condition_last(batch)
        return self.head.sample(cond, (self.cfg.chunk, self.cfg.action_dim), generator, steps), pred
