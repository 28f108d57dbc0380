"""Shared test set-up: offscreen rendering through EGL, single-threaded rasterizer for stable timing."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
