"""Simulation throughput: environment steps per second per suite, with cameras off, fast-render and
default-render 128x128 (two cameras; LIBERO suites also 224x224), and scripted collection throughput
(frames/s, writing included).

Runs on one core by default (llvmpipe's rasterizer threads pinned to 1 with LP_NUM_THREADS=1).
Writes JSON: `python bench/sim_throughput.py --out bench/results/sim_throughput.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import date


def _steps_per_second(suite: str, task: str, render_mode, steps: int, image_size: int) -> float:
    from vla_sim import registry

    env = registry.make_env(suite, task, render_mode=render_mode, image_size=image_size)
    expert = registry.make_expert(suite, task)
    env.reset(seed=0)
    expert.reset(env)
    for _ in range(3):  # warm up the renderer
        env.step(expert.act(env))
    n, t0 = 0, time.perf_counter()
    while n < steps:
        _, _, term, trunc, _ = env.step(expert.act(env))
        n += 1
        if term or trunc:
            env.reset(seed=n)
            expert.reset(env)
    rate = n / (time.perf_counter() - t0)
    env.close()
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="bench/results/sim_throughput.json")
    parser.add_argument("--steps", type=int, default=200, help="steps per measurement")
    parser.add_argument("--threads", type=int, default=1, help="rasterizer threads (LP_NUM_THREADS)")
    parser.add_argument("--collect-episodes", type=int, default=2)
    parser.add_argument("--suites", help="comma-separated suites (default: the project's own and libero_spatial)")
    args = parser.parse_args()
    os.environ["LP_NUM_THREADS"] = str(args.threads)
    from vla.collection import collect
    from vla_sim import registry

    results = {"date": date.today().isoformat(), "machine": f"{platform.machine()} {os.cpu_count()} cores",
               "python": sys.version.split()[0], "rasterizer_threads": args.threads, "steps": args.steps,
               "suites": {}}
    all_suites = registry.suites()
    chosen = args.suites.split(",") if args.suites else [s for s in all_suites if not s.startswith("libero")] + [
        "libero_spatial"]
    for suite in chosen:
        task = registry.resolve_tasks(suite)[0]
        entry = {"task": task}
        sizes = (128, 224) if suite.startswith("libero") else (128,)
        runs = [("no_camera", None, 128)] + [(f"{mode}_{size}", mode, size) for size in sizes
                                               for mode in ("fast", "default")]
        for label, mode, size in runs:
            entry[f"steps_per_s_{label}"] = round(_steps_per_second(suite, task, mode, args.steps, size), 1)
            print(f"{suite}/{task} {label}: {entry[f'steps_per_s_{label}']} steps/s", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            res = collect(suite, [task], args.collect_episodes, f"{tmp}/ds", progress=False)
            entry["collect_frames_per_s"] = round(res.frames / (time.perf_counter() - t0), 1)
        print(f"{suite}/{task} collection: {entry['collect_frames_per_s']} frames/s", flush=True)
        results["suites"][suite] = entry
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
