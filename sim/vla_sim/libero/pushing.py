"""Pushing a dish (a plate) along the table, and clearing its way first: setting aside what stands in the dish's
path, nudging what stands in the hand's."""

from __future__ import annotations

import mujoco
import numpy as np
from scipy.spatial import cKDTree

from vla_sim.controller import apply_rotvec
from vla_sim.experts.primitives import CLOSE, Arm, Plan, down_quat, move_to, yaw_of_tool
from vla_sim.libero.articulated import open_room
from vla_sim.libero.experts import (APPROACH, COMFORT_REACH, FINGER_OFFSET, FINGER_RADIUS, HAND_ABOVE, HAND_LENGTH,
                                    HAND_RADIUS, HAND_SWEEP, HAND_WIDTH, RIM_GRASP, ROBOT_BASE, carry_and_release,
                                    hand_outline, nearest_yaw, obstacles, pick_object, rim_places, root_body,
                                    segment_distance)
from vla_sim.libero.geometry import COLLISION_GROUP, Geometry

PUSH_HEIGHT = 0.008  # height of the tool point above a pushed dish's bottom (fingertips ~1 cm lower) (m)
PUSH_STEPS = 200  # at most this many steps of pushing
PUSH_SPEED = 0.6  # pushing speed, a fraction of the arm's full speed
PUSH_LEAD = 0.03  # how far ahead of their place in the dish the pushing fingers are sent (m)
PUSH_SLIP = 0.025  # fingers this far ahead of their place in the dish have slipped: set them back (m)
PUSH_INSET = 0.03  # the pushing fingers' center stands this far inside the dish's edge (m)
# A rolled hand presses the dish with one finger, and on the slope up to the rim that tipped the plate up on its
# front edge (libero_goal task 5, rolled at PUSH_INSET: the plate tipped again and again); from the flat floor
# nearer the center it drags the dish along without tipping it.
ROLLED_INSET = 0.055
PUSH_TOLERANCE = 0.01  # a push ends with the object's center this close to its goal (m)
PUSH_MARGIN = 0.015  # a pushed dish's goal is at least this far inside the target's box (m)
PUSH_ROOM = 0.03  # room beside a dish's path beyond which more room does not matter in choosing its goal (m)
BLOCK_DEPTH = 0.02  # a loose object reaching this far into a pushed dish's path is set aside first (m)
ASIDE_ROOM = 0.015  # room around an object set aside, beyond it and the open fingers (m)
ASIDE_RANGE = 0.3  # an object is set aside at most this far from where it stands, along each axis (m)
HAND_BOTTOM = 0.03  # the hand's collision hull starts this far above the tool point (m)
NUDGE_HEIGHT = 0.015  # height of the tool point above a nudged object's bottom (fingertips 5 mm lower) (m)
NUDGE_MARGIN = 0.01  # a nudge clears the hand's strip by this much, and needs this much room where it ends (m)
NUDGE_STEPS = 40  # at most this many steps of nudging
NUDGE_RANGE = 0.1  # the longest nudge (m)
FINGERTIPS = 0.01  # the fingertips reach this far below the tool point (m)
ROLL_STEP, ROLL_MAX = np.radians(3.0), np.radians(21.0)  # rolls tried for the pushing hand (rad)
ROLL_MARGIN = 0.005  # a rolled pushing hand passes this far above what stands beside the path (m)
FINGER_SPREAD = 0.017  # the closed fingers' lower ends stand about this far either side of the tool axis (m)
DRAWER_ROOM = 0.005  # the hand and wrist grasping next to an open drawer stay this far outside it, seen from above (m)


