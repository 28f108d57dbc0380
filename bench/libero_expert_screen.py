"""Quick screen of the scripted LIBERO experts: each task on a few official initial states, cameras off.

The full protocol is `vla eval --suite S --policy scripted --episodes 50 --render none --videos 0` (every
task on its 50 official states, about 5 s an episode here). This screen runs states A..B of chosen tasks
(episode seed = state index, as `--seeds` repeats add 1000 each) and writes JSON with the failures, to find
what to fix before a full evaluation.

    python bench/libero_expert_screen.py --suite libero_goal --states 0-2 --out bench/results/x.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from tqdm import tqdm


def run_episode(env, expert, state: int, seed: int) -> tuple[bool, int]:
    env.reset(seed=seed, options={"init_state": state})
    expert.reset(env)
    success = False
    for _ in range(env.task.max_steps):
        _, _, success, truncated, _ = env.step(expert.act(env))
        if success or truncated:
            break
    return bool(success), env.steps


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", required=True)
    p.add_argument("--tasks", help="comma-separated task indices in the suite (default: all)")
    p.add_argument("--states", default="0-2", help="official initial states A-B (inclusive)")
    p.add_argument("--seeds", type=int, default=1, help="repeats per state (fixture placement jitter)")
    p.add_argument("--out", required=True, help="JSON file to write")
    args = p.parse_args()

    from vla.errors import UserError
    from vla_sim import registry

    names = registry.suites()[args.suite]
    indices = range(len(names)) if not args.tasks else [int(i) for i in args.tasks.split(",")]
    first, last = (int(x) for x in args.states.split("-"))
    record = {"suite": args.suite, "states": [first, last], "seeds": args.seeds, "tasks": {}}
    t_start = time.time()
    for i in tqdm(indices, desc=f"screen {args.suite}", unit="task"):
        task = names[i]
        try:
            expert = registry.make_expert(args.suite, task)
        except UserError:
            record["tasks"][task] = {"index": i, "expert": False}
            continue
        env = registry.make_env(args.suite, task, render_mode=None)
        t0 = time.time()
        runs = [(k, s, *run_episode(env, expert, k, 1000 * s + k))
                for k in range(first, last + 1) for s in range(args.seeds)]
        env.close()
        ok = [r for r in runs if r[2]]
        record["tasks"][task] = {
            "index": i, "expert": True, "successes": len(ok), "episodes": len(runs),
            "max_steps_on_success": max((r[3] for r in ok), default=None), "limit": env.task.max_steps,
            "failures": [{"state": k, "seed": 1000 * s + k} for k, s, success, _ in runs if not success],
            "wall_s": round(time.time() - t0, 1),
        }
    record["wall_s"] = round(time.time() - t_start, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=1))
    for task, r in record["tasks"].items():
        rate = f"{r['successes']}/{r['episodes']}" if r["expert"] else "no expert"
        print(f"{r['index']:3d} {rate:>9s}  {task}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
