"""Pick and place for LIBERO's scripted experts: grasp an object (bowls and mugs by the rim, everything else from
above across its narrow side), carry it above a target at a height that clears what is on the way, lower it
onto the support and let go. Geometry comes from the objects' meshes, not from per-object tables.
The plan that strings primitives together is `vla_sim.libero.planner`."""

from __future__ import annotations

from typing import Callable

import mujoco
import numpy as np
from scipy.spatial import cKDTree

from vla_sim.experts.primitives import CLOSE, OPEN, Arm, Plan, down_quat, hold, move_to, yaw_of_tool
from vla_sim.libero.articulated import drawer_opening
from vla_sim.libero.geometry import Geometry

RIM_GRASP = ("bowl", "mug")  # object categories grasped by the rim (wider than the gripper opens, or handled)
MAX_OPENING = 0.075  # widest span the Panda's fingers close around (m)
GRASP_DEPTH = 0.03  # how far below an object's top the fingertips go (m)
RIM_ROOM = 0.01  # free space a rim grasp needs around the open fingers and the hand (m)
TIGHT_ROOM = 0.005  # the least free space a rim grasp may have when roomier places need full reach (m)
ROOM_COST = 600.0  # wrist turn (rad) a grasp may cost per metre of room less than RIM_ROOM
HAND_ABOVE = 0.08  # height of the hand's body above the fingertips (m)
HAND_RADIUS = 0.025  # half the hand's thickness (m)
FINGER_OFFSET, FINGER_RADIUS = 0.045, 0.012  # an open finger's distance from the grasp point, its half-size (m)
HAND_SWEEP = 0.12  # half-width of the strip the hand sweeps while carrying (m)
CORRIDOR = 0.08  # half-width of the strip a carried object sweeps on its way (m)
ROBOT_BASE = "robot0_base"
COMFORT_REACH = 0.70  # tool distance (horizontal) from the arm's base beyond which grasps cost more (m)
REACH_COST = 60.0  # wrist turn (rad) a grasp point may cost per metre beyond COMFORT_REACH
RELEASE_SLACK = 0.35  # a release may move this fraction of the target's half-width nearer the arm
RELEASE_REACH = 0.73  # the tool beyond this distance from the arm's base (horizontal) at a release: the arm stalls (m)
LOWER_STEPS = 25  # at most this many slow steps down to a contact before letting go
ROBOT_PREFIXES = ("robot0_", "gripper0_", "mount0_")  # robosuite's names for the arm, hand and base bodies
TILTED = np.radians(20.0)  # a bowl tilted more than this is grasped at the high side of its rim
UPRIGHT_HOLD = np.radians(15.0)  # a held object tilted less than this may be turned round the tool in a carry
HIGH_COST = 30.0  # wrist turn (rad) a grasp point on a tilted rim may cost per metre below the rim's top
APPROACH = 0.07  # the tool comes down the last this-many metres to a grasp slowly, straight (m)
HAND_LENGTH, HAND_WIDTH = 0.10, 0.035  # half-sizes of the hand's collision box, along and across the closing (m)
WRIST_RADIUS = 0.05  # the wrist above the hand, seen from above: about this far around the tool axis (m)
KeepOut = Callable[[np.ndarray], float]  # how far xy points stand outside a region (negative: inside it) (m)


def pick_object(arm: Arm, name: str, toward: np.ndarray | None = None, keep_out: KeepOut | None = None) -> Plan:
    """Grasp `name` from above and lift it clear of everything (with `keep_out`, a rim grasp keeps the hand and
    wrist, seen from above, out of a region: under an open drawer, see `hand_outline`)."""
    env = arm.env
    obj = Geometry(env, name)
    lo, hi = obj.box()
    center = (lo + hi) / 2
    tool_yaw = yaw_of_tool(arm.pose()[1])
    if any(key in obj.category for key in RIM_GRASP):
        point, closing = rim_grasp(env, obj, tool_yaw, toward, keep_out)
        yaw = nearest_yaw(closing - np.pi / 2, tool_yaw)
    else:
        yaw_obj, along, across = obj.yaw_and_extents()
        # The fingers close along the tool's y axis: rotate it across the object's narrow side.
        closing = yaw_obj if along <= across else yaw_obj + np.pi / 2
        yaw = nearest_yaw(closing - np.pi / 2, tool_yaw)
        depth = min(GRASP_DEPTH, 0.5 * (hi[2] - lo[2]))
        point = np.r_[center[:2], hi[2] - depth]
    quat = down_quat(yaw)
    above = np.r_[point[:2], point[2] + APPROACH]
    # Across at the current height (when higher), then straight down: no diagonal through what stands near.
    high = np.r_[point[:2], max(arm.pose()[0][2], above[2])]
    if high[2] > above[2] + 0.03:
        yield from move_to(arm, (high, quat), OPEN, tol=0.02, max_steps=60)
    yield from move_to(arm, (above, quat), OPEN, tol=0.012, max_steps=70)
    yield from move_to(arm, (point, quat), OPEN, tol=0.006, max_steps=30, speed=0.6)
    yield from hold(arm, CLOSE, 10, (point, quat))
    yield from move_to(arm, (above + [0, 0, 0.04], quat), CLOSE, tol=0.03, max_steps=30)


