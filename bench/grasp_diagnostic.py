"""Where does a trained policy close its gripper? For each evaluation seed of a pick task: the control step
of the first close command and the tool point's offset from the task's target block at that moment
(expert grasps close within 5 mm of it), which loose object the tool was then nearest to horizontally (the
target, or a distractor: the instruction misread), plus the tool's largest tilt from pointing down. Explains failures
that success rates alone do not (a grasp beside the block, the wrong block, a drifting orientation).
With the policy's grounding head, also where it believed the target block was in each camera at the last
chunk before the close (pixel error at the env's image size): a large error there means the policy could
not see the block precisely; a small one with a large offset means it saw it but did not steer to it.

    python bench/grasp_diagnostic.py --policy runs/tabletop_cpu_100 --task pick_block_by_relation --seeds 6

The target is the task's first target body (pick: the named block, place: the block, stack: the top block).
At the episode's end it also records where the target ended (height, horizontal offset from the goal for tasks
with one, e.g. place) and whether the gripper still holds something: the second phase's failures.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import vla_sim  # noqa: F401  (chooses the headless GL backend before mujoco loads)
import mujoco  # noqa: E402


def tilt_deg(quat: np.ndarray) -> float:
    mat = np.zeros(9)
    mujoco.mju_quat2Mat(mat, quat)
    return float(np.degrees(np.arccos(np.clip(-mat.reshape(3, 3)[2, 2], -1, 1))))


def target_point_errors(env, policy, extras: dict) -> dict[str, float | None]:
    """Per camera: pixel distance between the grounding head's point for target 0 (the block to grasp) and
    the true one, at the env's image size; None where the block is out of view or the policy has no head."""
    pred = extras.get("grounding.points")
    truth = env.grounding()
    out: dict[str, float | None] = {}
    for ci, cam in enumerate(policy.cfg.cameras):
        true_px = np.asarray(truth.get(f"grounding.{cam}.target_points", [[-1, -1]]), float).reshape(-1, 2)[0]
        if pred is None or (true_px < 0).any():
            out[cam] = None
            continue
        size = np.array([env.width, env.height], float)
        out[cam] = round(float(np.linalg.norm(pred[0, ci, 0] * size - true_px)), 1)
    return out


def loose_bodies(env) -> list[str]:
    """Names of the bodies on a free joint (the objects that can be picked up or pushed)."""
    m = env.model
    ids = {int(m.jnt_bodyid[j]) for j in range(m.njnt) if m.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE}
    return sorted(mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_BODY, i) for i in ids)


def nearest_body(env, pos: np.ndarray, target: str) -> str:
    """The loose body nearest to `pos` horizontally, among the target and bodies that are not task targets."""
    candidates = [target] + [b for b in loose_bodies(env) if b not in env.task.target_bodies(env)]
    return min(candidates, key=lambda b: float(np.linalg.norm(env.body_pos(b)[:2] - pos[:2])))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--policy", required=True)
    p.add_argument("--task", default="pick_block_by_relation", help="a tabletop pick-and-place task")
    p.add_argument("--seeds", type=int, default=6)
    p.add_argument("--seed", type=int, default=100_000, help="the evaluation seed of episode 0 (vla eval's default)")
    p.add_argument("--out", default=None)
    args = p.parse_args()

    from vla.checkpoint import load_policy
    from vla.eval.runner import single_env_steps
    from vla_sim import registry
    from vla_sim.tasks.pick_place import gripper_holding

    env = registry.make_env("tabletop", args.task, render_mode="fast", image_size=128)
    policy = load_policy(args.policy)
    env.set_action_mode(policy.action_space)
    grip = env.action_names.index("gripper")
    suite_pos = registry.suites()["tabletop"].index(args.task)
    episodes = []
    for k in range(args.seeds):
        seed = args.seed + 1000 * suite_pos + k
        record = {"seed": seed, "success": False, "first_close_step": None, "offset_xy_cm": None,
                  "height_cm": None, "closed_nearest": None, "max_tilt_deg": 0.0}
        belief: dict[str, float | None] = {}
        for step, chunk, action in single_env_steps(env, policy, seed):
            if chunk is not None and record["first_close_step"] is None:
                belief = target_point_errors(env, policy, chunk.extras)
            pos, quat = env.ee_pose()
            if action[grip] > 0 and record["first_close_step"] is None:
                target = env.task.target_bodies(env)[0]
                offset = pos - env.body_pos(target)
                nearest = nearest_body(env, pos, target)
                record.update(first_close_step=step, offset_xy_cm=np.round(offset[:2] * 100, 1).tolist(),
                              height_cm=round(float(offset[2]) * 100, 1), belief_error_px=belief,
                              closed_nearest="target" if nearest == target else nearest)
            record["max_tilt_deg"] = round(max(record["max_tilt_deg"], tilt_deg(quat)), 1)
        record["success"] = bool(env.task.success(env))
        final = env.body_pos(env.task.target_bodies(env)[0])
        record["end_height_cm"] = round(float(final[2]) * 100, 1)
        if hasattr(env.task, "goal_xy"):
            record["end_goal_offset_xy_cm"] = np.round((final[:2] - env.task.goal_xy(env)) * 100, 1).tolist()
        record["end_holding"] = bool(gripper_holding(env))
        episodes.append(record)
        print(json.dumps(record), flush=True)
    env.close()
    closed = [e["closed_nearest"] or "never closed" for e in episodes]
    doc = {"bench": "grasp_diagnostic", "policy": args.policy, "task": args.task,
           "closed_nearest_counts": {k: closed.count(k) for k in sorted(set(closed))}, "episodes": episodes}
    print(json.dumps(doc["closed_nearest_counts"]))
    out = Path(args.out or f"bench/results/grasp_diagnostic_{args.task}.json")
    out.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
