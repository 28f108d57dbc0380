#!/usr/bin/env python
"""Check that real LeRobot (0.4.4) loads a dataset written by vla_data: frames, decoded video, tasks.

Run it in a throwaway venv that has lerobot (see docs/DATASETS.md "Checked with LeRobot"), NOT in
the project venv. It writes a dataset with `vla_data` (imported from this checkout), opens it with
`lerobot.datasets.lerobot_dataset.LeRobotDataset(repo_id="local/x", root=DIR)` and compares every
frame with what was written. Exit code 0 = all equal (video within a few units).

usage: python scripts/check_with_lerobot.py [--codec libsvtav1|h264] [--keep DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "datasets"))


def _stub_torchvision() -> None:
    """PyPI torchvision's compiled ops do not load beside a local torch build; LeRobot's dataset code
    only needs `torchvision.transforms` at import time (decoding here uses torchcodec)."""
    try:
        import torchvision  # noqa: F401
        return
    except Exception:  # noqa: BLE001
        pass
    import importlib.machinery

    tv = types.ModuleType("torchvision")
    tv.__spec__ = importlib.machinery.ModuleSpec("torchvision", None)
    tv.transforms = types.ModuleType("torchvision.transforms")  # type: ignore[attr-defined]
    tv.transforms.__spec__ = importlib.machinery.ModuleSpec("torchvision.transforms", None)
    sys.modules["torchvision"] = tv
    sys.modules["torchvision.transforms"] = tv.transforms  # type: ignore[attr-defined]


FEATURES = {
    "observation.images.scene": {"dtype": "video", "shape": [64, 96, 3], "names": ["height", "width", "channels"]},
    "observation.images.wrist": {"dtype": "video", "shape": [48, 64, 3], "names": ["height", "width", "channels"]},
    "observation.state": {"dtype": "float32", "shape": [6], "names": None},
    "action": {"dtype": "float32", "shape": [4], "names": None},
    "grounding.scene.target_points": {"dtype": "float32", "shape": [2, 2], "names": None},
    "grounding.scene.ee_point": {"dtype": "float32", "shape": [2], "names": None},
    "next.success": {"dtype": "bool", "shape": [1], "names": None},
}
EPISODES = [(12, "pick up the red cube"), (17, "open the top drawer"), (9, "pick up the red cube")]


def frame(e: int, t: int, n: int) -> dict[str, np.ndarray]:
    scene = np.zeros((64, 96, 3), np.uint8)
    scene[..., e % 3] = 25 + 9 * t
    state = (np.arange(6, dtype=np.float32) + e + t / 100).astype(np.float32)
    return {
        "observation.images.scene": scene,
        "observation.images.wrist": np.full((48, 64, 3), 30 + 40 * e + 2 * t, np.uint8),
        "observation.state": state,
        "action": -state[:4],
        "grounding.scene.target_points": np.array([[t, 2 * t], [-1, -1]], np.float32),
        "grounding.scene.ee_point": np.array([10 + t, 20], np.float32),
        "next.success": np.array([t == n - 1]),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--codec", default="libsvtav1")
    ap.add_argument("--keep", default=None, help="write the dataset here instead of a temp folder")
    args = ap.parse_args()
    _stub_torchvision()
    import lerobot
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    from vla_data import LeRobotDatasetWriter

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp()) / "vla_data_ds"
    with LeRobotDatasetWriter(root, fps=15, features=FEATURES, video_codec=args.codec) as w:
        for e, (n, task) in enumerate(EPISODES):
            for t in range(n):
                w.add_frame(frame(e, t, n), task=task)
            w.save_episode()
    print(f"lerobot {getattr(lerobot, '__version__', '?')}: loading {root}")
    ds = LeRobotDataset(repo_id="local/x", root=root)
    total = sum(n for n, _ in EPISODES)
    assert ds.num_episodes == 3 and ds.num_frames == total and len(ds) == total, (ds.num_episodes, ds.num_frames)
    worst = 0.0
    i = 0
    for e, (n, task) in enumerate(EPISODES):
        for t in range(n):
            item = ds[i]
            want = frame(e, t, n)
            assert item["task"] == task, (i, item["task"])
            assert int(item["episode_index"]) == e and int(item["frame_index"]) == t and int(item["index"]) == i
            for key, value in want.items():
                got = item[key].numpy()
                if FEATURES[key]["dtype"] == "video":  # LeRobot returns float CHW in [0, 1]
                    img = np.round(got.transpose(1, 2, 0) * 255)
                    err = float(np.abs(img - value).max())
                    worst = max(worst, err)
                    assert err <= 6, (key, e, t, err)
                else:
                    np.testing.assert_array_equal(got.reshape(value.shape), value, err_msg=f"{key} e={e} t={t}")
            i += 1
    meta = ds.meta
    assert list(meta.tasks.index) == ["pick up the red cube", "open the top drawer"]
    assert meta.stats["observation.images.scene"]["mean"].shape == (3, 1, 1)
    print(f"OK: {ds.num_episodes} episodes, {ds.num_frames} frames, tasks {list(meta.tasks.index)}, "
          f"video backend {ds.video_backend}, max video pixel error {worst:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
