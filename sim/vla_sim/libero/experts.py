"""Scripted experts for LIBERO tasks: the BDDL goal, parsed into a plan of motion primitives.

Each goal predicate becomes primitives that read the simulator every step (privileged state):
- On(obj, target), In(obj, container): grasp `obj` (bowls by the rim, everything else from above across its
  narrow side), carry it above the target's support, lower it and let go. Plates are pushed instead (wider
  than the open fingers, too flat to grasp by the rim). A container inside a shut drawer: open it first.
- Open(drawer), Close(drawer): pull the handle, push it home; TurnOn/TurnOff(stove): turn its knob
  (`vla_sim.libero.articulated`). Hinged doors (the microwave) have no primitive yet: their tasks no expert.
Order: knobs first, then drawers opened, objects moved, drawers closed (libero_10 lists "close" before "in").
Geometry comes from the objects' meshes (bounding boxes of their visible geoms), not from per-object tables.
"""

from __future__ import annotations

from typing import Callable

import mujoco
import numpy as np
from scipy.spatial import cKDTree

from vla_sim.experts.primitives import CLOSE, OPEN, Arm, Plan, down_quat, hold, move_to, yaw_of_tool
from vla_sim.libero.articulated import close_drawer, drawer_opening, fixture_joint, open_drawer, turn_knob
from vla_sim.libero.geometry import COLLISION_GROUP, Geometry

SUPPORTED = {"on", "in", "open", "close", "turnon", "turnoff"}
NO_PRIMITIVE = ("microwave",)  # hinged doors: nothing opens or closes them yet
PUSHED = ("plate",)  # object categories pushed along the table rather than carried
ORDER = {"turnon": 0, "turnoff": 0, "open": 1, "on": 2, "in": 2, "close": 3}
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
PUSH_HEIGHT = 0.008  # height of the tool point above a pushed dish's bottom (fingertips ~1 cm lower) (m)
PUSH_STEPS = 200  # at most this many steps of pushing
PUSH_LEAD = 0.03  # how far ahead of their place in the dish the pushing fingers are sent (m)
PUSH_SLIP = 0.025  # fingers this far ahead of their place in the dish have slipped: set them back (m)
PUSH_INSET = 0.03  # the pushing fingers' center stands this far inside the dish's edge (m)
PUSH_TOLERANCE = 0.01  # a push ends with the object's center this close to its goal (m)
PUSH_MARGIN = 0.015  # a pushed dish's goal is at least this far inside the target's box (m)
PUSH_ROOM = 0.03  # room beside a dish's path beyond which more room does not matter in choosing its goal (m)
BLOCK_DEPTH = 0.02  # a loose object reaching this far into a pushed dish's path is set aside first (m)
ASIDE_ROOM = 0.015  # room around an object set aside, beyond it and the open fingers (m)
ASIDE_RANGE = 0.3  # an object is set aside at most this far from where it stands, along each axis (m)
SETTLE_STEPS, AT_REST = 30, 0.02  # wait at most this long for objects to stop (their speeds below, m/s, rad/s)
TILTED = np.radians(20.0)  # a bowl tilted more than this is grasped at the high side of its rim
HIGH_COST = 30.0  # wrist turn (rad) a grasp point on a tilted rim may cost per metre below the rim's top
APPROACH = 0.07  # the tool comes down the last this-many metres to a grasp slowly, straight (m)


def expert_for(suite: str, task: str) -> Callable[[Arm], Plan] | None:
    """The plan function of a task, or None when its goal has predicates no primitive handles yet."""
    from vla_sim.libero.env import bddl_goal

    goal = bddl_goal(suite, task)
    if not goal or any(pred[0] not in SUPPORTED or any(k in w for w in pred[1:] for k in NO_PRIMITIVE)
                       for pred in goal):
        return None
    return plan_goal


def plan_goal(arm: Arm) -> Plan:
    env = arm.env
    goal = [[w.lower() for w in pred] for pred in env.raw.env.parsed_problem["goal_state"]]
    yield from wait_still(arm)
    for pred in sorted(goal, key=lambda p: ORDER[p[0]]):
        kind, args = pred[0], pred[1:]
        if kind in ("turnon", "turnoff"):
            yield from turn_knob(arm, args[0], on=kind == "turnon")
        elif kind == "open":
            yield from open_drawer(arm, args[0])
        elif kind == "close":
            yield from close_drawer(arm, args[0])
        elif any(key in Geometry(env, args[0]).category for key in PUSHED):
            yield from push_object(arm, args[0], args[1])
        else:
            if kind == "in" and _in_drawer(env, args[1]):
                yield from open_drawer(arm, args[1])
            yield from pick_object(arm, args[0], toward=Geometry(env, args[1]).center())
            yield from place_on(arm, args[0], args[1], inside=kind == "in")


