"""MuJoCo simulation suites for the VLA stack: tabletop manipulation and dexterous grasping.

Importing this package picks an offscreen GL backend (EGL) unless the caller chose one.
"""

import os

os.environ.setdefault("MUJOCO_GL", "egl")
if os.environ["MUJOCO_GL"] in ("egl", "osmesa"):
    os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])
