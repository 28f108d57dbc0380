"""Franka Panda arm (7 DoF) built from the MJCF and meshes that robosuite 1.4.0 ships.

robosuite is used only as an asset package: it is never imported. The arm's torque motors are
replaced by joint position servos, and gravity is compensated on the links, so that an IK
controller can command joint targets directly.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np

#: Geom group of the robot's low-poly collision meshes: hidden in the default look, drawn instead of the
#: ~135k-triangle visual meshes (group 1) in fast-render mode (see vla_sim.render).
COLLISION_GROUP = 3
ARM_JOINTS = tuple(f"robot0_joint{i}" for i in range(1, 8))  # names after attaching
# A comfortable "ready" pose: gripper pointing down in front of the base.
HOME_QPOS = np.array([0.0, -0.2, 0.0, -2.6, 0.0, 2.4, np.pi / 4])
# Position-servo gains per joint (N m / rad), roughly the Panda's torque limits / 0.5 rad.
ARM_KP = np.array([600, 600, 500, 500, 250, 150, 80.0])
ARM_TORQUE = np.array([87, 87, 87, 87, 12, 12, 12.0])


def robosuite_assets() -> Path:
    spec = importlib.util.find_spec("robosuite")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("robosuite 1.4.0 is not installed: it provides the Panda meshes (run `make setup`)")
    return Path(spec.submodule_search_locations[0]) / "models" / "assets"


@dataclass(frozen=True)
class ArmNames:
    """Names in the compiled model that controllers and tasks refer to."""

    joints: tuple[str, ...] = ARM_JOINTS
    actuators: tuple[str, ...] = tuple(f"robot0_servo{i}" for i in range(1, 8))
    ee_site: str = "robot0_gripper0_grip_site"
    flange_body: str = "robot0_right_hand"


def _collision_geoms_to_group(spec: mujoco.MjSpec, light=(0.92, 0.92, 0.93), dark=(0.25, 0.25, 0.26)) -> None:
    """Move collision geoms to COLLISION_GROUP, colored like the visual meshes they stand in for."""
    for geom in spec.geoms:
        if geom.group == 0 and (geom.contype or geom.conaffinity):
            geom.group = COLLISION_GROUP
            dark_part = any(k in geom.name for k in ("link7", "finger", "pad"))
            geom.rgba = [*(dark if dark_part else light), 1.0]


def _load_arm() -> mujoco.MjSpec:
    arm = mujoco.MjSpec.from_file(str(robosuite_assets() / "robots" / "panda" / "robot.xml"))
    arm.compiler.degree = False  # robosuite's files are in radians (their arena sets it)
    _collision_geoms_to_group(arm)
    for act in list(arm.actuators):
        arm.delete(act)
    for cam in list(arm.cameras):
        arm.delete(cam)
    for body in arm.bodies:
        body.gravcomp = 1.0
    for i, j in enumerate(arm.joints):
        j.armature = 0.1
        j.damping = [5.0 if i < 4 else 2.0, 0, 0]
    for i in range(7):
        arm.add_actuator(
            name=f"servo{i + 1}",
            target=f"joint{i + 1}",
            trntype=mujoco.mjtTrn.mjTRN_JOINT,
            gaintype=mujoco.mjtGain.mjGAIN_FIXED,
            biastype=mujoco.mjtBias.mjBIAS_AFFINE,
            gainprm=[ARM_KP[i]] + [0] * 9,
            biasprm=[0, -ARM_KP[i], -2 * np.sqrt(ARM_KP[i])] + [0] * 7,
            forcerange=[-ARM_TORQUE[i], ARM_TORQUE[i]],
            forcelimited=mujoco.mjtLimited.mjLIMITED_TRUE,
        )
    return arm


def add_panda(parent: mujoco.MjsBody, spec: mujoco.MjSpec, pos=(0, 0, 0), tool: mujoco.MjSpec | None = None,
              tool_body: str | None = None, tool_prefix: str = "tool_") -> ArmNames:
    """Attach a Panda arm at `pos` under `parent`; optionally attach `tool` (an MjSpec) at the flange.

    The flange frame (`robot0_right_hand`) has z pointing out of the flange. Everything of the arm is
    prefixed `robot0_`; the tool keeps `tool_prefix`.
    """
    arm = _load_arm()
    if tool is not None:
        flange = arm.body("right_hand")
        frame = flange.add_frame()
        frame.attach_body(tool.body(tool_body), tool_prefix, "")
    for body in arm.bodies:  # the tool's links too: servos then hold any pose without sag
        body.gravcomp = 1.0
    frame = parent.add_frame(pos=list(pos))
    frame.attach_body(arm.body("base"), "robot0_", "")
    return ArmNames()


def panda_gripper() -> tuple[mujoco.MjSpec, str]:
    """The Panda parallel gripper (two coupled fingers, 0-8 cm opening) with one position actuator."""
    grip = mujoco.MjSpec.from_file(str(robosuite_assets() / "grippers" / "panda_gripper.xml"))
    grip.compiler.degree = False
    for s in list(grip.sensors):
        grip.delete(s)
    for a in list(grip.actuators):
        grip.delete(a)
    _collision_geoms_to_group(grip)
    for j in grip.joints:
        j.damping = [10.0, 0, 0]
        j.armature = 0.01
        j.frictionloss = 0.1
    # Couple the fingers: finger_joint2 = -finger_joint1.
    grip.add_equality(type=mujoco.mjtEq.mjEQ_JOINT, name1="finger_joint1", name2="finger_joint2",
                      data=[0, -1, 0, 0, 0] + [0] * 7)
    grip.add_actuator(
        name="fingers", target="finger_joint1", trntype=mujoco.mjtTrn.mjTRN_JOINT,
        gaintype=mujoco.mjtGain.mjGAIN_FIXED, biastype=mujoco.mjtBias.mjBIAS_AFFINE,
        gainprm=[400] + [0] * 9, biasprm=[0, -400, -20] + [0] * 7,
        ctrlrange=[0.0, 0.04], ctrllimited=mujoco.mjtLimited.mjLIMITED_TRUE,
        forcerange=[-40, 40], forcelimited=mujoco.mjtLimited.mjLIMITED_TRUE,
    )
    return grip, "right_gripper"
