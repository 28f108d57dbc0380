"""How far apart, in the scene camera's pixels, are place_block_relative's goal place and what a misreading
policy would point at: the bowl's centre, or the place another relation word names. The scale for reading
`bench/start_reading.py --task place_block_relative --target 1` errors.

    python bench/place_goal_scale.py --seeds 100 --out bench/results/place_goal_scale.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from vla_sim import grounding, registry

SIZE = 128  # the labels' resolution


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=100, help="layouts (seeds 0..N-1, the collection's first seeds)")
    p.add_argument("--out", default=None, help="JSON file to write")
    args = p.parse_args()
    if args.seeds < 1:
        raise SystemExit("error: --seeds must be >= 1")
    env = registry.make_env("tabletop", "place_block_relative", render_mode=None, image_size=SIZE)
    task, cam = env.task, env.model.camera("scene").id

    def pixel(xy) -> np.ndarray:  # a point on the table top at block-centre height, as the goal label
        return grounding.project_points(env.model, env.data, cam, np.r_[xy, 0.022], SIZE, SIZE)[0]

    to_bowl, to_wrong = [], []
    for seed in range(args.seeds):
        env.reset(seed=seed)
        goal = env.grounding()["grounding.scene.target_points"][1]
        if (goal < 0).any():
            continue
        to_bowl.append(float(np.linalg.norm(pixel(env.body_pos("bowl")[:2]) - goal)))
        named, others = task.relation, []
        for relation in task.RELATIONS:
            if relation != named:
                task.relation = relation
                others.append(float(np.linalg.norm(pixel(task.goal_xy(env)) - goal)))
        task.relation = named
        to_wrong.append(min(others))
    env.close()
    result = {"bench": "place_goal_scale", "layouts": len(to_bowl),
              "bowl_centre_px_median": round(float(np.median(to_bowl)), 2),
              "nearest_wrong_relation_px_median": round(float(np.median(to_wrong)), 2),
              "nearest_wrong_relation_px_min": round(float(np.min(to_wrong)), 2)}
    print(json.dumps(result))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
