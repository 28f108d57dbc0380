"""The training data pipeline: every frame of a LeRobot v3 dataset in memory, and windows over it.

`EpisodeStore.load` decodes each camera's video once (PyAV, one thread per video file), resizes the
frames with the same filter the policy uses at run time (`vla.model.processing.resize_images`) and
keeps everything as tensors. `WindowDataset` serves training windows: for a frame t (the current,
last position) the T positions t - (T-1-j)*s, j = 0..T-1, each with its images, state, the chunk of
H actions from that position on, grounding labels and the future end-effector trace. Windows never
cross episode boundaries: positions before the episode's first frame are copies of that frame flagged
in `history_pad`; actions past its last frame repeat the last action, flagged in `action_pad`.

Grounding labels are normalized to [0, 1] by the source image's width (u) and height (v); a missing
label (-1: out of view or absent) stays exactly -1 and is reported invalid in the `*_valid` masks.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from vla.errors import UserError
from vla.model.processing import resize_images

IMAGE_PREFIX = "observation.images."
STATE_KEY, ACTION_KEY = "observation.state", "action"
MIN_IMAGE_SIZE = 8
_RESIZE_BATCH = 256  # decoded frames resized at once


class DataError(UserError):
    """A dataset or an argument the training data pipeline cannot use."""


@dataclass(frozen=True)
class WindowSpec:
    """Shape of a training window; see the module docstring."""

    history_len: int  # T positions per training window
    history_stride: int  # s control steps between positions
    chunk: int  # H actions per position
    trace_len: int  # K future end-effector points per camera
    trace_stride: int  # control steps between trace points
    image_size: int  # frames are resized to image_size x image_size once, at load

    @classmethod
    def for_config(cls, cfg) -> "WindowSpec":
        """The windows a VLAConfig trains on."""
        return cls(history_len=cfg.history_len, history_stride=cfg.history_stride, chunk=cfg.chunk,
                   trace_len=cfg.trace_len, trace_stride=cfg.trace_stride, image_size=cfg.image_size)

    def validate(self) -> None:
        checks = [("history_len", self.history_len, 1), ("history_stride", self.history_stride, 1),
                  ("chunk", self.chunk, 1), ("trace_len", self.trace_len, 0), ("trace_stride", self.trace_stride, 1),
                  ("image_size", self.image_size, MIN_IMAGE_SIZE)]
        for name, value, low in checks:
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise DataError(f"WindowSpec.{name} must be an int >= {low}, got {value!r}")


def _camera_name(key: str) -> str:
    return key[len(IMAGE_PREFIX):] if key.startswith(IMAGE_PREFIX) else key.rsplit(".", 1)[-1]


@dataclass(eq=False)
class EpisodeStore:
    """Every frame of a dataset (or of some of its episodes), decoded once. Frames are in episode order;
    a frame's global index is its row in these tensors (not the dataset's `index` column)."""

    root: Path | None
    cameras: list[str]  # short names: observation.images.<cam>
    images: torch.Tensor  # uint8 [N, n_cam, 3, h, w]
    state: torch.Tensor  # float32 [N, S]
    action: torch.Tensor  # float32 [N, A]
    episode_index: torch.Tensor  # int64 [N]: the dataset's episode index
    frame_index: torch.Tensor  # int64 [N]: position in the episode
    ep_start: torch.Tensor  # int64 [N]: global index of the episode's first frame
    ep_end: torch.Tensor  # int64 [N]: global index one past the episode's last frame
    task_index: torch.Tensor  # int64 [N]: into `tasks`
    tasks: list[str]  # the dataset's task strings, position = task_index
    episodes: list[int]  # the loaded episodes' indices, in order
    task: list[str]  # per loaded episode: its instruction (task of its first frame)
    task_name: list[str]  # per loaded episode: the suite task it came from (vla_collection.json), else `task`
    points: torch.Tensor  # float32 [N, n_cam, P, 2] normalized (u, v), -1 missing
    boxes: torch.Tensor  # float32 [N, n_cam, P, 4] normalized (u_min, v_min, u_max, v_max), -1 missing
    ee: torch.Tensor  # float32 [N, n_cam, 2] normalized (u, v), -1 missing
    state_names: list[str]
    action_names: list[str]
    fps: int
    image_size: int
    source_sizes: dict[str, tuple[int, int]] = field(default_factory=dict)  # camera -> (height, width) on disk
    grounding_labels: dict[str, str] = field(default_factory=dict)  # suite task -> what its labels mark
    _stats: dict | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, root: str | Path, image_size: int, episodes: Sequence[int] | None = None,
             progress: bool = True, tolerance_s: float = 1e-4, threads: int | None = None) -> EpisodeStore:
        """Read `root` (all episodes, or the listed ones) with frames resized to image_size x image_size."""
        from vla_data import DatasetReader

        if not isinstance(image_size, int) or isinstance(image_size, bool) or image_size < MIN_IMAGE_SIZE:
            raise DataError(f"image_size must be an int >= {MIN_IMAGE_SIZE}, got {image_size!r}")
        root = Path(root)
        if not root.is_dir():
            raise DataError(f"dataset folder {root} does not exist")
        with DatasetReader(root) as reader:
            feats = reader.features
            cam_keys = reader.camera_keys
            if not cam_keys:
                raise DataError(f"dataset {root} has no camera videos (no observation.images.* video feature)")
            if ACTION_KEY not in feats:
                raise DataError(f"dataset {root} has no 'action' feature: it cannot train a policy")
            ep_ids = _select_episodes(episodes, reader.num_episodes, root)
            metas = [reader.episode_meta(e) for e in ep_ids]
            cols = [reader.episode(e, video=False) for e in ep_ids]
            tasks = reader.tasks
            fps = reader.fps
            total = reader.num_episodes
        cameras = [_camera_name(k) for k in cam_keys]
        if len(set(cameras)) != len(cameras):
            raise DataError(f"dataset {root}: camera names {cam_keys} are ambiguous")
        sizes = {c: (int(feats[k]["shape"][0]), int(feats[k]["shape"][1])) for c, k in zip(cameras, cam_keys)}

        lengths = np.array([len(c["frame_index"]) for c in cols], np.int64)
        n = int(lengths.sum())
        if n == 0:
            raise DataError(f"dataset {root} has no frames")
        starts = np.r_[0, np.cumsum(lengths)[:-1]]

        def cat(key: str, shape: tuple[int, ...]) -> torch.Tensor:
            return torch.from_numpy(np.concatenate([np.asarray(c[key]).reshape(len(c["frame_index"]), *shape)
                                                    for c in cols]))

        state = cat(STATE_KEY, (-1,)).float() if STATE_KEY in feats else torch.zeros(n, 0)
        action = cat(ACTION_KEY, (-1,)).float()
        ep_start = torch.from_numpy(np.repeat(starts, lengths))
        task_index = cat("task_index", ()).long()

        grounding = _grounding(cols, feats, cameras, sizes, n)

        images = torch.empty(n, len(cameras), 3, image_size, image_size, dtype=torch.uint8)
        jobs = []
        for c, key in enumerate(cam_keys):
            for path, times, rows in _video_jobs(root, key, metas, cols, starts):
                jobs.append((path, times, rows, c))
        bar = tqdm(total=n * len(cameras), desc=f"load {root.name}", unit="frame", disable=not progress,
                   mininterval=0.5)
        lock = threading.Lock()

        def run(job: tuple) -> None:
            path, times, rows, c = job
            _decode_into(path, times, rows, images[:, c], image_size, tolerance_s, bar, lock)

        workers = threads or max(1, min(len(jobs), os.cpu_count() or 1))
        try:
            if workers == 1:
                for job in jobs:
                    run(job)
            else:
                with ThreadPoolExecutor(workers) as pool:
                    list(pool.map(run, jobs))
        finally:
            bar.close()

        ep_task = [tasks[int(c["task_index"][0])] if len(c["task_index"]) else "" for c in cols]
        task_name = _task_names(root, ep_ids, ep_task, total)
        return cls(
            root=root, cameras=cameras, images=images, state=state.contiguous(), action=action.contiguous(),
            episode_index=torch.from_numpy(np.repeat(np.asarray(ep_ids, np.int64), lengths)),
            frame_index=cat("frame_index", ()).long(), ep_start=ep_start,
            ep_end=ep_start + torch.from_numpy(np.repeat(lengths, lengths)), task_index=task_index,
            tasks=list(tasks), episodes=list(ep_ids), task=ep_task,
            task_name=task_name, grounding_labels=_grounding_labels(root, task_name),
            points=grounding["target_points"], boxes=grounding["target_boxes"], ee=grounding["ee_point"],
            state_names=_names(feats.get(STATE_KEY), state.shape[1], "state"),
            action_names=_names(feats[ACTION_KEY], action.shape[1], "action"),
            fps=int(fps), image_size=image_size, source_sizes=sizes)

    @classmethod
    def load_many(cls, roots: Sequence[str | Path], image_size: int, progress: bool = True) -> EpisodeStore:
        """Several datasets as one store (as LeRobot's MultiLeRobotDataset): e.g. tasks collected in parallel
        processes, or demonstrations plus correction episodes. They must share cameras, state and action.
        A root may name only some of its collected tasks, `DIR:task+task` (see `dataset_spec`)."""
        stores = []
        for spec in roots:
            root, tasks = dataset_spec(spec)
            episodes = None if tasks is None else _episodes_of_tasks(root, tasks)
            stores.append(cls.load(root, image_size=image_size, episodes=episodes, progress=progress))
        return stores[0] if len(stores) == 1 else cls.concat(stores)

    @classmethod
    def concat(cls, stores: Sequence[EpisodeStore]) -> EpisodeStore:
        """One store of all frames of `stores`, in order. Episode indices of the k-th store are shifted past
        those of the stores before it (so they stay unique), task strings are merged into one list; `root`
        (where the action layout is read from) is the first store's."""
        first = stores[0]
        for other in stores[1:]:
            for what in ("cameras", "state_names", "action_names", "fps", "image_size", "source_sizes"):
                a, b = getattr(first, what), getattr(other, what)
                if a != b:
                    raise DataError(f"datasets {first.root} and {other.root} differ in {what} ({a} vs {b}): "
                                    "only datasets with the same cameras, state, actions and fps train together")
        for i, a in enumerate(stores):
            for b in stores[i + 1:]:
                for task in sorted(set(a.grounding_labels) & set(b.grounding_labels)):
                    if a.grounding_labels[task] != b.grounding_labels[task]:
                        raise DataError(
                            f"datasets {a.root} and {b.root} label {task}'s grounding targets differently "
                            f"({a.grounding_labels[task]!r} vs {b.grounding_labels[task]!r}): they were collected "
                            "before and after the labels changed; recollect the older one (docs/SIM.md)")
        tasks: list[str] = []
        for st in stores:
            tasks += [t for t in st.tasks if t not in tasks]
        parts: dict[str, list[torch.Tensor]] = {k: [] for k in ("episode_index", "ep_start", "ep_end", "task_index")}
        episodes: list[int] = []
        ep_offset = frame_offset = 0
        for st in stores:
            remap = torch.tensor([tasks.index(t) for t in st.tasks], dtype=torch.int64)
            parts["episode_index"].append(st.episode_index + ep_offset)
            parts["ep_start"].append(st.ep_start + frame_offset)
            parts["ep_end"].append(st.ep_end + frame_offset)
            parts["task_index"].append(remap[st.task_index] if len(st.tasks) else st.task_index)
            episodes += [e + ep_offset for e in st.episodes]
            ep_offset += max(st.episodes) + 1
            frame_offset += len(st)
        cat = {k: torch.cat(v) for k, v in parts.items()}
        return cls(
            root=first.root, cameras=list(first.cameras),
            images=torch.cat([st.images for st in stores]), state=torch.cat([st.state for st in stores]),
            action=torch.cat([st.action for st in stores]), frame_index=torch.cat([st.frame_index for st in stores]),
            points=torch.cat([st.points for st in stores]), boxes=torch.cat([st.boxes for st in stores]),
            ee=torch.cat([st.ee for st in stores]), tasks=tasks, episodes=episodes,
            task=[t for st in stores for t in st.task], task_name=[t for st in stores for t in st.task_name],
            grounding_labels={k: v for st in stores for k, v in st.grounding_labels.items()},
            state_names=list(first.state_names), action_names=list(first.action_names), fps=first.fps,
            image_size=first.image_size, source_sizes=dict(first.source_sizes), **cat)

    # ------------------------------------------------------------------ queries
    def __len__(self) -> int:
        return int(self.action.shape[0])

    @property
    def source_image_size(self) -> int:
        """Height of the first camera's frames on disk (the resolution grounding labels were made at)."""
        return int(self.source_sizes[self.cameras[0]][0]) if self.source_sizes else self.image_size

    def frames_of(self, episode_ids: Sequence[int]) -> torch.Tensor:
        """Global indices of all frames of these episodes (dataset episode indices)."""
        ids = torch.as_tensor(list(episode_ids), dtype=torch.int64)
        return torch.nonzero(torch.isin(self.episode_index, ids)).flatten()

    def stats(self) -> dict[str, dict[str, np.ndarray]]:
        """Per-dimension mean, std (population), min, max, q01, q99 of the state and the action."""
        if self._stats is None:
            self._stats = {STATE_KEY: _column_stats(self.state), ACTION_KEY: _column_stats(self.action)}
        return {k: {s: v.copy() for s, v in d.items()} for k, d in self._stats.items()}


def dataset_spec(spec: str | Path) -> tuple[Path, list[str] | None]:
    """`DIR` -> (DIR, None); `DIR:task_a+task_b` -> (DIR, [task_a, task_b]): only the episodes `vla collect`
    recorded for those suite tasks (e.g. a multi-task collection whose other tasks were collected again with
    a changed expert). A path that exists as given is always a path, colon or not."""
    text = str(spec)
    if Path(text).is_dir() or ":" not in text:
        return Path(text), None
    root, _, names = text.rpartition(":")
    tasks = [t for t in names.split("+") if t]
    if not root or not tasks:
        raise DataError(f"dataset {text!r}: write a folder, or FOLDER:task+task to take only some of its tasks")
    return Path(root), tasks


def _episodes_of_tasks(root: Path, tasks: list[str]) -> list[int]:
    """Indices of the episodes `vla collect` recorded in `root` for `tasks` (meta/vla_collection.json)."""
    from vla_data import DatasetReader

    if not root.is_dir():
        raise DataError(f"dataset folder {root} does not exist")
    with DatasetReader(root) as reader:
        total = reader.num_episodes
    names = _collected_task_names(root, total)
    if names is None:
        raise DataError(f"dataset {root}: choosing tasks (FOLDER:task+task) needs a dataset written by `vla collect` "
                        f"whose meta/vla_collection.json lists every episode")
    unknown = [t for t in tasks if t not in names]
    if unknown:
        raise DataError(f"dataset {root} has no task {unknown[0]!r}: its tasks are {', '.join(dict.fromkeys(names))}")
    return [i for i, name in enumerate(names) if name in tasks]


def _select_episodes(episodes: Sequence[int] | None, total: int, root: Path) -> list[int]:
    if episodes is None:
        return list(range(total))
    ids = sorted({int(e) for e in episodes})
    bad = [e for e in ids if not 0 <= e < total]
    if bad:
        raise DataError(f"episode {bad[0]} is not in dataset {root} (it has episodes 0-{total - 1})")
    if not ids:
        raise DataError("episodes: the list is empty")
    return ids


def _names(ft: dict | None, dim: int, prefix: str) -> list[str]:
    names = ft.get("names") if ft else None
    if isinstance(names, dict):  # LeRobot sometimes nests {"motors": [...]}
        names = next(iter(names.values()), None)
    if isinstance(names, list) and len(names) == dim and all(isinstance(x, str) for x in names):
        return list(names)
    return [f"{prefix}.{i}" for i in range(dim)]


def _grounding_labels(root: Path, task_names: list[str]) -> dict[str, str]:
    """What each collected task's grounding labels mark (meta/vla_collection.json); collections made before
    this was recorded marked the task's target bodies. Empty for datasets not made by `vla collect`."""
    path = root / "meta" / "vla_collection.json"
    try:
        doc = json.loads(path.read_text())
        recorded, seeds = doc.get("grounding_labels") or {}, doc["seeds"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
    return {t: str(recorded.get(t, "target_bodies")) for t in sorted(set(task_names)) if t in seeds}


def _collected_task_names(root: Path, total: int) -> list[str] | None:
    """The suite task of each of `root`'s `total` episodes: collect() saves episodes task by task, in the order of
    meta/vla_collection.json's `seeds`. None without that file or when it does not (or no longer) match."""
    try:
        seeds = json.loads((root / "meta" / "vla_collection.json").read_text())["seeds"]
        names = [str(name) for name, s in seeds.items() for _ in s]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return names if len(names) == total else None


def _task_names(root: Path, ep_ids: list[int], ep_task: list[str], total: int) -> list[str]:
    """The suite task each loaded episode was collected for; without a collection record, the instruction."""
    names = _collected_task_names(root, total)
    return list(ep_task) if names is None else [names[e] for e in ep_ids]


def _grounding(cols: list[dict], feats: dict, cameras: list[str], sizes: dict, n: int) -> dict[str, torch.Tensor]:
    """grounding.<cam>.{target_points,target_boxes,ee_point} -> normalized [N, n_cam, P, d] tensors."""
    out: dict[str, torch.Tensor] = {}
    for kind, dim in (("target_points", 2), ("target_boxes", 4), ("ee_point", 2)):
        counts = [int(np.prod(feats[f"grounding.{c}.{kind}"]["shape"])) // dim
                  for c in cameras if f"grounding.{c}.{kind}" in feats]
        p = 1 if kind == "ee_point" else max([1, *counts])  # no labels at all: one missing target
        arr = np.full((n, len(cameras), p, dim), -1.0, np.float32)
        for ci, cam in enumerate(cameras):
            key = f"grounding.{cam}.{kind}"
            if key not in feats:
                continue
            v = np.concatenate([np.asarray(c[key], np.float32).reshape(len(c["frame_index"]), -1, dim) for c in cols])
            h, w = sizes[cam]
            scale = np.array([1 / w, 1 / h] * (dim // 2), np.float32)
            valid = (v >= 0).all(-1, keepdims=True)
            arr[:, ci, :v.shape[1]] = np.where(valid, v * scale, np.float32(-1))
        t = torch.from_numpy(arr)
        out[kind] = t[:, :, 0] if kind == "ee_point" else t
    return out


def _column_stats(x: torch.Tensor) -> dict[str, np.ndarray]:
    a = x.double().numpy()
    if a.shape[0] == 0 or a.shape[1] == 0:
        z = np.zeros(a.shape[1])
        return {k: z.copy() for k in ("mean", "std", "min", "max", "q01", "q99")}
    return {"mean": a.mean(0), "std": a.std(0), "min": a.min(0), "max": a.max(0),
            "q01": np.quantile(a, 0.01, axis=0), "q99": np.quantile(a, 0.99, axis=0)}


# ---------------------------------------------------------------------- video decoding
def _video_jobs(root: Path, key: str, metas: list[dict], cols: list[dict], starts: np.ndarray):
    """Per video file of camera `key`: its path, the sorted frame times needed and their global rows."""
    from vla_data.layout import VIDEO_PATH

    files: dict[tuple[int, int], tuple[list, list]] = {}
    for meta, col, start in zip(metas, cols, starts):
        chunk, file = meta[f"videos/{key}/chunk_index"], meta[f"videos/{key}/file_index"]
        t = float(meta[f"videos/{key}/from_timestamp"]) + np.asarray(col["timestamp"], np.float64)
        times, rows = files.setdefault((int(chunk), int(file)), ([], []))
        times.append(t)
        rows.append(start + np.arange(len(t)))
    for (chunk, file), (times, rows) in sorted(files.items()):
        t, r = np.concatenate(times), np.concatenate(rows)
        order = np.argsort(t, kind="stable")
        yield root / VIDEO_PATH.format(video_key=key, chunk_index=chunk, file_index=file), t[order], r[order]


def _decode_into(path: Path, times: np.ndarray, rows: np.ndarray, out: torch.Tensor, size: int, tol: float,
                 bar: tqdm, lock: threading.Lock) -> None:
    """Decode the frames of `path` at `times` (sorted, seconds) into out[rows], resized to size x size."""
    import av
    from av.video.reformatter import VideoReformatter

    from vla_data.video import open_video

    container = open_video(path)  # missing, corrupt or stream-less files: one DatasetError line
    filled = np.zeros(len(times), bool)
    to_rgb = VideoReformatter()  # one conversion context for the file: ~6x faster than frame.to_ndarray(format=...)
    frames: list[np.ndarray] = []
    slots: list[int] = []

    def flush() -> None:
        if not frames:
            return
        x = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).contiguous()  # contiguous: faster resize
        out[torch.from_numpy(rows[slots])] = resize_images(x, size)
        filled[slots] = True
        with lock:
            bar.update(len(frames))
        frames.clear()
        slots.clear()

    with container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        base = Fraction(stream.time_base)
        try:
            container.seek(max(0, int(times[0] / base) - 1), stream=stream, backward=True)
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                t = float(frame.pts * base)
                if t > times[-1] + tol:
                    break
                j = int(np.searchsorted(times, t - tol))
                if j < len(times) and abs(times[j] - t) <= tol and not filled[j]:
                    frames.append(to_rgb.reformat(frame, format="rgb24").to_ndarray())
                    slots.append(j)
                    filled[j] = True
                    if len(frames) >= _RESIZE_BATCH:
                        flush()
        except av.FFmpegError as e:
            raise DataError(f"video file {path} is truncated or corrupt ({e.__class__.__name__})") from None
        flush()
    if not filled.all():
        t = times[np.flatnonzero(~filled)[0]]
        raise DataError(f"video file {path} has no frame at {t:.4f}s ({int((~filled).sum())} frames missing)")


# ---------------------------------------------------------------------- windows
class WindowDataset(torch.utils.data.Dataset):
    """One training window per frame of the store (that frame is the window's current, last position).

    Use `get_batch(idx)` directly, or a DataLoader with `batch_size` and `collate_fn=collate`
    (`__getitems__` gathers a whole batch at once).
    """

    def __init__(self, store: EpisodeStore, spec: WindowSpec):
        spec.validate()
        if spec.image_size != store.image_size:
            raise DataError(f"WindowSpec.image_size {spec.image_size} differs from the store's image size "
                            f"{store.image_size}: load the dataset at image_size={spec.image_size}")
        self.store, self.spec = store, spec
        t = spec.history_len
        self._offsets = -(t - 1 - torch.arange(t, dtype=torch.int64)) * spec.history_stride  # [T]
        self._chunk = torch.arange(spec.chunk, dtype=torch.int64)  # [H]
        self._trace = torch.arange(1, spec.trace_len + 1, dtype=torch.int64) * spec.trace_stride  # [K]

    def __len__(self) -> int:
        return len(self.store)

    def get_batch(self, idx: torch.Tensor | Sequence[int]) -> dict[str, Any]:
        """Windows whose current frames are the global indices `idx` [B]; see the module docstring."""
        s = self.store
        idx = torch.as_tensor(idx, dtype=torch.int64).reshape(-1)
        n = len(s)
        if len(idx) and (int(idx.min()) < 0 or int(idx.max()) >= n):
            raise IndexError(f"frame index out of range: the store has {n} frames")
        b, t = len(idx), self.spec.history_len
        start, end = s.ep_start[idx][:, None], s.ep_end[idx][:, None]  # [B, 1]
        nominal = idx[:, None] + self._offsets  # [B, T]
        history_pad = nominal < start
        pos = torch.maximum(nominal, start)
        flat = pos.reshape(-1)

        act = pos[..., None] + self._chunk  # [B, T, H]
        last = (end - 1)[..., None]
        action_pad = act > last
        act = torch.minimum(act, last)
        tr = torch.minimum(pos[..., None] + self._trace, last)  # [B, T, K]

        n_cam = len(s.cameras)
        points, boxes = s.points[flat], s.boxes[flat]
        trace = s.ee[tr.reshape(-1)].reshape(b, t, -1, n_cam, 2).transpose(2, 3)  # [B, T, n_cam, K, 2]
        return {
            "images": s.images[flat].reshape(b, t, *s.images.shape[1:]),
            "state": s.state[flat].reshape(b, t, -1),
            "action": s.action[act.reshape(-1)].reshape(b, t, self.spec.chunk, -1),
            "action_pad": action_pad,
            "history_pad": history_pad,
            "frame_index": s.frame_index[flat].reshape(b, t) + (nominal - pos),
            "task": [s.tasks[i] for i in s.task_index[idx].tolist()],
            "points": points.reshape(b, t, *points.shape[1:]),
            "points_valid": (points >= 0).all(-1).reshape(b, t, *points.shape[1:-1]),
            "boxes": boxes.reshape(b, t, *boxes.shape[1:]),
            "boxes_valid": (boxes >= 0).all(-1).reshape(b, t, *boxes.shape[1:-1]),
            "trace": trace,
            "trace_valid": (trace >= 0).all(-1),
        }

    def __getitem__(self, i: int) -> dict[str, Any]:
        """One window without the batch dimension ("task" is a string)."""
        batch = self.get_batch(torch.tensor([int(i)]))
        return {k: v[0] for k, v in batch.items()}

    def __getitems__(self, indices: Sequence[int]) -> dict[str, Any]:
        return self.get_batch(torch.as_tensor(list(indices), dtype=torch.int64))

    @staticmethod
    def collate(batch: dict[str, Any] | list[dict[str, Any]]) -> dict[str, Any]:
        return collate(batch)


def collate(batch: dict[str, Any] | list[dict[str, Any]]) -> dict[str, Any]:
    """DataLoader collate_fn: a batch from `__getitems__` passes through; single windows are stacked."""
    if isinstance(batch, dict):
        return batch
    return {k: [item[k] for item in batch] if isinstance(batch[0][k], str) else torch.stack([item[k] for item in batch])
            for k in batch[0]}


# ---------------------------------------------------------------------- split
def train_val_split(store: EpisodeStore, val_fraction: float, seed: int = 0) -> tuple[list[int], list[int]]:
    """Whole episodes into (train, val) episode-index lists, stratified by task: each task
    (`store.task_name`) with >= 2 episodes holds out round(val_fraction * n) of them, at least 1 and at most
    n - 1; a task with one episode trains on it. val_fraction 0 holds out nothing."""
    if not 0 <= val_fraction < 1:
        raise DataError(f"val_fraction must be in [0, 1), got {val_fraction}")
    rng = np.random.default_rng(seed)
    by_task: dict[str, list[int]] = {}
    for ep, name in zip(store.episodes, store.task_name):
        by_task.setdefault(name, []).append(int(ep))
    train: list[int] = []
    val: list[int] = []
    for name in sorted(by_task):
        eps = by_task[name]
        k = 0 if val_fraction == 0 or len(eps) < 2 else min(len(eps) - 1, max(1, round(val_fraction * len(eps))))
        order = rng.permutation(len(eps))
        val += [eps[i] for i in order[:k]]
        train += [eps[i] for i in order[k:]]
    return sorted(train), sorted(val)
