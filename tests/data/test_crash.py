"""Crash safety, for real: a writer process killed with SIGKILL leaves every finished episode readable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from vla_data_testlib import FEATURES, FPS, LENGTHS, make_frame, write_episodes

from vla_data import DatasetReader, LeRobotDatasetWriter

HERE = Path(__file__).resolve().parent


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(HERE.parents[1] / "datasets"), env.get("PYTHONPATH", "")])
    return env


def _check(root: Path, episodes: int) -> None:
    r = DatasetReader(root)
    assert r.num_episodes == episodes and r.num_frames == sum(LENGTHS[:episodes])
    for e in range(episodes):
        ep = r.episode(e)
        n = LENGTHS[e]
        assert len(ep["frame_index"]) == n
        for t in (0, n - 1):
            want = make_frame(e, t, n)
            np.testing.assert_array_equal(ep["observation.state"][t], want["observation.state"])
            np.testing.assert_array_equal(ep["grounding.scene.target_points"][t], want["grounding.scene.target_points"])
            err = np.abs(ep["observation.images.wrist"][t].astype(int) - want["observation.images.wrist"]).mean()
            assert err <= 1.5
    assert len(r[r.num_frames - 1]["observation.images.scene"]) == 32


def _resume_and_finish(root: Path, episodes: int) -> None:
    with LeRobotDatasetWriter.open_existing(root, features=FEATURES) as w:
        write_episodes(w, list(range(episodes, 3)))
    _check(root, 3)
    assert not (root / ".vla_tmp").exists()


def test_sigkill_mid_episode_keeps_finished_episodes(tmp_path):
    root = tmp_path / "ds"
    proc = subprocess.Popen([sys.executable, str(HERE / "crash_writer.py"), str(root), "mid_episode"],
                            stdout=subprocess.PIPE, text=True, env=_env())
    try:
        assert proc.stdout.readline().strip() == "READY"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert any((root / ".vla_tmp").glob("spool-*.raw"))  # the half episode was being spooled
    _check(root, 2)
    _resume_and_finish(root, 2)


@pytest.mark.parametrize("kill_at,episodes", [(1, 2), (2, 3), (5, 3), (7, 3)])
def test_sigkill_during_save_is_all_or_nothing(tmp_path, kill_at, episodes):
    """Killed before the journal is in place -> the old dataset; after -> the new one, on next open."""
    root = tmp_path / "ds"
    out = subprocess.run([sys.executable, str(HERE / "crash_writer.py"), str(root), f"replace:{kill_at}"],
                         capture_output=True, text=True, env=_env(), timeout=120)
    assert out.returncode == -signal.SIGKILL, out.stderr
    _check(root, episodes)
    _resume_and_finish(root, episodes)


def test_save_uses_expected_number_of_replaces(tmp_path):
    """Guards the parametrization above: save 3 does 7 os.replace calls (journal + 6 files)."""
    out = subprocess.run([sys.executable, str(HERE / "crash_writer.py"), str(tmp_path / "ds"), "replace:99"],
                         capture_output=True, text=True, env=_env(), timeout=120)
    assert out.stdout.split() == ["SAVED", "7"], out.stderr


def test_failed_save_keeps_previous_episodes_and_buffer(tmp_path, monkeypatch):
    import vla_data._save as save_mod
    from vla_data import DatasetError

    root = tmp_path / "ds"
    w = LeRobotDatasetWriter(root, fps=FPS, features=FEATURES)
    write_episodes(w, [0])
    for t in range(LENGTHS[1]):
        w.add_frame(make_frame(1, t, LENGTHS[1]), task="open the top drawer")

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003
        raise OSError("disk full")

    monkeypatch.setattr(save_mod, "concat_videos", broken)
    with pytest.raises(DatasetError, match="saving episode 1 failed.*disk full"):
        w.save_episode()
    assert w.episode_size == LENGTHS[1] and w.num_episodes == 1
    assert [p.name for p in (root / ".vla_tmp").iterdir() if not p.name.startswith("spool")] == ["writer.lock"]
    _check(root, 1)
    monkeypatch.undo()
    assert w.save_episode() == 1
    w.finalize()
    _check(root, 2)
