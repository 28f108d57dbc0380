"""The frames of the episode being recorded: validation, and memory or disk (spool) storage."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vla_data.errors import DatasetError
from vla_data.layout import DEFAULT_FEATURES, is_video, np_dtype

_PY_SCALARS = (bool, int, float)


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array of shape {value.shape}"
    return f"{type(value).__name__} {value!r}"[:80]


def check_value(key: str, ft: dict, value: Any) -> np.ndarray:
    """Validate one frame value against its feature and return it as an array of the feature's shape."""
    dtype, shape = np_dtype(ft), tuple(ft["shape"])
    if is_video(ft):
        want = f"uint8 array of shape {shape} (height, width, channels)"
        if not isinstance(value, np.ndarray) or value.dtype != np.uint8 or value.shape != shape:
            raise DatasetError(f"frame key {key!r}: expected {want}, got {_describe(value)}")
        return value
    want = f"{dtype} array of shape {shape}"
    if isinstance(value, np.ndarray | np.generic):
        arr = np.asarray(value)
        if arr.dtype != dtype:
            raise DatasetError(f"frame key {key!r}: expected {want}, got {_describe(arr)}")
    elif isinstance(value, _PY_SCALARS) or isinstance(value, list | tuple):
        try:
            arr = np.asarray(value)
        except ValueError:
            raise DatasetError(f"frame key {key!r}: expected {want}, got a ragged list") from None
        kind_ok = {"b": arr.dtype.kind == "b", "i": arr.dtype.kind in "bi", "u": arr.dtype.kind in "bi",
                   "f": arr.dtype.kind in "bif"}[dtype.kind]
        if not kind_ok:
            raise DatasetError(f"frame key {key!r}: expected {want}, got {_describe(arr)}")
        arr = arr.astype(dtype)
    else:
        raise DatasetError(f"frame key {key!r}: expected {want}, got {_describe(value)}")
    if shape == (1,) and arr.shape == ():
        arr = arr.reshape(1)
    if arr.shape != shape:
        raise DatasetError(f"frame key {key!r}: expected {want}, got {_describe(arr)}")
    if dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise DatasetError(f"frame key {key!r}: contains NaN or Inf")
    return arr


class FrameStore:
    """Frames of one camera: kept in memory, spilled to a raw file when the buffer grows large."""

    def __init__(self, shape: tuple[int, ...], spool: Path) -> None:
        self.shape = shape
        self.spool = spool
        self._mem: list[np.ndarray] = []
        self._on_disk = 0

    def __len__(self) -> int:
        return self._on_disk + len(self._mem)

    @property
    def mem_bytes(self) -> int:
        """Bytes held in memory."""
        return len(self._mem) * int(np.prod(self.shape))

    def append(self, frame: np.ndarray) -> None:
        """Add a frame (copied)."""
        self._mem.append(frame.copy())

    def spill(self) -> None:
        """Move the in-memory frames to the spool file."""
        if not self._mem:
            return
        with open(self.spool, "ab") as f:
            for fr in self._mem:
                f.write(np.ascontiguousarray(fr).tobytes())
        self._on_disk += len(self._mem)
        self._mem = []

    def __getitem__(self, i: int) -> np.ndarray:
        if i < self._on_disk:
            mm = np.memmap(self.spool, dtype=np.uint8, mode="r", shape=(self._on_disk, *self.shape))
            return np.array(mm[i])
        return self._mem[i - self._on_disk]

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._on_disk:
            mm = np.memmap(self.spool, dtype=np.uint8, mode="r", shape=(self._on_disk, *self.shape))
            for i in range(self._on_disk):
                yield np.array(mm[i])
        yield from self._mem

    def clear(self) -> None:
        """Drop all frames and the spool file."""
        self._mem = []
        self._on_disk = 0
        if self.spool.exists():
            os.unlink(self.spool)


class EpisodeBuffer:
    """Validated frames and per-frame tasks of the episode being recorded."""

    def __init__(self, features: dict, spool_dir: Path, max_memory_mb: float = 512) -> None:
        self.features = {k: ft for k, ft in features.items() if k not in DEFAULT_FEATURES}
        self.max_bytes = int(max_memory_mb * 1024 * 1024)
        self.numeric: dict[str, list[np.ndarray]] = {k: [] for k, ft in self.features.items() if not is_video(ft)}
        self.videos = {
            k: FrameStore(tuple(ft["shape"]), spool_dir / f"spool-{os.getpid()}-{id(self)}-{k}.raw")
            for k, ft in self.features.items() if is_video(ft)
        }
        self.tasks: list[str] = []

    @property
    def size(self) -> int:
        """Number of frames."""
        return len(self.tasks)

    def validate(self, frame: dict, task: str | None) -> tuple[dict[str, np.ndarray], str]:
        """Check a frame completely before anything is stored; returns converted values and task."""
        if not isinstance(frame, dict):
            raise DatasetError(f"a frame must be a dict of feature name -> value, got {type(frame).__name__}")
        frame = dict(frame)
        if "task" in frame:
            ftask = frame.pop("task")
            if task is not None and ftask != task:
                raise DatasetError(f"frame key 'task' ({ftask!r}) differs from the task argument ({task!r})")
            task = ftask
        if not isinstance(task, str) or not task.strip():
            raise DatasetError(f"task must be a non-empty string, got {task!r}")
        reserved = sorted(set(frame) & set(DEFAULT_FEATURES))
        if reserved:
            raise DatasetError(f"frame keys {reserved} are reserved: the writer sets them itself")
        missing = sorted(set(self.features) - set(frame))
        extra = sorted(set(frame) - set(self.features))
        if missing or extra:
            parts = ([f"missing keys {missing}"] if missing else []) + ([f"unknown keys {extra}"] if extra else [])
            raise DatasetError(f"frame does not match the features: {'; '.join(parts)}")
        return {k: check_value(k, self.features[k], frame[k]) for k in self.features}, task

    def add(self, frame: dict, task: str | None) -> None:
        """Validate and append one frame (nothing is stored if validation fails)."""
        values, task = self.validate(frame, task)
        for k, store in self.videos.items():
            store.append(values[k])
        for k, lst in self.numeric.items():
            lst.append(values[k])
        self.tasks.append(task)
        if sum(s.mem_bytes for s in self.videos.values()) > self.max_bytes:
            for s in self.videos.values():
                s.spill()

    def clear(self) -> None:
        """Drop all frames."""
        for lst in self.numeric.values():
            lst.clear()
        for s in self.videos.values():
            s.clear()
        self.tasks = []
