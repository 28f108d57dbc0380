"""Spatial grounding (InternVLA-M1-style): per camera, predict the task's target points and boxes and the
future end-effector trace in normalized image coordinates; the same features prompt the action head."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vla.model.configuration import VLAConfig


class GroundingHead(nn.Module):
    """Reads one grounding-query token per camera; all outputs are sigmoid coordinates in [0, 1]."""

    def __init__(self, cfg: VLAConfig):
        super().__init__()
        self.p, self.k = max(cfg.n_targets, 1), cfg.trace_len
        out = self.p * 2 + self.p * 4 + self.k * 2
        self.mlp = nn.Sequential(nn.Linear(cfg.d_model, cfg.d_model), nn.GELU(), nn.Linear(cfg.d_model, out))

    def forward(self, queries: torch.Tensor) -> dict[str, torch.Tensor]:
        """queries [..., n_cam, d] -> points [..., n_cam, P, 2], boxes [..., P, 4], trace [..., K, 2]."""
        y = torch.sigmoid(self.mlp(queries))
        p, k = self.p, self.k
        points, boxes, trace = y.split([p * 2, p * 4, k * 2], dim=-1)
        lead = y.shape[:-1]
        return {"points": points.reshape(*lead, p, 2), "boxes": boxes.reshape(*lead, p, 4),
                "trace": trace.reshape(*lead, k, 2)}


class SpatialPrompt(nn.Module):
    """Grounding features and predicted coordinates -> one conditioning token per camera."""

    def __init__(self, cfg: VLAConfig):
        super().__init__()
        coords = max(cfg.n_targets, 1) * 6 + cfg.trace_len * 2
        self.coord = nn.Linear(coords, cfg.d_model)
        self.norm = nn.LayerNorm(cfg.d_model)

    def forward(self, queries: torch.Tensor, pred: dict[str, torch.Tensor]) -> torch.Tensor:
        flat = torch.cat([pred["points"].flatten(-2), pred["boxes"].flatten(-2), pred["trace"].flatten(-2)], -1)
        return self.norm(queries + self.coord(flat * 2 - 1))


def grounding_loss(pred: dict[str, torch.Tensor], batch: dict[str, torch.Tensor], keep: torch.Tensor,
                   keys: tuple[str, ...] = ("points", "boxes", "trace")) -> tuple[torch.Tensor, dict]:
    """Masked L1 in normalized coordinates. keep bool [B, T] selects real (non-padded) positions."""
    total, metrics = 0.0, {}
    for key in keys:
        target, valid = batch[key], batch[f"{key}_valid"] & keep[..., None, None]
        err = F.smooth_l1_loss(pred[key], target.clamp(0, 1), reduction="none", beta=0.02).mean(-1)
        loss = (err * valid).sum() / valid.sum().clamp(min=1)
        metrics[f"ground_{key}"] = loss.detach()
        total = total + loss
    return total, metrics


def point_errors_px(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor, size: int) -> torch.Tensor:
    """Euclidean error in pixels at `size` x `size` of every valid point: 1-D tensor."""
    return ((pred - target) * size).norm(dim=-1)[valid]
