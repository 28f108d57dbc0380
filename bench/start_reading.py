"""Does a trained policy read the instruction, per task and per grounding target? On the first frame of each
training and held-out episode of one task (before any motion gives the answer away), the pixel error of the
grounding head's point for target K and the share over the misread threshold (`vla.train.loop.start_grounding`).

    python bench/start_reading.py --policy runs/tt_gpre --dataset data/place,data/stack,data/tt_a,data/tt_b \\
        --task place_block_relative --target 1 --out bench/results/start_reading_place_goal.json

For place_block_relative target 1 is the place the relation word names (docs/SIM.md): a small error there
means the grounding head read "to the left of the bowl"."""

from __future__ import annotations

import argparse

import torch
from trained_run import add_run_arguments, load_trained_run, write_result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(p)
    p.add_argument("--task", required=True, help="the suite task whose episodes to read")
    p.add_argument("--target", type=int, default=0, help="grounding target index (0: the object acted on)")
    args = p.parse_args()

    from vla.train.loop import MISREAD_PX, start_grounding

    torch.set_num_threads(args.threads)
    tr = load_trained_run(args.policy, args.dataset)
    store, n_targets = tr.store, tr.model.cfg.n_targets
    if not 0 <= args.target < n_targets:
        raise SystemExit(f"error: --target {args.target} is not a target index: valid are 0-{n_targets - 1}")
    if args.task not in store.task_name:
        raise SystemExit(f"error: no episode of task {args.task!r}: the dataset has "
                         f"{', '.join(sorted(set(store.task_name)))}")
    of_task = torch.tensor([e for e, name in zip(store.episodes, store.task_name) if name == args.task])
    result = {"bench": "start_reading", "policy": str(tr.folder), "checkpoint": tr.checkpoint, "step": tr.step,
              "task": args.task, "target": args.target, "misread_px": MISREAD_PX}
    for split in ("train_episodes", "val_episodes"):
        eps = of_task[torch.isin(of_task, torch.tensor(tr.doc[split]))]
        starts = torch.unique(store.ep_start[torch.isin(store.episode_index, eps)])
        reading = start_grounding(tr.model, tr.data, starts, tr.norm, tr.codec, target=args.target)
        result[split.replace("_episodes", "")] = {"episodes": len(eps), **{k: round(v, 4) for k, v in reading.items()}}
        print(split.replace("_episodes", ""), result[split.replace("_episodes", "")], flush=True)
    write_result(args.out, result)


if __name__ == "__main__":
    main()
