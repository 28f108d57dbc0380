"""Dexterous suite: grasp and lift objects of varied shapes with the Allegro Hand.

Every task has one free object (origin at its bottom center) randomized in pose, size and color.
Success: the object's lowest point is at least `LIFT_HEIGHT` above the table, it touches the hand and not
the table, for `HOLD_STEPS` consecutive control steps.
"""

from __future__ import annotations

import mujoco
import numpy as np

from vla_sim import objects
from vla_sim.tasks.base import Task
from vla_sim.tasks.pick_place import color_rgb, pick_colors

LIFT_HEIGHT = 0.10  # m, object bottom above the table top
HOLD_STEPS = 10
OBJECT_X = (0.0, 0.14)
OBJECT_Y = (-0.15, 0.15)
_FRICTION = [1.0, 0.01, 0.0002]
CONE = mujoco.mjtCone.mjCONE_ELLIPTIC
IMPRATIO = 10.0


class LiftObject(Task):
    """Base class: one object named `obj`; subclasses add its geometry and randomize its size."""

    shape = ""  # "cube", "cylinder", "sphere", "box": the expert's pre-shape depends on it
    noun = "object"
    max_steps = 200
    body = "obj"

    def __init__(self) -> None:
        super().__init__()
        self.size = np.zeros(3)  # half extents of the object's bounding box (x, y, z)
        self.yaw = 0.0
        self._held = 0
        self._last_step = -1
        self._scratch: tuple[mujoco.MjModel, mujoco.MjData] | None = None

    # ----------------------------------------------------------------- scene
    def build(self, spec: mujoco.MjSpec) -> None:
        # Fingertip grasps hold by friction alone: elliptic friction cones with a high impedance ratio
        # keep MuJoCo's soft contacts from creeping under the held weight (MuJoCo's advice for grasping).
        spec.option.cone = CONE
        spec.option.impratio = IMPRATIO
        body = spec.worldbody.add_body(name=self.body, pos=[0, 0, 0])
        body.add_freejoint(name=f"{self.body}_joint")
        self._add_geom(body)

    def _add_geom(self, body: mujoco.MjsBody) -> None:
        raise NotImplementedError

    def _sample_size(self, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def _resize(self, model: mujoco.MjModel, size: np.ndarray) -> None:
        """Write the sampled size into the compiled model (geom size, position, bounding volumes)."""
        raise NotImplementedError

    def reset(self, env, rng) -> None:
        m, d = env.model, env.data
        self.size = self._sample_size(rng)
        self._resize(m, self.size)
        gid = m.geom(f"{self.body}_geom").id
        m.geom_rbound[gid] = float(np.linalg.norm(self.size))
        m.geom_aabb[gid] = np.r_[np.zeros(3), self.size]
        # Mass-dependent constants (constraint impedance weights): recompute on a scratch MjData, as
        # mj_setConst overwrites the state it is given.
        if self._scratch is None or self._scratch[0] is not m:
            self._scratch = (m, mujoco.MjData(m))
        mujoco.mj_setConst(m, self._scratch[1])
        xy = np.array([rng.uniform(*OBJECT_X), rng.uniform(*OBJECT_Y)])
        self.yaw = float(rng.uniform(-np.pi, np.pi))
        objects.set_free_pose(m, d, self.body, [*xy, 0.0], self.yaw)
        color = pick_colors(rng, 1)[0]
        objects.set_body_rgba(m, self.body, color_rgb(rng, color))
        self.slots = {"color": color, "noun": self.noun}
        self._held = 0
        self._last_step = -1

    # ----------------------------------------------------------------- success
    def contacts(self, env) -> tuple[bool, bool]:
        """(touches the hand, touches the table)."""
        m, d = env.model, env.data
        obj = m.body(self.body).id
        hand_geoms = getattr(env.tool, "geom_ids", np.array([], int))
        table = m.geom("table").id
        hand = on_table = False
        for c in d.contact[:d.ncon]:
            g1, g2 = int(c.geom1), int(c.geom2)
            b1, b2 = m.geom_bodyid[g1], m.geom_bodyid[g2]
            if obj not in (b1, b2):
                continue
            other = g2 if b1 == obj else g1
            if other == table:
                on_table = True
            elif other in hand_geoms:
                hand = True
        return hand, on_table

    def bottom_z(self, env) -> float:
        """Height of the object's lowest point above the table (m), whatever its orientation."""
        m, d = env.model, env.data
        gid = m.geom(f"{self.body}_geom").id
        z, rot, size = d.geom_xpos[gid][2], d.geom_xmat[gid].reshape(3, 3), m.geom_size[gid]
        kind = m.geom_type[gid]
        if kind == mujoco.mjtGeom.mjGEOM_BOX:
            return float(z - np.abs(rot[2]) @ size)
        if kind == mujoco.mjtGeom.mjGEOM_SPHERE:
            return float(z - size[0])
        axis_z = abs(rot[2, 2])  # cylinder: half height along its axis, radius across it
        return float(z - axis_z * size[1] - size[0] * np.sqrt(max(0.0, 1 - axis_z ** 2)))

    def lifted(self, env) -> bool:
        return self.bottom_z(env) >= LIFT_HEIGHT

    def success(self, env) -> bool:
        if env.steps != self._last_step:  # count each control step once
            self._last_step = env.steps
            hand, on_table = self.contacts(env)
            self._held = self._held + 1 if (self.lifted(env) and hand and not on_table) else 0
        return self._held >= HOLD_STEPS

    def target_bodies(self, env) -> list[str]:
        # The object is both what is grasped and where the hand goes.
        return [self.body, self.body]


class LiftCube(LiftObject):
    name = "lift_cube"
    shape = "cube"
    noun = "cube"
    instructions = (
        "pick up the {color} cube",
        "lift the {color} cube",
        "grasp the {color} block and lift it",
        "pick the {color} cube up off the table",
        "raise the {color} block",
    )

    def _add_geom(self, body):
        body.add_geom(name=f"{self.body}_geom", type=mujoco.mjtGeom.mjGEOM_BOX, size=[0.022] * 3,
                      pos=[0, 0, 0.022], density=700, friction=_FRICTION, condim=4, rgba=[1, 0, 0, 1])

    def _sample_size(self, rng):
        return np.full(3, rng.uniform(0.02, 0.025))  # 4-5 cm cube

    def _resize(self, m, size):
        gid = m.geom(f"{self.body}_geom").id
        m.geom_size[gid] = size
        m.geom_pos[gid] = [0, 0, size[2]]
        _set_mass(m, self.body, 700 * np.prod(2 * size))


class LiftCylinder(LiftObject):
    name = "lift_cylinder"
    shape = "cylinder"
    noun = "can"
    instructions = (
        "pick up the {color} can",
        "lift the {color} can",
        "grab the {color} bottle and lift it up",
        "pick the {color} cylinder up",
        "lift the {color} can off the table",
    )

    def _add_geom(self, body):
        body.add_geom(name=f"{self.body}_geom", type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[0.028, 0.05, 0],
                      pos=[0, 0, 0.05], density=400, friction=_FRICTION, condim=4, rgba=[1, 0, 0, 1])

    def _sample_size(self, rng):
        r = rng.uniform(0.024, 0.03)
        return np.array([r, r, rng.uniform(0.04, 0.055)])  # 4.8-6 cm wide, 8-11 cm tall

    def _resize(self, m, size):
        gid = m.geom(f"{self.body}_geom").id
        m.geom_size[gid] = [size[0], size[2], 0]
        m.geom_pos[gid] = [0, 0, size[2]]
        _set_mass(m, self.body, 400 * np.pi * size[0] ** 2 * 2 * size[2])


class LiftSphere(LiftObject):
    name = "lift_sphere"
    shape = "sphere"
    noun = "ball"
    instructions = (
        "pick up the {color} ball",
        "lift the {color} ball",
        "grasp the {color} sphere and raise it",
        "pick the {color} ball up from the table",
        "take the {color} ball and lift it",
    )

    def _add_geom(self, body):
        body.add_geom(name=f"{self.body}_geom", type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[0.028, 0, 0],
                      pos=[0, 0, 0.028], density=500, friction=_FRICTION, condim=4, rgba=[1, 0, 0, 1],
                      solref=[0.02, 1.0])

    def _sample_size(self, rng):
        return np.full(3, rng.uniform(0.025, 0.031))  # 5-6.2 cm ball

    def _resize(self, m, size):
        gid = m.geom(f"{self.body}_geom").id
        m.geom_size[gid] = [size[0], 0, 0]
        m.geom_pos[gid] = [0, 0, size[0]]
        _set_mass(m, self.body, 500 * 4 / 3 * np.pi * size[0] ** 3)


class LiftBox(LiftObject):
    name = "lift_box"
    shape = "box"
    noun = "box"
    instructions = (
        "pick up the {color} box",
        "lift the {color} box",
        "grasp the {color} box and pick it up",
        "lift the {color} package off the table",
    )

    def _add_geom(self, body):
        body.add_geom(name=f"{self.body}_geom", type=mujoco.mjtGeom.mjGEOM_BOX, size=[0.03, 0.02, 0.03],
                      pos=[0, 0, 0.03], density=500, friction=_FRICTION, condim=4, rgba=[1, 0, 0, 1])

    def _sample_size(self, rng):
        # One side narrow enough to grasp across (3.6-5 cm), the other 4-9 cm, 4-7 cm tall.
        narrow, wide = rng.uniform(0.018, 0.025), rng.uniform(0.02, 0.045)
        return np.array([wide, narrow, rng.uniform(0.02, 0.035)])

    def _resize(self, m, size):
        gid = m.geom(f"{self.body}_geom").id
        m.geom_size[gid] = size
        m.geom_pos[gid] = [0, 0, size[2]]
        _set_mass(m, self.body, 500 * np.prod(2 * size))


def _set_mass(m: mujoco.MjModel, body: str, mass: float) -> None:
    """Scale a one-geom body's mass and inertia to `mass` (the geom's shape changed)."""
    bid = m.body(body).id
    gid = int(np.flatnonzero(m.geom_bodyid == bid)[0])
    size, kind = m.geom_size[gid], m.geom_type[gid]
    if kind == mujoco.mjtGeom.mjGEOM_BOX:
        a, b, c = 2 * size
        inertia = mass / 12 * np.array([b * b + c * c, a * a + c * c, a * a + b * b])
    elif kind == mujoco.mjtGeom.mjGEOM_SPHERE:
        inertia = np.full(3, 0.4 * mass * size[0] ** 2)
    else:  # cylinder: radius, half height
        r, h = size[0], 2 * size[1]
        inertia = np.array([mass / 12 * (3 * r * r + h * h)] * 2 + [0.5 * mass * r * r])
    m.body_mass[bid] = mass
    m.body_inertia[bid] = inertia
    m.body_ipos[bid] = m.geom_pos[gid]


TASKS = (LiftCube, LiftCylinder, LiftSphere, LiftBox)
