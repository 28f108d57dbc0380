"""`vla train`: argument parsing for vla.train.loop.train."""

from __future__ import annotations

import argparse
import json

from vla.errors import UserError


def _override(text: str) -> tuple[str, object]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--set expects FIELD=VALUE (got {text!r})")
    key, value = text.split("=", 1)
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def add_train_subcommand(sub) -> None:
    from vla.model.configuration import presets

    p = sub.add_parser("train", help="train the VLA policy on a LeRobot-format dataset (resumes an existing run)")
    p.add_argument("--config", default="cpu", help=f"preset name: {', '.join(presets())} (default cpu)")
    p.add_argument("--dataset", required=True,
                   help="LeRobot v3 dataset folder (e.g. from `vla collect`), or several, comma-separated, trained as one; "
                        "FOLDER:task_a+task_b takes only those collected tasks of a folder")
    p.add_argument("--out", required=True, help="run folder: checkpoints, metrics.csv, loss.png; an existing run resumes")
    p.add_argument("--tasks", help="train only on the episodes of these suite tasks (comma-separated)")
    p.add_argument("--steps", type=int, help="total optimizer steps (default: the preset's)")
    p.add_argument("--minutes", type=float, help="stop (with a checkpoint) after this much training time")
    p.add_argument("--save-every", type=int, default=500, help="checkpoint period in steps")
    p.add_argument("--set", dest="overrides", action="append", type=_override, default=[], metavar="FIELD=VALUE",
                   help="override a config field, e.g. --set memory=false --set head=flow (JSON values)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"],
                   help="bf16 autocast or fp32; auto (default) = bf16 where the CPU/GPU does bf16 in hardware")
    p.set_defaults(func=_run)


def _run(args) -> int:
    import torch

    from vla.train.loop import train

    if args.steps is not None and args.steps < 1:
        raise UserError(f"--steps must be at least 1 (got {args.steps})")
    if args.minutes is not None and args.minutes <= 0:
        raise UserError(f"--minutes must be positive (got {args.minutes})")
    if args.threads:
        torch.set_num_threads(args.threads)
    datasets = [d for d in args.dataset.split(",") if d]
    result = train(args.config, datasets, args.out, steps=args.steps, minutes=args.minutes,
                   overrides=dict(args.overrides), save_every=args.save_every,
                   tasks=[t for t in (args.tasks or "").split(",") if t] or None, precision=args.precision)
    print(f"trained {result['step']} steps in {result['train_seconds'] / 60:.1f} min -> {result['out']}")
    return 0
