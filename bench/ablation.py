"""Ablations of the VLA: train variants that differ in one config field under the same budget (same data,
tasks, minutes, threads), evaluate each closed loop, write one JSON. Runs sequentially: variants must not
share the CPU.

    # memory vs no memory on the history-dependent tasks
    python bench/ablation.py --name memory --dataset data/tabletop_50 --tasks cup_shuffle,return_block \
        --variant memory=true --variant memory=false --minutes 15 --episodes 50
    # spatial prompting on the spatial-relation tasks
    python bench/ablation.py --name spatial_prompt --dataset data/tabletop_50 \
        --tasks pick_block_by_relation,place_block_relative \
        --variant spatial_prompt=true --variant spatial_prompt=false --minutes 15 --episodes 50
    # diffusion (10 DDIM steps) vs flow matching evaluated at 2, 5 and 10 Euler steps
    python bench/ablation.py --name heads --dataset data/tabletop_50 --tasks pick_block_by_relation,open_drawer \
        --variant head=diffusion --variant head=flow --eval-steps flow=2,5,10 --minutes 15 --episodes 50

Each variant trains into runs/ablation/<name>/<variant>/ (an existing run resumes) and is evaluated into
runs/ablation/<name>/<variant>/eval[_stepsN]/. Output: bench/results/ablation_<name>.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path


def _slug(variant: str) -> str:
    return variant.replace("=", "_").replace(",", "+")


def _run(cmd: list[str]) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--tasks", required=True)
    p.add_argument("--suite", default="tabletop")
    p.add_argument("--variant", action="append", required=True, help="FIELD=VALUE[,FIELD=VALUE] of one variant")
    p.add_argument("--config", default="cpu")
    p.add_argument("--minutes", type=float, required=True)
    p.add_argument("--steps", type=int, help="cosine schedule length (default: what fits the minutes at ~0.6 s/step)")
    p.add_argument("--episodes", type=int, default=50)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--eval-steps", action="append", default=[],
                   help="VALUE=N1,N2: for variants whose config value is VALUE, also evaluate at these inference steps")
    p.add_argument("--root", default="runs/ablation")
    args = p.parse_args()

    steps = args.steps or int(args.minutes * 60 / 0.6)
    extra_steps = {k: [int(n) for n in v.split(",")] for k, v in (e.split("=", 1) for e in args.eval_steps)}
    vla = [sys.executable, "-m", "vla.cli.main"]
    results = []
    for variant in args.variant:
        run = Path(args.root) / args.name / _slug(variant)
        sets = [x for kv in variant.split(",") for x in ("--set", kv)]
        t0 = time.time()
        _run([*vla, "train", "--config", args.config, "--dataset", args.dataset, "--tasks", args.tasks,
              "--out", str(run), "--steps", str(steps), "--minutes", str(args.minutes),
              "--threads", str(args.threads), *sets])
        trained = json.loads((run / "run.json").read_text())
        value = variant.split("=", 1)[1]
        for n in [None, *extra_steps.get(value, [])]:
            out = run / (f"eval_steps{n}" if n else "eval")
            if not (out / "eval.json").is_file():
                _run([*vla, "eval", "--policy", str(run), "--suite", args.suite, "--tasks", args.tasks,
                      "--episodes", str(args.episodes), "--out", str(out), "--videos", "1",
                      *(["--inference-steps", str(n)] if n else [])])
            ev = json.loads((out / "eval.json").read_text())
            results.append({"variant": variant, "inference_steps": n, "success_rate": ev["success_rate"],
                            "tasks": {t: {k: r[k] for k in ("success_rate", "episodes", "ci95")}
                                      for t, r in ev["tasks"].items()},
                            "train_steps": trained.get("step"), "train_minutes": round(trained.get("train_seconds", 0) / 60, 2),
                            "last_val": trained.get("last_val", {}), "run": str(run), "eval": str(out)})
            print(json.dumps(results[-1]), flush=True)
        print(f"variant {variant} done in {(time.time() - t0) / 60:.1f} min", flush=True)
    doc = {"benchmark": f"ablation_{args.name}", "date": date.today().isoformat(), "dataset": args.dataset,
           "tasks": args.tasks.split(","), "config": args.config, "minutes": args.minutes, "steps": steps,
           "episodes": args.episodes, "threads": args.threads, "machine": f"{platform.machine()} ({__import__('os').cpu_count()} cpus)",
           "command": " ".join(sys.argv), "results": results}
    out = Path("bench/results") / f"ablation_{args.name}.json"
    out.write_text(json.dumps(doc, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
