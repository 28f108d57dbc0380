"""Processing kept out of the model: normalization (saved beside the weights), image resizing and augmentation."""

from __future__ import annotations

import torch
import torch.nn.functional as F

STATE_KEY, ACTION_KEY = "observation.state", "action"


class Normalizer:
    """State: zero mean, unit variance. Actions: min-max to [-1, 1] (what the diffusion/flow heads clip to)."""

    def __init__(self, tensors: dict[str, torch.Tensor]):
        self.t = {k: v.float() for k, v in tensors.items()}

    @classmethod
    def from_stats(cls, stats: dict[str, dict]) -> "Normalizer":
        s, a = stats[STATE_KEY], stats[ACTION_KEY]
        return cls({"state_mean": torch.as_tensor(s["mean"]), "state_std": torch.as_tensor(s["std"]),
                    "action_min": torch.as_tensor(a["min"]), "action_max": torch.as_tensor(a["max"])})

    def to(self, device: str | torch.device) -> "Normalizer":
        return Normalizer({k: v.to(device) for k, v in self.t.items()})

    def state(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.t["state_mean"]) / self.t["state_std"].clamp(min=1e-3)

    def _range(self) -> tuple[torch.Tensor, torch.Tensor]:
        lo, hi = self.t["action_min"], self.t["action_max"]
        return lo, (hi - lo).clamp(min=1e-6)

    def action(self, x: torch.Tensor) -> torch.Tensor:
        lo, span = self._range()
        return (x - lo) / span * 2 - 1

    def unaction(self, x: torch.Tensor) -> torch.Tensor:
        lo, span = self._range()
        return (x + 1) / 2 * span + lo


def resize_images(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 [..., 3, H, W] -> uint8 [..., 3, size, size] with antialiased bilinear filtering.

    The one resize used by both the training data pipeline and the policy at run time."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    lead = images.shape[:-3]
    x = images.reshape(-1, *images.shape[-3:]).float()
    x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8).reshape(*lead, 3, size, size)


def to_model_images(images: torch.Tensor, shift: int = 0, generator: torch.Generator | None = None) -> torch.Tensor:
    """uint8 [N, C, 3, h, w] -> float in [-1, 1]; with shift > 0, a random translation of up to `shift`
    pixels per image (DrQ-style augmentation, border pixels repeated)."""
    x = images.float() / 127.5 - 1
    if shift <= 0:
        return x
    n, c, _, h, w = x.shape
    flat = x.flatten(0, 1)
    offs = (torch.randint(-shift, shift + 1, (flat.shape[0], 2), generator=generator) * 2.0
            / torch.tensor([w, h])).to(x.device)
    theta = torch.zeros(flat.shape[0], 2, 3, device=x.device)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, :, 2] = offs
    grid = F.affine_grid(theta, list(flat.shape), align_corners=False)
    return F.grid_sample(flat, grid, mode="nearest", padding_mode="border", align_corners=False).view(n, c, 3, h, w)
