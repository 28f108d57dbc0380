"""How well does a trained policy fit its demonstrations' action chunks, without running the simulator?

For windows drawn from the run's training and held-out episodes (run.json says which):

- `r2_cond_mean`: share of the chunk's variance (normalized actions, all dimensions) explained by the head's
  one-step sample (`VLAModel.sample_chunk(steps=1)`: the clean-chunk estimate from pure noise, i.e. its
  conditional mean). 1.0 is a perfect fit; 0.0 means the condition is ignored.
- `disp_rel_err_median`, `disp_cos_median`: the end-effector displacement over the first `--steps` actions of a
  sampled chunk (the inference path, DDIM or Euler) against the expert's, per phase of the episode.
- `start_point_err_px_median`, `start_misread_share`: on every episode's first frame, how far the grounding
  point of the object to act on is from the truth, and how often it sits on another object (the instruction
  misread; `vla.train.loop.start_grounding`).

Train and held-out alike low means the model underfits (more or better optimization); train high and held-out
low means it memorizes (more data). Closed-loop success needs both high, so this is a cheap first screen.

    python bench/action_fit.py --policy runs/place_solo_400 --dataset data/place,data/place_b --out bench/results/x.json
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from trained_run import add_run_arguments, load_trained_run, write_result


def displacement(chunk: torch.Tensor, space: str, steps: int) -> torch.Tensor:
    """End-effector displacement [B, 3] after `steps` actions of a chunk in the head's (unnormalized) space:
    summed deltas, or the chunk-relative position target of the last of them."""
    return chunk[:, :steps, :3].sum(1) if space == "delta" else chunk[:, steps - 1, :3]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(p)
    p.add_argument("--windows", type=int, default=256, help="windows per split for the conditional-mean fit")
    p.add_argument("--episodes", type=int, default=12, help="episodes per split for the sampled displacements")
    p.add_argument("--steps", type=int, default=8, help="actions summed into a displacement (n_action_steps)")
    args = p.parse_args()

    from vla.train.loop import _normalize, start_grounding

    torch.set_num_threads(args.threads)
    if args.steps < 1 or args.windows < 1 or args.episodes < 0:
        raise SystemExit("error: --steps and --windows must be >= 1 and --episodes >= 0")
    tr = load_trained_run(args.policy, args.dataset)
    run, doc, model, norm, store, codec, data = tr.folder, tr.doc, tr.model, tr.norm, tr.store, tr.codec, tr.data
    cfg = model.cfg
    if args.steps > cfg.chunk:
        raise SystemExit(f"error: --steps {args.steps} is longer than the policy's chunk of {cfg.chunk} actions")
    result: dict = {"policy": str(run), "checkpoint": tr.checkpoint, "step": tr.step, "dataset": args.dataset}
    for split in ("train_episodes", "val_episodes"):
        eps = torch.tensor(doc[split])
        g = torch.Generator().manual_seed(0)
        frames = torch.nonzero(torch.isin(store.episode_index, eps)).flatten()
        idx = frames[torch.randperm(len(frames), generator=g)[:args.windows]]
        sq_err, true_all = [], []
        for part in idx.split(32):
            batch = _normalize(data.get_batch(part), norm, codec)
            pred, _ = model.sample_chunk(batch, g, steps=1)
            true = batch["action"][:, -1]
            valid = ~batch["action_pad"][:, -1]
            sq_err.append(((pred - true) ** 2)[valid])
            true_all.append(true[valid])
        true_cat = torch.cat(true_all)
        r2 = 1 - float(torch.cat(sq_err).mean()) / float(((true_cat - true_cat.mean(0)) ** 2).mean())

        phases: dict[str, dict[str, list[float]]] = {}
        for e in doc[split][:args.episodes]:
            ep_frames = torch.nonzero(store.episode_index == e).flatten()
            offs = list(range(0, max(len(ep_frames) - cfg.chunk, 0), cfg.n_action_steps))
            for part in torch.tensor(offs).split(32):
                raw = data.get_batch(ep_frames[part])
                chunk, _ = model.sample_chunk(_normalize(raw, norm, codec), torch.Generator().manual_seed(0))
                pred_d = displacement(norm.unaction(chunk), cfg.action_space, args.steps)
                true_d = displacement(codec.to_model(raw["action"][:, -1], raw["state"][:, -1]), cfg.action_space,
                                      args.steps)
                cos = torch.nn.functional.cosine_similarity(pred_d, true_d, dim=-1)
                rel = (pred_d - true_d).norm(dim=-1) / true_d.norm(dim=-1).clamp(min=1e-3)
                for o, c, r in zip(part.tolist(), cos.tolist(), rel.tolist()):
                    key = f"frames_{40 * (o // 40)}_{40 * (o // 40) + 40}"
                    phases.setdefault(key, {"cos": [], "rel": []})
                    phases[key]["cos"].append(c)
                    phases[key]["rel"].append(r)
        starts = torch.unique(store.ep_start[torch.isin(store.episode_index, eps)])
        reading = {k: round(v, 4) for k, v in start_grounding(model, data, starts, norm, codec).items()}
        result[split.replace("_episodes", "")] = {
            "r2_cond_mean": round(r2, 4), "windows": len(idx), "episode_starts": len(starts), **reading,
            "phases": {k: {"n": len(v["cos"]), "disp_cos_median": round(float(np.median(v["cos"])), 3),
                           "disp_rel_err_median": round(float(np.median(v["rel"])), 3)}
                       for k, v in sorted(phases.items(), key=lambda kv: int(kv[0].split("_")[1]))}}
        first = next(iter(result[split.replace("_episodes", "")]["phases"].values()), {})
        print(f"{split.replace('_episodes', ''):5s}  R2 of the conditional mean {r2:.3f}   first phase: displacement "
              f"cos {first.get('disp_cos_median')}, relative error {first.get('disp_rel_err_median')}; episode starts: "
              f"point error {reading.get('start_point_err_px_median')} px, misread {reading.get('start_misread_share')}",
              flush=True)
    write_result(args.out, result)


if __name__ == "__main__":
    main()
