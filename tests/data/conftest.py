"""Fixtures for vla_data tests: a tiny synthetic dataset and a copy of LeRobot's reference dataset."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from vla_data_testlib import FEATURES, FPS, REFERENCE, write_episodes

from vla_data import LeRobotDatasetWriter

@pytest.fixture
def synthetic(tmp_path: Path) -> Path:
    """A finished 3-episode dataset with two cameras and grounding/extra features."""
    root = tmp_path / "synthetic"
    with LeRobotDatasetWriter(root, fps=FPS, features=FEATURES, robot_type="test_arm") as w:
        write_episodes(w, [0, 1, 2])
    return root


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    """A private copy of LeRobot 0.4.4's reference dataset (skips if shared/fixtures is absent)."""
    if not REFERENCE.is_dir():
        pytest.skip(f"LeRobot reference fixture not found at {REFERENCE}")
    dst = tmp_path / "reference"
    shutil.copytree(REFERENCE, dst)
    for p in dst.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    return dst
