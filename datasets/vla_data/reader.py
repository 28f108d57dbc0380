"""DatasetReader: read a LeRobot v3.0 dataset (ours or LeRobot's) into numpy arrays."""

from __future__ import annotations

import bisect
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from vla_data import durable
from vla_data.arrow_io import column_to_numpy, parquet_columns, read_parquet, read_tasks
from vla_data.errors import DatasetError
from vla_data.layout import DATA_PATH, EPISODES_DIR, TASKS_PATH, VIDEO_PATH, is_video, load_info, video_keys
from vla_data.video import VideoReader


class DatasetReader:
    """Random access to frames and whole episodes of a dataset on disk.

    Numeric features come back with shape (frames, *shape), or (frames,) for shape [1];
    video features as uint8 (frames, H, W, 3); "task" as one string per frame.
    """

    def __init__(self, root: str | Path, *, tolerance_s: float = 1e-4) -> None:
        self.root = Path(root)
        if not (self.root / "meta" / "info.json").is_file() and not durable.has_pending(self.root):
            raise DatasetError(f"{self.root} is not a LeRobot v3 dataset: meta/info.json missing")
        durable.recover_for_reading(self.root)
        self.info = load_info(self.root)
        self.tolerance_s = tolerance_s
        self._features: dict[str, dict] = self.info["features"]
        self._tasks = read_tasks(self.root / TASKS_PATH) if (self.root / TASKS_PATH).exists() else []
        self._episodes = self._load_episodes()
        self._starts = [e["dataset_from_index"] for e in self._episodes]
        self._files: dict[tuple[int, int], dict[str, np.ndarray]] = {}
        self._videos: dict[Path, VideoReader] = {}

    def _load_episodes(self) -> list[dict[str, Any]]:
        total = int(self.info["total_episodes"])
        rows: list[dict[str, Any]] = []
        for path in sorted((self.root / EPISODES_DIR).glob("chunk-*/file-*.parquet")):
            cols = [c for c in parquet_columns(path) if not c.startswith("stats/")]
            rows += read_parquet(path, columns=cols).to_pylist()
        rows.sort(key=lambda r: r["episode_index"])
        rows = [r for r in rows if r["episode_index"] < total]  # ignore a partial trailing episode
        if [r["episode_index"] for r in rows] != list(range(len(rows))):
            raise DatasetError(f"{self.root / EPISODES_DIR}: episode indices are not 0..{len(rows) - 1}")
        if len(rows) < total:
            warnings.warn(f"{self.root}: info.json lists {total} episodes, only {len(rows)} have metadata",
                          stacklevel=3)
        return rows

    # ---- metadata -----------------------------------------------------------------------------
    @property
    def fps(self) -> int:
        """Frames per second."""
        return int(self.info["fps"])

    @property
    def features(self) -> dict[str, dict]:
        """All features as info.json describes them."""
        return self._features

    @property
    def tasks(self) -> list[str]:
        """Task strings, position = task_index."""
        return list(self._tasks)

    @property
    def num_episodes(self) -> int:
        """Number of episodes."""
        return len(self._episodes)

    @property
    def num_frames(self) -> int:
        """Number of frames in all episodes."""
        return self._episodes[-1]["dataset_to_index"] if self._episodes else 0

    @property
    def camera_keys(self) -> list[str]:
        """Video feature names."""
        return video_keys(self._features)

    def episode_meta(self, k: int) -> dict[str, Any]:
        """The episode's row of meta/episodes (without stats)."""
        return dict(self._episodes[self._check_episode(k)])

    def __len__(self) -> int:
        return self.num_frames

    def _check_episode(self, k: int) -> int:
        n = self.num_episodes
        if not isinstance(k, int | np.integer) or not 0 <= k < n:
            span = f"({0}-{n - 1})" if n else "(none)"
            raise DatasetError(f"episode {k} out of range: dataset has {n} episodes {span}")
        return int(k)

    # ---- data ---------------------------------------------------------------------------------
    def _file_columns(self, chunk: int, file: int) -> dict[str, np.ndarray]:
        key = (chunk, file)
        if key not in self._files:
            path = self.root / DATA_PATH.format(chunk_index=chunk, file_index=file)
            table = read_parquet(path)
            cols: dict[str, np.ndarray] = {}
            for name, ft in self._features.items():
                if is_video(ft):
                    continue
                if name not in table.column_names:
                    raise DatasetError(f"parquet file {path} has no column {name!r} listed in info.json")
                try:
                    cols[name] = column_to_numpy(table.column(name), ft)
                except (pa.ArrowException, ValueError) as e:
                    raise DatasetError(f"parquet file {path}: column {name!r} does not match info.json ({e})") from None
            self._files[key] = cols
        return self._files[key]

    def _rows(self, ep: dict[str, Any], lo: int, hi: int) -> dict[str, np.ndarray]:
        cols = self._file_columns(ep["data/chunk_index"], ep["data/file_index"])
        index = cols["index"]
        start = int(np.searchsorted(index, ep["dataset_from_index"] + lo))
        stop = start + (hi - lo)
        first = ep["dataset_from_index"] + lo
        if stop > len(index) or index[start] != first or index[stop - 1] != first + (hi - lo) - 1:
            path = DATA_PATH.format(chunk_index=ep["data/chunk_index"], file_index=ep["data/file_index"])
            raise DatasetError(f"{self.root / path}: rows of episode {ep['episode_index']} are missing")
        return {k: v[start:stop] for k, v in cols.items()}

    def _video(self, ep: dict[str, Any], key: str, timestamps: np.ndarray) -> np.ndarray:
        path = self.root / VIDEO_PATH.format(video_key=key, chunk_index=ep[f"videos/{key}/chunk_index"],
                                             file_index=ep[f"videos/{key}/file_index"])
        if path not in self._videos:
            self._videos[path] = VideoReader(path)
        start = ep[f"videos/{key}/from_timestamp"]
        return self._videos[path].read([start + float(t) for t in timestamps], self.tolerance_s)

    def _frames(self, k: int, lo: int, hi: int, video: bool = True) -> dict[str, Any]:
        ep = self._episodes[k]
        out: dict[str, Any] = dict(self._rows(ep, lo, hi))
        for key in self.camera_keys if video else []:
            out[key] = self._video(ep, key, out["timestamp"])
        try:
            out["task"] = [self._tasks[i] for i in out["task_index"]]
        except IndexError:
            raise DatasetError(f"{self.root / TASKS_PATH}: a task_index of episode {k} has no task") from None
        return out

    def episode(self, k: int, *, video: bool = True) -> dict[str, Any]:
        """All frames of episode k: feature name -> array over frames, plus "task" (list of str).

        With video=False the cameras are not decoded (fast access to the numeric columns).
        """
        k = self._check_episode(k)
        return self._frames(k, 0, self._episodes[k]["length"], video)

    def __getitem__(self, i: int) -> dict[str, Any]:
        """One frame by global index (negative counts from the end)."""
        n = self.num_frames
        if not isinstance(i, int | np.integer):
            raise TypeError(f"frame index must be an int, got {type(i).__name__}")
        j = int(i) + n if i < 0 else int(i)
        if not 0 <= j < n:
            raise IndexError(f"frame {i} out of range: dataset has {n} frames")
        k = bisect.bisect_right(self._starts, j) - 1
        lo = j - self._starts[k]
        frame = self._frames(k, lo, lo + 1)
        return {key: v[0] for key, v in frame.items()}

    def close(self) -> None:
        """Close open video files."""
        for v in self._videos.values():
            v.close()
        self._videos.clear()

    def __enter__(self) -> DatasetReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