def push_object(arm: Arm, name: str, target: str) -> Plan:
    """Slide a dish (a plate) along the table into `target`: the closed fingers stand in it by the rim on the
    side it goes to and push that rim from inside. (From outside, the push would start behind the plate, where
    a cabinet or the arm's reach often leaves no room.) First, loose objects deep in the dish's path are set
    aside (pushed ahead, they jam against the next fixture and the dish rides up on them); where something
    beside the path stands in the hand's way, the hand is rolled over it (`push_roll`), or, when no roll clears
    it, it is nudged out of the way (`hand_blockers`)."""
    env = arm.env
    obj = Geometry(env, name)
    lo, hi = obj.box()
    radius = 0.5 * float(min(hi[:2] - lo[:2]))
    push_z = lo[2] + PUSH_HEIGHT
    goal, blockers = push_plan(env, obj, Geometry(env, target), radius)
    for other in blockers:
        yield from set_aside(arm, other, keep_clear=[(obj.center()[:2], goal, radius)])
    roll = push_roll(env, obj, goal, radius, push_z)
    if roll is None:  # no roll lifts the hand over what stands beside the path: nudge that out of the way
        roll = 0.0
        for other, shift in hand_blockers(env, obj, goal, radius, push_z).items():
            yield from nudge(arm, other, shift)
    push_z += FINGER_SPREAD * abs(np.sin(roll))  # the lower finger of a rolled hand at the level fingers' depth
    inset = ROLLED_INSET if roll else PUSH_INSET

    def heading() -> tuple[np.ndarray, float]:
        err = goal - obj.center()[:2]
        return err / max(np.linalg.norm(err), 1e-9), float(np.linalg.norm(err))

    u, _ = heading()
    start = np.r_[obj.center()[:2] + u * (radius - inset), push_z]
    # The fingers close across the path: both press the rim (along it, one finger tips the dish up). The hand,
    # 20 cm long across the path, is rolled about it when that lifts its end over a bowl beside the path.
    quat = down_quat(nearest_yaw(float(np.arctan2(u[1], u[0])), yaw_of_tool(arm.pose()[1])))
    quat = apply_rotvec(quat, np.r_[u, 0.0] * roll)
    # Across at the lowest height that clears the hand's strip (every step counts: a push takes most of the
    # task's 300), down at full speed, the last 2 cm gently.
    here = arm.pose()[0]
    high = np.r_[start[:2], max(clear_height(env, here[:2], start[:2]), start[2] + 0.03)]
    yield from move_to(arm, (high, quat), CLOSE, tol=0.015, max_steps=70)
    yield from move_to(arm, (start + [0, 0, 0.02], quat), CLOSE, tol=0.01, max_steps=30)
    yield from move_to(arm, (start, quat), CLOSE, tol=0.008, max_steps=40, speed=0.6)
    for _ in range(PUSH_STEPS):
        u, dist = heading()
        if dist < PUSH_TOLERANCE:
            break
        spot = obj.center()[:2] + u * (radius - inset)  # the fingers' place in the dish, wherever it is now
        if (arm.pose()[0][:2] - spot) @ u > PUSH_SLIP:
            # The fingers slid ahead over the floor of the dish to its rim: lift, set them back, go on.
            up = np.r_[arm.pose()[0][:2], push_z + 0.03]
            yield from move_to(arm, (up, quat), CLOSE, tol=0.01, max_steps=10)
            yield from move_to(arm, (np.r_[spot, push_z + 0.03], quat), CLOSE, tol=0.01, max_steps=20)
            yield from move_to(arm, (np.r_[spot, push_z], quat), CLOSE, tol=0.006, max_steps=15, speed=0.6)
            continue
        # A little ahead of that place: pressed onto the dish's floor, the fingers drag it along.
        # (Not slowing down near the goal: the goal is inside the region, which is all that counts.)
        yield arm.action(np.r_[spot + u * PUSH_LEAD, push_z], quat, CLOSE, speed=PUSH_SPEED)
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
            gap = float(segment_distance(points, start, goal).min()) - radius
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


