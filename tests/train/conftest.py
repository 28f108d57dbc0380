"""Fixtures for the training tests: the synthetic dataset on disk and loaded into an EpisodeStore."""

from __future__ import annotations

from pathlib import Path

import pytest
from train_testlib import IMAGE_SIZE, write_dataset

from vla.train.data import EpisodeStore


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory) -> Path:
    """The 3-episode synthetic dataset (see train_testlib); shared by the session: do not modify it."""
    return write_dataset(tmp_path_factory.mktemp("train_data") / "synthetic")


@pytest.fixture(scope="session")
def store(synthetic_root) -> EpisodeStore:
    """The synthetic dataset loaded at IMAGE_SIZE; shared by the session: do not modify it."""
    return EpisodeStore.load(synthetic_root, image_size=IMAGE_SIZE, progress=False)
