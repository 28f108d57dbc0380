"""Every user-facing error is one clear DatasetError line, and bad input loses no data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from vla_data_testlib import FEATURES, FPS, LENGTHS, make_frame, write_episodes

from vla_data import DatasetError, DatasetReader, LeRobotDatasetWriter


def _one_line(err: pytest.ExceptionInfo) -> str:
    msg = str(err.value)
    assert "\n" not in msg and "Traceback" not in msg
    return msg


def test_is_user_error():
    try:
        from vla.errors import UserError
    except ImportError:
        pytest.skip("vla.errors not importable")
    assert issubclass(DatasetError, UserError) and issubclass(DatasetError, ValueError)


def test_not_a_dataset(tmp_path):
    with pytest.raises(DatasetError) as err:
        DatasetReader(tmp_path)
    assert _one_line(err) == f"{tmp_path} is not a LeRobot v3 dataset: meta/info.json missing"


def test_unsupported_version(synthetic):
    info = json.loads((synthetic / "meta/info.json").read_text())
    info["codebase_version"] = "v2.1"
    (synthetic / "meta/info.json").write_text(json.dumps(info))
    with pytest.raises(DatasetError, match=r"unsupported codebase_version 'v2.1'") as err:
        DatasetReader(synthetic)
    _one_line(err)


def test_corrupt_info_json(synthetic):
    (synthetic / "meta/info.json").write_text("{not json")
    with pytest.raises(DatasetError, match=r"meta/info.json is corrupt"):
        DatasetReader(synthetic)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("rel", ["data/chunk-000/file-000.parquet", "meta/episodes/chunk-000/file-000.parquet",
                                 "meta/tasks.parquet"])
def test_truncated_parquet(synthetic, rel):
    _truncate(synthetic / rel)
    with pytest.raises(DatasetError) as err:
        DatasetReader(synthetic).episode(0)
    msg = _one_line(err)
    assert msg.startswith(f"parquet file {synthetic / rel} is truncated or corrupt")


def test_truncated_video(synthetic):
    path = synthetic / "videos/observation.images.scene/chunk-000/file-000.mp4"
    _truncate(path)
    r = DatasetReader(synthetic)
    with pytest.raises(DatasetError) as err:
        for e in range(r.num_episodes):
            r.episode(e)
    msg = _one_line(err)
    assert str(path) in msg and ("corrupt" in msg or "no frame" in msg)


def test_garbage_video(synthetic):
    path = synthetic / "videos/observation.images.wrist/chunk-000/file-000.mp4"
    path.write_bytes(b"\x00" * 1000)
    with pytest.raises(DatasetError) as err:
        DatasetReader(synthetic).episode(0)
    assert _one_line(err) == f"video file {path} is truncated or corrupt (InvalidDataError)"


def test_episode_out_of_range(synthetic):
    r = DatasetReader(synthetic)
    for k in (7, -1, 3):
        with pytest.raises(DatasetError) as err:
            r.episode(k)
        assert _one_line(err) == f"episode {k} out of range: dataset has 3 episodes (0-2)"


def test_features_mismatch_on_append(synthetic):
    other = dict(FEATURES)
    other["observation.state"] = {"dtype": "float32", "shape": [5], "names": None}
    pattern = r"features do not match.*'observation.state': dataset has \('float32', \(4,\)\)"
    with pytest.raises(DatasetError, match=pattern):
        LeRobotDatasetWriter.open_existing(synthetic, features=other)
    del other["observation.state"]
    with pytest.raises(DatasetError, match=r"'observation.state' missing from new features"):
        LeRobotDatasetWriter(synthetic, fps=FPS, features=other, resume=True)
    with pytest.raises(DatasetError, match=r"fps 30 does not match the dataset's fps 10"):
        LeRobotDatasetWriter.open_existing(synthetic, fps=30)
    with pytest.raises(DatasetError, match=r"is already a dataset"):
        LeRobotDatasetWriter(synthetic, fps=FPS, features=FEATURES)
    assert DatasetReader(synthetic).num_episodes == 3


def test_second_writer_is_refused(tmp_path):
    with LeRobotDatasetWriter(tmp_path / "ds", fps=FPS, features=FEATURES) as w:
        write_episodes(w, [0])
        with pytest.raises(DatasetError, match="being written by another process"):
            LeRobotDatasetWriter.open_existing(tmp_path / "ds")


BAD_FRAMES = [
    (lambda f: f.pop("action"), r"frame does not match the features: missing keys \['action'\]"),
    (lambda f: f.update(extra=np.zeros(1)), r"unknown keys \['extra'\]"),
    (lambda f: f.update({"observation.state": np.zeros(5, np.float32)}),
     r"frame key 'observation.state': expected float32 array of shape \(4,\), got float32 array of shape \(5,\)"),
    (lambda f: f.update({"observation.state": np.zeros(4, np.float64)}),
     r"frame key 'observation.state': expected float32 array of shape \(4,\), got float64 array of shape \(4,\)"),
    (lambda f: f.update({"observation.images.scene": np.zeros((32, 48, 3), np.float32)}),
     r"frame key 'observation.images.scene': expected uint8 array of shape \(32, 48, 3\) \(height, width, channels\), "
     r"got float32"),
    (lambda f: f.update({"observation.images.wrist": np.zeros((3, 24, 32), np.uint8)}),
     r"frame key 'observation.images.wrist': expected uint8 array of shape \(24, 32, 3\)"),
    (lambda f: f.update({"grounding.scene.target_points": np.zeros((2,), np.float32)}),
     r"frame key 'grounding.scene.target_points': expected float32 array of shape \(2, 2\)"),
    (lambda f: f.update({"next.success": "yes"}), r"frame key 'next.success': expected bool"),
    (lambda f: f.update({"action": np.array([np.nan, 0, 0], np.float32)}), r"frame key 'action': contains NaN"),
    (lambda f: f.update(timestamp=0.0), r"frame keys \['timestamp'\] are reserved"),
]


@pytest.mark.parametrize("mutate,pattern", BAD_FRAMES)
def test_bad_frame_is_rejected_without_damage(tmp_path, mutate, pattern):
    root = tmp_path / "ds"
    w = LeRobotDatasetWriter(root, fps=FPS, features=FEATURES)
    n = LENGTHS[0]
    for t in range(n):
        if t == 2:
            bad = make_frame(0, t, n)
            mutate(bad)
            with pytest.raises(DatasetError, match=pattern) as err:
                w.add_frame(bad, task="pick up the red cube")
            _one_line(err)
            assert w.episode_size == 2  # the rejected frame left the buffer as it was
        w.add_frame(make_frame(0, t, n), task="pick up the red cube")
    w.save_episode()
    w.finalize()
    ep = DatasetReader(root).episode(0)
    np.testing.assert_array_equal(ep["step.count"], np.arange(n))


def test_bad_task_and_empty_episode(tmp_path):
    w = LeRobotDatasetWriter(tmp_path / "ds", fps=FPS, features=FEATURES)
    with pytest.raises(DatasetError, match="task must be a non-empty string"):
        w.add_frame(make_frame(0, 0, 5), task="")
    with pytest.raises(DatasetError, match="no frames were added"):
        w.save_episode()
    w.finalize()
    with pytest.raises(DatasetError, match="finalized"):
        w.add_frame(make_frame(0, 0, 5), task="x")
    assert DatasetReader(tmp_path / "ds").num_episodes == 0


@pytest.mark.parametrize("features,pattern", [
    ({"x": {"dtype": "string", "shape": [1]}}, "unsupported dtype 'string'"),
    ({"x": {"dtype": "float32"}}, "needs 'dtype' and 'shape'"),
    ({"cam": {"dtype": "video", "shape": [3, 64, 64]}}, r"shape must be \[height, width, 3\]"),
    ({"index": {"dtype": "int64", "shape": [1]}}, "reserved"),
    ({"a/b": {"dtype": "int64", "shape": [1]}}, "may not contain '/'"),
])
def test_bad_features(tmp_path, features, pattern):
    with pytest.raises(DatasetError, match=pattern):
        LeRobotDatasetWriter(tmp_path / "ds", fps=FPS, features=features)


def test_bad_codec_and_fps(tmp_path):
    with pytest.raises(DatasetError, match="video codec 'vp9' is not supported"):
        LeRobotDatasetWriter(tmp_path / "a", fps=FPS, features=FEATURES, video_codec="vp9")
    with pytest.raises(DatasetError, match="fps must be a positive int"):
        LeRobotDatasetWriter(tmp_path / "b", fps=0, features=FEATURES)