def push_roll(env, obj: Geometry, goal: np.ndarray, radius: float, push_z: float) -> float | None:
    """The smallest roll (rad, about the push direction; positive lifts the hand's left end) at which the
    pushing hand's underside passes ROLL_MARGIN above everything in the strip it sweeps (the dish too: it moves
    with the fingers, so where it stands now is where it stays under the hand), or
    None when no roll up to ROLL_MAX does. The closed fingers stand near the roll axis (one ends FINGER_SPREAD *
    sin(roll) lower, so it alone presses the dish: see ROLLED_INSET); the hand (its underside HAND_BOTTOM above
    the tool point, 20 cm long across the path) tilts, one end up over a bowl beside the path, the other down
    over the lower dish and table. Measured on libero_goal's
    plate task: a bowl 13 cm beside the plate's path stands 1 cm above the level hand's underside, and no
    nudge of at most NUDGE_RANGE clears it."""
    start = obj.center()[:2]
    length = float(np.linalg.norm(goal - start))
    u = (goal - start) / max(length, 1e-9)
    across = np.array([-u[1], u[0]])
    points = obstacles(env, exclude="")
    rel = points[:, :2] - start
    along, side = rel @ u, rel @ across
    # The fingers go from (radius - inset) ahead of the dish's center (either inset) to `length` beyond.
    near = ((along > radius - ROLLED_INSET - HAND_WIDTH) & (along < length + radius - PUSH_INSET + HAND_WIDTH)
            & (np.abs(side) < HAND_LENGTH))
    side, z = side[near], points[near, 2]
    for angle in sorted(np.arange(-ROLL_MAX, ROLL_MAX + 1e-9, ROLL_STEP), key=abs):
        underside = push_z + HAND_BOTTOM * np.cos(angle) + side * np.sin(angle)
        if not len(z) or (underside - z).min() >= ROLL_MARGIN:
            return float(angle)
    return None


def hand_blockers(env, obj: Geometry, goal: np.ndarray, radius: float, push_z: float) -> dict[str, np.ndarray]:
    """Loose objects the pushing hand would hit, each with the shortest shift (xy) along the table that clears
    the hand's way and lands on free table (none found: left out). The fingers close across the path, so the
    hand's lower edge (3 cm above the tool point) sweeps about 11 cm each side of it: a bowl beside the plate's
    start stands there, is shoved along, and the plate rides up on it."""
    start = obj.center()[:2]
    u = (goal - start) / max(float(np.linalg.norm(goal - start)), 1e-9)
    across = np.array([-u[1], u[0]])
    # Where the hand's lower edge passes (xy): across the path at the fingers, all along the push.
    hand = [start + (goal - start) * f + u * (radius - PUSH_INSET) + across * t
            for f in np.linspace(0.0, 1.0, 8) for t in np.linspace(-0.09, 0.09, 7)]
    hand_tree = cKDTree(np.array(hand))
    out = {}
    for n in env.raw.env.objects_dict:
        if n == obj.name:
            continue
        points = Geometry(env, n).hull_points()  # the outline is enough here, and a bowl has 10^5 surface points
        high = points[points[:, 2] > push_z + HAND_BOTTOM, :2]
        if not len(high) or hand_tree.query(high)[0].min() >= HAND_RADIUS:
            continue
        others = obstacles(env, exclude=n)
        others = cKDTree(others[others[:, 2] < points[:, 2].max(), :2])
        shifts = [np.array([np.cos(a), np.sin(a)]) * d for d in np.arange(0.02, NUDGE_RANGE + 1e-9, 0.01)
                  for a in np.linspace(-np.pi, np.pi, 16, endpoint=False)]
        for shift in shifts:  # the shortest first
            if (hand_tree.query(high + shift)[0].min() >= HAND_RADIUS + NUDGE_MARGIN
                    and others.query(points[:, :2] + shift)[0].min() >= NUDGE_MARGIN):
                out[n] = shift
                break
    return out


