"""Ground truth for spatial grounding: project world points and object boxes into camera pixels.

Pixel convention: (u, v) = (column, row) in the image as returned by the renderer (row 0 at the top),
continuous coordinates where pixel centers sit at +0.5. Points behind the camera are (-1, -1).
"""

from __future__ import annotations

import mujoco
import numpy as np


def camera_intrinsics(model: mujoco.MjModel, cam_id: int, height: int, width: int) -> tuple[float, float, float]:
    """Focal length in pixels and principal point (fovy is vertical, square pixels)."""
    f = 0.5 * height / np.tan(np.deg2rad(model.cam_fovy[cam_id]) / 2)
    return f, width / 2.0, height / 2.0


def project_points(model: mujoco.MjModel, data: mujoco.MjData, cam_id: int, points: np.ndarray,
                   height: int, width: int) -> np.ndarray:
    """World points (N,3) -> pixels (N,2); (-1,-1) for points at or behind the image plane."""
    return _project(model, data, cam_id, points, height, width)[0]


def _project(model, data, cam_id, points, height, width) -> tuple[np.ndarray, np.ndarray]:
    points = np.atleast_2d(points)
    f, cx, cy = camera_intrinsics(model, cam_id, height, width)
    rot = data.cam_xmat[cam_id].reshape(3, 3)
    pc = (points - data.cam_xpos[cam_id]) @ rot  # camera frame: x right, y up, looking along -z
    depth = -pc[:, 2]
    uv = np.full((len(points), 2), -1.0)
    ok = depth > 1e-6
    uv[ok, 0] = cx + f * pc[ok, 0] / depth[ok]
    uv[ok, 1] = cy - f * pc[ok, 1] / depth[ok]
    return uv, ok


def in_image(uv: np.ndarray, height: int, width: int) -> np.ndarray:
    """Points outside the image become (-1, -1): the label for "not in view"."""
    uv = uv.copy()
    out = (uv[:, 0] < 0) | (uv[:, 0] > width) | (uv[:, 1] < 0) | (uv[:, 1] > height)
    uv[out] = -1.0
    return uv


def body_box_corners(model: mujoco.MjModel, data: mujoco.MjData, body_id: int) -> np.ndarray:
    """World coordinates of the 8 corners of every visible geom's bounding box in a body subtree."""
    corners = []
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], float)
    for g in range(model.ngeom):
        b = model.geom_bodyid[g]
        if model.geom_rgba[g, 3] == 0 or not _in_subtree(model, b, body_id):
            continue
        center, half = model.geom_aabb[g, :3], model.geom_aabb[g, 3:]
        local = center + signs * half
        corners.append(local @ data.geom_xmat[g].reshape(3, 3).T + data.geom_xpos[g])
    return np.concatenate(corners) if corners else data.xpos[body_id][None]


def _in_subtree(model: mujoco.MjModel, body: int, root: int) -> bool:
    while body != 0:
        if body == root:
            return True
        body = model.body_parentid[body]
    return root == 0


def project_box(model: mujoco.MjModel, data: mujoco.MjData, cam_id: int, body_id: int,
                height: int, width: int) -> np.ndarray:
    """Pixel box (u_min, v_min, u_max, v_max) of a body, clipped to the image; all -1 if not in view."""
    return project_corners_box(model, data, cam_id, body_box_corners(model, data, body_id), height, width)


def project_corners_box(model: mujoco.MjModel, data: mujoco.MjData, cam_id: int, corners: np.ndarray,
                        height: int, width: int) -> np.ndarray:
    """Pixel box around world points (N,3) that outline a target, clipped to the image; all -1 if not in view."""
    uv, ok = _project(model, data, cam_id, corners, height, width)
    return points_box(uv[ok], height, width)


def footprint_corners(center_xy: np.ndarray, half: float, height: float) -> np.ndarray:
    """The 8 corners of an upright square box standing on the table at `center_xy`: a place, outlined as
    the object that should end up there would occupy it."""
    signs = np.array([[sx, sy] for sx in (-1, 1) for sy in (-1, 1)], float)
    xy = np.asarray(center_xy, float)[:2] + half * signs
    return np.concatenate([np.c_[xy, np.zeros(4)], np.c_[xy, np.full(4, height)]])


def points_box(uv: np.ndarray, height: int, width: int) -> np.ndarray:
    """Pixel box around projected points (behind-camera points, (-1, -1), dropped), clipped to the image;
    all -1 if none is in view."""
    uv = uv[(uv != -1.0).any(axis=1)]
    if len(uv) == 0:
        return np.full(4, -1.0)
    lo = np.clip(uv.min(axis=0), 0, [width, height])
    hi = np.clip(uv.max(axis=0), 0, [width, height])
    if (hi - lo).min() <= 0:
        return np.full(4, -1.0)
    return np.concatenate([lo, hi])
