"""Where LIBERO's objects (bodies) and regions (sites) are and what shape they have, in world coordinates."""

from __future__ import annotations

import mujoco
import numpy as np
from scipy.spatial import ConvexHull, QhullError

from vla_sim import grounding

COLLISION_GROUP = 0  # robosuite's collision geoms; the visual geoms describe the shape
SURFACE_SPACING = 0.01  # about one surface point per square centimetre (m)
_SIGNS = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], float)


class Geometry:
    """Where an object (a body) or a region (a site) is and how big it is, in world coordinates."""

    def __init__(self, env, name: str, part: bool = False):
        """name: a BDDL object or region; with `part`, a MuJoCo body name instead (a drawer, a knob: the
        body and whatever hangs under it)."""
        self.env, self.name = env, name
        inner = env.raw.env
        thing = None if part else inner.get_object(name)
        self.is_site = not part and name in inner.object_sites_dict
        self.body = None if self.is_site else env.model.body(name if part else thing.root_body).id
        self.category = getattr(thing, "category_name", name)
        m = env.model
        self._parts: list[tuple[int, np.ndarray]] = []  # (geom, its points in the geom's frame)
        self._hulls: list[tuple[int, np.ndarray]] = []  # (geom, its convex hull's vertices): boxes need no more
        self._surfaces: list[tuple[int, np.ndarray]] | None = None  # (geom, points spread over its faces)
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

    def surface_points(self) -> np.ndarray:
        """Points spread over the object's surfaces about SURFACE_SPACING apart (a box-like mesh has vertices
        only at its corners: distances to its walls need points on them)."""
        if self._surfaces is None:
            # Samples are in each geom's own frame, fixed for a model: computed once per env (planners ask for
            # every object's surface several times an episode; sampling a cabinet takes a good part of a second).
            cache = self.env.__dict__.setdefault("_surface_samples", {})
            for g, local in self._parts:
                if g not in cache:
                    cache[g] = _surface_samples(self.env.model, g, local)
            self._surfaces = [(g, cache[g]) for g, _ in self._parts]
        return self._world(self._surfaces)

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


def _surface_samples(m: mujoco.MjModel, geom: int, vertices: np.ndarray) -> np.ndarray:
    """Vertices plus points on every triangle of a mesh geom (deterministic), SURFACE_SPACING apart."""
    if m.geom_type[geom] != mujoco.mjtGeom.mjGEOM_MESH:
        lo, hi = vertices.min(axis=0), vertices.max(axis=0)
        axes = [np.linspace(a, b, max(2, int(np.ceil((b - a) / SURFACE_SPACING)) + 1)) for a, b in zip(lo, hi)]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
        on_face = np.isclose(grid, lo).any(axis=1) | np.isclose(grid, hi).any(axis=1)
        return grid[on_face]
    mesh = m.geom_dataid[geom]
    faces = m.mesh_face[m.mesh_faceadr[mesh]:m.mesh_faceadr[mesh] + m.mesh_facenum[mesh]]
    tri = vertices[faces]  # (F, 3 corners, 3)
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    count = np.floor(area / SURFACE_SPACING**2).astype(int)
    big = count > 0
    if not big.any():
        return vertices
    rng = np.random.default_rng(0)
    idx = np.repeat(np.flatnonzero(big), count[big])
    uv = rng.random((len(idx), 2))
    flip = uv.sum(axis=1) > 1
    uv[flip] = 1 - uv[flip]
    t = tri[idx]
    samples = t[:, 0] + uv[:, :1] * (t[:, 1] - t[:, 0]) + uv[:, 1:] * (t[:, 2] - t[:, 0])
    return np.concatenate([vertices, samples])


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