def rim_grasp(env, obj: "Geometry", tool_yaw: float, toward: np.ndarray | None = None,
              keep_out: KeepOut | None = None) -> tuple[np.ndarray, float]:
    """Where fingers straddle the rim of a bowl or a mug, and the closing direction (world yaw, radial there).

    The rim is found in the body's frame, along the body axis nearest world up (meshes are modelled upright
    along some body axis), so tilted bowls (one resting on a ramekin) work; of 16 places around it, one
    with room for the open fingers and the hand that needs little wrist turn and no full reach."""
    points, closing, k, beyond = rim_places(env, obj)
    rot = env.data.xmat[obj.body].reshape(3, 3)
    others = np.concatenate([obstacles(env, exclude=obj.name), beyond])
    tree = cKDTree(others)  # nearest-obstacle queries for every probe of every candidate
    clearance = np.array([hand_clearance(p, c, tree) for p, c in zip(points, closing)])
    if keep_out is not None:
        clearance = np.minimum(clearance, [keep_out(hand_outline(p, c)) for p, c in zip(points, closing)])
    # Of the places with room for a finger, the one needing the least turn of the wrist (turns are slow).
    roomy = clearance >= min(TIGHT_ROOM, clearance.max())
    turn = np.abs(np.angle(np.exp(2j * (closing - np.pi / 2 - tool_yaw)))) / 2  # the gripper is symmetric
    # Near full reach the arm is stretched straight (a singular pose the OSC controller cannot leave): keep
    # the tool within COMFORT_REACH of the arm's base, where it grasps and where it will let go.
    base = env.data.xpos[env.model.body(ROBOT_BASE).id][:2]
    reach = np.linalg.norm(points[:, :2] - base, axis=1)
    if toward is not None:
        reach = np.maximum(reach, np.linalg.norm(points[:, :2] - obj.center()[:2] + toward[:2] - base, axis=1))
    cost = turn + REACH_COST * np.maximum(0.0, reach - COMFORT_REACH)
    if abs(rot[2, k]) < np.cos(TILTED):
        # A steeply tilted bowl (fallen against its support): its wall stands nearly upright on the high side.
        cost += HIGH_COST * (points[:, 2].max() - points[:, 2])
    cost += ROOM_COST * np.maximum(0.0, RIM_ROOM - clearance)  # tighter places only when they save reach
    best = int(np.argmin(np.where(roomy, cost, np.inf)))
    return points[best], float(closing[best])


def rim_places(env, obj: "Geometry") -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """16 places around the rim of a bowl or a mug where the fingers can straddle its wall (world points, the
    tool point there), the closing direction at each (world yaw, radial), the body axis nearest world up, and
    the object's own points beyond its rim (a mug's handle: in a rim grasp's way too)."""
    rot, origin = env.data.xmat[obj.body].reshape(3, 3), env.data.xpos[obj.body]
    k = int(np.argmax(np.abs(rot[2])))  # the body axis that points (most nearly) up or down
    axis = np.eye(3)[k] * np.sign(rot[2, k])
    across = np.eye(3)[[i for i in range(3) if i != k]]  # the two body axes across it
    local = (obj.points() - origin) @ rot
    height = local @ axis
    top = height.max()
    ring = local[height > top - 0.004] @ across.T  # rim points, in the plane across the axis
    middle = np.median(ring, axis=0)
    radius = float(np.median(np.linalg.norm(ring - middle, axis=1)))
    angles = np.linspace(-np.pi, np.pi, 16, endpoint=False)
    radial = np.c_[np.cos(angles), np.sin(angles)] @ across  # body frame, across the axis
    points = origin + (middle @ across + radial * (radius - 0.008) + axis * (top - 0.018)) @ rot.T
    closing = np.array([np.arctan2(d[1], d[0]) for d in radial @ rot.T])
    beyond = obj.points()[np.linalg.norm(local @ across.T - middle, axis=1) > radius + 0.01]
    return points, closing, k, beyond


