"""Compatibility with LeRobot 0.4.4: read its reference dataset exactly, write the same layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from vla_data import DatasetReader, LeRobotDatasetWriter
from vla_data.stats import from_jsonable

REF_FEATURES = {
    "observation.images.scene": {"dtype": "video", "shape": [64, 64, 3], "names": ["height", "width", "channels"]},
    "observation.images.wrist": {"dtype": "video", "shape": [48, 64, 3], "names": ["height", "width", "channels"]},
    "observation.state": {"dtype": "float32", "shape": [9], "names": None},
    "action": {"dtype": "float32", "shape": [7], "names": None},
}
REF_EPISODES = [(15, "pick up the red cube"), (20, "open the top drawer"), (25, "pick up the red cube")]


def ref_scene(e: int, t: int) -> np.ndarray:
    img = np.zeros((64, 64, 3), np.uint8)
    img[..., e % 3] = min(255, 20 + 10 * t)
    return img


def ref_wrist(e: int, t: int) -> np.ndarray:
    return np.full((48, 64, 3), 40 * e + t, np.uint8)


def write_like_reference(root: Path, extra: bool = False) -> None:
    """Write the reference's content with our writer (optionally with one extra feature)."""
    feats = dict(REF_FEATURES)
    if extra:
        feats["grounding.scene.target_points"] = {"dtype": "float32", "shape": [2, 2], "names": None}
    with LeRobotDatasetWriter(root, fps=10, features=feats) as w:
        for e, (n, task) in enumerate(REF_EPISODES):
            for t in range(n):
                state = np.full(9, e + t / 100, np.float32)
                frame = {"observation.images.scene": ref_scene(e, t), "observation.images.wrist": ref_wrist(e, t),
                         "observation.state": state, "action": -state[:7]}
                if extra:
                    frame["grounding.scene.target_points"] = np.zeros((2, 2), np.float32)
                w.add_frame(frame, task=task)
            w.save_episode()


