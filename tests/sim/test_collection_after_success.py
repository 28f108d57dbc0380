"""--after-success: a successful episode keeps recording the expert for N more steps (the release and retreat
of a place), the episode's first part is unchanged, and bad values are refused."""

import json

import numpy as np
import pytest

from vla.collection import collect
from vla.errors import UserError
from vla_data.reader import DatasetReader


def _episode(root, after_success):
    collect("tabletop", ["place_block_relative"], 1, root, image_size=32, progress=False, seed=7, noise=0.01,
            after_success=after_success)
    meta = json.loads((root / "meta" / "vla_collection.json").read_text())
    return DatasetReader(root).episode(0, video=False), meta


def test_after_success_records_the_release_and_retreat(tmp_path):
    short, meta_short = _episode(tmp_path / "short", 0)
    long, meta_long = _episode(tmp_path / "long", 10)
    n = len(short["action"])
    assert meta_short["seeds"] == meta_long["seeds"] and "after_success" not in meta_short
    assert meta_long["after_success"] == 10
    # the first success ends the plain episode; the long one goes on for exactly 10 steps
    assert len(long["action"]) == n + 10
    first = int(np.argmax(np.asarray(long["next.success"]).ravel()))
    assert first == n - 1 and bool(np.asarray(short["next.success"]).ravel()[-1])
    np.testing.assert_array_equal(long["action"][:n], short["action"])
    np.testing.assert_array_equal(long["observation.state"][:n], short["observation.state"])
    done = np.asarray(long["next.done"]).ravel()
    assert done[-1] and not done[:-1].any()
    # what the extra steps teach: the gripper opens (-1) and the tool rises away from the placed block
    tail = np.asarray(long["action"][n - 1:])
    assert (tail[:, 6] < 0).all() and short["action"][-2][6] > 0
    assert tail[-3:, 2].min() > 0.01


def test_after_success_out_of_range_is_refused(tmp_path):
    with pytest.raises(UserError, match="--after-success must be in"):
        collect("toy", None, 1, tmp_path / "x", after_success=-1, progress=False)
    assert not (tmp_path / "x").exists()
