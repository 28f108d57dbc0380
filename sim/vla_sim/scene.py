"""The shared tabletop scene: floor, table, lights, scene camera and a robot mounted on the table.

World frame: x points away from the robot, y to the robot's left, z up; the table top is z = 0.
"""

from __future__ import annotations

import mujoco
import numpy as np

TABLE_HALF = (0.45, 0.6, 0.02)
TABLE_CENTER_X = 0.05
ROBOT_BASE = (-0.5, 0.0, 0.0)
SCENE_CAMERA = "scene"
WRIST_CAMERA = "wrist"
WRIST_TILT_DEG = 25.0  # toward the tool axis: the grasp region between the fingertips sits inside the view


def _look_at_quat(pos: np.ndarray, target: np.ndarray, up=(0, 0, 1)) -> np.ndarray:
    """Quaternion (wxyz) of a MuJoCo camera at `pos` looking at `target` (camera looks along -z)."""
    fwd = np.asarray(target, float) - np.asarray(pos, float)
    fwd /= np.linalg.norm(fwd)
    z = -fwd
    x = np.cross(up, z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, np.stack([x, y, z], axis=1).ravel())
    return quat


SCENE_CAM_POS = np.array([0.62, 0.0, 0.62])
SCENE_CAM_TARGET = np.array([-0.02, 0.0, 0.0])


def base_scene(name: str) -> mujoco.MjSpec:
    """An empty tabletop scene without robot or objects."""
    spec = mujoco.MjSpec()
    spec.modelname = name
    spec.compiler.degree = False
    spec.option.timestep = 0.002
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    spec.option.noslip_iterations = 0
    spec.visual.global_.offwidth = 640
    spec.visual.global_.offheight = 480
    spec.visual.quality.shadowsize = 2048
    spec.visual.headlight.ambient = [0.3, 0.3, 0.3]
    spec.visual.headlight.diffuse = [0.4, 0.4, 0.4]

    spec.add_texture(name="grid", type=mujoco.mjtTexture.mjTEXTURE_2D, builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER,
                     rgb1=[0.25, 0.27, 0.3], rgb2=[0.3, 0.32, 0.35], width=256, height=256)
    spec.add_material(name="floor", textures=["", "grid"], texrepeat=[8, 8], reflectance=0.1)
    spec.add_material(name="table", reflectance=0.15)
    wb = spec.worldbody
    wb.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[3, 3, 0.1], pos=[0, 0, -0.75],
                material="floor")
    wb.add_geom(name="table", type=mujoco.mjtGeom.mjGEOM_BOX, size=list(TABLE_HALF),
                pos=[TABLE_CENTER_X, 0, -TABLE_HALF[2]], material="table", rgba=[0.55, 0.42, 0.3, 1],
                friction=[1.0, 0.005, 0.0001])
    wb.add_light(name="key", pos=[0.4, -0.6, 1.8], dir=[-0.2, 0.35, -1], diffuse=[0.7, 0.7, 0.7],
                 specular=[0.2, 0.2, 0.2], castshadow=True)
    wb.add_light(name="fill", pos=[-0.4, 0.8, 1.6], dir=[0.3, -0.4, -1], diffuse=[0.35, 0.35, 0.35],
                 specular=[0.05, 0.05, 0.05], castshadow=False)
    wb.add_camera(name=SCENE_CAMERA, pos=list(SCENE_CAM_POS),
                  quat=list(_look_at_quat(SCENE_CAM_POS, SCENE_CAM_TARGET)), fovy=50)
    return spec


def add_wrist_camera(flange: mujoco.MjsBody) -> None:
    """Eye-in-hand camera on the flange, offset from the tool axis and looking along it."""
    # Flange frame: z out of the flange. A MuJoCo camera looks along its -z, so flip about x.
    flange.add_camera(name=WRIST_CAMERA, pos=[0.07, 0.0, 0.02], quat=list(_rot_x_pi_tilt()), fovy=75)


def _rot_x_pi_tilt() -> np.ndarray:
    """Camera orientation: rotated pi about x (look along +z of the flange), tilted WRIST_TILT_DEG toward
    the tool axis. At 8 deg (before 2026-11-22) a block being grasped sat on the image's bottom edge and
    left the view in the last centimetres of a policy's approach; at 25 deg the fingers and the block
    between them sit in the lower third, so the final alignment is visible."""
    q_flip = np.array([0.0, 1.0, 0.0, 0.0])
    q_turn = np.array([np.cos(-np.pi / 4), 0, 0, np.sin(-np.pi / 4)])  # image "down" toward the tool axis
    tilt = np.deg2rad(-WRIST_TILT_DEG)
    q_tilt = np.array([np.cos(tilt / 2), np.sin(tilt / 2), 0, 0])
    tmp, out = np.zeros(4), np.zeros(4)
    mujoco.mju_mulQuat(tmp, q_flip, q_turn)
    mujoco.mju_mulQuat(out, tmp, q_tilt)
    return out
