"""An interrupted `vla collect` resumes where it stopped and ends with the dataset an uninterrupted run writes."""

import json

import numpy as np
import pytest

import vla.collection as collection
from vla.collection import collect
from vla.errors import UserError
from vla.train.data import EpisodeStore

ARGS = dict(image_size=32, progress=False, seed=3, noise=0.01)


def _load(root):
    meta = json.loads((root / "meta" / "vla_collection.json").read_text())
    return EpisodeStore.load(root, image_size=32, progress=False), meta


def _interrupt_after(monkeypatch, calls: int) -> None:
    real = collection._run_episode
    count = {"n": 0}

    def run(*a, **k):
        count["n"] += 1
        if count["n"] > calls:
            raise KeyboardInterrupt  # the user's Ctrl-C, or anything that stops the process mid-run
        return real(*a, **k)

    monkeypatch.setattr(collection, "_run_episode", run)


def test_resume_ends_with_the_uninterrupted_dataset(tmp_path, monkeypatch):
    collect("toy", None, 3, tmp_path / "whole", **ARGS)
    whole, whole_meta = _load(tmp_path / "whole")

    _interrupt_after(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        collect("toy", None, 3, tmp_path / "part", **ARGS)
    _, part_meta = _load(tmp_path / "part")
    assert part_meta["complete"] is False and sum(map(len, part_meta["seeds"].values())) >= 1
    with pytest.raises(UserError, match="--resume"):  # without --resume the folder is refused, not overwritten
        collect("toy", None, 3, tmp_path / "part", **ARGS)
    with pytest.raises(UserError, match="noise was 0.01"):  # and resuming with other settings too
        collect("toy", None, 3, tmp_path / "part", **dict(ARGS, noise=0.02), resume=True)

    monkeypatch.undo()
    collect("toy", None, 3, tmp_path / "part", **ARGS, resume=True)
    part, meta = _load(tmp_path / "part")
    assert meta["complete"] is True and meta["seeds"] == whole_meta["seeds"]
    assert meta["attempts"] == whole_meta["attempts"]
    np.testing.assert_array_equal(part.action.numpy(), whole.action.numpy())
    np.testing.assert_array_equal(part.state.numpy(), whole.state.numpy())


def test_resume_records_an_episode_saved_just_before_a_crash(tmp_path, monkeypatch):
    """A crash between the episode's save and the progress update: the pending seed is recorded on resume."""
    _interrupt_after(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        collect("toy", None, 3, tmp_path / "part", **ARGS)
    path = tmp_path / "part" / "meta" / "vla_collection.json"
    doc = json.loads(path.read_text())
    task = next(t for t, s in doc["seeds"].items() if s)
    doc["pending"] = {"task": task, "seed": doc["seeds"][task].pop()}  # as if killed right after saving it
    path.write_text(json.dumps(doc))
    monkeypatch.undo()
    collect("toy", None, 3, tmp_path / "part", **ARGS, resume=True)
    part, meta = _load(tmp_path / "part")
    assert all(len(s) == 3 for s in meta["seeds"].values())
    assert len(set(part.episode_index.tolist())) == sum(map(len, meta["seeds"].values()))


def _codec(root) -> set[str]:
    info = json.loads((root / "meta" / "info.json").read_text())
    return {ft["info"]["video.codec"] for ft in info["features"].values() if ft.get("dtype") == "video"}


def test_new_collections_write_h264_and_a_resumed_one_keeps_its_codec(tmp_path):
    """H.264 by default (SVT-AV1 hung in long collections here); an AV1 dataset asked for explicitly stays AV1
    when resumed with more episodes, since episodes are appended to its video files by remuxing."""
    collect("toy", None, 1, tmp_path / "default", **ARGS)
    assert _codec(tmp_path / "default") == {"h264"}
    collect("toy", None, 1, tmp_path / "av1", video_codec="av1", **ARGS)
    assert _codec(tmp_path / "av1") == {"av1"}
    collect("toy", None, 2, tmp_path / "av1", resume=True, **ARGS)
    assert _codec(tmp_path / "av1") == {"av1"}
    store, meta = _load(tmp_path / "av1")
    assert len(store.episodes) == 2 * len(meta["tasks"]) and meta["complete"]
