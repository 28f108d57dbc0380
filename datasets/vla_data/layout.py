"""LeRobot v3.0 on-disk layout: paths, constants, feature helpers and info.json I/O."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from vla_data.errors import DatasetError

CODEBASE_VERSION = "v3.0"
DEFAULT_CHUNK_SIZE = 1000
DEFAULT_DATA_FILE_SIZE_IN_MB = 100
DEFAULT_VIDEO_FILE_SIZE_IN_MB = 200

INFO_PATH = "meta/info.json"
STATS_PATH = "meta/stats.json"
TASKS_PATH = "meta/tasks.parquet"
EPISODES_DIR = "meta/episodes"
CHUNK_FILE = "chunk-{chunk_index:03d}/file-{file_index:03d}"
EPISODES_PATH = EPISODES_DIR + "/" + CHUNK_FILE + ".parquet"
DATA_PATH = "data/" + CHUNK_FILE + ".parquet"
VIDEO_PATH = "videos/{video_key}/" + CHUNK_FILE + ".mp4"

# Per-frame columns that the writer adds itself, in LeRobot's order.
DEFAULT_FEATURES: dict[str, dict[str, Any]] = {
    "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    "episode_index": {"dtype": "int64", "shape": [1], "names": None},
    "index": {"dtype": "int64", "shape": [1], "names": None},
    "task_index": {"dtype": "int64", "shape": [1], "names": None},
}
NUMERIC_DTYPES = {
    "float16", "float32", "float64", "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64", "bool",
}


def is_video(ft: dict) -> bool:
    """True for a feature stored as MP4 video."""
    return ft.get("dtype") == "video"


def video_keys(features: dict) -> list[str]:
    """Names of the video features, in feature order."""
    return [k for k, ft in features.items() if is_video(ft)]


def next_chunk_file(chunk: int, file: int, chunks_size: int) -> tuple[int, int]:
    """The (chunk, file) index pair after this one: files roll over into a new chunk."""
    file += 1
    if file >= chunks_size:
        return chunk + 1, 0
    return chunk, file


def normalize_features(features: dict) -> dict[str, dict[str, Any]]:
    """Validate a user feature dict (LeRobot format) and return it with list shapes.

    The standard per-frame features are added by the writer and may not be passed in.
    """
    if not isinstance(features, dict) or not features:
        raise DatasetError("features must be a non-empty dict of name -> {dtype, shape, names}")
    out: dict[str, dict[str, Any]] = {}
    for name, ft in features.items():
        if name in DEFAULT_FEATURES or name == "task":
            raise DatasetError(f"feature {name!r} is reserved: the writer adds it itself")
        if "/" in name:
            raise DatasetError(f"feature name {name!r} may not contain '/'")
        if not isinstance(ft, dict) or "dtype" not in ft or "shape" not in ft:
            raise DatasetError(f"feature {name!r} needs 'dtype' and 'shape', got {ft!r}")
        dtype = ft["dtype"]
        shape = [int(s) for s in ft["shape"]]
        if not shape or any(s <= 0 for s in shape):
            raise DatasetError(f"feature {name!r}: shape must be non-empty positive ints, got {ft['shape']}")
        if dtype == "video":
            if len(shape) != 3 or shape[2] != 3:
                raise DatasetError(f"video feature {name!r}: shape must be [height, width, 3], got {shape}")
        elif dtype == "image":
            raise DatasetError(f"feature {name!r}: dtype 'image' is not supported, use 'video'")
        elif dtype not in NUMERIC_DTYPES:
            raise DatasetError(
                f"feature {name!r}: unsupported dtype {dtype!r} (use video or one of {sorted(NUMERIC_DTYPES)})")
        entry = {k: v for k, v in ft.items() if k not in ("dtype", "shape", "names")}
        names = ft.get("names")
        if dtype == "video" and names is None:
            names = ["height", "width", "channels"]
        out[name] = {"dtype": dtype, "shape": shape, "names": names, **entry}
    return out


def all_features(user_features: dict) -> dict[str, dict[str, Any]]:
    """User features followed by the standard ones, as info.json stores them."""
    return {**user_features, **{k: dict(v) for k, v in DEFAULT_FEATURES.items()}}


def comparable(features: dict) -> dict[str, tuple]:
    """A features dict reduced to what must match on append (dtype, shape, names)."""
    return {
        k: (ft["dtype"], tuple(ft["shape"]), json.dumps(ft.get("names")))
        for k, ft in features.items()
        if k not in DEFAULT_FEATURES
    }


def np_dtype(ft: dict) -> np.dtype:
    """The numpy dtype of a feature (uint8 for video)."""
    return np.dtype("uint8" if is_video(ft) else ft["dtype"])


def load_json(path: Path) -> Any:
    """Read a JSON file; a missing or broken file is a DatasetError naming it."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise DatasetError(f"{path} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path} is corrupt (not valid JSON: {e})") from None


def dumps_json(data: Any) -> bytes:
    """JSON bytes as LeRobot writes them (indent 4, UTF-8)."""
    return (json.dumps(data, indent=4, ensure_ascii=False) + "\n").encode("utf-8")


def load_info(root: Path) -> dict[str, Any]:
    """Load and check meta/info.json of a v3.0 dataset."""
    path = root / INFO_PATH
    if not path.is_file():
        raise DatasetError(f"{root} is not a LeRobot v3 dataset: meta/info.json missing")
    info = load_json(path)
    if not isinstance(info, dict):
        raise DatasetError(f"{path} is corrupt: expected a JSON object")
    version = info.get("codebase_version")
    if version != CODEBASE_VERSION:
        raise DatasetError(
            f"{root}: unsupported codebase_version {version!r} (this reader supports {CODEBASE_VERSION}; "
            "convert older datasets with LeRobot's convert_dataset_v21_to_v30)"
        )
    for key in ("fps", "features", "total_episodes", "total_frames"):
        if key not in info:
            raise DatasetError(f"{path} is corrupt: key {key!r} missing")
    return info


def empty_info(fps: int, features: dict, robot_type: str | None, chunks_size: int,
               data_mb: int, video_mb: int) -> dict[str, Any]:
    """info.json of a dataset with no episode yet (same keys and order as LeRobot)."""
    return {
        "codebase_version": CODEBASE_VERSION,
        "robot_type": robot_type,
        "total_episodes": 0,
        "total_frames": 0,
        "total_tasks": 0,
        "chunks_size": chunks_size,
        "data_files_size_in_mb": data_mb,
        "video_files_size_in_mb": video_mb,
        "fps": fps,
        "splits": {},
        "data_path": DATA_PATH,
        "video_path": VIDEO_PATH,
        "features": features,
    }
