"""Action heads over chunks of H actions: conditional diffusion (DDPM training, DDIM sampling through
`diffusers` schedulers) and flow matching (Euler integration). Both share one FiLM-conditioned MLP
denoiser over the flattened chunk; actions are normalized to [-1, 1] before they get here."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from vla.model.configuration import VLAConfig


def time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of a continuous time in [0, 1] (diffusion steps are divided by their count)."""
    half = dim // 2
    freqs = torch.exp(-math.log(1000.0) * torch.arange(half, device=t.device) / half)
    args = t.float()[:, None] * 1000.0 * freqs[None]
    return torch.cat([args.sin(), args.cos()], -1)


class ResBlock(nn.Module):
    def __init__(self, width: int, cond: int):
        super().__init__()
        self.norm = nn.LayerNorm(width, elementwise_affine=False)
        self.film = nn.Linear(cond, 2 * width)
        self.mlp = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        scale, shift = self.film(c).chunk(2, -1)
        return x + self.mlp(self.norm(x) * (1 + scale) + shift)


class Denoiser(nn.Module):
    """(noisy chunk, time, condition vector) -> chunk-shaped output (epsilon or velocity)."""

    def __init__(self, cfg: VLAConfig, cond_dim: int):
        super().__init__()
        self.shape = (cfg.chunk, cfg.action_dim)
        flat, width = cfg.chunk * cfg.action_dim, cfg.head_hidden
        self.t_dim = 64
        self.cond = nn.Sequential(nn.Linear(cond_dim + self.t_dim, width), nn.SiLU(), nn.Linear(width, width))
        self.inp = nn.Linear(flat, width)
        self.blocks = nn.ModuleList([ResBlock(width, width) for _ in range(cfg.head_blocks)])
        self.out = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, flat))

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        c = self.cond(torch.cat([cond, time_embedding(t, self.t_dim)], -1))
        h = self.inp(x.flatten(1))
        for block in self.blocks:
            h = block(h, c)
        return self.out(h).view(-1, *self.shape)


class DiffusionHead(nn.Module):
    def __init__(self, cfg: VLAConfig, cond_dim: int):
        super().__init__()
        from diffusers import DDIMScheduler, DDPMScheduler

        # predicting the clean chunk ("sample") rather than the noise trains far faster at this scale: an
        # epsilon error at the noisiest steps is amplified ~7x when DDIM turns it into a chunk estimate
        kw = dict(num_train_timesteps=cfg.diffusion_train_steps, beta_schedule="squaredcos_cap_v2",
                  clip_sample=True, prediction_type=cfg.diffusion_prediction)
        # "trailing" spacing starts sampling at the last training step (pure noise), whatever the step count
        self.train_sched, self.sample_sched = DDPMScheduler(**kw), DDIMScheduler(**kw, timestep_spacing="trailing")
        self.denoiser = Denoiser(cfg, cond_dim)
        self.steps = cfg.inference_steps

    def loss(self, actions: torch.Tensor, cond: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        noise = torch.randn_like(actions)
        t = torch.randint(0, self.train_sched.config.num_train_timesteps, (actions.shape[0],), device=actions.device)
        noisy = self.train_sched.add_noise(actions, noise, t)
        pred = self.denoiser(noisy, t / self.train_sched.config.num_train_timesteps, cond)
        target = noise if self.train_sched.config.prediction_type == "epsilon" else actions
        return (F.mse_loss(pred, target, reduction="none") * weight).sum() / weight.sum().clamp(min=1)

    @torch.no_grad()
    def sample(self, cond: torch.Tensor, shape: tuple[int, int], generator: torch.Generator | None = None,
               steps: int | None = None) -> torch.Tensor:
        x = torch.randn((cond.shape[0], *shape), generator=generator, device=cond.device)
        self.sample_sched.set_timesteps(steps or self.steps)
        n = self.sample_sched.config.num_train_timesteps
        for t in self.sample_sched.timesteps:
            eps = self.denoiser(x, torch.full((x.shape[0],), float(t) / n, device=x.device), cond)
            x = self.sample_sched.step(eps, t, x).prev_sample
        return x.clamp(-1, 1)


class FlowHead(nn.Module):
    """Rectified flow: x_s = (1 - s) noise + s actions, the network predicts actions - noise."""

    def __init__(self, cfg: VLAConfig, cond_dim: int):
        super().__init__()
        self.denoiser = Denoiser(cfg, cond_dim)
        self.steps = cfg.inference_steps

    def loss(self, actions: torch.Tensor, cond: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        noise = torch.randn_like(actions)
        # more weight on the noisy end (s near 0), as pi0 does with its Beta schedule
        s = (1 - torch.distributions.Beta(1.5, 1.0).sample((actions.shape[0],))).to(actions.device) * 0.999
        xs = (1 - s)[:, None, None] * noise + s[:, None, None] * actions
        pred = self.denoiser(xs, s, cond)
        return (F.mse_loss(pred, actions - noise, reduction="none") * weight).sum() / weight.sum().clamp(min=1)

    @torch.no_grad()
    def sample(self, cond: torch.Tensor, shape: tuple[int, int], generator: torch.Generator | None = None,
               steps: int | None = None) -> torch.Tensor:
        x = torch.randn((cond.shape[0], *shape), generator=generator, device=cond.device)
        n = steps or self.steps
        for i in range(n):
            s = torch.full((x.shape[0],), i / n, device=x.device)
            x = x + self.denoiser(x, s, cond) / n
        return x.clamp(-1, 1)


def make_head(cfg: VLAConfig, cond_dim: int) -> nn.Module:
    return DiffusionHead(cfg, cond_dim) if cfg.head == "diffusion" else FlowHead(cfg, cond_dim)