def hand_outline(point: np.ndarray, closing: float) -> np.ndarray:
    """Points (xy) outlining, seen from above, the hand (its collision box: 20 cm along the closing direction,
    6.4 cm across) and the wrist above it (about WRIST_RADIUS around the tool axis) for a downward tool at
    `point` closing along `closing` (world yaw)."""
    along = np.array([np.cos(closing), np.sin(closing)])
    side = np.array([-along[1], along[0]])
    box = [point[:2] + along * t + side * s for t in np.linspace(-HAND_LENGTH, HAND_LENGTH, 9)
           for s in (-HAND_WIDTH, 0.0, HAND_WIDTH)]
    wrist = [point[:2] + WRIST_RADIUS * np.array([np.cos(a), np.sin(a)])
             for a in np.linspace(-np.pi, np.pi, 12, endpoint=False)]
    return np.array(box + wrist)


def obstacles(env, exclude: str) -> np.ndarray:
    """Points on the surfaces of every object and fixture of the scene but one."""
    inner = env.raw.env
    names = [n for n in list(inner.objects_dict) + list(inner.fixtures_dict) if n != exclude]
    return np.concatenate([Geometry(env, n).surface_points() for n in names])


def hand_clearance(point: np.ndarray, closing: float, others: cKDTree) -> float:
    """Free space around a grasp (m): the smallest gap between the obstacles and the open fingers (either
    side of the point, down to it) or the hand above them (about 20 cm across, along the closing direction),
    from the top of the straight final approach down to the grasp."""
    along = np.array([np.cos(closing), np.sin(closing), 0.0])
    probes = [(point + along * t + [0, 0, z], FINGER_RADIUS) for t in (-FINGER_OFFSET, FINGER_OFFSET)
              for z in (0.0, 0.03)]
    probes += [(point + along * t + [0, 0, HAND_ABOVE + z], HAND_RADIUS) for t in (-0.09, -0.045, 0.0, 0.045, 0.09)
               for z in (0.0, APPROACH / 2, APPROACH)]  # the hand on its way down, too
    where, radius = np.array([p for p, _ in probes]), np.array([r for _, r in probes])
    return float(np.min(others.query(where)[0] - radius))


def place_on(arm: Arm, name: str, target: str, inside: bool = False) -> Plan:
    """Carry the held object above `target`, lower it until it is just above the support, release, retreat."""
    env = arm.env
    obj, dest = Geometry(env, name), Geometry(env, target)
    lo, hi = dest.box()
    base = env.data.xpos[env.model.body(ROBOT_BASE).id][:2]
    slack = RELEASE_SLACK * 0.5 * float(min(hi[:2] - lo[:2]))

    def spot() -> np.ndarray:
        """Where the object's center goes (xy): the target's center, or an open drawer's pulled-out part."""
        opening = drawer_opening(env, target) if inside else None
        xy = dest.center()[:2] if opening is None else opening
        # Near full reach the arm stretches straight and lowering pushes the tool outward: let go a little
        # nearer the arm instead (still well on the target).
        tool = arm.pose()[0][:2] - obj.center()[:2] + xy
        out = tool - base
        excess = np.linalg.norm(out) - RELEASE_REACH
        if excess > 0:
            xy = xy - out / np.linalg.norm(out) * min(excess, slack)
        return xy

    yield from carry_and_release(arm, name, spot, top=hi[2] if not inside else hi[2] + 0.01)


