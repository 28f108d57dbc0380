"""The body of LeRobotDatasetWriter.save_episode: build every new file version, then commit once."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from vla_data import durable
from vla_data.arrow_io import data_table, episodes_schema, episodes_table, tasks_table
from vla_data.errors import DatasetError
from vla_data.layout import (
    DATA_PATH, EPISODES_PATH, INFO_PATH, STATS_PATH, TASKS_PATH, VIDEO_PATH, dumps_json, is_video,
    next_chunk_file, video_keys,
)
from vla_data.stats import STAT_KEYS, aggregate, image_stats, numeric_stats, to_jsonable
from vla_data.video import concat_videos, encode_video, video_end_s, video_info

if TYPE_CHECKING:
    from vla_data.writer import LeRobotDatasetWriter

_MB = 1024 * 1024


def _size_mb(path: Path) -> float:
    return path.stat().st_size / _MB if path.exists() else 0.0


def _episode_columns(w: LeRobotDatasetWriter, tasks: list[str]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    buf, n = w._buffer, w._buffer.size
    index_of = {t: i for i, t in enumerate(tasks)}
    cols = {k: np.stack(v) for k, v in buf.numeric.items()}
    ts = np.arange(n) / w.fps  # float64, as LeRobot computes stats on it; stored as float32
    cols.update(timestamp=ts.astype(np.float32), frame_index=np.arange(n, dtype=np.int64),
                episode_index=np.full(n, w.num_episodes, dtype=np.int64),
                index=np.arange(w.num_frames, w.num_frames + n, dtype=np.int64),
                task_index=np.array([index_of[t] for t in buf.tasks], dtype=np.int64))
    return cols, ts


def _episode_stats(w: LeRobotDatasetWriter, cols: dict[str, np.ndarray], ts: np.ndarray) -> dict[str, dict]:
    stats = {}
    for key, ft in w._features.items():
        if is_video(ft):
            stats[key] = image_stats(w._buffer.size, w._buffer.videos[key].__getitem__)
        else:
            stats[key] = numeric_stats(ts if key == "timestamp" else cols[key])
    return stats


def _parquet_tmp(root: Path, table: pa.Table, name: str) -> Path:
    tmp = durable.tmp_path(root, name)
    pq.write_table(table, tmp, compression="snappy")
    return tmp


def _data(w: LeRobotDatasetWriter, cols: dict[str, np.ndarray], moves: list) -> tuple[dict, Any]:
    n = len(cols["index"])
    table = data_table(cols, w._features)
    target, base = w._data_file, w._data_tbl
    if target is None:
        target, base = (0, 0), None
    elif base is not None:
        size = _size_mb(w.root / DATA_PATH.format(chunk_index=target[0], file_index=target[1]))
        if size + size / max(1, base.num_rows) * n >= w._info["data_files_size_in_mb"]:
            target, base = next_chunk_file(*target, w._info["chunks_size"]), None
    full = pa.concat_tables([base, table]) if base is not None else table
    final = w.root / DATA_PATH.format(chunk_index=target[0], file_index=target[1])
    moves.append((_parquet_tmp(w.root, full, final.name), final))
    meta = {"data/chunk_index": target[0], "data/file_index": target[1],
            "dataset_from_index": w.num_frames, "dataset_to_index": w.num_frames + n}
    return meta, (target, full)


def _videos(w: LeRobotDatasetWriter, moves: list, temps: list) -> tuple[dict, dict]:
    meta: dict[str, Any] = {}
    state: dict[str, Any] = {}
    for key in video_keys(w._features):
        ep_mp4 = durable.tmp_path(w.root, f"ep-{key}.mp4")
        temps.append(ep_mp4)
        encode_video(iter(w._buffer.videos[key]), ep_mp4, w.fps, w._codec)
        duration = video_end_s(ep_mp4)
        cur = w._video_file.get(key)
        cur_path = w.root / VIDEO_PATH.format(video_key=key, chunk_index=cur[0], file_index=cur[1]) if cur else None
        if cur is None:
            target, start, src = (0, 0), 0.0, ep_mp4
        elif _size_mb(cur_path) + _size_mb(ep_mp4) >= w._info["video_files_size_in_mb"]:
            target, start, src = next_chunk_file(*cur, w._info["chunks_size"]), 0.0, ep_mp4
        else:
            target, start = cur, w._video_end[key]
            src = durable.tmp_path(w.root, cur_path.name)
            concat_videos([cur_path, ep_mp4], src)
        final = w.root / VIDEO_PATH.format(video_key=key, chunk_index=target[0], file_index=target[1])
        moves.append((src, final))
        meta.update({f"videos/{key}/chunk_index": target[0], f"videos/{key}/file_index": target[1],
                     f"videos/{key}/from_timestamp": start, f"videos/{key}/to_timestamp": start + duration})
        state[key] = (target, start + duration, src)
    return meta, state


def _episodes(w: LeRobotDatasetWriter, row: dict, ep_stats: dict, moves: list) -> tuple[Any, ...]:
    schema = episodes_schema(w._features, ep_stats)
    target, rows = w._ep_file, list(w._ep_rows)
    if target is None:
        target, rows = (0, 0), []
    else:
        path = w.root / EPISODES_PATH.format(chunk_index=target[0], file_index=target[1])
        size = _size_mb(path)
        if (w._ep_schema is not None and w._ep_schema.remove_metadata() != schema) or \
                size + size / max(1, len(rows)) >= w._info["data_files_size_in_mb"]:
            target, rows = next_chunk_file(*target, w._info["chunks_size"]), []
    row = {**row, "meta/episodes/chunk_index": target[0], "meta/episodes/file_index": target[1]}
    rows.append(row)
    final = w.root / EPISODES_PATH.format(chunk_index=target[0], file_index=target[1])
    moves.append((_parquet_tmp(w.root, episodes_table(rows, schema), final.name), final))
    return target, rows, schema


def _json_tmp(root: Path, data: Any, name: str) -> Path:
    tmp = durable.tmp_path(root, name)
    durable.write_bytes(tmp, dumps_json(data))
    return tmp


def save_episode(w: LeRobotDatasetWriter) -> int:
    """Save the writer's buffered episode (see LeRobotDatasetWriter.save_episode)."""
    ep, n = w.num_episodes, w._buffer.size
    tasks = list(dict.fromkeys(w._tasks + w._buffer.tasks))
    moves: list[tuple[Path, Path]] = []
    temps: list[Path] = []
    committed = False
    try:
        cols, ts = _episode_columns(w, tasks)
        ep_stats = _episode_stats(w, cols, ts)
        data_meta, data_state = _data(w, cols, moves)
        video_meta, video_state = _videos(w, moves, temps)
        flat = {f"stats/{k}/{s}": np.asarray(v[s]).tolist() for k, v in ep_stats.items() for s in STAT_KEYS}
        row = {"episode_index": ep, "tasks": list(dict.fromkeys(w._buffer.tasks)), "length": n,
               **data_meta, **video_meta, **flat}
        ep_state = _episodes(w, row, ep_stats, moves)
        if tasks != w._tasks:
            moves.append((_parquet_tmp(w.root, tasks_table(tasks), "tasks.parquet"), w.root / TASKS_PATH))
        stats = aggregate([w._stats, ep_stats]) if w._stats is not None else ep_stats
        moves.append((_json_tmp(w.root, to_jsonable(stats), "stats.json"), w.root / STATS_PATH))
        info = copy.deepcopy(w._info)
        for key, (_, _, src) in video_state.items():
            if not info["features"][key].get("info"):
                info["features"][key]["info"] = video_info(src)
        info.update(total_episodes=ep + 1, total_frames=w.num_frames + n, total_tasks=len(tasks),
                    splits={"train": f"0:{ep + 1}"})
        moves.append((_json_tmp(w.root, info, "info.json"), w.root / INFO_PATH))
        durable.commit(w.root, moves)
        committed = True
    except DatasetError:
        raise
    except (OSError, ValueError, RuntimeError, pa.ArrowException) as e:
        raise DatasetError(f"saving episode {ep} failed, previous episodes are intact and the frames are "
                           f"still buffered: {e.__class__.__name__}: {e}") from e
    finally:
        if not committed and not durable.has_pending(w.root):
            for p in [s for s, _ in moves] + temps:
                p.unlink(missing_ok=True)
        for p in temps:
            p.unlink(missing_ok=True)
    w._info, w._features, w._tasks, w._stats = info, info["features"], tasks, stats
    w._data_file, w._data_tbl = data_state
    w._ep_file, w._ep_rows, w._ep_schema = ep_state
    for key, (target, end, _) in video_state.items():
        w._video_file[key], w._video_end[key] = target, end
    w._buffer.clear()
    return ep
