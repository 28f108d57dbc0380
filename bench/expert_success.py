"""Scripted expert success per task: N seeded episodes each (seeds 0..N-1), cameras off.

`python bench/expert_success.py --episodes 50 --out bench/results/expert_success.json`
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import date

from tqdm import tqdm


def evaluate(suite: str, task: str, episodes: int) -> dict:
    from vla_sim import registry

    env = registry.make_env(suite, task, render_mode=None)
    expert = registry.make_expert(suite, task)
    successes, lengths, failed = 0, [], []
    t0 = time.perf_counter()
    for seed in range(episodes):
        env.reset(seed=seed)
        expert.reset(env)
        steps = 0
        while True:
            _, _, term, trunc, info = env.step(expert.act(env))
            steps += 1
            if term or trunc:
                break
        successes += int(info["success"])
        lengths.append(steps)
        if not info["success"]:
            failed.append(seed)
    env.close()
    return {"success_rate": successes / episodes, "episodes": episodes, "mean_length": sum(lengths) / episodes,
            "failed_seeds": failed, "seconds": round(time.perf_counter() - t0, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=50)
    # the project's own manipulation suites; LIBERO's 130 tasks (hours at 50 episodes) are asked for by name
    parser.add_argument("--suites", default="tabletop,dexterous",
                        help="comma-separated suite names (default: tabletop,dexterous; 'all' for every suite)")
    parser.add_argument("--out", default="bench/results/expert_success.json")
    args = parser.parse_args()
    from vla_sim import registry

    suites = registry.suites()
    names = [s.strip() for s in args.suites.split(",") if s.strip()]
    wanted = list(suites) if "all" in names else names
    unknown = [s for s in wanted if s not in suites]
    if unknown or not wanted:
        print(f"error: unknown suite {unknown[0]!r}" if unknown else "error: --suites is empty",
              f"(valid: {', '.join(suites)}, or all)", file=sys.stderr)
        return 2
    results = {"date": date.today().isoformat(), "machine": f"{platform.machine()} {os.cpu_count()} cores",
               "episodes_per_task": args.episodes, "suites": {}}
    jobs = [(s, t) for s in wanted for t in registry.resolve_tasks(s)]
    for suite, task in tqdm(jobs, desc="expert success", unit="task"):
        r = evaluate(suite, task, args.episodes)
        results["suites"].setdefault(suite, {})[task] = r
        tqdm.write(f"{suite}/{task}: {100 * r['success_rate']:.0f}% ({r['mean_length']:.0f} steps, {r['seconds']} s)")
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    print("| suite | task | success | episodes | mean steps |\n|---|---|---|---|---|")
    for suite, tasks in results["suites"].items():
        for task, r in tasks.items():
            print(f"| {suite} | {task} | {100 * r['success_rate']:.0f}% | {r['episodes']} | {r['mean_length']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
