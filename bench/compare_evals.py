"""One success-and-milestones chart for several evaluations of the same task (screens of one change each).

    python bench/compare_evals.py --task place_block_relative --out docs/img/place_screens.png \
        "default, 100 demos=bench/results/eval_place_solo_100.json" "lr 1e-3=bench/results/eval_place_400_lr1e3_hs8.json"
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("evals", nargs="+", metavar="LABEL=EVAL_JSON")
    p.add_argument("--task", required=True)
    p.add_argument("--title", default=None)
    p.add_argument("--out", required=True)
    args = p.parse_args()

    from vla.eval.report import plot_success

    tasks = {}
    for item in args.evals:
        label, sep, path = item.rpartition("=")
        if not sep or not label:
            raise SystemExit(f"error: {item!r} is not LABEL=EVAL_JSON")
        try:
            doc = json.loads(Path(path).read_text())
        except (OSError, ValueError) as e:
            raise SystemExit(f"error: cannot read {path} as an eval.json: {e}")
        if args.task not in doc.get("tasks", {}):
            raise SystemExit(f"error: {path} has no task {args.task!r}: it has {', '.join(doc.get('tasks', {}))}")
        tasks[label] = doc["tasks"][args.task]
    mean = float(np.mean([t["success_rate"] for t in tasks.values()]))
    summary = {"suite": args.task, "policy": args.title or "screens", "success_rate": mean, "tasks": tasks}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    plot_success(summary, Path(args.out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
