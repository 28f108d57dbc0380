"""Fixtures for model tests; helpers live in vla_model_testlib."""

import pytest

from vla_model_testlib import make_config


@pytest.fixture
def tiny_cfg():
    return make_config("tiny")
