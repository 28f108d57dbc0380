"""Write -> read round trips: numeric values exact, video within codec tolerance, appending."""

from __future__ import annotations

import numpy as np
import pytest
from vla_data_testlib import FEATURES, FPS, LENGTHS, make_frame, task_of, write_episodes

from vla_data import DatasetReader, LeRobotDatasetWriter



def assert_image_close(got: np.ndarray, want: np.ndarray, what: object) -> None:
    """Lossy video: small mean error; flat background within ~2 units on average (a neighbouring
    frame differs by 3 (wrist) or 12 (scene) units, so a wrong frame fails); edges may ring more."""
    assert got.dtype == np.uint8 and got.shape == want.shape, what
    diff = got.astype(int) - want.astype(int)
    assert np.abs(diff).mean() <= 2.5 and np.abs(diff).max() <= 40, (what, np.abs(diff).mean(), np.abs(diff).max())
    flat = np.ones(diff.shape[:2], bool)
    flat[5:19, 5:19] = False  # the square of the scene camera and its border
    assert abs(diff[flat].mean()) <= 1.5, (what, diff[flat].mean())


def _check_episode(ep: dict, e: int, n: int) -> None:
    for t in range(n):
        want = make_frame(e, t, n)
        for key, value in want.items():
            got = ep[key][t]
            if FEATURES[key]["dtype"] == "video":
                assert_image_close(got, value, (key, e, t))
            elif FEATURES[key]["shape"] == [1]:
                assert got == value[0], (key, e, t)
            else:
                np.testing.assert_array_equal(got, value, err_msg=f"{key} e={e} t={t}")
    assert ep["task"] == [task_of(e)] * n
    np.testing.assert_array_equal(ep["frame_index"], np.arange(n))
    np.testing.assert_allclose(ep["timestamp"], np.arange(n) / FPS, rtol=0, atol=1e-6)
    assert (ep["episode_index"] == e).all()


def test_round_trip_values(synthetic):
    r = DatasetReader(synthetic)
    assert (r.num_episodes, r.num_frames, r.fps, len(r)) == (3, sum(LENGTHS), FPS, sum(LENGTHS))
    assert r.tasks == ["pick up the red cube", "open the top drawer"]
    for key, ft in FEATURES.items():
        assert r.features[key]["dtype"] == ft["dtype"] and list(r.features[key]["shape"]) == ft["shape"]
    start = 0
    for e, n in enumerate(LENGTHS):
        ep = r.episode(e)
        _check_episode(ep, e, n)
        np.testing.assert_array_equal(ep["index"], np.arange(start, start + n))
        start += n


def test_getitem_matches_episode(synthetic):
    r = DatasetReader(synthetic)
    eps = [r.episode(e) for e in range(r.num_episodes)]
    flat = [(e, t) for e, n in enumerate(LENGTHS) for t in range(n)]
    order = np.random.default_rng(0).permutation(len(flat))  # random access, not only sequential
    for i in list(order) + [-1]:
        e, t = flat[i]
        item = r[int(i)]
        assert item["task"] == task_of(e) and item["index"] == (i % len(flat))
        for key in FEATURES:
            np.testing.assert_array_equal(item[key], eps[e][key][t], err_msg=key)
    with pytest.raises(IndexError):
        r[len(flat)]


def test_video_concatenated_in_one_file(synthetic):
    files = sorted((synthetic / "videos" / "observation.images.scene").rglob("*.mp4"))
    names = [p.relative_to(synthetic).as_posix() for p in files]
    assert names == ["videos/observation.images.scene/chunk-000/file-000.mp4"]
    r = DatasetReader(synthetic)
    starts = [r.episode_meta(e)["videos/observation.images.scene/from_timestamp"] for e in range(3)]
    ends = [r.episode_meta(e)["videos/observation.images.scene/to_timestamp"] for e in range(3)]
    assert starts == pytest.approx([0, LENGTHS[0] / FPS, (LENGTHS[0] + LENGTHS[1]) / FPS])
    assert ends == pytest.approx([s + n / FPS for s, n in zip(starts, LENGTHS, strict=True)])


def test_append_with_open_existing_and_resume(synthetic):
    with LeRobotDatasetWriter.open_existing(synthetic, features=FEATURES, fps=FPS) as w:
        assert (w.num_episodes, w.num_frames) == (3, sum(LENGTHS))
        write_episodes(w, [3])
    with LeRobotDatasetWriter(synthetic, fps=FPS, features=FEATURES, resume=True) as w:
        write_episodes(w, [4])
    r = DatasetReader(synthetic)
    assert r.num_episodes == 5
    for e in range(5):
        _check_episode(r.episode(e), e, LENGTHS[e % 3])
    # appended episodes continue the same files (one data file, one video file per camera)
    assert len(list((synthetic / "data").rglob("*.parquet"))) == 1
    assert len(list((synthetic / "videos" / "observation.images.wrist").rglob("*.mp4"))) == 1
    assert not (synthetic / ".vla_tmp").exists()


def test_h264_codec_and_file_rollover(tmp_path):
    root = tmp_path / "h264"
    with LeRobotDatasetWriter(root, fps=FPS, features=FEATURES, video_codec="h264", data_files_size_in_mb=1,
                              video_files_size_in_mb=1) as w:
        w._info["data_files_size_in_mb"] = 1e-9  # force a new data/video file for every episode
        w._info["video_files_size_in_mb"] = 1e-9
        write_episodes(w, [0, 1])
    r = DatasetReader(root)
    assert r.features["observation.images.scene"]["info"]["video.codec"] == "h264"
    assert r.episode_meta(1)["data/file_index"] == 1
    assert r.episode_meta(1)["videos/observation.images.scene/file_index"] == 1
    assert r.episode_meta(1)["videos/observation.images.scene/from_timestamp"] == 0
    for e in range(2):
        _check_episode(r.episode(e), e, LENGTHS[e])


def test_scalar_values_accepted_for_shape_one(tmp_path):
    feats = {"reward": {"dtype": "float32", "shape": [1], "names": None},
             "done": {"dtype": "bool", "shape": [1], "names": None}}
    with LeRobotDatasetWriter(tmp_path / "s", fps=5, features=feats) as w:
        w.add_frame({"reward": 0.5, "done": False}, task="t")
        w.add_frame({"reward": np.array([1.5], np.float32), "done": np.array([True])}, task="t")
        w.save_episode()
    ep = DatasetReader(tmp_path / "s").episode(0)
    np.testing.assert_array_equal(ep["reward"], np.array([0.5, 1.5], np.float32))
    np.testing.assert_array_equal(ep["done"], [False, True])