def nudge(arm: Arm, name: str, shift: np.ndarray, retreat: bool = True, speed: float = 0.5) -> Plan:
    """Slide a loose object by `shift` (xy) along the table: the closed fingers come down beside it, low, and
    push it there; then (with `retreat`) rise straight up."""
    env = arm.env
    obj = Geometry(env, name)
    lo, hi = obj.box()
    center = obj.center()[:2]
    distance = float(np.linalg.norm(shift))
    direction = shift / max(distance, 1e-9)
    reach = float(np.linalg.norm(obj.hull_points()[:, :2] - center, axis=1).max())
    start = center - direction * (reach + 0.02)
    z = lo[2] + NUDGE_HEIGHT
    # Fingers close along the object's side (the hand, 20 cm along the closing direction, stays beside it).
    quat = down_quat(nearest_yaw(float(np.arctan2(direction[1], direction[0])), yaw_of_tool(arm.pose()[1])))
    # Across at a height that clears the hand's strip (descending on the way when coming from higher), then down.
    here = arm.pose()[0]
    high = max(clear_height(env, here[:2], start), hi[2] + 0.05)
    if here[2] < high - 0.02:
        yield from move_to(arm, (np.r_[here[:2], high], quat), CLOSE, tol=0.02, max_steps=30)
    yield from move_to(arm, (np.r_[start, high], quat), CLOSE, tol=0.02, max_steps=60)
    yield from move_to(arm, (np.r_[start, z], quat), CLOSE, tol=0.01, max_steps=30)
    for _ in range(NUDGE_STEPS):
        if (obj.center()[:2] - center) @ direction >= distance:
            break
        yield arm.action(np.r_[arm.pose()[0][:2] + direction * 0.03, z], quat, CLOSE, speed=speed)
    if retreat:
        yield from move_to(arm, (arm.pose()[0] + [0, 0, 0.06], quat), CLOSE, tol=0.02, max_steps=15)


def out_of_drawer_shift(env, name: str, region: str) -> np.ndarray | None:
    """The shortest shift (xy) along the table after which a loose object can be grasped with the drawer under
    `region` open (the hand and the wrist, seen from above, outside the open drawer), landing on free table;
    None when it can be grasped already, or when no shift of at most NUDGE_RANGE does it. (A bowl half under
    an open drawer cannot be grasped: the hand and wrist come down into the drawer.)"""
    room = open_room(env, region)
    obj = Geometry(env, name)
    points = obj.hull_points()
    if any(key in obj.category for key in RIM_GRASP):
        places, closing, _, _ = rim_places(env, obj)

        def graspable(shift: np.ndarray) -> bool:
            return any(room(hand_outline(p[:2] + shift, c)) >= DRAWER_ROOM for p, c in zip(places, closing))
    else:
        def graspable(shift: np.ndarray) -> bool:
            return room(points[:, :2] + shift) >= DRAWER_ROOM + HAND_WIDTH

    if graspable(np.zeros(2)):
        return None
    others = obstacles(env, exclude=name)
    others = cKDTree(others[others[:, 2] < points[:, 2].max(), :2])
    for d in np.arange(0.02, NUDGE_RANGE + 1e-9, 0.01):  # the shortest first
        for a in np.linspace(-np.pi, np.pi, 16, endpoint=False):
            shift = np.array([np.cos(a), np.sin(a)]) * d
            if graspable(shift) and others.query(points[:, :2] + shift)[0].min() >= NUDGE_MARGIN:
                return shift
    return None


def clear_height(env, a: np.ndarray, b: np.ndarray) -> float:
    """The lowest tool height at which the fingertips and the hand pass above everything in the strip the hand
    sweeps going from a to b (xy)."""
    points = obstacles(env, exclude="")
    near = segment_distance(points[:, :2], a, b) < HAND_SWEEP
    return float(points[near, 2].max() if near.any() else -np.inf) + FINGERTIPS + NUDGE_MARGIN


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
        ok &= segment_distance(spots, a, b) >= width + half + ASIDE_ROOM
    base = env.data.xpos[env.model.body(ROBOT_BASE).id][:2]
    reach = np.linalg.norm(spots - base, axis=1)
    ok &= (reach <= COMFORT_REACH) & (reach >= 0.35)
    support = _support_below(env, here, lo[2], obj.body)
    if support is None:
        return None
    for i in np.argsort(np.linalg.norm(spots - here, axis=1)):
        if ok[i] and _support_below(env, spots[i], lo[2], obj.body) == support:
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
    return root_body(m, int(m.geom_bodyid[hit[0]]))
