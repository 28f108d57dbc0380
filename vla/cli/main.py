"""The `vla` command: one entry point with subcommands.

Errors a user can cause print one line (`error: ...`) and exit with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys

from vla.errors import UserError


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def cmd_sim_list(args: argparse.Namespace) -> int:
    from vla_sim import registry

    suites = registry.suites()
    if args.json:
        print(json.dumps(suites, indent=2))
    else:
        for suite, tasks in suites.items():
            print(f"{suite} ({len(tasks)} tasks)")
            for t in tasks:
                print(f"  {t}")
    return 0


def cmd_collect(args: argparse.Namespace) -> int:
    from vla.collection import collect

    res = collect(args.suite, _csv(args.tasks) if args.tasks else None, args.episodes, args.out, seed=args.seed,
                  render_mode=args.render, image_size=args.image_size, keep_failures=args.keep_failures,
                  noise=args.noise, resume=args.resume, video_codec=args.vcodec,
                  after_success=args.after_success, max_attempts_factor=args.max_attempts,
                  start_frames=args.start_frames)
    rates = ", ".join(f"{t} {res.successes[t]}/{res.attempts[t]}" for t in res.attempts)
    kept = f"; every start kept (first {args.start_frames} steps)" if args.start_frames else ""
    print(f"wrote {res.episodes} episodes ({res.frames} frames) to {res.root}; expert successes: {rates}{kept}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from vla.demo import run_demo

    run_demo(args.out, episodes=args.episodes, policy_episodes=args.policy_episodes,
             train_minutes=args.train_minutes, eval_episodes=args.eval_episodes, preset=args.preset)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vla", description="VLA stack: simulation, data, policies.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sim = sub.add_parser("sim", help="simulation suites")
    sim_sub = sim.add_subparsers(dest="sim_command", required=True, metavar="SUBCOMMAND")
    lst = sim_sub.add_parser("list", help="list suites and their tasks")
    lst.add_argument("--json", action="store_true", help="print {suite: [task, ...]} as JSON")
    lst.set_defaults(func=cmd_sim_list)

    col = sub.add_parser("collect", help="record scripted expert demonstrations as a LeRobot v3 dataset")
    col.add_argument("--suite", required=True)
    col.add_argument("--tasks", help="comma-separated task names or positions in the suite, 0-based (default: every task)")
    col.add_argument("--episodes", type=int, required=True, help="successful episodes per task")
    col.add_argument("--out", required=True, help="new dataset folder (or the interrupted one, with --resume)")
    col.add_argument("--seed", type=int, default=0)
    col.add_argument("--render", default="fast", help="fast (default) or default (shadows, reflections, MSAA)")
    col.add_argument("--image-size", type=int, default=128)
    col.add_argument("--keep-failures", action="store_true", help="also keep episodes the expert failed")
    col.add_argument("--noise", type=float, default=0.0,
                     help="DART-style execution noise, m per step (e.g. 0.01): the expert's clean action is recorded")
    col.add_argument("--after-success", type=int, default=0, metavar="N",
                     help="record up to N more expert steps after a success (the release and retreat; default 0)")
    col.add_argument("--max-attempts", type=int, default=3, metavar="K",
                     help="give up on a task after K x --episodes attempts (default 3)")
    col.add_argument("--start-frames", type=int, default=0, metavar="K",
                     help="record only each attempt's first K steps and keep them all: many cheap layouts for "
                          "learning which object the instruction names (default 0: whole episodes)")
    col.add_argument("--vcodec", choices=["h264", "av1"],
                     help="video codec of a new dataset (default h264; av1 is LeRobot's default but its SVT-AV1 "
                          "encoder can hang in long runs); a resumed dataset keeps its own")
    col.add_argument("--resume", action="store_true",
                     help="continue an interrupted collection in --out (same arguments); keeps its episodes")
    col.set_defaults(func=cmd_collect)

    ds = sub.add_parser("dataset", help="inspect and convert LeRobot v3 datasets")
    ds_sub = ds.add_subparsers(dest="dataset_command", required=True, metavar="SUBCOMMAND")
    from vla_data.cli import add_dataset_subcommands

    add_dataset_subcommands(ds_sub)
    from vla.cli.eval_cmd import add_eval_subcommand
    add_eval_subcommand(sub)
    from vla.cli.train_cmd import add_train_subcommand
    add_train_subcommand(sub)

    demo = sub.add_parser("demo", help="the main job on its default: collect, train the VLA, evaluate, report")
    demo.add_argument("--out", default="runs/demo")
    demo.add_argument("--episodes", type=int, default=3, help="episodes per task and suite for the dataset tour")
    demo.add_argument("--policy-episodes", type=int, default=20,
                      help="tabletop demonstrations per task to train the VLA on (0 skips training)")
    demo.add_argument("--train-minutes", type=float, default=12.0, help="training budget in minutes")
    demo.add_argument("--eval-episodes", type=int, default=10, help="evaluation episodes per tabletop task")
    demo.add_argument("--preset", default="cpu", help="VLA config preset to train")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
