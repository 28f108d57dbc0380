"""Per-episode feature statistics and their aggregation, with LeRobot's semantics and shapes.

Numeric features: stats over frames, one value per element of the last axis ([n] -> (n,),
[1] -> (1,), [K, 2] -> (2,)). Video features: per-channel stats over sampled frames, shape
(3, 1, 1), values in [0, 1]. Quantiles q01..q99 come from a 5000-bin histogram, as in LeRobot.
One deliberate difference from LeRobot 0.4.4: integer data is promoted to float64 before squaring,
so image std is correct (0.4.4 squares uint8 pixels and overflows; later LeRobot fixed it too).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)
QUANTILE_KEYS = tuple(f"q{int(q * 100):02d}" for q in QUANTILES)
STAT_KEYS = ("min", "max", "mean", "std", "count", *QUANTILE_KEYS)
NUM_BINS = 5000

Stats = dict[str, np.ndarray]


def sample_indices(length: int) -> list[int]:
    """Frame indices sampled for image stats: all up to 100, then about length**0.75."""
    lo = min(100, length)
    num = max(lo, min(int(length**0.75), 10_000))
    return np.round(np.linspace(0, length - 1, num)).astype(int).tolist()


def downsample(img_chw: np.ndarray) -> np.ndarray:
    """Stride-downsample images of 300 px or more to about 150 px (LeRobot's rule)."""
    _, h, w = img_chw.shape
    if max(h, w) < 300:
        return img_chw
    step = int(w / 150) if w > h else int(h / 150)
    return img_chw[:, ::step, ::step]


def _quantile(hist: np.ndarray, edges: np.ndarray, target: float) -> float:
    cumsum = np.cumsum(hist)
    idx = int(np.searchsorted(cumsum, target))
    if idx == 0:
        return edges[0]
    if idx >= len(cumsum):
        return edges[-1]
    before = cumsum[idx - 1]
    in_bin = cumsum[idx] - before
    if in_bin == 0:
        return edges[idx]
    return edges[idx] + (target - before) / in_bin * (edges[idx + 1] - edges[idx])


def column_stats(rows: np.ndarray, count: int) -> Stats:
    """Stats of a (num_rows, dims) array, one value per column; `count` is stored as count."""
    work = rows
    if rows.dtype == np.bool_ or np.issubdtype(rows.dtype, np.integer):
        work = rows.astype(np.float64)
    if rows.dtype == np.bool_:
        rows = work
    stats: Stats = {"min": np.min(rows, axis=0), "max": np.max(rows, axis=0)}
    if work.shape[0] < 2:
        stats["mean"] = np.mean(work, axis=0)
        stats["std"] = np.std(work, axis=0)
        stats["count"] = np.array([count])
        for key in QUANTILE_KEYS:
            stats[key] = stats["mean"].copy()
        return stats
    mean = np.mean(work, axis=0)
    mean_sq = np.mean(work**2, axis=0)
    stats["mean"] = mean
    stats["std"] = np.sqrt(np.maximum(0, mean_sq - mean**2))
    stats["count"] = np.array([count])
    wmin, wmax = np.min(work, axis=0), np.max(work, axis=0)
    hists, edges = [], []
    for i in range(work.shape[1]):
        e = np.linspace(wmin[i] - 1e-10, wmax[i] + 1e-10, NUM_BINS + 1)
        hists.append(np.histogram(work[:, i], bins=e)[0].astype(np.float64))
        edges.append(e)
    for q, key in zip(QUANTILES, QUANTILE_KEYS, strict=True):
        target = q * work.shape[0]
        stats[key] = np.array([_quantile(h, e, target) for h, e in zip(hists, edges, strict=True)])
    return stats


def numeric_stats(data: np.ndarray) -> Stats:
    """Stats of a numeric feature over an episode: data has shape (frames, *feature_shape)."""
    if data.ndim == 1:
        data = data.reshape(-1, 1)
    return column_stats(data.reshape(-1, data.shape[-1]), count=data.shape[0])


def image_stats(length: int, get_frame: Callable[[int], np.ndarray]) -> Stats:
    """Per-channel stats of sampled HxWx3 uint8 frames, in [0, 1], shape (3, 1, 1)."""
    idx = sample_indices(length)
    imgs = np.stack([downsample(np.transpose(get_frame(i), (2, 0, 1))) for i in idx])
    rows = imgs.transpose(0, 2, 3, 1).reshape(-1, imgs.shape[1])
    stats = column_stats(rows, count=len(idx))
    return {k: v if k == "count" else (v / 255.0).reshape(-1, 1, 1) for k, v in stats.items()}


def aggregate(stats_list: Sequence[dict[str, Stats]]) -> dict[str, Stats]:
    """Combine per-episode (or running) stats: exact min/max/mean/std, count-weighted quantiles."""
    keys = list(dict.fromkeys(k for s in stats_list for k in s))
    return {k: _aggregate_feature([s[k] for s in stats_list if k in s]) for k in keys}


def _aggregate_feature(items: list[Stats]) -> Stats:
    means = np.stack([np.asarray(s["mean"]) for s in items])
    variances = np.stack([np.asarray(s["std"]) ** 2 for s in items])
    counts = np.stack([np.asarray(s["count"]) for s in items])
    total = counts.sum(axis=0)
    while counts.ndim < means.ndim:
        counts = np.expand_dims(counts, -1)
    mean = (means * counts).sum(axis=0) / total
    var = ((variances + (means - mean) ** 2) * counts).sum(axis=0) / total
    out: Stats = {
        "min": np.min(np.stack([np.asarray(s["min"]) for s in items]), axis=0),
        "max": np.max(np.stack([np.asarray(s["max"]) for s in items]), axis=0),
        "mean": mean,
        "std": np.sqrt(var),
        "count": total,
    }
    for key in QUANTILE_KEYS:
        if all(key in s for s in items):
            out[key] = (np.stack([np.asarray(s[key]) for s in items]) * counts).sum(axis=0) / total
    return out


def to_jsonable(stats: dict[str, Stats]) -> dict[str, dict[str, list]]:
    """Stats as nested lists (stats.json and the episodes parquet)."""
    return {k: {s: np.asarray(v).tolist() for s, v in ft.items()} for k, ft in stats.items()}


def from_jsonable(data: dict) -> dict[str, Stats]:
    """stats.json content back to numpy arrays."""
    return {k: {s: np.asarray(v) for s, v in ft.items()} for k, ft in data.items()}
