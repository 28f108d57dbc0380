"""Evaluation videos: the cameras side by side under a caption bar (green: success, red: fail)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

CAPTION_H = 18
_BAR = {True: (30, 120, 50), False: (150, 35, 35)}


def compose_frame(images: Sequence[np.ndarray], caption: str, success: bool, scale: int = 1) -> np.ndarray:
    """HxWx3 uint8 images side by side (scaled up, 2 px apart) below a caption; even width and height."""
    tiles = [Image.fromarray(img).resize((img.shape[1] * scale, img.shape[0] * scale), Image.NEAREST)
             for img in images]
    width = sum(t.width for t in tiles) + 2 * (len(tiles) - 1)
    height = max(t.height for t in tiles) + CAPTION_H
    canvas = Image.new("RGB", (width + width % 2, height + height % 2), (20, 20, 20))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle([0, 0, canvas.width, CAPTION_H - 1], fill=_BAR[bool(success)])
    draw.text((3, 3), caption, fill=(240, 240, 240))
    x = 0
    for t in tiles:
        canvas.paste(t, (x, CAPTION_H))
        x += t.width + 2
    return np.asarray(canvas)


def write_episode_video(frames: Sequence[Sequence[np.ndarray]], path: Path, fps: int, title: str,
                        success: bool) -> Path:
    """Encode one episode (per step: the camera images) to an H.264 MP4 (AV1 if H.264 is unavailable)."""
    from vla_data.errors import DatasetError
    from vla_data.video import DEFAULT_CODEC, encode_video, resolve_codec

    try:
        codec = resolve_codec("libx264")  # plays everywhere; AV1 (the dataset default) does not
    except DatasetError:
        codec = DEFAULT_CODEC
    scale = max(1, math.ceil(240 / max(img.shape[0] for img in frames[0])))
    result = "SUCCESS" if success else "FAIL"
    n = len(frames) - 1  # frames include the observation before the first step
    composed = (compose_frame(imgs, f"{title}  step {i}/{n}  {result}", success, scale)
                for i, imgs in enumerate(frames))
    path.parent.mkdir(parents=True, exist_ok=True)
    encode_video(composed, path, fps, codec=codec)
    return path