def wait_still(arm: Arm) -> Plan:
    """Hold until every loose object has come to rest: some official states are not at rest after the
    protocol's settling steps (the bowl on the ramekin keeps tipping for about 8 more), and a grasp planned on
    a moving object misses."""
    m, d = arm.env.model, arm.env.data
    dofs = np.concatenate([np.arange(m.jnt_dofadr[j], m.jnt_dofadr[j] + 6) for j in range(m.njnt)
                           if m.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE] or [np.zeros(0, int)])
    for _ in range(SETTLE_STEPS):
        if not dofs.size or np.abs(d.qvel[dofs]).max() < AT_REST:
            return
        yield from hold(arm, OPEN, 1)


def _in_drawer(env, region: str) -> bool:
    """Whether a region is the inside of a drawer (it moves with a slide joint)."""
    try:
        return env.model.jnt_type[fixture_joint(env, region)] == mujoco.mjtJoint.mjJNT_SLIDE
    except ValueError:
        return False


def pick_object(arm: Arm, name: str, toward: np.ndarray | None = None) -> Plan:
    """Grasp `name` from above and lift it clear of everything."""
    env = arm.env
    obj = Geometry(env, name)
    lo, hi = obj.box()
    center = (lo + hi) / 2
    tool_yaw = yaw_of_tool(arm.pose()[1])
    if any(key in obj.category for key in RIM_GRASP):
        point, closing = rim_grasp(env, obj, tool_yaw, toward)
        yaw = _nearest_yaw(closing - np.pi / 2, tool_yaw)
    else:
        yaw_obj, along, across = obj.yaw_and_extents()
        # The fingers close along the tool's y axis: rotate it across the object's narrow side.
        closing = yaw_obj if along <= across else yaw_obj + np.pi / 2
        yaw = _nearest_yaw(closing - np.pi / 2, tool_yaw)
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


