"""Right Allegro Hand (Wonik Robotics, v4) built with MjSpec from primitive geometry.

Kinematics (joint names, axes, limits, link lengths, finger base offsets, fingertip frames) follow the
`allegro_hand_right.urdf` of dexsuite/dex-urdf, the URDF that dex-retargeting's `allegro_hand_right`
configs load, so that joint vectors retargeted for that URDF drive this model unchanged:

- joints `joint_0.0` ... `joint_15.0`: index 0-3, middle 4-7, ring 8-11, thumb 12-15;
- links `base_link` (the palm block; fingers grow along its +z, the palm faces +x), virtual links
  `palm` (0, 0, -0.065) and `wrist` (0, 0, -0.095) under it, `link_<i>.0` and the fingertip links
  `link_3.0_tip`, `link_7.0_tip`, `link_11.0_tip`, `link_15.0_tip` (the frames dex-retargeting targets).

The meshes are replaced by boxes of the URDF's collision sizes (palm, phalanges), a capsule for each
distal phalanx and a sphere for each fingertip, with rubber-like friction (condim 4); masses follow
the URDF's inertials. Each joint has a position servo (`HAND_KP`, `HAND_KV`, `HAND_TORQUE`).

`allegro_hand()` also adds a mount (`hand_mount`, the tool's root body attached at the Panda flange)
that holds the palm facing down-forward (`MountPose`), and the site `ee_site` on the palm: the point
the arm's IK controls (same orientation convention as the parallel gripper's grip site).
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

# ---------------------------------------------------------------------------- kinematic data (URDF)
FINGERS = ("index", "middle", "ring", "thumb")
JOINT_NAMES = tuple(f"joint_{i}.0" for i in range(16))
TIP_LINKS = ("link_3.0_tip", "link_7.0_tip", "link_11.0_tip", "link_15.0_tip")
TIP_SITES = ("tip_index", "tip_middle", "tip_ring", "tip_thumb")
EE_SITE = "ee_site"
#: Every body of the hand (links, fingertip links, virtual links) and the mount.
HAND_BODIES = ("hand_mount", "base_link", "palm", "wrist") + tuple(f"link_{i}.0" for i in range(16)) + (
    "link_3.0_tip", "link_7.0_tip", "link_11.0_tip", "link_15.0_tip")
ROOT_BODY = "hand_mount"

#: Joint limits (rad) from the URDF, joint_0.0 ... joint_15.0.
_FINGER_LIMITS = ((-0.47, 0.47), (-0.196, 1.61), (-0.174, 1.709), (-0.227, 1.618))
_THUMB_LIMITS = ((0.263, 1.396), (-0.105, 1.163), (-0.189, 1.644), (-0.162, 1.719))
JOINT_LIMITS = np.array(_FINGER_LIMITS * 3 + _THUMB_LIMITS)

#: Finger base frames (joint_0.0/4.0/8.0) in base_link: position and roll (URDF rpy = (roll, 0, 0)).
_FINGER_BASES = {
    "index": ((0.0, 0.0435, -0.001542), -0.08726646255),
    "middle": ((0.0, 0.0, 0.0007), 0.0),
    "ring": ((0.0, -0.0435, -0.001542), 0.08726646255),
}
#: Offsets along the finger (z) of joints 1, 2, 3 and of the tip frame from the previous joint.
_FINGER_SEGMENTS = (0.0164, 0.054, 0.0384, 0.0267)
#: Thumb: joint_12.0 frame in base_link (xyz, rpy), axis -x; then joints 13 (axis z), 14, 15 (axis y).
_THUMB_BASE = ((-0.0182, 0.019333, -0.045987), (0.0, -1.65806278845, -1.5707963259))
_THUMB_13 = (-0.027, 0.005, 0.0399)
_THUMB_SEGMENTS = (0.0177, 0.0514, 0.0423)  # joint 14, joint 15, tip frame

#: Position-servo stiffness (N m / rad), damping (N m s / rad) and torque limit (N m). The limit is of
#: the order of the real hand's small joint motors (0.5-1 N m); with kp = 3 a servo saturates 0.23 rad
#: from its target, so a closing posture aimed past the object squeezes with the full torque.
HAND_KP = 3.0
HAND_KV = 0.1
HAND_TORQUE = 0.7
JOINT_DAMPING = 0.05
JOINT_ARMATURE = 0.002

FINGERTIP_RADIUS = 0.012
FINGER_HALF_WIDTH = (0.0098, 0.01375)  # half sizes of a phalanx box across (x) and sideways (y)
#: Friction of the finger and palm surfaces: sliding, torsional, rolling (rubber-like pads).
PAD_FRICTION = (1.5, 0.02, 0.0005)
LINK_FRICTION = (1.0, 0.005, 0.0001)
#: Contact softness of the finger pads: stiffer and more impedant than MuJoCo's default, which
#: limits the slow creep of soft contacts under a held object's weight.
PAD_SOLREF = (0.01, 1.0)
PAD_SOLIMP = (0.9, 0.97, 0.002, 0.5, 2.0)

_BLACK = (0.12, 0.12, 0.13, 1.0)
_WHITE = (0.88, 0.88, 0.86, 1.0)
_MOUNT = (0.55, 0.56, 0.58, 1.0)


def rpy_quat(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """URDF fixed-axis roll-pitch-yaw to a MuJoCo quaternion (wxyz): R = Rz(yaw) Ry(pitch) Rx(roll)."""
    out = np.array([1.0, 0, 0, 0])
    for axis, angle in (((0, 0, 1), yaw), ((0, 1, 0), pitch), ((1, 0, 0), roll)):
        q, res = np.zeros(4), np.zeros(4)
        mujoco.mju_axisAngle2Quat(q, np.array(axis, float), angle)
        mujoco.mju_mulQuat(res, out, q)
        out = res
    return out


def _mat_quat(mat: np.ndarray) -> np.ndarray:
    q = np.zeros(4)
    mujoco.mju_mat2Quat(q, np.asarray(mat, float).ravel())
    return q


@dataclass(frozen=True)
class MountPose:
    """How base_link sits under the flange (flange frame: z out of the flange, down at the home pose).

    The back of the palm is screwed onto an adapter block under the flange: the palm faces along
    flange +z (down at the home pose), the fingers point along flange -y (to the robot's left at the
    home pose), the ring finger is on the wrist camera's side (flange +x) and the index finger and
    thumb on the other. `tilt` turns the hand about the finger axis so that the palm also faces
    forward (toward the camera): the palm faces down-forward.
    """

    standoff: float = 0.03  # flange face to the back of the palm (m)
    center_x: float = -0.02  # the palm's center along flange x (m)
    center_y: float = 0.0  # the palm's center along flange y (m)
    tilt: float = 0.45  # rad (26 deg): the palm faces down-forward, toward the wrist camera


#: The palm's back-center point in base_link (the back face is x = -0.0297, the palm spans z in [-0.095, 0]).
_PALM_BACK = np.array([-0.0297, 0.0, -0.047])


def _mount_rotation(tilt: float) -> np.ndarray:
    """base_link axes (columns) in the flange frame."""
    r = np.column_stack([[0, 0, 1.0], [-1.0, 0, 0], [0, -1.0, 0]])  # palm normal, index side, fingers
    c, s = np.cos(tilt), np.sin(tilt)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]) @ r


def _add_box(body, name, half, pos, rgba=_BLACK, friction=LINK_FRICTION, mass=None, condim=3):
    kw = {"mass": mass} if mass is not None else {"density": 0}
    return body.add_geom(name=name, type=mujoco.mjtGeom.mjGEOM_BOX, size=list(half), pos=list(pos),
                         rgba=list(rgba), friction=list(friction), condim=condim, **kw)


def _joint(body, name, axis, limits):
    return body.add_joint(name=name, type=mujoco.mjtJoint.mjJNT_HINGE, axis=list(axis), range=list(limits),
                          limited=mujoco.mjtLimited.mjLIMITED_TRUE, damping=JOINT_DAMPING,
                          armature=JOINT_ARMATURE, frictionloss=0.01)


def _tip(parent, link: str, site: str, offset: float):
    tip = parent.add_body(name=link, pos=[0, 0, offset])
    tip.add_geom(name=f"{link}_pad", type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[FINGERTIP_RADIUS, 0, 0],
                 rgba=list(_WHITE), friction=list(PAD_FRICTION), condim=4, mass=0.0168,
                 solref=list(PAD_SOLREF), solimp=list(PAD_SOLIMP))
    tip.add_site(name=site, size=[0.004, 0, 0], rgba=[1, 0, 0, 1], group=4)
    return tip


def _add_finger(base: mujoco.MjsBody, finger: str, first: int) -> None:
    pos, roll = _FINGER_BASES[finger]
    hx, hy = FINGER_HALF_WIDTH
    l0, l1, l2, l3 = _FINGER_SEGMENTS
    j = [f"joint_{first + k}.0" for k in range(4)]
    links = [f"link_{first + k}.0" for k in range(4)]
    b0 = base.add_body(name=links[0], pos=list(pos), quat=list(rpy_quat(roll, 0, 0)))
    _joint(b0, j[0], (0, 0, 1), _FINGER_LIMITS[0])
    _add_box(b0, f"{links[0]}_geom", (hx, hy, l0 / 2), (0, 0, l0 / 2), mass=0.0119)
    b1 = b0.add_body(name=links[1], pos=[0, 0, l0])
    _joint(b1, j[1], (0, 1, 0), _FINGER_LIMITS[1])
    _add_box(b1, f"{links[1]}_geom", (hx, hy, l1 / 2), (0, 0, l1 / 2), mass=0.065)
    b2 = b1.add_body(name=links[2], pos=[0, 0, l1])
    _joint(b2, j[2], (0, 1, 0), _FINGER_LIMITS[2])
    _add_box(b2, f"{links[2]}_geom", (hx, hy, l2 / 2), (0, 0, l2 / 2), mass=0.0355)
    b3 = b2.add_body(name=links[3], pos=[0, 0, l2])
    _joint(b3, j[3], (0, 1, 0), _FINGER_LIMITS[3])
    b3.add_geom(name=f"{links[3]}_geom", type=mujoco.mjtGeom.mjGEOM_CAPSULE,
                fromto=[0, 0, 0.004, 0, 0, l3], size=[FINGERTIP_RADIUS, 0, 0], rgba=list(_BLACK),
                friction=list(PAD_FRICTION), condim=4, mass=0.0096)
    _tip(b3, f"{links[3]}_tip", TIP_SITES[FINGERS.index(finger)], l3)


def _add_thumb(base: mujoco.MjsBody) -> None:
    hx, hy = FINGER_HALF_WIDTH
    (pos, rpy) = _THUMB_BASE
    l14, l15, ltip = _THUMB_SEGMENTS
    b12 = base.add_body(name="link_12.0", pos=list(pos), quat=list(rpy_quat(*rpy)))
    _joint(b12, "joint_12.0", (-1, 0, 0), _THUMB_LIMITS[0])
    # The thumb's rotator block (URDF collision box 0.0358 x 0.034 x 0.0455, offset (-0.0179, 0.009, 0.0145)).
    _add_box(b12, "link_12.0_geom", (0.0179, 0.017, 0.02275), (-0.0179, 0.009, 0.0145), mass=0.0176)
    b13 = b12.add_body(name="link_13.0", pos=list(_THUMB_13))
    _joint(b13, "joint_13.0", (0, 0, 1), _THUMB_LIMITS[1])
    _add_box(b13, "link_13.0_geom", (hx, hy, l14 / 2), (0, 0, l14 / 2), mass=0.0119)
    b14 = b13.add_body(name="link_14.0", pos=[0, 0, l14])
    _joint(b14, "joint_14.0", (0, 1, 0), _THUMB_LIMITS[2])
    _add_box(b14, "link_14.0_geom", (hx, hy, l15 / 2), (0, 0, l15 / 2), mass=0.038)
    b15 = b14.add_body(name="link_15.0", pos=[0, 0, l15])
    _joint(b15, "joint_15.0", (0, 1, 0), _THUMB_LIMITS[3])
    b15.add_geom(name="link_15.0_geom", type=mujoco.mjtGeom.mjGEOM_CAPSULE,
                 fromto=[0, 0, 0.004, 0, 0, ltip], size=[FINGERTIP_RADIUS, 0, 0], rgba=list(_BLACK),
                 friction=list(PAD_FRICTION), condim=4, mass=0.0388)
    _tip(b15, "link_15.0_tip", TIP_SITES[3], ltip)


def _add_palm(base: mujoco.MjsBody) -> None:
    # The URDF's three collision boxes of the palm block.
    _add_box(base, "palm_upper", (0.0207, 0.056, 0.0224), (-0.009, 0.0, -0.023), mass=0.25,
             friction=PAD_FRICTION, condim=4)
    _add_box(base, "palm_lower", (0.0207, 0.0269, 0.0214), (-0.009, -0.0253, -0.0667), mass=0.12,
             friction=PAD_FRICTION, condim=4)
    _add_box(base, "palm_wrist", (0.0207, 0.036, 0.0065), (-0.0093, -0.00557, -0.08874), mass=0.045)
    base.add_body(name="palm", pos=[0, 0, -0.065])
    base.add_body(name="wrist", pos=[0, 0, -0.095])


def _exclusions(spec: mujoco.MjSpec, mounted: bool) -> None:
    """Contacts MuJoCo's parent-child filter does not already drop: links two apart in a chain, the
    palm with the proximal links, and the thumb's rotator with the index finger base."""
    pairs = [("base_link", "link_12.0"), ("base_link", "link_13.0"), ("base_link", "link_14.0"),
             ("link_12.0", "link_14.0"), ("link_13.0", "link_15.0"), ("link_12.0", "link_0.0"),
             ("link_12.0", "link_1.0")]
    if mounted:
        pairs += [(ROOT_BODY, "link_12.0"), (ROOT_BODY, "link_13.0")]
    for first in (0, 4, 8):
        pairs += [("base_link", f"link_{first + 1}.0"), ("base_link", f"link_{first + 2}.0"),
                  (f"link_{first}.0", f"link_{first + 2}.0"), (f"link_{first + 1}.0", f"link_{first + 3}.0"),
                  (f"link_{first + 2}.0", f"link_{first + 3}.0_tip")]
    pairs += [("link_14.0", "link_15.0_tip")]
    for b1, b2 in pairs:
        spec.add_exclude(bodyname1=b1, bodyname2=b2)


