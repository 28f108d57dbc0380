"""`vla eval` as a user runs it: one-line errors with exit status 2 and nothing written; a real run."""

import json
import os
import subprocess
import sys

import pytest

VLA = [sys.executable, "-m", "vla.cli.main", "eval"]


def run(*args):
    return subprocess.run([*VLA, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "MUJOCO_GL": "egl"})


def assert_one_line_error(proc, *fragments):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.startswith("error")]
    assert len(lines) == 1, proc.stderr
    for f in fragments:
        assert f in lines[0], lines[0]


@pytest.mark.parametrize("args,fragments", [
    (["--suite", "nope"], ["unknown suite 'nope'", "tabletop"]),
    (["--suite", "tabletop", "--tasks", "fly"], ["unknown task 'fly'", "stack_blocks"]),
    (["--suite", "tabletop", "--episodes", "0"], ["--episodes must be at least 1"]),
    (["--suite", "tabletop", "--executor", "fifo"], ["unknown executor 'fifo'", "queue, ensemble"]),
    (["--suite", "tabletop", "--ensemble-horizon", "4"], ["--ensemble-horizon", "needs --executor ensemble"]),
    (["--suite", "tabletop", "--executor", "ensemble", "--ensemble-horizon", "0"], ["must be at least 1"]),
    (["--suite", "tabletop", "--ensemble-newest", "gripper"], ["--ensemble-newest needs --executor ensemble"]),
    (["--suite", "tabletop", "--render", "pretty"], ["unknown render mode 'pretty'", "fast, default"]),
    (["--suite", "tabletop", "--render", "none"], ["videos need cameras"]),
    (["--suite", "libero_spatial", "--episodes", "51"], ["more than the 50 official initial states"]),
])
def test_bad_settings_are_one_line_errors_and_write_nothing(tmp_path, args, fragments):
    out = tmp_path / "out"
    assert_one_line_error(run("--policy", "scripted", *args, "--out", str(out)), *fragments)
    assert not out.exists()


def test_cameras_off_is_for_the_scripted_policy_only(tmp_path):
    out = tmp_path / "out"
    proc = run("--policy", str(tmp_path), "--suite", "tabletop", "--render", "none", "--videos", "0", "--out", str(out))
    assert_one_line_error(proc, "--render none is for --policy scripted only")
    assert not out.exists()


def test_bad_policy_folders_are_one_line_errors(tmp_path):
    out = tmp_path / "out"
    assert_one_line_error(run("--policy", str(tmp_path / "missing"), "--suite", "tabletop", "--out", str(out)),
                          "does not exist", "scripted")
    (tmp_path / "empty").mkdir()
    assert_one_line_error(run("--policy", str(tmp_path / "empty"), "--suite", "tabletop", "--out", str(out)),
                          "has no checkpoint")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("not a checkpoint")
    assert_one_line_error(run("--policy", str(tmp_path / "notes"), "--suite", "tabletop", "--out", str(out)))
    assert not out.exists()


def test_refuses_a_non_empty_out_folder_and_keeps_its_files(tmp_path):
    keep = tmp_path / "mine.txt"
    keep.write_text("precious")
    assert_one_line_error(run("--policy", "scripted", "--suite", "tabletop", "--out", str(tmp_path)), "not empty")
    assert keep.read_text() == "precious" and sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


def test_scripted_eval_end_to_end(tmp_path):
    out = tmp_path / "out"
    proc = run("--policy", "scripted", "--suite", "tabletop", "--tasks", "close_drawer", "--episodes", "1",
               "--num-envs", "1", "--videos", "1", "--image-size", "64", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    res = json.loads((out / "eval.json").read_text())
    assert res["success_rate"] == 1.0 and res["tasks"]["close_drawer"]["episodes"] == 1
    assert (out / "videos" / "close_drawer_ep0.mp4").exists() and (out / "success.png").exists()
    assert "mean success 100.0%" in proc.stdout
