"""`vla demo` end to end on a small budget: dataset tour, then collect -> train -> evaluate -> report."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def test_demo_collects_trains_evaluates_and_reports(tmp_path):
    from vla.demo import run_demo

    out = tmp_path / "demo"
    summary = run_demo(out, episodes=1, suites=("toy",), policy_suite="toy", policy_episodes=6,
                       train_minutes=0.05, eval_episodes=2, preset="tiny")
    report = (out / "report.md").read_text()
    assert "## VLA policy (toy)" in report and "policy/run/loss.png" in report
    ev = json.loads((out / "policy" / "eval" / "eval.json").read_text())
    assert ev["tasks"]["reach_pad"]["episodes"] == 2
    assert summary["policy"]["train_steps"] >= 1
    for f in ("expert_success.png", "toy_episode0.mp4", "policy/run/loss.png", "policy/eval/success.png"):
        assert (out / f).stat().st_size > 0, f
    assert list((out / "policy" / "eval" / "videos").glob("*.mp4"))
