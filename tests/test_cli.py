"""The `vla` command as a user runs it: subprocesses, exit codes, one-line errors, real files."""

import json
import os
import subprocess
import sys

import pytest

VLA = [sys.executable, "-m", "vla.cli.main"]


def run(*args, ok=True):
    proc = subprocess.run([*VLA, *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "MUJOCO_GL": "egl"})
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def assert_one_line_error(proc, *fragments):
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.startswith("error")]
    assert len(lines) == 1, proc.stderr
    for f in fragments:
        assert f in lines[0], lines[0]


def test_sim_list_json_maps_suites_to_tasks():
    suites = json.loads(run("sim", "list", "--json").stdout)
    assert "tabletop" in suites and len(suites["tabletop"]) >= 3
    assert all(isinstance(t, str) for tasks in suites.values() for t in tasks)


def test_unknown_suite_and_task_list_the_valid_ones(tmp_path):
    assert_one_line_error(run("collect", "--suite", "nope", "--episodes", "1", "--out", str(tmp_path / "a"), ok=False),
                          "unknown suite 'nope'", "tabletop")
    assert_one_line_error(run("collect", "--suite", "tabletop", "--tasks", "fly", "--episodes", "1", "--out",
                              str(tmp_path / "a"), ok=False), "unknown task 'fly'", "stack_blocks")
    assert not (tmp_path / "a").exists()


def test_collect_names_the_tasks_without_an_expert_before_writing_anything(tmp_path):
    """libero_10's microwave task has no scripted expert: the collection stops before the first episode, not
    after hours of the tasks before it."""
    assert_one_line_error(run("collect", "--suite", "libero_10", "--episodes", "1", "--out", str(tmp_path / "a"),
                              ok=False), "no scripted expert for 1 task(s) of libero_10", "microwave", "--tasks")
    assert not (tmp_path / "a").exists()


def test_scripted_eval_names_the_tasks_without_an_expert_before_running_any(tmp_path):
    """The same for `vla eval --policy scripted`: it used to stop at the microwave task, the suite's last, after
    25 minutes of the others."""
    assert_one_line_error(run("eval", "--suite", "libero_10", "--policy", "scripted", "--episodes", "1",
                              "--render", "none", "--videos", "0", "--out", str(tmp_path / "e"), ok=False),
                          "no scripted expert for 1 task(s) of libero_10", "microwave", "--tasks")
    assert not (tmp_path / "e").exists()


def test_eval_and_collect_refuse_bad_step_counts_before_writing(tmp_path):
    assert_one_line_error(run("eval", "--suite", "tabletop", "--policy", "scripted", "--episodes", "1", "--max-steps",
                              "0", "--render", "none", "--videos", "0", "--out", str(tmp_path / "e"), ok=False),
                          "--max-steps must be at least 1")
    assert_one_line_error(run("collect", "--suite", "toy", "--episodes", "1", "--after-success", "500",
                              "--out", str(tmp_path / "c"), ok=False), "--after-success must be in [0, 100]")
    assert_one_line_error(run("collect", "--suite", "toy", "--episodes", "1", "--max-attempts", "0",
                              "--out", str(tmp_path / "c"), ok=False), "--max-attempts must be at least 1")
    assert not (tmp_path / "e").exists() and not (tmp_path / "c").exists()


def test_collect_refuses_a_non_empty_folder_and_keeps_its_files(tmp_path):
    keep = tmp_path / "mine.txt"
    keep.write_text("precious")
    assert_one_line_error(run("collect", "--suite", "tabletop", "--episodes", "1", "--out", str(tmp_path), ok=False),
                          "not empty")
    assert keep.read_text() == "precious"


def test_dataset_commands_reject_bad_paths_and_indices(tmp_path):
    assert_one_line_error(run("dataset", "info", str(tmp_path), ok=False), "not a LeRobot v3 dataset")


@pytest.mark.slow
def test_collect_info_render_round_trip(tmp_path):
    out = tmp_path / "ds"
    proc = run("collect", "--suite", "tabletop", "--tasks", "stack_blocks,pick_block_by_relation", "--episodes", "1",
               "--out", str(out), "--image-size", "64", "--seed", "3")
    assert "wrote 2 episodes" in proc.stdout
    info = json.loads(run("dataset", "info", str(out), "--json").stdout)
    assert info["episodes"] == 2
    assert set(info["features"]) >= {"observation.images.scene", "observation.images.wrist", "observation.state",
                                     "action", "grounding.scene.target_points", "next.success"}
    meta = json.loads((out / "meta" / "vla_collection.json").read_text())
    assert meta["seeds"]["stack_blocks"] == [3] and meta["action"]["gripper"]["slice"] == [6, 7]
    video = tmp_path / "ep.mp4"
    run("dataset", "render", str(out), "--episode", "1", "--out", str(video))
    assert video.stat().st_size > 1000
    assert_one_line_error(run("dataset", "render", str(out), "--episode", "9", "--out", str(video), ok=False),
                          "out of range")

    from vla_data.reader import DatasetReader

    ds = DatasetReader(out)
    ep = ds.episode(0)
    assert ep["observation.images.scene"].shape[1:] == (64, 64, 3)
    assert bool(ep["next.success"][-1]) and not bool(ep["next.success"][0])
