"""LeRobotDatasetWriter: record episodes into a LeRobot v3.0 dataset, crash-safely."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import Any

import pyarrow as pa

from vla_data import durable
from vla_data._save import save_episode as _save_episode
from vla_data.arrow_io import data_schema, read_parquet, read_tasks
from vla_data.buffer import EpisodeBuffer
from vla_data.errors import DatasetError
from vla_data.layout import (
    DATA_PATH, DEFAULT_CHUNK_SIZE, DEFAULT_DATA_FILE_SIZE_IN_MB, DEFAULT_VIDEO_FILE_SIZE_IN_MB, EPISODES_DIR,
    INFO_PATH, STATS_PATH, TASKS_PATH, all_features, comparable, dumps_json, empty_info, load_info, load_json,
    next_chunk_file, normalize_features, video_keys,
)
from vla_data.stats import from_jsonable
from vla_data.video import DEFAULT_CODEC, resolve_codec

_CODEC_OF_INFO = {"av1": "libsvtav1", "h264": "libx264"}


class LeRobotDatasetWriter:
    """Writes episodes frame by frame; each `save_episode()` is durable when it returns.

    >>> with LeRobotDatasetWriter(root, fps=10, features=features) as w:
    ...     for obs in episode: w.add_frame(obs, task="pick up the cube")
    ...     w.save_episode()
    """

    def __init__(self, root: str | Path, *, fps: int, features: dict, robot_type: str | None = None,
                 video_codec: str = DEFAULT_CODEC, resume: bool = False, chunks_size: int = DEFAULT_CHUNK_SIZE,
                 data_files_size_in_mb: int = DEFAULT_DATA_FILE_SIZE_IN_MB,
                 video_files_size_in_mb: int = DEFAULT_VIDEO_FILE_SIZE_IN_MB, max_buffer_mb: float = 512) -> None:
        self.root = Path(root)
        if not isinstance(fps, int) or isinstance(fps, bool) or fps <= 0:
            raise DatasetError(f"fps must be a positive int, got {fps!r}")
        user = normalize_features(features)
        if (self.root / INFO_PATH).exists():
            if not resume:
                raise DatasetError(f"{self.root} is already a dataset: use LeRobotDatasetWriter.open_existing() "
                                   "or resume=True to append episodes")
            self._open(user, fps, video_codec, max_buffer_mb)
            return
        if self.root.exists() and any(p.name != durable.TMP_DIR for p in self.root.iterdir()):
            raise DatasetError(f"{self.root} exists, is not empty and is not a dataset")
        self._codec = resolve_codec(video_codec)
        self._lock(max_buffer_mb)
        info = empty_info(fps, all_features(user), robot_type, chunks_size, data_files_size_in_mb,
                          video_files_size_in_mb)
        tmp = durable.tmp_path(self.root, "info.json")
        durable.write_bytes(tmp, dumps_json(info))
        durable.commit(self.root, [(tmp, self.root / INFO_PATH)])
        self._init_state(info, tasks=[], stats=None)

    @classmethod
    def open_existing(cls, root: str | Path, *, features: dict | None = None, fps: int | None = None,
                      video_codec: str | None = None, max_buffer_mb: float = 512) -> LeRobotDatasetWriter:
        """Open a dataset to append episodes; `features`/`fps`, if given, must match the dataset's."""
        obj = cls.__new__(cls)
        obj.root = Path(root)
        if not durable.has_pending(obj.root):
            load_info(obj.root)  # a clear error if it is not a dataset
        obj._open(normalize_features(features) if features is not None else None, fps, video_codec, max_buffer_mb)
        return obj

    # ---- set-up -------------------------------------------------------------------------------
    def _lock(self, max_buffer_mb: float) -> None:
        self._writer_lock = durable.WriterLock(self.root)
        if not self._writer_lock.try_acquire():
            raise DatasetError(f"{self.root} is being written by another process")
        durable.recover(self.root)
        self._max_buffer_mb = max_buffer_mb
        self._closed = False

    def _open(self, user: dict | None, fps: int | None, codec: str | None, max_buffer_mb: float) -> None:
        self._lock(max_buffer_mb)
        try:
            info = load_info(self.root)
            if user is not None and comparable(all_features(user)) != comparable(info["features"]):
                raise DatasetError(f"features do not match the dataset's: {_diff(info['features'], user)}")
            if fps is not None and fps != info["fps"]:
                raise DatasetError(f"fps {fps} does not match the dataset's fps {info['fps']}")
            recorded = [ft.get("info", {}).get("video.codec") for ft in info["features"].values()
                        if ft["dtype"] == "video"]
            recorded_codec = _CODEC_OF_INFO.get(next((c for c in recorded if c), ""), None)
            if codec is not None and recorded_codec and resolve_codec(codec) != recorded_codec:
                raise DatasetError(f"video codec {codec!r} differs from the dataset's {recorded_codec!r}")
            self._codec = resolve_codec(codec or recorded_codec or DEFAULT_CODEC)
            tasks = read_tasks(self.root / TASKS_PATH) if (self.root / TASKS_PATH).exists() else []
            stats = from_jsonable(load_json(self.root / STATS_PATH)) if (self.root / STATS_PATH).exists() else None
            self._init_state(info, tasks, stats)
            self._load_tail()
        except BaseException:
            self._writer_lock.release()
            raise

    def _init_state(self, info: dict, tasks: list[str], stats: dict | None) -> None:
        self._info = info
        self._features: dict[str, dict] = info["features"]
        self._tasks = tasks
        self._stats = stats
        self._ep_rows: list[dict[str, Any]] = []
        self._ep_schema: pa.Schema | None = None
        self._ep_file: tuple[int, int] | None = None
        self._data_tbl: pa.Table | None = None
        self._data_file: tuple[int, int] | None = None
        self._video_file: dict[str, tuple[int, int]] = {}
        self._video_end: dict[str, float] = {}
        self._buffer = EpisodeBuffer(self._features, durable.tmp_dir(self.root), self._max_buffer_mb)

    def _load_tail(self) -> None:
        """Read the last episodes/data/video files so that new episodes continue them."""
        n = self._info["total_episodes"]
        if n == 0:
            return
        files = sorted((self.root / EPISODES_DIR).glob("chunk-*/file-*.parquet"))
        if not files:
            raise DatasetError(f"{self.root}: info.json lists {n} episodes but meta/episodes has no file")
        tbl = read_parquet(files[-1])
        rows = tbl.to_pylist()
        if not rows or rows[-1]["episode_index"] != n - 1:
            raise DatasetError(f"{files[-1]}: last episode is not {n - 1} as info.json says; cannot append safely")
        last = rows[-1]
        self._ep_rows, self._ep_schema = rows, tbl.schema
        self._ep_file = (last["meta/episodes/chunk_index"], last["meta/episodes/file_index"])
        self._data_file = (last["data/chunk_index"], last["data/file_index"])
        data = read_parquet(self.root / DATA_PATH.format(chunk_index=self._data_file[0], file_index=self._data_file[1]))
        schema = data_schema(self._features)
        if data.schema.remove_metadata() == schema.remove_metadata():
            self._data_tbl = data.replace_schema_metadata(schema.metadata)
        else:  # written by another tool with other types: continue in a new file
            self._data_file, self._data_tbl = next_chunk_file(*self._data_file, self._info["chunks_size"]), None
        for key in video_keys(self._features):
            self._video_file[key] = (last[f"videos/{key}/chunk_index"], last[f"videos/{key}/file_index"])
            self._video_end[key] = float(last[f"videos/{key}/to_timestamp"])

    # ---- recording ----------------------------------------------------------------------------
    @property
    def fps(self) -> int:
        """Frames per second."""
        return int(self._info["fps"])

    @property
    def features(self) -> dict[str, dict]:
        """All features, as info.json stores them."""
        return copy.deepcopy(self._features)

    @property
    def num_episodes(self) -> int:
        """Saved episodes."""
        return int(self._info["total_episodes"])

    @property
    def num_frames(self) -> int:
        """Saved frames."""
        return int(self._info["total_frames"])

    @property
    def episode_size(self) -> int:
        """Frames buffered for the episode being recorded."""
        return self._buffer.size

    def add_frame(self, frame: dict, task: str | None = None) -> None:
        """Append one frame (feature name -> value) with its task; rejected frames change nothing."""
        self._check_open()
        self._buffer.add(frame, task)

    def clear_episode(self) -> None:
        """Discard the frames of the episode being recorded."""
        self._buffer.clear()

    def save_episode(self) -> int:
        """Write the buffered episode durably and return its index. On error nothing on disk changes
        and the frames stay buffered (call `clear_episode()` to drop them)."""
        self._check_open()
        if self._buffer.size == 0:
            raise DatasetError("save_episode: no frames were added to this episode")
        return _save_episode(self)

    def finalize(self) -> None:
        """Close the writer (episodes are already on disk); unsaved frames are discarded."""
        if getattr(self, "_closed", True):
            return
        if self._buffer.size:
            warnings.warn(f"finalize: discarding {self._buffer.size} unsaved frames", stacklevel=2)
        self._buffer.clear()
        durable.recover(self.root)
        self._closed = True
        self._writer_lock.release()
        tmp = self.root / durable.TMP_DIR
        for p in tmp.iterdir() if tmp.is_dir() else []:
            p.unlink(missing_ok=True)
        if tmp.is_dir():
            tmp.rmdir()

    def __enter__(self) -> LeRobotDatasetWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            self._buffer.clear()
        self.finalize()

    def _check_open(self) -> None:
        if self._closed:
            raise DatasetError(f"the writer of {self.root} is finalized; open it again to add episodes")


def _diff(have: dict, want: dict) -> str:
    a, b = comparable(have), comparable(all_features(want))
    parts = [f"{k!r} missing from new features" for k in a if k not in b]
    parts += [f"{k!r} not in the dataset" for k in b if k not in a]
    parts += [f"{k!r}: dataset has {a[k][:2]}, got {b[k][:2]}" for k in a if k in b and a[k] != b[k]]
    return "; ".join(parts) or "names differ"
