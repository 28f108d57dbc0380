"""Can the perception learn which object the instruction names? A probe without actions or memory: the CNN,
fusion and grounding head of a preset, trained only to ground target 0 on the first frames of episodes (before
the arm's motion gives the target away), scored on held-out episodes' first frames in the scene camera
(median pixel error at 128 px, and the share over 15 px: a point on another object).

    python bench/grounding_probe.py --dataset data/place,data/place_b,data/place_c --set film_text=true \\
        --out bench/results/grounding_probe_film.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", required=True, help="dataset folder(s), comma-separated")
    p.add_argument("--config", default="cpu")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="config override (JSON value)")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--first-frames", type=int, default=10, help="frames from each episode's start to train on")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    if args.steps < 1 or args.batch < 1 or args.first_frames < 1:
        raise SystemExit("error: --steps, --batch and --first-frames must be >= 1")

    from vla.errors import UserError
    from vla.model.configuration import get_preset
    from vla.model.grounding import point_errors_px
    from vla.model.modeling import VLAModel
    from vla.model.processing import Normalizer
    from vla.train.data import EpisodeStore, train_val_split
    from vla.train.loop import MISREAD_PX

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    try:
        overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}
        store = EpisodeStore.load_many(args.dataset.split(","), image_size=64, progress=False)
        cfg = get_preset(args.config, cameras=tuple(store.cameras), state_dim=store.state.shape[1],
                         state_names=tuple(store.state_names), action_dim=len(store.action_names),
                         action_names=tuple(store.action_names), n_targets=int(store.points.shape[2]),
                         **{"image_size": 64, **overrides})
    except (UserError, ValueError, json.JSONDecodeError) as e:
        raise SystemExit(f"error: {e}")
    store = store if cfg.image_size == 64 else EpisodeStore.load_many(args.dataset.split(","), image_size=cfg.image_size,
                                                                     progress=False)
    train_eps, val_eps = train_val_split(store, 0.1)

    def first(eps: list[int], k: int) -> torch.Tensor:
        return torch.nonzero(torch.isin(store.episode_index, torch.tensor(eps)) & (store.frame_index < k)).flatten()

    train_idx, val_idx = first(train_eps, args.first_frames), first(val_eps, 1)
    model = VLAModel(cfg)
    model.fit_text(store.tasks)
    norm = Normalizer.from_stats(store.stats())
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

    def ground(idx: torch.Tensor, train: bool) -> torch.Tensor:
        text = model.text([store.tasks[i] for i in store.task_index[idx].tolist()])
        _, queries = model.encode_frames(store.images[idx], norm.state(store.state[idx]), text, augment=train)
        return model.grounding(queries)["points"][:, :, 0].float()  # [N, n_cam, 2], target 0

    curve = []
    t0 = time.time()
    for step in range(1, args.steps + 1):
        idx = train_idx[torch.randint(len(train_idx), (args.batch,))]
        with torch.autocast("cpu", dtype=torch.bfloat16):
            pred = ground(idx, True)
        target = store.points[idx][:, :, 0]
        valid = (target >= 0).all(-1)
        err = torch.nn.functional.smooth_l1_loss(pred, target.clamp(0, 1), reduction="none", beta=0.02).mean(-1)
        loss = (err * valid).sum() / valid.sum().clamp(min=1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 250 == 0 or step == args.steps:
            model.eval()
            with torch.no_grad():
                pred = ground(val_idx, False)
            model.train()
            target = store.points[val_idx][:, 0, 0]
            e = point_errors_px(pred[:, 0], target.clamp(0, 1), (target >= 0).all(-1), cfg.source_image_size)
            row = {"step": step, "seconds": round(time.time() - t0), "train_loss": round(loss.item(), 4),
                   "val_scene_err_px_median": round(float(e.median()), 2),
                   "val_misread_share": round(float((e > MISREAD_PX).float().mean()), 3), "val_frames": len(e)}
            curve.append(row)
            print(json.dumps(row), flush=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"bench": "grounding_probe", "dataset": args.dataset, "config": args.config,
                                              "overrides": overrides, "batch": args.batch,
                                              "first_frames": args.first_frames, "curve": curve}, indent=1) + "\n")


if __name__ == "__main__":
    main()
