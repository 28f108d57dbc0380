"""VLAPolicy: the client-facing wrapper (vla.policy.Policy) around a trained VLAModel.

It resizes images, normalizes state, un-normalizes actions, and keeps a per-row cache of past moment
tokens keyed by frame index, so each call encodes only the new frame: the history costs one frame's work.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from vla.errors import UserError
from vla.model.action_space import ActionCodec
from vla.model.modeling import VLAModel
from vla.model.processing import Normalizer, resize_images
from vla.policy import ActionChunk, Policy


class VLAPolicy(Policy):
    def __init__(self, model: VLAModel, normalizer: Normalizer, device: str = "cpu", seed: int = 0,
                 inference_steps: int | None = None):
        self.model = model.to(device).eval()
        self.cfg = model.cfg
        self.norm = normalizer.to(device)
        self.device = torch.device(device)
        self.n_action_steps = self.cfg.n_action_steps
        self.action_space = self.cfg.action_space
        self.executor, self.ensemble_horizon = self.cfg.executor, self.cfg.ensemble_horizon
        self.ensemble_newest, self.action_layout = tuple(self.cfg.ensemble_newest), dict(self.cfg.action_layout)
        self.codec = ActionCodec.for_config(self.cfg.action_space, self.cfg.state_names)
        if inference_steps is not None and not 1 <= inference_steps <= model.cfg.diffusion_train_steps:
            raise UserError(f"inference_steps must be in 1..{model.cfg.diffusion_train_steps} (got {inference_steps})")
        self.inference_steps = inference_steps
        self.seed = seed
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self._cache: dict[int, dict[int, torch.Tensor]] = {}  # row -> frame_index -> moments [M, d]
        self._calls: dict[int, int] = {}

    def reset(self, rows: Sequence[int] | None = None) -> None:
        if rows is None:
            self._cache.clear()
            self._calls.clear()
            self.generator.manual_seed(self.seed)
            return
        for r in rows:
            self._cache.pop(int(r), None)
            self._calls.pop(int(r), None)

    # ------------------------------------------------------------------ inputs
    def _inputs(self, obs: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor, list[str], np.ndarray, list[int]]:
        tasks = obs.get("task")
        if isinstance(tasks, str):
            tasks = [tasks]
        if not tasks:
            raise UserError("observation has no 'task' instruction")
        cams = []
        for cam in self.cfg.cameras:
            key = f"observation.images.{cam}"
            if key not in obs:
                raise UserError(f"observation lacks {key!r}: this policy needs cameras {', '.join(self.cfg.cameras)}")
            img = torch.as_tensor(np.asarray(obs[key]))
            if img.ndim == 3:
                img = img[None]
            if img.ndim != 4 or img.shape[0] != len(tasks) or img.shape[-1] != 3:
                raise UserError(f"{key} has shape {tuple(img.shape)}: expected [{len(tasks)}, H, W, 3] uint8 "
                                f"(one image per task string)")
            cams.append(img.permute(0, 3, 1, 2))  # HWC -> CHW
        images = resize_images(torch.stack(cams, 1).to(torch.uint8), self.cfg.image_size).to(self.device)
        state = torch.as_tensor(np.asarray(obs["observation.state"], np.float32))
        state = state[None] if state.ndim == 1 else state
        if state.ndim != 2 or state.shape != (len(tasks), self.cfg.state_dim):
            raise UserError(f"observation.state has shape {tuple(state.shape)}, this policy expects "
                            f"[{len(tasks)}, {self.cfg.state_dim}] (expects {self.cfg.state_dim} values per row)")
        if not torch.isfinite(state).all():
            raise UserError("observation.state contains NaN or Inf")
        rows = [int(r) for r in np.asarray(obs.get("rows", np.arange(len(tasks)))).reshape(-1)]
        if len(rows) != len(tasks):
            raise UserError(f"observation has {len(tasks)} tasks but {len(rows)} rows")
        if "frame_index" in obs:
            frames = np.asarray(obs["frame_index"], np.int64).reshape(-1)
        else:  # assume one call per executed chunk
            frames = np.array([self._calls.get(r, 0) * self.n_action_steps for r in rows])
        return images, state.to(self.device), list(tasks), frames, rows

    # ------------------------------------------------------------------ act
    @torch.no_grad()
    def act(self, observation: dict[str, Any]) -> ActionChunk:
        images, state, tasks, frames, rows = self._inputs(observation)
        cfg = self.cfg
        moments, ground_q = self.model.encode_frames(images, self.norm.state(state), self.model.text(tasks))
        b, t, s = len(tasks), cfg.history_len, cfg.history_stride
        window = moments.new_zeros(b, t, *moments.shape[1:])
        pad = torch.ones(b, t, dtype=torch.bool, device=self.device)
        window[:, -1], pad[:, -1] = moments, False
        for i, r in enumerate(rows):
            cache = self._cache.setdefault(r, {})
            frame = int(frames[i])
            for k in [k for k in cache if k >= frame]:  # the frame index went back: a new episode
                del cache[k]
            for j in range(t - 1):
                past = cache.get(frame - (t - 1 - j) * s)
                if past is not None:
                    window[i, j], pad[i, j] = past, False
            cache[frame] = moments[i]
            oldest = frame - (t - 1) * s
            for k in [k for k in cache if k < oldest]:
                del cache[k]
            self._calls[r] = self._calls.get(r, 0) + 1
        chunk, pred = self.model.act_from_window(window, pad, ground_q, self.generator, self.inference_steps)
        actions = self.codec.from_model(self.norm.unaction(chunk), state).cpu().numpy().astype(np.float32)
        extras = {} if pred is None else {f"grounding.{k}": v.cpu().numpy() for k, v in pred.items()}
        return ActionChunk(actions=actions, extras=extras)
