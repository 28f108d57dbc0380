"""Primitive-geometry objects for the tabletop tasks: blocks, plates, bowls, cups, a drawer cabinet.

Every movable object is a body with a free joint whose origin sits at the object's bottom center, so
that placing it at height 0 puts it on the table.
"""

from __future__ import annotations

import mujoco
import numpy as np

COLORS: dict[str, tuple[float, float, float]] = {
    "red": (0.85, 0.12, 0.1),
    "green": (0.15, 0.7, 0.2),
    "blue": (0.12, 0.3, 0.85),
    "yellow": (0.95, 0.85, 0.1),
    "purple": (0.55, 0.2, 0.75),
    "orange": (0.95, 0.5, 0.08),
    "white": (0.92, 0.92, 0.9),
    "black": (0.08, 0.08, 0.08),
}

_FRICTION = [1.2, 0.01, 0.0002]


def _free_body(parent: mujoco.MjsBody, name: str) -> mujoco.MjsBody:
    body = parent.add_body(name=name, pos=[0, 0, 0])
    body.add_freejoint(name=f"{name}_joint")
    return body


def add_block(parent: mujoco.MjsBody, name: str, half: float = 0.022, mass: float = 0.06) -> mujoco.MjsBody:
    body = _free_body(parent, name)
    body.add_geom(name=f"{name}_geom", type=mujoco.mjtGeom.mjGEOM_BOX, size=[half, half, half],
                  pos=[0, 0, half], mass=mass, friction=_FRICTION, condim=4, rgba=[1, 0, 0, 1])
    return body


def add_plate(parent: mujoco.MjsBody, name: str, radius: float = 0.07, mass: float = 0.2) -> mujoco.MjsBody:
    body = _free_body(parent, name)
    body.add_geom(name=f"{name}_geom", type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[radius, 0.006, 0],
                  pos=[0, 0, 0.006], mass=mass, friction=_FRICTION, rgba=[1, 1, 1, 1])
    return body


def add_ring_container(parent: mujoco.MjsBody, name: str, radius: float, height: float, wall: float = 0.006,
                       n_walls: int = 12, mass: float = 0.1, open_top: bool = True) -> mujoco.MjsBody:
    """A round container (bowl when open at the top, cup when open at the bottom) made of wall boxes."""
    body = _free_body(parent, name)
    seg = 2 * np.pi * radius / n_walls * 0.55
    for i in range(n_walls):
        a = 2 * np.pi * i / n_walls
        body.add_geom(name=f"{name}_wall{i}", type=mujoco.mjtGeom.mjGEOM_BOX, size=[wall / 2, seg, height / 2],
                      pos=[radius * np.cos(a), radius * np.sin(a), height / 2], euler=[0, 0, a],
                      mass=mass / (n_walls + 1), friction=_FRICTION, condim=4, rgba=[1, 1, 1, 1])
    cap_z = 0.003 if open_top else height - 0.003
    body.add_geom(name=f"{name}_cap", type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[radius + wall / 2, 0.003, 0],
                  pos=[0, 0, cap_z], mass=mass / (n_walls + 1), friction=_FRICTION, condim=4, rgba=[1, 1, 1, 1])
    return body


def add_target_pad(parent: mujoco.MjsBody, name: str, half: float = 0.04) -> mujoco.MjsBody:
    """A flat visual marker on the table (no collision): a goal region."""
    body = parent.add_body(name=name, pos=[0, 0, 0], mocap=True)
    body.add_geom(name=f"{name}_geom", type=mujoco.mjtGeom.mjGEOM_BOX, size=[half, half, 0.0008],
                  pos=[0, 0, 0.0008], contype=0, conaffinity=0, rgba=[1, 1, 0, 1])
    return body


