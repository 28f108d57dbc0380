"""Dataset summary, episode rendering with grounding overlays, and the CLI wiring."""

from __future__ import annotations

import argparse
import json

import av
import numpy as np
import pytest
from vla_data_testlib import FPS, LENGTHS
from PIL import Image

from vla_data import DatasetError
from vla_data.cli import add_dataset_subcommands, main
from vla_data.info import format_summary, summarize
from vla_data.render import render_episode


def test_summarize(synthetic):
    s = summarize(synthetic)
    assert (s["episodes"], s["frames"], s["fps"]) == (3, sum(LENGTHS), FPS)
    assert s["duration_s"] == pytest.approx(sum(LENGTHS) / FPS)
    assert s["episode_length"] == {"min": 6, "max": 9, "mean": pytest.approx(22 / 3, abs=0.01)}
    assert s["tasks"] == [{"task": "pick up the red cube", "task_index": 0, "episodes": 2},
                          {"task": "open the top drawer", "task_index": 1, "episodes": 1}]
    assert s["features"]["grounding.scene.target_points"] == {"dtype": "float32", "shape": [2, 2]}
    assert s["cameras"]["observation.images.wrist"] == {"height": 24, "width": 32, "codec": "av1", "pix_fmt": "yuv420p"}
    assert s["success"] == {"key": "next.success", "episodes_successful": 2, "success_rate": pytest.approx(0.6667)}
    assert s["stats"]["observation.state"]["max"][1] == pytest.approx(0.8, abs=1e-6)
    assert len(s["stats"]["observation.images.scene"]["mean"]) == 3
    assert s["disk_bytes"] == sum(p.stat().st_size for p in synthetic.rglob("*") if p.is_file())
    json.dumps(s)
    text = format_summary(s)
    assert "episodes  3" in text and "'open the top drawer': 1 episodes" in text and "success   2/3" in text


def _frames(path):
    if path.suffix == ".gif":
        img = Image.open(path)
        out = []
        for i in range(img.n_frames):
            img.seek(i)
            out.append(np.asarray(img.convert("RGB")))
        return out
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


@pytest.mark.parametrize("ext", [".gif", ".mp4"])
def test_render_with_and_without_overlays(synthetic, tmp_path, ext):
    on = render_episode(synthetic, 1, tmp_path / f"on{ext}", scale=4, progress=False)
    off = render_episode(synthetic, 1, tmp_path / f"off{ext}", scale=4, overlays=False, progress=False)
    a, b = _frames(on), _frames(off)
    assert len(a) == len(b) == LENGTHS[1]
    h, w = a[0].shape[:2]
    assert w >= (48 + 32) * 4 and h >= 32 * 4  # both cameras side by side, upscaled
    # episode 1 frame 0: target point 0 at (u, v) = (4, 10) -> circle around pixel (4.5*4, 18 + 10.5*4)
    y, x = 18 + int(10.5 * 4), int(4.5 * 4)
    ring = (slice(y - 8, y + 9), slice(x - 8, x + 9))
    diff = np.abs(a[0][ring].astype(int) - b[0][ring].astype(int)).max()
    assert diff > 60  # the overlay is drawn
    assert np.abs(a[0][100:, 300:].astype(int) - b[0][100:, 300:].astype(int)).max() < 40  # wrist: no overlay


def test_render_errors(synthetic, tmp_path):
    with pytest.raises(DatasetError, match="use a .mp4 or .gif"):
        render_episode(synthetic, 0, tmp_path / "x.avi")
    with pytest.raises(DatasetError, match="episode 9 out of range"):
        render_episode(synthetic, 9, tmp_path / "x.gif")


def test_cli(synthetic, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_dataset_subcommands(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(["info", str(synthetic), "--json"])
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["episodes"] == 3
    assert main(["render", str(synthetic), "--episode", "2", "--out", str(tmp_path / "e.gif")]) == 0
    assert (tmp_path / "e.gif").stat().st_size > 0
    capsys.readouterr()
    assert main(["info", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()  # exactly one line
    assert err == f"error: {tmp_path} is not a LeRobot v3 dataset: meta/info.json missing"