def test_reads_reference_exactly(reference):
    r = DatasetReader(reference)
    assert (r.num_episodes, r.num_frames, r.fps) == (3, 60, 10)
    assert r.tasks == ["pick up the red cube", "open the top drawer"]
    start = 0
    for e, (n, task) in enumerate(REF_EPISODES):
        ep = r.episode(e)
        assert ep["task"] == [task] * n
        assert r.episode_meta(e)["dataset_from_index"] == start
        np.testing.assert_array_equal(ep["index"], np.arange(start, start + n))
        np.testing.assert_array_equal(ep["frame_index"], np.arange(n))
        assert (ep["episode_index"] == e).all() and ep["timestamp"].dtype == np.float32
        state = np.repeat((e + np.arange(n, dtype=np.float32) / np.float32(100))[:, None], 9, axis=1)
        np.testing.assert_allclose(ep["observation.state"], state, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(ep["action"], -ep["observation.state"][:, :7])
        for t in range(n):
            assert np.abs(ep["observation.images.scene"][t].astype(int) - ref_scene(e, t)).max() <= 4
            assert np.abs(ep["observation.images.wrist"][t].astype(int) - ref_wrist(e, t)).max() <= 4
        start += n
    item = r[15 + 7]
    assert item["episode_index"] == 1 and item["frame_index"] == 7 and item["task"] == "open the top drawer"
    assert np.abs(item["observation.images.wrist"].astype(int) - ref_wrist(1, 7)).max() <= 4


def _schema(path: Path) -> list[tuple[str, str]]:
    return [(f.name, str(f.type)) for f in pq.read_schema(path)]


def test_writer_layout_matches_reference(reference, tmp_path):
    ours = tmp_path / "ours"
    write_like_reference(ours)
    files = sorted(p.relative_to(ours).as_posix() for p in ours.rglob("*") if p.is_file())
    ref_files = sorted(p.relative_to(reference).as_posix() for p in reference.rglob("*") if p.is_file())
    assert files == ref_files
    info, ref_info = (json.loads((d / "meta/info.json").read_text()) for d in (ours, reference))
    assert info == ref_info  # same keys, values, features and video info (codec av1, yuv420p)
    for rel in ["data/chunk-000/file-000.parquet", "meta/tasks.parquet", "meta/episodes/chunk-000/file-000.parquet"]:
        assert _schema(ours / rel) == _schema(reference / rel), rel
        ours_t, ref_t = pq.read_table(ours / rel), pq.read_table(reference / rel)
        for col in ref_t.column_names:
            if not col.startswith("stats/"):
                assert ours_t.column(col).to_pylist() == ref_t.column(col).to_pylist(), (rel, col)
    hf = json.loads(pq.read_schema(ours / "data/chunk-000/file-000.parquet").metadata[b"huggingface"])
    ref_hf = json.loads(pq.read_schema(reference / "data/chunk-000/file-000.parquet").metadata[b"huggingface"])
    assert hf["info"] == ref_hf["info"]


def test_extra_features_keep_reference_layout(reference, tmp_path):
    ours = tmp_path / "extra"
    write_like_reference(ours, extra=True)
    for rel in ["data/chunk-000/file-000.parquet", "meta/episodes/chunk-000/file-000.parquet"]:
        ref_schema = _schema(reference / rel)
        extra = [f for f in _schema(ours / rel) if "grounding" in f[0]]
        assert [f for f in _schema(ours / rel) if "grounding" not in f[0]] == ref_schema
        assert extra, rel
    data = dict(_schema(ours / "data/chunk-000/file-000.parquet"))
    assert data["grounding.scene.target_points"] == "list<element: list<element: float>>"  # datasets Array2D storage
    hf = json.loads(pq.read_schema(ours / "data/chunk-000/file-000.parquet").metadata[b"huggingface"])
    assert hf["info"]["features"]["grounding.scene.target_points"] == {"shape": [2, 2], "dtype": "float32",
                                                                        "_type": "Array2D"}


def _close(a, b, what):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-9, atol=1e-12, err_msg=what)


def test_stats_match_reference(reference, tmp_path):
    """Per-episode and aggregated stats equal LeRobot's, except image std: LeRobot 0.4.4 squares uint8
    pixels (overflow, fixed in later LeRobot); ours is checked against numpy instead."""
    ours = tmp_path / "ours"
    write_like_reference(ours)
    ep_t = pq.read_table(ours / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    ref_t = pq.read_table(reference / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    for e, (row, ref_row) in enumerate(zip(ep_t, ref_t, strict=True)):
        n = REF_EPISODES[e][0]
        for col, value in ref_row.items():
            if not col.startswith("stats/"):
                continue
            if col.startswith("stats/observation.images") and col.endswith("/std"):
                frames = np.stack([(ref_scene if "scene" in col else ref_wrist)(e, t) for t in range(n)]) / 255.0
                _close(row[col], frames.reshape(-1, 3).std(axis=0).reshape(3, 1, 1), col)
            else:
                _close(row[col], value, f"episode {e} {col}")
    ours_stats = from_jsonable(json.loads((ours / "meta/stats.json").read_text()))
    ref_stats = from_jsonable(json.loads((reference / "meta/stats.json").read_text()))
    assert set(ours_stats) == set(ref_stats)
    for key, st in ref_stats.items():
        assert set(ours_stats[key]) == set(st)
        for s, v in st.items():
            assert ours_stats[key][s].shape == v.shape, (key, s)
            if not (key.startswith("observation.images") and s == "std"):
                _close(ours_stats[key][s], v, f"{key}/{s}")


def test_reference_fixture_is_not_needed_at_run_time():
    """The package itself never refers to ../shared (tests copy what they need)."""
    src = Path(__file__).resolve().parents[2] / "datasets" / "vla_data"
    for path in src.rglob("*.py"):
        assert "shared/fixtures" not in path.read_text(), path
    assert pytest is not None
