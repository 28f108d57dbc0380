"""--start-frames K: every attempt is cut after K steps and kept, with the same frames and labels as the
whole episode's start; the windows built from it mask the action steps past the cut."""

import json

import numpy as np
import pytest

from vla.collection import collect
from vla.errors import UserError
from vla.train.data import EpisodeStore, WindowDataset, WindowSpec
from vla_data.reader import DatasetReader


def test_start_frames_keep_the_first_steps_of_every_attempt(tmp_path):
    collect("tabletop", ["place_block_relative"], 1, tmp_path / "whole", image_size=32, progress=False, seed=7,
            noise=0.01)
    collect("tabletop", ["place_block_relative"], 3, tmp_path / "starts", image_size=32, progress=False, seed=7,
            noise=0.01, start_frames=6)
    meta = json.loads((tmp_path / "starts" / "meta" / "vla_collection.json").read_text())
    assert meta["start_frames"] == 6 and meta["seeds"]["place_block_relative"] == [7, 8, 9]  # none rejected
    kept = json.loads((tmp_path / "whole" / "meta" / "vla_collection.json").read_text())["seeds"]
    k = kept["place_block_relative"][0] - 7  # the first seed the whole-episode expert succeeded on
    whole = DatasetReader(tmp_path / "whole").episode(0, video=False)
    start = DatasetReader(tmp_path / "starts").episode(k, video=False)
    assert len(whole["action"]) > 6 and len(start["action"]) == 6
    for key in ("action", "observation.state"):
        np.testing.assert_array_equal(start[key], whole[key][:6])
    done = np.asarray(start["next.done"]).ravel()
    assert done[-1] and not done[:-1].any()

    store = EpisodeStore.load_many([tmp_path / "starts"], image_size=16, progress=False)
    batch = WindowDataset(store, WindowSpec(history_len=2, history_stride=4, chunk=8, trace_len=2, trace_stride=2,
                                                    image_size=16)).get_batch([0, 5])
    # frame 0's chunk reaches frames 0-7: the last two lie past the cut and are masked, frame 5's has one real step
    assert batch["action_pad"][0, -1].tolist() == [False] * 6 + [True] * 2
    assert batch["action_pad"][1, -1].tolist() == [False] + [True] * 7


def test_start_frames_out_of_range_or_with_after_success_are_refused(tmp_path):
    with pytest.raises(UserError, match="--start-frames must be in"):
        collect("toy", None, 1, tmp_path / "x", start_frames=-1, progress=False)
    with pytest.raises(UserError, match="cannot be combined"):
        collect("toy", None, 1, tmp_path / "x", start_frames=5, after_success=3, progress=False)
    assert not (tmp_path / "x").exists()