def _actuators(spec: mujoco.MjSpec) -> None:
    for name, (lo, hi) in zip(JOINT_NAMES, JOINT_LIMITS):
        spec.add_actuator(
            name=f"act_{name}", target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT,
            gaintype=mujoco.mjtGain.mjGAIN_FIXED, biastype=mujoco.mjtBias.mjBIAS_AFFINE,
            gainprm=[HAND_KP] + [0] * 9, biasprm=[0, -HAND_KP, -HAND_KV] + [0] * 7,
            ctrlrange=[lo, hi], ctrllimited=mujoco.mjtLimited.mjLIMITED_TRUE,
            forcerange=[-HAND_TORQUE, HAND_TORQUE], forcelimited=mujoco.mjtLimited.mjLIMITED_TRUE,
        )


#: Where the EE site sits in base_link: on the palm surface (x = 0.012), between the finger bases
#: and the thumb base; where the object is held in a palm grasp.
EE_IN_BASE = np.array([0.0117, 0.02, 0.0])


def allegro_hand(mount: MountPose | None = MountPose()) -> tuple[mujoco.MjSpec, str]:
    """The hand as an MjSpec and the name of its root body.

    With `mount` (default), the root is `hand_mount`: an adapter plate whose frame is the Panda flange
    frame, holding base_link at `mount`, plus the site `ee_site`. With `mount=None`, the root is
    `base_link` itself (a free-standing hand in the URDF frame).
    """
    spec = mujoco.MjSpec()
    spec.compiler.degree = False
    if mount is not None:
        root = spec.worldbody.add_body(name=ROOT_BODY)
        rot = _mount_rotation(mount.tilt)
        base_pos = np.array([mount.center_x, mount.center_y, mount.standoff]) - rot @ _PALM_BACK
        # Adapter: a plate on the flange and a block down to the back of the palm.
        root.add_geom(name="mount_plate", type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[0.042, 0.005, 0],
                      pos=[0, 0, 0.005], rgba=list(_MOUNT), mass=0.1)
        block_h = mount.standoff - 0.01
        root.add_geom(name="mount_block", type=mujoco.mjtGeom.mjGEOM_BOX, size=[0.03, 0.035, block_h / 2 + 0.004],
                      pos=[mount.center_x / 2, 0, 0.01 + block_h / 2], rgba=list(_MOUNT), mass=0.15)
        base = root.add_body(name="base_link", pos=list(base_pos), quat=list(_mat_quat(rot)))
        # EE site: orientation as the gripper's grip site relative to the flange (x = -flange y,
        # y = flange x, z = flange z), so that `down_quat(yaw)` targets work for both tools.
        site_rot = np.column_stack([[0, -1.0, 0], [1.0, 0, 0], [0, 0, 1.0]])
        root.add_site(name=EE_SITE, pos=list(base_pos + rot @ EE_IN_BASE), quat=list(_mat_quat(site_rot)),
                      size=[0.006, 0, 0], rgba=[0, 1, 0, 1], group=4)
    else:
        base = spec.worldbody.add_body(name="base_link")
        root = base
    _add_palm(base)
    for finger, first in zip(FINGERS[:3], (0, 4, 8)):
        _add_finger(base, finger, first)
    _add_thumb(base)
    _exclusions(spec, mount is not None)
    _actuators(spec)
    return spec, root.name
