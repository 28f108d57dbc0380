"""MP4 video with PyAV: encode an episode, append episodes by remuxing, decode by timestamp."""

from __future__ import annotations

import os
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints warnings to stderr otherwise
import av  # noqa: E402

from vla_data.errors import DatasetError  # noqa: E402

DEFAULT_CODEC = "libsvtav1"  # what LeRobot writes by default (AV1)
# LeRobot's defaults: GOP 2 (cheap random access), crf 30; no B-frames so that remuxing is trivial.
_CODEC_OPTIONS: dict[str, dict[str, str]] = {
    "libsvtav1": {"g": "2", "crf": "30", "preset": "12"},
    "libx264": {"g": "2", "crf": "23", "bf": "0"},
}
_ALIASES = {"av1": "libsvtav1", "h264": "libx264"}


def resolve_codec(name: str) -> str:
    """Canonical encoder name for 'libsvtav1'/'av1' or 'libx264'/'h264'; fails if unavailable."""
    codec = _ALIASES.get(name, name)
    if codec not in _CODEC_OPTIONS:
        raise DatasetError(f"video codec {name!r} is not supported (use one of {sorted(_CODEC_OPTIONS)})")
    try:
        av.codec.Codec(codec, "w")
    except Exception:
        raise DatasetError(f"video encoder {codec!r} is not available in this PyAV build") from None
    return codec


def encode_video(frames: Iterable[np.ndarray], path: Path, fps: int, codec: str = DEFAULT_CODEC) -> int:
    """Encode HxWx3 uint8 frames as a yuv420p MP4 at `fps`; returns the number of frames."""
    codec = resolve_codec(codec)
    n = 0
    with av.open(str(path), "w", format="mp4") as out:
        stream = None
        for frame in frames:
            if stream is None:
                stream = out.add_stream(codec, rate=fps, options=dict(_CODEC_OPTIONS[codec]))
                stream.pix_fmt = "yuv420p"
                stream.height, stream.width = frame.shape[:2]
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            vf.pts = n
            for packet in stream.encode(vf):
                out.mux(packet)
            n += 1
        if stream is not None:
            for packet in stream.encode():
                out.mux(packet)
    return n


def open_video(path: Path) -> Any:
    """An open PyAV container with a video stream, or one clear DatasetError line."""
    try:
        container = av.open(str(path))
    except FileNotFoundError:
        raise DatasetError(f"video file {path} is missing") from None
    except (av.FFmpegError, OSError) as e:
        raise DatasetError(f"video file {path} is truncated or corrupt ({e.__class__.__name__})") from None
    if not container.streams.video:
        container.close()
        raise DatasetError(f"video file {path} has no video stream")
    return container


def video_end_s(path: Path) -> float:
    """End time of the last frame (pts + duration) in seconds, from packets (no decoding)."""
    with open_video(path) as c:
        s = c.streams.video[0]
        end = 0
        try:
            for p in c.demux(s):
                if p.pts is not None:
                    end = max(end, p.pts + (p.duration or 0))
        except av.FFmpegError as e:
            raise DatasetError(f"video file {path} is truncated or corrupt ({e.__class__.__name__})") from None
        return float(end * s.time_base)


def concat_videos(inputs: list[Path], out: Path) -> None:
    """Concatenate MP4 files of the same codec and size by remuxing packets (no re-encoding).

    Each input is shifted to start where the previous one ended, so the result has one
    continuous timeline, as LeRobot's concatenated video files do.
    """
    offset = Fraction(0)
    with av.open(str(out), "w", format="mp4") as oc:
        ostream = None
        for path in inputs:
            with open_video(path) as ic:
                s = ic.streams.video[0]
                if ostream is None:
                    ostream = oc.add_stream_from_template(s, opaque=True)
                    ostream.time_base = s.time_base
                shift = round(offset / s.time_base)
                end = 0
                for p in ic.demux(s):
                    if p.dts is None:
                        continue
                    end = max(end, p.pts + (p.duration or 0))
                    p.pts += shift
                    p.dts += shift
                    p.stream = ostream
                    oc.mux(p)
                offset += Fraction(end) * s.time_base


def video_info(path: Path) -> dict[str, Any]:
    """The `info` block LeRobot stores per video feature in info.json."""
    with open_video(path) as c:
        s = c.streams.video[0]
        return {
            "video.height": s.height,
            "video.width": s.width,
            "video.codec": s.codec_context.codec.canonical_name,
            "video.pix_fmt": s.pix_fmt,
            "video.is_depth_map": False,
            "video.fps": int(s.base_rate),
            "video.channels": 3,
            "has_audio": bool(c.streams.audio),
        }


class VideoReader:
    """Decodes frames of one MP4 file by timestamp; keeps its place for forward reads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._c = open_video(self.path)
        self._s = self._c.streams.video[0]
        self._s.thread_type = "AUTO"
        self._iter: Any = None
        self._last: tuple[float, np.ndarray] | None = None
        # one colour-conversion context per file: frame.to_ndarray(format=...) builds a new one per frame (~6x slower)
        from av.video.reformatter import VideoReformatter

        self._to_rgb = VideoReformatter()

    def close(self) -> None:
        """Release the file."""
        self._c.close()

    def _frames_from(self, t: float) -> Any:
        self._c.seek(max(0, int(t / self._s.time_base)), stream=self._s, backward=True)
        for frame in self._c.decode(self._s):
            yield float(frame.pts * self._s.time_base), frame

    def _next(self) -> tuple[float, Any] | None:
        try:
            return next(self._iter)
        except StopIteration:
            return None
        except av.FFmpegError as e:
            raise DatasetError(f"video file {self.path} is truncated or corrupt ({e.__class__.__name__})") from None

    def read(self, times: list[float], tolerance_s: float) -> np.ndarray:
        """Frames (N, H, W, 3) uint8 nearest to sorted `times` (seconds), each within tolerance."""
        out: list[np.ndarray] = []
        pos = self._last[0] if self._last is not None else None
        if self._iter is None or pos is None or times[0] < pos - tolerance_s or times[0] > pos + 1.0:
            self._iter, self._last = self._frames_from(times[0]), None
        for t in times:
            while self._last is None or self._last[0] < t - tolerance_s:
                got = self._next()
                if got is None:
                    break
                self._last = (got[0], self._to_rgb.reformat(got[1], format="rgb24").to_ndarray())
            if self._last is None or abs(self._last[0] - t) > tolerance_s:
                have = "end of file" if self._last is None or self._last[0] < t else f"{self._last[0]:.4f}s"
                raise DatasetError(f"video file {self.path} has no frame at {t:.4f}s (nearest: {have})")
            out.append(self._last[1])
        return np.stack(out)