def carry_and_release(arm: Arm, name: str, spot: Callable[[], np.ndarray], top: float) -> Plan:
    """Carry the held object until its center is over `spot()` (xy), lower it onto the support whose top is
    near `top` (z), let go and retreat upward."""
    env = arm.env
    obj = Geometry(env, name)
    ee, quat = arm.pose()
    below_grip = ee[2] - obj.box()[0][2]  # from the tool point down to the object's bottom
    release_z = top + below_grip + 0.02

    # Carry high enough that the object's bottom clears whatever stands in the corridor to the target.
    start, goal = obj.center()[:2], spot()
    others = obstacles(env, exclude=name)
    near = segment_distance(others[:, :2], start, goal) < CORRIDOR
    tallest = others[near, 2].max() if near.any() else top
    # A thing held at its edge (a bowl by the rim) may swing to hang below the fingers: clear the way for
    # its farthest point straight down.
    hang = float(np.max(np.linalg.norm(obj.hull_points() - ee, axis=1)))
    travel = max(release_z + 0.03, tallest + max(below_grip, hang) + 0.02)
    # The hand (about 20 cm across) sweeps its own strip beside the object's: keep the fingertips above it.
    grip = ee[:2] - start
    by_hand = segment_distance(others[:, :2], start + grip, goal + grip) < HAND_SWEEP
    if by_hand.any():
        travel = max(travel, others[by_hand, 2].max() + 0.02)

    quat = near_side_quat(env, ee, quat, obj, goal)

    def over(z: float):
        """The tool pose that puts the held object's center over the target's (the grasp may be off-center)."""
        def pose():
            tool, _ = arm.pose()
            offset = tool[:2] - obj.center()[:2]
            return np.r_[spot() + offset, z], quat
        return pose

    if ee[2] < travel - 0.02:  # up first, then across: a diagonal would cut the corners of what is in the way
        yield from move_to(arm, (np.r_[ee[:2], travel], quat), CLOSE, tol=0.02, max_steps=40)
    # Loosely: near full reach the last centimetre across is where the controller stalls (libero_spatial task 4
    # spent 50 of its 220 steps 16 mm from this point); the moves down refine the place.
    yield from move_to(arm, over(travel), CLOSE, tol=0.025, max_steps=80)
    yield from move_to(arm, over(release_z + 0.04), CLOSE, tol=0.012, max_steps=40)
    yield from move_to(arm, over(release_z), CLOSE, tol=0.008, max_steps=20, speed=0.5)
    # Then down until the object rests on something (a concave plate, a drawer's floor sit lower than their
    # top): let go from a drop of a few millimetres, not centimetres, so it lands as it was carried.
    for _ in range(LOWER_STEPS):
        if touches_scene(env, obj.body):
            break
        yield arm.action(over(release_z - 0.05)()[0], quat, CLOSE, speed=0.25)
    release = over(arm.pose()[0][2])()
    yield from hold(arm, OPEN, 8, release)
    yield from move_to(arm, (release[0] + [0, 0, 0.1], quat), OPEN, tol=0.02, max_steps=30)


def near_side_quat(env, tool: np.ndarray, quat: np.ndarray, obj: "Geometry", goal: np.ndarray) -> np.ndarray:
    """The tool's orientation for a carry. An object held off its center (a bowl by the rim) has the tool beside
    it; when that would put the tool beyond COMFORT_REACH at the place (stretched, the arm drifts outward as it
    lowers, and a bowl landed 3 cm off the plate's center, outside LIBERO's On), the wrist turns on the way so
    that the tool ends on the arm's side of the object: the object swings round the tool point by that angle.
    Not for an object held tilted (a bowl taken from a ramekin hangs 39 degrees off upright: turned, it swung
    and landed 4.5 cm off)."""
    base = env.data.xpos[env.model.body(ROBOT_BASE).id][:2]
    offset = tool[:2] - obj.center()[:2]
    upright = np.abs(env.data.xmat[obj.body].reshape(3, 3)[2]).max() > np.cos(UPRIGHT_HOLD)
    if not upright or np.linalg.norm(offset) < 0.02 or np.linalg.norm(goal + offset - base) <= COMFORT_REACH:
        return quat
    want = base - goal
    delta = float(np.angle(np.exp(1j * (np.arctan2(want[1], want[0]) - np.arctan2(offset[1], offset[0])))))
    return down_quat(yaw_of_tool(quat) + delta)


def touches_scene(env, body: int) -> bool:
    """Whether a body (with what hangs under it) is in contact with anything but the robot."""
    m, d = env.model, env.data
    for c in d.contact[:d.ncon]:
        b1, b2 = m.geom_bodyid[c.geom1], m.geom_bodyid[c.geom2]
        mine1, mine2 = root_body(m, b1) == body, root_body(m, b2) == body
        if mine1 == mine2:
            continue
        other = m.body(b2 if mine1 else b1).name
        if not other.startswith(ROBOT_PREFIXES):
            return True
    return False


def root_body(m: mujoco.MjModel, body: int) -> int:
    """The body right under the world that holds `body` (LIBERO objects' root bodies)."""
    while m.body_parentid[body] != 0:
        body = m.body_parentid[body]
    return body


def segment_distance(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distances of 2D points to the segment a-b."""
    ab = b - a
    t = np.clip((points - a) @ ab / max(ab @ ab, 1e-9), 0.0, 1.0)
    return np.linalg.norm(points - (a + t[:, None] * ab), axis=1)


def nearest_yaw(yaw: float, current: float) -> float:
    """The gripper is symmetric under a half turn: of yaw and yaw + pi, the one nearer the current yaw."""
    k = np.round((current - yaw) / np.pi)
    return float(yaw + k * np.pi)
