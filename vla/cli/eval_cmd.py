"""`vla eval`: closed-loop evaluation of a checkpoint (or the scripted experts) on a simulation suite."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from vla.errors import UserError


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def load_eval_policy(spec: str, device: str = "cpu", inference_steps: int | None = None) -> Any:
    """'scripted' stays a string (evaluate builds the experts per task); a folder is loaded as a checkpoint."""
    if spec == "scripted":
        return spec
    path = Path(spec)
    if not path.exists():
        raise UserError(f"policy folder {path} does not exist: pass a checkpoint folder or 'scripted'")
    if not path.is_dir():
        raise UserError(f"--policy {path} is not a folder: pass a checkpoint folder or 'scripted'")
    if not any(path.iterdir()):
        raise UserError(f"policy folder {path} has no checkpoint (it is empty): pass a checkpoint folder or 'scripted'")
    from vla.checkpoint import load_policy

    return load_policy(path, device=device, inference_steps=inference_steps)  # CheckpointError: one clear line


def cmd_eval(args: argparse.Namespace) -> int:
    """Validate everything (nothing is written on bad input), load the policy, evaluate, print a summary."""
    from vla.eval import check_eval_args, evaluate
    from vla.runtime import resolve_executor

    tasks = _csv(args.tasks) if args.tasks else None
    name = "scripted" if args.policy == "scripted" else Path(args.policy).name
    out = Path(args.out or f"runs/eval/{args.suite}_{name}_{time.strftime('%Y%m%d-%H%M%S')}")
    render = None if args.render == "none" else args.render
    if render is None and args.policy != "scripted":
        raise UserError("--render none is for --policy scripted only (a checkpoint needs camera images)")
    if args.inference_steps is not None and args.inference_steps < 1:
        raise UserError(f"--inference-steps must be at least 1 (got {args.inference_steps})")
    newest = _csv(args.ensemble_newest) if args.ensemble_newest is not None else None
    # before the (slow) load, then again once the checkpoint's own executor is known
    check_eval_args(args.suite, tasks, args.episodes, out, num_envs=args.num_envs, videos=args.videos,
                    executor_mode=args.executor, render_mode=render, image_size=args.image_size,
                    max_steps=args.max_steps, ensemble_horizon=args.ensemble_horizon, ensemble_newest=newest)
    policy = load_eval_policy(args.policy, args.device, args.inference_steps)
    ex = resolve_executor(policy, args.executor, args.ensemble_horizon, newest)
    check_eval_args(args.suite, tasks, args.episodes, out, num_envs=args.num_envs, videos=args.videos,
                    executor_mode=ex.mode, render_mode=render, image_size=args.image_size,
                    max_steps=args.max_steps, ensemble_horizon=ex.horizon, ensemble_newest=ex.newest)
    try:
        ex.newest_dims(getattr(policy, "action_layout", {}))
    except ValueError as e:
        raise UserError(str(e)) from None
    print(f"executor: {ex.mode}" + (f", horizon {ex.horizon}" if ex.horizon else "")
          + (f", newest-chunk groups {', '.join(ex.newest)}" if ex.newest else ""), flush=True)
    res = evaluate(policy, args.suite, tasks, args.episodes, out, num_envs=args.num_envs, seed=args.seed,
                   render_mode=render, image_size=args.image_size, videos=args.videos, executor_mode=ex.mode,
                   ensemble_horizon=ex.horizon, ensemble_newest=ex.newest, max_steps=args.max_steps,
                   policy_name=args.policy + (f" (inference_steps={args.inference_steps})"
                                              if args.inference_steps else ""))
    for task, r in res["tasks"].items():
        lo, hi = r["ci95"]
        print(f"  {task:28s} {r['successes']:4d}/{r['episodes']:<4d} {100 * r['success_rate']:5.1f}%  "
              f"[{100 * lo:.0f}, {100 * hi:.0f}]  mean steps {r['mean_steps']:.0f}")
        if r.get("milestone_rates"):
            print("  " + " " * 28 + " milestones: " + ", ".join(f"{name} {100 * rate:.0f}%"
                                                            for name, rate in r["milestone_rates"].items()))
        if r.get("end_rates_failed") and r["successes"] < r["episodes"]:
            print("  " + " " * 28 + " failures ended: " + ", ".join(f"{name} {100 * rate:.0f}%"
                                                                 for name, rate in r["end_rates_failed"].items()))
    print(f"{res['suite']}: mean success {100 * res['success_rate']:.1f}% over {res['episodes']} episodes "
          f"({res['wall_s']:.0f} s); wrote {out / 'eval.json'}")
    return 0


def add_eval_subcommand(subparsers: Any) -> None:
    """Register `vla eval` on the top-level subparsers."""
    p = subparsers.add_parser("eval", help="evaluate a policy checkpoint (or the scripted experts) in simulation")
    p.add_argument("--policy", required=True, help="checkpoint folder, or 'scripted' (privileged experts)")
    p.add_argument("--suite", required=True)
    p.add_argument("--tasks", help="comma-separated task names or positions in the suite, 0-based (default: every task)")
    p.add_argument("--episodes", type=int, default=50, help="episodes per task (default 50)")
    p.add_argument("--out", help="new output folder (default runs/eval/<suite>_<policy>_<time>)")
    p.add_argument("--num-envs", type=int, default=8, help="environments stepped in lockstep per task")
    p.add_argument("--seed", type=int, default=100_000, help="episode k of suite task j uses seed + 1000*j + k")
    p.add_argument("--videos", type=int, default=2, help="episodes per task saved as MP4 (default 2)")
    p.add_argument("--executor", help="queue (run n_action_steps per chunk) or ensemble (ACT; ask every step) "
                                      "(default: the checkpoint's own, its config's `executor`; queue for scripted)")
    p.add_argument("--ensemble-horizon", type=int, metavar="K",
                   help="with the ensemble: average only the K newest chunks that cover a step (default: the "
                        "checkpoint's own horizon, or all with an explicit --executor ensemble)")
    p.add_argument("--ensemble-newest", metavar="GROUPS",
                   help="with the ensemble: comma-separated action groups (e.g. gripper) that follow the newest chunk "
                        "instead of the average ('' for none; default: the checkpoint's config)")
    p.add_argument("--render", default="fast",
                   help="fast (default), default (shadows, reflections, MSAA) or none (no cameras: scripted "
                        "policy only, with --videos 0; several times faster)")
    p.add_argument("--image-size", type=int, default=128, help="camera image size (default 128, as collected)")
    p.add_argument("--max-steps", type=int,
                   help="episode step limit for every task (default: each task's own); a diagnostic: success "
                        "under another limit is not the task's success rate")
    p.add_argument("--device", default="cpu", help="device for the checkpoint (cpu, cuda, ...)")
    p.add_argument("--inference-steps", type=int,
                   help="DDIM (diffusion) or Euler (flow) steps per chunk (default: the checkpoint's config)")
    p.set_defaults(func=cmd_eval)
