"""Offscreen camera rendering with two looks: the default (shadows, reflections, multisampling, the
robot's detailed visual meshes) and a fast mode for CPU training: shadows, reflections and
multisampling off, and the robot drawn with its low-poly collision meshes (same shapes, ~10x fewer
triangles; on llvmpipe the visual meshes alone cost ~17 ms of a 21 ms two-camera frame)."""

from __future__ import annotations

import atexit
import weakref
from typing import Literal, Sequence

import mujoco
import numpy as np

from vla_sim.robots.panda import COLLISION_GROUP

VISUAL_MESH_GROUP = 1  # robosuite's detailed visual meshes
RenderMode = Literal["fast", "default"]
RENDER_MODES = ("fast", "default")
_LIVE: "weakref.WeakSet[CameraRig]" = weakref.WeakSet()
_atexit_registered = False


def _close_all() -> None:
    for rig in list(_LIVE):
        rig.close()


class CameraRig:
    """Renders named cameras of one model to uint8 HxWx3 arrays."""

    def __init__(self, model: mujoco.MjModel, cameras: Sequence[str], height: int, width: int,
                 mode: RenderMode = "fast", low_poly: bool = True,
                 hidden_groups: Sequence[int] = ()):
        """low_poly: in fast mode, draw the robot's collision meshes instead of its visual meshes (the
        project's own scenes; robosuite-built scenes such as LIBERO's keep their visual meshes).
        hidden_groups: geom groups never drawn (robosuite puts collision geoms in group 0)."""
        if mode not in RENDER_MODES:
            raise ValueError(f"unknown render mode {mode!r}: valid are {', '.join(RENDER_MODES)}")
        self.cameras = tuple(cameras)
        self.mode = mode
        if mode == "fast":
            model.vis.quality.offsamples = 0  # read when the GL context is made
            model.light_castshadow[:] = 0
        self._renderer = mujoco.Renderer(model, height=height, width=width)
        global _atexit_registered
        if not _atexit_registered:  # after the GL library registered its own exit hook: we run first
            atexit.register(_close_all)
            _atexit_registered = True
        _LIVE.add(self)
        if mode == "fast":
            flags = self._renderer.scene.flags
            flags[mujoco.mjtRndFlag.mjRND_SHADOW] = 0
            flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = 0
            flags[mujoco.mjtRndFlag.mjRND_SKYBOX] = 0
        self._option = mujoco.MjvOption()
        self._option.sitegroup[:] = 0  # sites are markers for code, not part of the scene
        if mode == "fast" and low_poly:
            self._option.geomgroup[VISUAL_MESH_GROUP] = 0
            self._option.geomgroup[COLLISION_GROUP] = 1
        for group in hidden_groups:
            self._option.geomgroup[group] = 0
        self.height, self.width = height, width

    def render(self, data: mujoco.MjData) -> dict[str, np.ndarray]:
        # Another renderer being freed (garbage-collected) in this thread releases the current GL
        # context and framebuffer binding: take ours back before drawing.
        r = self._renderer
        r._gl_context.make_current()
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, r._mjr_context)
        out = {}
        for cam in self.cameras:
            self._renderer.update_scene(data, camera=cam, scene_option=self._option)
            out[cam] = self._renderer.render().copy()
        return out

    def close(self) -> None:
        # mujoco.Renderer.close() frees its GL objects in whatever context is current; with several
        # renderers in one thread that deletes another renderer's textures and framebuffers (seen as
        # garbage frames). Make our own context current first.
        r = self._renderer
        if r is None:
            return
        if r._gl_context is not None and r._mjr_context is not None:
            r._gl_context.make_current()
        r.close()
        self._renderer = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: GL may already be gone
            pass
