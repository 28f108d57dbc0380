"""Stats correctness against numpy, shapes as LeRobot stores them."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
from vla_data_testlib import FEATURES, LENGTHS, make_frame

from vla_data import DatasetReader
from vla_data.stats import aggregate, image_stats, numeric_stats, sample_indices


def test_numeric_stats_against_numpy():
    rng = np.random.default_rng(1)
    data = rng.normal(size=(400, 5)).astype(np.float64)
    st = numeric_stats(data)
    np.testing.assert_allclose(st["min"], data.min(0))
    np.testing.assert_allclose(st["max"], data.max(0))
    np.testing.assert_allclose(st["mean"], data.mean(0), rtol=1e-12)
    np.testing.assert_allclose(st["std"], data.std(0), rtol=1e-9)
    assert st["count"].tolist() == [400]
    bin_width = (data.max(0) - data.min(0)) / 5000
    for q, key in [(0.01, "q01"), (0.1, "q10"), (0.5, "q50"), (0.9, "q90"), (0.99, "q99")]:
        # LeRobot's histogram quantile: the value where the CDF reaches q, within one 1/5000 bin
        want = np.quantile(data, q, axis=0, method="inverted_cdf")
        np.testing.assert_allclose(st[key], want, rtol=0, atol=2 * float(bin_width.max()))


def test_shapes_per_feature_kind():
    assert numeric_stats(np.arange(10.0))["mean"].shape == (1,)
    assert numeric_stats(np.zeros((10, 1)))["mean"].shape == (1,)
    st = numeric_stats(np.arange(40, dtype=np.float32).reshape(10, 2, 2))  # [K, 2]: stats per (u, v)
    assert st["mean"].shape == (2,) and st["count"].tolist() == [10]
    np.testing.assert_allclose(st["mean"], [19, 20])
    ints = numeric_stats(np.arange(10, dtype=np.int64))
    assert ints["min"].dtype == np.int64 and ints["mean"].dtype == np.float64
    one = numeric_stats(np.ones((1, 3), np.float32))  # one frame: quantiles are the mean
    assert one["q50"].shape == (3,) and one["std"].tolist() == [0, 0, 0]


def test_image_stats_in_unit_range_per_channel():
    frames = np.random.default_rng(2).integers(0, 256, size=(12, 16, 20, 3), dtype=np.uint8)
    st = image_stats(12, lambda i: frames[i])
    for key in ("min", "max", "mean", "std", "q50"):
        assert st[key].shape == (3, 1, 1) and 0 <= st[key].min() and st[key].max() <= 1
    x = frames.reshape(-1, 3) / 255.0
    np.testing.assert_allclose(st["mean"].ravel(), x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(st["std"].ravel(), x.std(0), rtol=1e-9)  # no uint8 overflow
    assert len(sample_indices(1000)) == 177 and sample_indices(50) == list(range(50))


def test_aggregate_equals_stats_of_concatenation():
    rng = np.random.default_rng(3)
    parts = [rng.normal(i, 1 + i, size=(n, 3)) for i, n in enumerate([30, 50, 20])]
    agg = aggregate([{"x": numeric_stats(p)} for p in parts])["x"]
    full = np.concatenate(parts)
    np.testing.assert_allclose(agg["mean"], full.mean(0), rtol=1e-12)
    np.testing.assert_allclose(agg["std"], full.std(0), rtol=1e-9)
    np.testing.assert_allclose(agg["min"], full.min(0))
    np.testing.assert_allclose(agg["max"], full.max(0))
    assert agg["count"].tolist() == [100]


def test_dataset_stats_files(synthetic):
    """meta/stats.json and the per-episode stats columns agree with numpy on the written frames."""
    stats = json.loads((synthetic / "meta/stats.json").read_text())
    frames = [make_frame(e, t, n) for e, n in enumerate(LENGTHS) for t in range(n)]
    for key in ("observation.state", "action", "grounding.scene.target_points", "step.count"):
        x = np.stack([f[key] for f in frames]).astype(np.float64)
        x = x.reshape(-1, x.shape[-1])
        np.testing.assert_allclose(stats[key]["mean"], x.mean(0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(stats[key]["std"], x.std(0), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(stats[key]["min"], x.min(0))
        assert stats[key]["count"] == [sum(LENGTHS)]
    assert np.asarray(stats["observation.images.scene"]["mean"]).shape == (3, 1, 1)
    assert stats["next.success"]["max"] == [1.0] and stats["timestamp"]["max"] == [0.8]
    eps = pq.read_table(synthetic / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    decoded = DatasetReader(synthetic).episode(1)
    st = np.asarray(eps[1]["stats/observation.images.wrist/mean"]).ravel()
    np.testing.assert_allclose(st, decoded["observation.images.wrist"].reshape(-1, 3).mean(0) / 255, atol=2 / 255)
    assert set(FEATURES) <= {k.split("/")[1] for k in eps[0] if k.startswith("stats/")}
