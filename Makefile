# The two commands of the README: `make demo` (the main job) and `make test` (the whole suite).
# Both install what they need first (system libraries, a pinned .venv).
SHELL := /bin/bash
PY := .venv/bin/python
export MUJOCO_GL ?= egl
export PYOPENGL_PLATFORM ?= egl

.PHONY: setup demo test test-fast bench clean

setup:
	@bash scripts/setup.sh

demo: setup
	$(PY) -m vla.cli.main demo --out runs/demo

test: setup
	$(PY) -m pytest -q -p no:cacheprovider --timeout=900

test-fast: setup
	$(PY) -m pytest -q -m "not slow" --timeout=300

bench: setup
	$(PY) bench/sim_throughput.py --out bench/results/sim_throughput.json

clean:
	rm -rf runs .pytest_cache
