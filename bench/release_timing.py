"""Does a trained policy open the gripper when its demonstrations do? Offline, on the run's own episodes.

A release is the step where a recorded episode's gripper command turns from closed (> 0) to open (< 0) after
at least `--held` closed steps (placing, stacking, returning a block). For the frames `k` = 0 .. `--before` steps
before it, the policy samples a chunk on the demonstration's own window (teacher-forced history, as
`bench/action_fit.py`) and this script records where in the chunk it first commands open, against the truth
(offset k). It also records the head's conditional mean (its one-step
clean-chunk estimate from pure noise) of the gripper command at the true release step: -1 when the policy knows
the moment, near +1 when it expects to stay closed. A policy that fits its demonstrations opens at offset k; one
that cannot tell from its observations when the release comes samples a time at random, or never opens.

    python bench/release_timing.py --policy runs/tt_v9 --dataset DIRS --task place_block_relative --out F.json
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from trained_run import add_run_arguments, load_trained_run, write_result


def release_frames(grip: np.ndarray, held: int) -> list[int]:
    """Indices t where grip[t-1] > 0 (closed) for at least `held` steps and grip[t] < 0 (open)."""
    out, closed = [], 0
    for t, g in enumerate(grip):
        if g > 0:
            closed += 1
        else:
            if closed >= held:
                out.append(t)
            closed = 0
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(p)
    p.add_argument("--task", required=True, help="suite task name whose episodes to question")
    p.add_argument("--episodes", type=int, default=24, help="episodes per split")
    p.add_argument("--before", type=int, default=12, help="frames before the release to question")
    p.add_argument("--held", type=int, default=5, help="closed steps before a release counts")
    args = p.parse_args()

    from vla.train.loop import _normalize

    torch.set_num_threads(args.threads)
    tr = load_trained_run(args.policy, args.dataset)
    model, norm, store, codec, data, cfg = tr.model, tr.norm, tr.store, tr.codec, tr.data, tr.model.cfg
    grip_dims = cfg.action_layout.get("gripper")
    if not grip_dims:
        raise SystemExit(f"error: {args.policy} has no gripper in its action layout {cfg.action_layout}")
    gi = grip_dims[0]
    if args.task not in set(store.task_name):
        raise SystemExit(f"error: task {args.task!r} is not in {args.dataset}: its tasks are "
                         f"{', '.join(sorted(set(store.task_name)))}")
    name_of = dict(zip((int(e) for e in store.episodes), store.task_name))
    before = min(args.before, cfg.chunk - 1)
    result: dict = {"policy": str(tr.folder), "checkpoint": tr.checkpoint, "step": tr.step, "task": args.task,
                    "before": before}
    for split in ("train_episodes", "val_episodes"):
        eps = [e for e in tr.doc[split] if name_of.get(int(e)) == args.task][:args.episodes]
        # offset k -> first predicted open index in the chunk (chunk length if never), and the conditional mean
        # of the gripper command at the true release index
        first_open: dict[int, list[int]] = {k: [] for k in range(before + 1)}
        at_release: dict[int, list[float]] = {k: [] for k in range(before + 1)}
        n_rel = 0
        for e in eps:
            frames = torch.nonzero(store.episode_index == e).flatten()
            grip = store.action[frames, gi].numpy()
            for r in release_frames(grip, args.held):
                n_rel += 1
                ks = [k for k in range(before + 1) if r - k >= 0]
                batch = _normalize(data.get_batch(frames[[r - k for k in ks]]), norm, codec)
                # a fresh noise draw per release: with one seed for every batch, row k would get the same noise in
                # every episode and a head that ignores its condition would still look consistent
                chunk, _ = model.sample_chunk(batch, torch.Generator().manual_seed(n_rel))
                mean, _ = model.sample_chunk(batch, torch.Generator().manual_seed(0), steps=1)
                g = norm.unaction(chunk)[:, :, gi].numpy()
                gm = norm.unaction(mean)[:, :, gi].numpy()
                for row, k in enumerate(ks):
                    opened = np.nonzero(g[row] < 0)[0]
                    first_open[k].append(int(opened[0]) if len(opened) else cfg.chunk)
                    at_release[k].append(float(gm[row, k]))
        rows = {}
        for k in range(before + 1):
            fo = np.array(first_open[k])
            if not len(fo):
                continue
            rows[k] = {"n": int(len(fo)), "opens_within_2": float(np.mean(np.abs(fo - k) <= 2)),
                       "opens_late_or_never": float(np.mean(fo > k + 2)), "never": float(np.mean(fo >= cfg.chunk)),
                       "first_open_median": float(np.median(fo)),
                       "cond_mean_at_release": round(float(np.mean(at_release[k])), 3)}
        key = split.replace("_episodes", "")
        result[key] = {"episodes": len(eps), "releases": n_rel, "by_offset": rows}
        print(f"{key}: {len(eps)} episodes, {n_rel} releases")
        for k, v in rows.items():
            print(f"  {k:2d} steps before: opens at the right step (+-2) {100 * v['opens_within_2']:3.0f}%, "
                  f"late or never {100 * v['opens_late_or_never']:3.0f}% (never {100 * v['never']:3.0f}%), "
                  f"median first open {v['first_open_median']:.0f}, conditional mean at the release {v['cond_mean_at_release']:+.2f}")
    write_result(args.out, result)


if __name__ == "__main__":
    main()