def rim_grasp(env, obj: "Geometry", tool_yaw: float, toward: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Where fingers straddle the rim of a bowl or a mug, and the closing direction (world yaw, radial there).

    The rim is found in the body's frame, along the body axis nearest world up (meshes are modelled upright
    along some body axis), so tilted bowls (one resting on a ramekin) work; of 16 places around it, one
    with room for the open fingers and the hand that needs little wrist turn and no full reach."""
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
    others = obstacles(env, exclude=obj.name)
    # The object's own parts beyond its rim (a mug's handle) are in the way too.
    beyond = np.linalg.norm(local @ across.T - middle, axis=1) > radius + 0.01
    others = np.concatenate([others, obj.points()[beyond]])
    closing = np.array([np.arctan2(d[1], d[0]) for d in radial @ rot.T])
    tree = cKDTree(others)  # nearest-obstacle queries for every probe of every candidate
    clearance = np.array([hand_clearance(p, c, tree) for p, c in zip(points, closing)])
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
    near = _segment_distance(others[:, :2], start, goal) < CORRIDOR
    tallest = others[near, 2].max() if near.any() else top
    # A thing held at its edge (a bowl by the rim) may swing to hang below the fingers: clear the way for
    # its farthest point straight down.
    hang = float(np.max(np.linalg.norm(obj.hull_points() - ee, axis=1)))
    travel = max(release_z + 0.03, tallest + max(below_grip, hang) + 0.02)
    # The hand (about 20 cm across) sweeps its own strip beside the object's: keep the fingertips above it.
    grip = ee[:2] - start
    by_hand = _segment_distance(others[:, :2], start + grip, goal + grip) < HAND_SWEEP
    if by_hand.any():
        travel = max(travel, others[by_hand, 2].max() + 0.02)

    def over(z: float):
        """The tool pose that puts the held object's center over the target's (the grasp may be off-center)."""
        def pose():
            tool, _ = arm.pose()
            offset = tool[:2] - obj.center()[:2]
            return np.r_[spot() + offset, z], quat
        return pose

    if ee[2] < travel - 0.02:  # up first, then across: a diagonal would cut the corners of what is in the way
        yield from move_to(arm, (np.r_[ee[:2], travel], quat), CLOSE, tol=0.02, max_steps=40)
    yield from move_to(arm, over(travel), CLOSE, tol=0.015, max_steps=80)
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


def touches_scene(env, body: int) -> bool:
    """Whether a body (with what hangs under it) is in contact with anything but the robot."""
    m, d = env.model, env.data
    for c in d.contact[:d.ncon]:
        b1, b2 = m.geom_bodyid[c.geom1], m.geom_bodyid[c.geom2]
        mine1, mine2 = _root(m, b1) == body, _root(m, b2) == body
        if mine1 == mine2:
            continue
        other = m.body(b2 if mine1 else b1).name
        if not other.startswith(ROBOT_PREFIXES):
            return True
    return False


def _root(m: mujoco.MjModel, body: int) -> int:
    """The body right under the world that holds `body` (LIBERO objects' root bodies)."""
    while m.body_parentid[body] != 0:
        body = m.body_parentid[body]
    return body


def push_object(arm: Arm, name: str, target: str) -> Plan:
    """Slide a dish (a plate) along the table into `target`: the closed fingers stand in it by the rim on the
    side it goes to and push that rim from inside. (From outside, the push would start behind the plate, where
    a cabinet or the arm's reach often leaves no room.) Loose objects deep in the dish's path are set aside
    first: pushed ahead, they jam against the next fixture and the dish rides up on them."""
    env = arm.env
    obj = Geometry(env, name)
    lo, hi = obj.box()
    radius = 0.5 * float(min(hi[:2] - lo[:2]))
    push_z = lo[2] + PUSH_HEIGHT
    goal, blockers = push_plan(env, obj, Geometry(env, target), radius)
    for other in blockers:
        yield from set_aside(arm, other, keep_clear=[(obj.center()[:2], goal, radius)])

    def heading() -> tuple[np.ndarray, float]:
        err = goal - obj.center()[:2]
        return err / max(np.linalg.norm(err), 1e-9), float(np.linalg.norm(err))

    u, _ = heading()
    start = np.r_[obj.center()[:2] + u * (radius - PUSH_INSET), push_z]
    # The fingers close across the path: both press the rim (along it, one finger tips the dish up).
    quat = down_quat(_nearest_yaw(float(np.arctan2(u[1], u[0])), yaw_of_tool(arm.pose()[1])))
    high = np.r_[start[:2], max(arm.pose()[0][2], start[2] + 0.1)]
    yield from move_to(arm, (high, quat), CLOSE, tol=0.015, max_steps=70)
    yield from move_to(arm, (start, quat), CLOSE, tol=0.008, max_steps=40, speed=0.6)
    for _ in range(PUSH_STEPS):
        u, dist = heading()
        if dist < PUSH_TOLERANCE:
            break
        spot = obj.center()[:2] + u * (radius - PUSH_INSET)  # the fingers' place in the dish, wherever it is now
        if (arm.pose()[0][:2] - spot) @ u > PUSH_SLIP:
            # The fingers slid ahead over the floor of the dish to its rim: lift, set them back, go on.
            up = np.r_[arm.pose()[0][:2], push_z + 0.03]
            yield from move_to(arm, (up, quat), CLOSE, tol=0.01, max_steps=10)
            yield from move_to(arm, (np.r_[spot, push_z + 0.03], quat), CLOSE, tol=0.01, max_steps=20)
            yield from move_to(arm, (np.r_[spot, push_z], quat), CLOSE, tol=0.006, max_steps=15, speed=0.6)
            continue
        # A little ahead of that place: pressed onto the dish's floor, the fingers drag it along.
        yield arm.action(np.r_[spot + u * min(dist, PUSH_LEAD), push_z], quat, CLOSE, speed=0.6)
    yield from move_to(arm, (arm.pose()[0] + [0, 0, 0.1], quat), CLOSE, tol=0.02, max_steps=30)


def push_plan(env, obj: Geometry, dest: Geometry, radius: float) -> tuple[np.ndarray, list[str]]:
    """Where a pushed dish's center goes (xy, inside `dest`) and the loose objects to set aside first. Of the
    target's center and a 3x3 grid inside it, the goal whose straight path needs the fewest objects moved
    (those reaching more than BLOCK_DEPTH into the dish's path), then leaves the most room to the rest (up to
    PUSH_ROOM), then is the shortest."""
    start = obj.center()[:2]
    lo, hi = dest.box()
    low, high = lo[:2] + PUSH_MARGIN, hi[:2] - PUSH_MARGIN
    grid = [np.linspace(a, b, 3) if b > a else np.array([(a + b) / 2]) for a, b in zip(low, high)]
    goals = [dest.center()[:2]] + [np.array([x, y]) for x in grid[0] for y in grid[1]]
    inner = env.raw.env
    rim = obj.box()[1][2]
    things = {}  # what a sliding dish meets: each thing's points up to a little above its rim (xy)
    for n in list(inner.objects_dict) + list(inner.fixtures_dict):
        if n not in (obj.name, dest.name):
            points = Geometry(env, n).surface_points()
            if (points[:, 2] < rim + 0.03).any():
                things[n] = points[points[:, 2] < rim + 0.03, :2]
    best, best_score = (goals[0], []), None
    for goal in goals:
        moved, room = [], PUSH_ROOM
        for n, points in things.items():
            gap = float(_segment_distance(points, start, goal).min()) - radius
            if gap < -BLOCK_DEPTH:
                moved.append(n)
            else:
                room = min(room, gap)
        fixed = sum(n not in inner.objects_dict for n in moved)  # fixtures cannot be moved
        score = (-fixed, -len(moved), room - 0.1 * float(np.linalg.norm(goal - start)))
        if best_score is None or score > best_score:
            best, best_score = (goal, moved), score
    goal, moved = best
    return goal, [n for n in moved if n in inner.objects_dict]


def set_aside(arm: Arm, name: str, keep_clear: list[tuple[np.ndarray, np.ndarray, float]]) -> Plan:
    """Move a loose object out of the way: to the nearest free place on the surface it stands on that keeps
    the strips `keep_clear` ((xy start, xy end, half-width)) free. Nothing happens when there is none."""
    env = arm.env
    bottom = Geometry(env, name).box()[0][2]
    spot = free_spot(env, name, keep_clear)
    if spot is None:
        return
    yield from pick_object(arm, name)
    yield from carry_and_release(arm, name, lambda: spot, top=bottom)


def free_spot(env, name: str, keep_clear: list[tuple[np.ndarray, np.ndarray, float]]) -> np.ndarray | None:
    """The nearest place (xy, within ASIDE_RANGE) for an object's center where it, the open fingers and the hand
    coming down have room, on the same support it stands on, within comfortable reach, off the strips."""
    obj = Geometry(env, name)
    lo, hi = obj.box()
    here = obj.center()[:2]
    half = float(np.linalg.norm(obj.hull_points()[:, :2] - here, axis=1).max())  # its reach from its center
    need = max(half + 2 * FINGER_RADIUS, FINGER_OFFSET + FINGER_RADIUS) + ASIDE_ROOM  # a finger may be outside it
    others = obstacles(env, exclude=name)
    others = others[others[:, 2] < hi[2] + HAND_ABOVE + APPROACH, :2]  # what the fingers and hand meet going down
    steps = np.arange(-ASIDE_RANGE, ASIDE_RANGE + 1e-9, 0.01)
    spots = (here + np.stack(np.meshgrid(steps, steps, indexing="ij"), -1).reshape(-1, 2))
    ok = cKDTree(others).query(spots)[0] >= need
    for a, b, width in keep_clear:
        ok &= _segment_distance(spots, a, b) >= width + half + ASIDE_ROOM
    base = env.data.xpos[env.model.body(ROBOT_BASE).id][:2]
    reach = np.linalg.norm(spots - base, axis=1)
    ok &= (reach <= COMFORT_REACH) & (reach >= 0.35)
    support = _support_below(env, here, lo[2], obj.body)
    for i in np.argsort(np.linalg.norm(spots - here, axis=1)):
        if ok[i] and support is not None and _support_below(env, spots[i], lo[2], obj.body) == support:
            return spots[i]
    return None


def _support_below(env, xy: np.ndarray, z: float, exclude: int) -> int | None:
    """The body whose collision surface is right below (xy, z) (within 1 cm), or None."""
    m, d = env.model, env.data
    groups = np.zeros(6, np.uint8)
    groups[COLLISION_GROUP] = 1
    hit = np.zeros(1, np.int32)
    dist = mujoco.mj_ray(m, d, np.r_[xy, z + 0.005], np.array([0.0, 0.0, -1.0]), groups, 1, exclude, hit)
    if hit[0] < 0 or dist > 0.015:
        return None
    return _root(m, int(m.geom_bodyid[hit[0]]))


def _segment_distance(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distances of 2D points to the segment a-b."""
    ab = b - a
    t = np.clip((points - a) @ ab / max(ab @ ab, 1e-9), 0.0, 1.0)
    return np.linalg.norm(points - (a + t[:, None] * ab), axis=1)


def _nearest_yaw(yaw: float, current: float) -> float:
    """The gripper is symmetric under a half turn: of yaw and yaw + pi, the one nearer the current yaw."""
    k = np.round((current - yaw) / np.pi)
    return float(yaw + k * np.pi)
