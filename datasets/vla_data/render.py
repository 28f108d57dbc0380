"""Render an episode to MP4 or GIF: cameras side by side, grounding overlays, a caption bar."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw
from tqdm import tqdm

from vla_data.errors import DatasetError
from vla_data.reader import DatasetReader

_COLORS = [(255, 64, 64), (64, 200, 255), (255, 210, 0), (160, 90, 255), (0, 230, 120), (255, 130, 0)]
_EE_COLOR = (255, 255, 255)
_CAPTION_H = 18


def camera_name(key: str) -> str:
    """'observation.images.scene' -> 'scene' (the name used in grounding feature keys)."""
    return key.split(".")[-1]


def grounding_keys(features: dict, camera_key: str) -> dict[str, str]:
    """The grounding features of a camera: kind ('target_points', 'target_boxes', 'ee_point') -> key."""
    out = {}
    for kind in ("target_points", "target_boxes", "ee_point"):
        for name in (camera_name(camera_key), camera_key):
            if f"grounding.{name}.{kind}" in features:
                out[kind] = f"grounding.{name}.{kind}"
                break
    return out


def draw_grounding(img: Image.Image, values: dict[str, np.ndarray], scale: float) -> None:
    """Draw points (circles), boxes (rectangles) and the end-effector point (a cross); -1 = absent."""
    d = ImageDraw.Draw(img)
    r = max(2.0, 1.5 * scale)
    boxes = np.asarray(values.get("target_boxes", np.zeros((0, 4)))).reshape(-1, 4)
    for k, (u0, v0, u1, v1) in enumerate(boxes):
        if min(u0, v0, u1, v1) >= 0 and u1 >= u0 and v1 >= v0:
            d.rectangle([u0 * scale, v0 * scale, (u1 + 1) * scale - 1, (v1 + 1) * scale - 1],
                        outline=_COLORS[k % len(_COLORS)], width=max(1, int(scale // 2)))
    points = np.asarray(values.get("target_points", np.zeros((0, 2)))).reshape(-1, 2)
    for k, (u, v) in enumerate(points):
        if u >= 0 and v >= 0:
            x, y = (u + 0.5) * scale, (v + 0.5) * scale
            d.ellipse([x - r, y - r, x + r, y + r], outline=_COLORS[k % len(_COLORS)], width=max(1, int(scale // 2)))
    if "ee_point" in values:
        u, v = np.asarray(values["ee_point"]).reshape(2)
        if u >= 0 and v >= 0:
            x, y = (u + 0.5) * scale, (v + 0.5) * scale
            d.line([x - r, y, x + r, y], fill=_EE_COLOR, width=1)
            d.line([x, y - r, x, y + r], fill=_EE_COLOR, width=1)


def _compose(ep: dict[str, Any], i: int, cams: list[str], features: dict, scale: int, overlays: bool,
             caption: str) -> np.ndarray:
    tiles = []
    for key in cams:
        img = Image.fromarray(ep[key][i])
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
        if overlays:
            draw_grounding(img, {kind: ep[k][i] for kind, k in grounding_keys(features, key).items()}, scale)
        tiles.append(img)
    width = sum(t.width for t in tiles) + 2 * (len(tiles) - 1)
    height = max(t.height for t in tiles) + _CAPTION_H
    width, height = width + width % 2, height + height % 2  # even sizes for yuv420p
    canvas = Image.new("RGB", (width, height), (20, 20, 20))
    x = 0
    for t in tiles:
        canvas.paste(t, (x, _CAPTION_H))
        x += t.width + 2
    ImageDraw.Draw(canvas).text((3, 3), caption, fill=(230, 230, 230))
    return np.asarray(canvas)


def _write_mp4(frames: list[np.ndarray], path: Path, fps: int) -> None:
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps, options={"crf": "20"})
        stream.pix_fmt = "yuv420p"
        stream.height, stream.width = frames[0].shape[:2]
        for fr in frames:
            for p in stream.encode(av.VideoFrame.from_ndarray(fr, format="rgb24")):
                out.mux(p)
        for p in stream.encode():
            out.mux(p)


def render_episode(root: str | Path, episode: int, out_path: str | Path, *, overlays: bool = True,
                   fps: int | None = None, scale: int | None = None, progress: bool = True) -> Path:
    """Write episode `episode` of the dataset at `root` to `out_path` (.mp4 or .gif)."""
    out = Path(out_path)
    if out.suffix.lower() not in (".mp4", ".gif"):
        raise DatasetError(f"cannot render to {out}: use a .mp4 or .gif file name")
    with DatasetReader(root) as r:
        cams = r.camera_keys
        if not cams:
            raise DatasetError(f"{root} has no video features to render")
        ep = r.episode(episode)
        features = r.features
        fps = fps or r.fps
    n = len(ep["frame_index"])
    if scale is None:
        scale = max(1, math.ceil(240 / max(features[c]["shape"][0] for c in cams)))
    frames = []
    for i in tqdm(range(n), desc=f"render episode {episode}", unit="frame", disable=not progress):
        caption = f"ep {episode}  {i + 1}/{n}  {ep['task'][i]}"
        frames.append(_compose(ep, i, cams, features, scale, overlays, caption))
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".gif":
        imgs = [Image.fromarray(f) for f in frames]
        imgs[0].save(out, save_all=True, append_images=imgs[1:], duration=max(20, round(1000 / fps)), loop=0)
    else:
        _write_mp4(frames, out, fps)
    return out
