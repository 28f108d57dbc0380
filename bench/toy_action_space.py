"""Quick screen of action spaces on the toy suite: collect 24 demos of reach_pad, train the tiny preset for
400 steps per variant (32 px images, as the toy learning test), evaluate 24 episodes each. Minutes, not
an hour: a screen for ideas before spending a full tabletop run on them, not a result on its own.

    python bench/toy_action_space.py --variants delta,pose   # -> bench/results/toy_action_space.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import date
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variants", default="delta,pose", help="comma-separated action_space values")
    p.add_argument("--root", default="runs/toy_action_space")
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--episodes", type=int, default=24)
    p.add_argument("--out", default="bench/results/toy_action_space.json")
    args = p.parse_args()

    from vla.checkpoint import load_policy
    from vla.collection import collect
    from vla.eval.runner import evaluate
    from vla.train.loop import train

    root = Path(args.root)
    data = root / "data"
    if not data.exists():
        collect("toy", None, 24, data, image_size=64, progress=False)
    results = {}
    for space in args.variants.split(","):
        run = root / space
        t0 = time.time()
        train("tiny", data, run, steps=args.steps, save_every=args.steps, progress=False,
              overrides={"image_size": 32, "action_space": space})
        res = evaluate(lambda envs: load_policy(run), "toy", None, args.episodes, run / "eval", num_envs=4,
                       image_size=64, videos=0, progress=False)
        results[space] = {"success_rate": res["success_rate"], "episodes": args.episodes,
                          "wall_s": round(time.time() - t0, 1)}
        print(space, results[space], flush=True)
    doc = {"bench": "toy_action_space", "date": str(date.today()), "machine": platform.machine(),
           "config": "tiny", "image_size": 32, "steps": args.steps, "demos": 24, "results": results}
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