def add_drawer_cabinet(spec: mujoco.MjSpec, parent: mujoco.MjsBody, name: str, pos=(0.2, 0.0, 0.0)
                       ) -> mujoco.MjsBody:
    """A fixed cabinet with one drawer that slides toward the robot (-x). Joint `<name>_slide`: 0 shut,
    up to 0.16 m open. The handle bar is body `<name>_handle`.

    The drawer rests exactly on the carcass (distance 0): depending on the round-off of the cabinet's
    pose those contacts penetrate and their friction jammed the drawer in ~28% of poses. The slide
    joint carries the drawer, so carcass-drawer contacts are excluded here.
    """
    w, d, h = 0.13, 0.12, 0.07  # half sizes of the cabinet
    cab = parent.add_body(name=name, pos=list(pos))
    rgba = [0.45, 0.33, 0.22, 1]
    t = 0.008
    cab.add_geom(name=f"{name}_top", type=mujoco.mjtGeom.mjGEOM_BOX, size=[d, w, t], pos=[0, 0, 2 * h - t], rgba=rgba)
    cab.add_geom(name=f"{name}_bottom", type=mujoco.mjtGeom.mjGEOM_BOX, size=[d, w, t], pos=[0, 0, t], rgba=rgba)
    cab.add_geom(name=f"{name}_back", type=mujoco.mjtGeom.mjGEOM_BOX, size=[t, w, h], pos=[d - t, 0, h], rgba=rgba)
    for side, y in (("left", w - t), ("right", -(w - t))):
        cab.add_geom(name=f"{name}_{side}", type=mujoco.mjtGeom.mjGEOM_BOX, size=[d, t, h], pos=[0, y, h], rgba=rgba)
    drawer = cab.add_body(name=f"{name}_drawer", pos=[0, 0, 0])
    drawer.add_joint(name=f"{name}_slide", type=mujoco.mjtJoint.mjJNT_SLIDE, axis=[-1, 0, 0], range=[0, 0.16],
                     damping=[4.0, 0, 0], frictionloss=0.2, armature=0.05)
    dw, dd, dh = w - 2 * t - 0.002, d - 0.01, h - t - 0.006
    front_rgba = [0.75, 0.62, 0.45, 1]
    drawer.add_geom(name=f"{name}_front", type=mujoco.mjtGeom.mjGEOM_BOX, size=[t, w, h - 0.004],
                    pos=[-d - t, 0, h], rgba=front_rgba, mass=0.2)
    drawer.add_geom(name=f"{name}_floor", type=mujoco.mjtGeom.mjGEOM_BOX, size=[dd, dw, 0.004],
                    pos=[0, 0, 2 * t + 0.004], rgba=front_rgba, mass=0.1)
    for side, y in (("dl", dw - 0.004), ("dr", -(dw - 0.004))):
        drawer.add_geom(name=f"{name}_{side}", type=mujoco.mjtGeom.mjGEOM_BOX, size=[dd, 0.004, dh / 2],
                        pos=[0, y, 2 * t + dh / 2], rgba=front_rgba, mass=0.05)
    spec.add_exclude(bodyname1=name, bodyname2=f"{name}_drawer")
    handle = drawer.add_body(name=f"{name}_handle", pos=[-d - 2 * t - 0.03, 0, h])
    handle.add_geom(name=f"{name}_handle_bar", type=mujoco.mjtGeom.mjGEOM_CAPSULE, size=[0.008, 0.045, 0],
                    euler=[np.pi / 2, 0, 0], rgba=[0.7, 0.7, 0.72, 1], mass=0.02, friction=[1.5, 0.01, 0.0002],
                    condim=4)
    for side, y in (("hl", 0.04), ("hr", -0.04)):
        handle.add_geom(name=f"{name}_{side}", type=mujoco.mjtGeom.mjGEOM_BOX, size=[0.016, 0.005, 0.005],
                        pos=[0.016, y, 0], rgba=[0.7, 0.7, 0.72, 1], mass=0.005)
    return cab


def set_body_rgba(model: mujoco.MjModel, body_name: str, rgb, alpha: float = 1.0) -> None:
    """Color every geom of a body."""
    bid = model.body(body_name).id
    for g in np.flatnonzero(model.geom_bodyid == bid):
        model.geom_rgba[g] = [*rgb, alpha]


def free_qpos_adr(model: mujoco.MjModel, body_name: str) -> int:
    return int(model.joint(f"{body_name}_joint").qposadr[0])


def set_free_pose(model: mujoco.MjModel, data: mujoco.MjData, body_name: str, pos, yaw: float = 0.0) -> None:
    adr = free_qpos_adr(model, body_name)
    data.qpos[adr:adr + 3] = pos
    data.qpos[adr + 3:adr + 7] = [np.cos(yaw / 2), 0, 0, np.sin(yaw / 2)]
    vadr = int(model.joint(f"{body_name}_joint").dofadr[0])
    data.qvel[vadr:vadr + 6] = 0
