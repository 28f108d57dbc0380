"""HAMLET-style history: moment tokens summarise each timestep; a small causal transformer attends over them.

Window layout: T slots, slot T-1 is the current timestep, slot j holds the moment tokens of the frame
(T-1-j) * history_stride control steps earlier. Slots before the episode start are padding. Every slot
attends to itself and to earlier, non-padded slots (block-causal), so one training window supervises
all T positions, and inference with a right-aligned cache gives exactly the same result.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vla.model.blocks import Transformer
from vla.model.configuration import VLAConfig


class MomentMemory(nn.Module):
    def __init__(self, cfg: VLAConfig):
        super().__init__()
        self.m = cfg.n_moment_tokens
        self.slot = nn.Parameter(torch.randn(cfg.history_len, 1, cfg.d_model) * 0.02)
        self.net = Transformer(cfg.d_model, cfg.n_heads, cfg.memory_layers, cfg.mlp_ratio, cfg.dropout)

    def attention_mask(self, pad: torch.Tensor) -> torch.Tensor:
        """pad bool [B, T] -> allowed bool [B, 1, T*M, T*M]."""
        t = pad.shape[1]
        slot = torch.arange(t, device=pad.device).repeat_interleave(self.m)
        causal = slot[:, None] >= slot[None, :]
        keys_ok = (~pad).repeat_interleave(self.m, dim=1)[:, None, :]
        own = slot[:, None] == slot[None, :]
        return ((causal & keys_ok) | own)[:, None]

    def forward(self, moments: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """moments [B, T, M, d], pad [B, T] -> memory-conditioned moment tokens [B, T, M, d]."""
        b, t, m, d = moments.shape
        x = (moments + self.slot[-t:]).reshape(b, t * m, d)
        return self.net(x, self.attention_mask(pad)).view(b, t, m, d)


def time_contrastive_loss(moments: torch.Tensor, pad: torch.Tensor, temperature: float) -> torch.Tensor:
    """InfoNCE over a window: each slot's pooled moment should match its next slot (temporally close) more
    than any other slot of the batch (distant in time, or another episode)."""
    z = F.normalize(moments.mean(2), dim=-1)  # [B, T, d]
    b, t, _ = z.shape
    if t < 2:
        return z.sum() * 0.0
    anchors, positives = z[:, :-1].reshape(-1, z.shape[-1]), z[:, 1:].reshape(-1, z.shape[-1])
    valid = (~pad[:, :-1] & ~pad[:, 1:]).reshape(-1)
    if not valid.any():
        return z.sum() * 0.0
    logits = anchors[valid] @ positives[valid].T / temperature
    target = torch.arange(logits.shape[0], device=z.device)
    return F.cross_entropy(logits, target)
