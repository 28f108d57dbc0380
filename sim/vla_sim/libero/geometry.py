"""Where LIBERO's objects (bodies) and regions (sites) are and what shape they have, in world coordinates."""

from __future__ import annotations

import mujoco
import numpy as np
from scipy.spatial import ConvexHull, QhullError

from vla_sim import grounding

COLLISION_GROUP = 0  # robosuite's collision geoms; the visual geoms describe the shape
_SIGNS = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], float)


class Geometry:
    """Where an object (a body) or a region (a site) is and how big it is, in world coordinates."""

    def __init__(self, env, name: str):
        self.env, self.name = env, name
        inner = env.raw.env
        thing = inner.get_object(name)
        self.is_site = name in inner.object_sites_dict
        self.body = None if self.is_site else env.model.body(thing.root_body).id
        self.category = getattr(thing, "category_name", name)
        m = env.model
        self._parts: list[tuple[int, np.ndarray]] = []  # (geom, its points in the geom's frame)
        self._hulls: list[tuple[int, np.ndarray]] = []  # (geom, its convex hull's vertices): boxes need no more
        for g in range(m.ngeom) if not self.is_site else ():
            if m.geom_group[g] == COLLISION_GROUP or not _in_subtree(m, m.geom_bodyid[g], self.body):
                continue
            if m.geom_type[g] == mujoco.mjtGeom.mjGEOM_MESH:
                mesh = m.geom_dataid[g]
                local = m.mesh_vert[m.mesh_vertadr[mesh]:m.mesh_vertadr[mesh] + m.mesh_vertnum[mesh]]
            else:
                local = m.geom_aabb[g, :3] + _SIGNS * m.geom_aabb[g, 3:]
            local = np.asarray(local, float)
            self._parts.append((g, local))
            self._hulls.append((g, _hull_vertices(local)))

    def points(self) -> np.ndarray:
        """World points on the object: its visual meshes' vertices (exact, unlike rotated bounding boxes), or
        a region's box corners."""
        return self._world(self._parts)

    def hull_points(self) -> np.ndarray:
        """The outer points of `points()` (per geom, its convex hull's vertices): the same boxes, in any
        rotation and any camera's projection, at a fraction of the cost."""
        return self._world(self._hulls)

    def _world(self, parts: list[tuple[int, np.ndarray]]) -> np.ndarray:
        m, d = self.env.model, self.env.data
        if self.is_site:
            sid = m.site(self.name).id
            return (_SIGNS * m.site_size[sid]) @ d.site_xmat[sid].reshape(3, 3).T + d.site_xpos[sid]
        if not parts:
            return grounding.body_box_corners(m, d, self.body)
        return np.concatenate([local @ d.geom_xmat[g].reshape(3, 3).T + d.geom_xpos[g] for g, local in parts])

    def box(self) -> tuple[np.ndarray, np.ndarray]:
        c = self.hull_points()
        return c.min(axis=0), c.max(axis=0)

    def center(self) -> np.ndarray:
        lo, hi = self.box()
        return (lo + hi) / 2

    def yaw_and_extents(self) -> tuple[float, float, float]:
        """Yaw of the body's horizontal x axis and the object's extents along it and across it."""
        if self.is_site:
            lo, hi = self.box()
            return 0.0, float(hi[0] - lo[0]), float(hi[1] - lo[1])
        xmat = self.env.data.xmat[self.body].reshape(3, 3)
        axis = xmat[:2, 0] if np.linalg.norm(xmat[:2, 0]) > 0.3 else xmat[:2, 1]
        yaw = float(np.arctan2(axis[1], axis[0]))
        u = np.array([np.cos(yaw), np.sin(yaw)])
        v = np.array([-u[1], u[0]])
        xy = self.hull_points()[:, :2]
        return yaw, float(np.ptp(xy @ u)), float(np.ptp(xy @ v))


def _hull_vertices(points: np.ndarray) -> np.ndarray:
    if len(points) <= 8:
        return points
    try:
        return points[ConvexHull(points).vertices]
    except QhullError:  # flat or degenerate: keep every point
        return points


def _in_subtree(model: mujoco.MjModel, body: int, root: int) -> bool:
    while body != 0:
        if body == root:
            return True
        body = model.body_parentid[body]
    return False
