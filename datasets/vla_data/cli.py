"""`vla dataset info|render|convert`: argparse wiring for the main CLI (and `python -m vla_data.cli`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from vla_data.errors import DatasetError


def cmd_info(args: argparse.Namespace) -> int:
    """Print the dataset summary (text or --json)."""
    from vla_data.info import format_summary, summarize, summary_json

    print(summary_json(args.dir) if args.json else format_summary(summarize(args.dir)))
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    """Render one episode to a video or GIF."""
    from vla_data.render import render_episode

    out = render_episode(args.dir, args.episode, args.out, overlays=not args.no_overlays, fps=args.fps,
                         scale=args.scale)
    print(f"wrote {out}")
    return 0


CONVERT_FORMATS = ("libero-hdf5",)


def cmd_convert(args: argparse.Namespace) -> int:
    """Convert demonstrations in another layout into a new LeRobot v3 dataset."""
    if args.source_format not in CONVERT_FORMATS:
        raise DatasetError(f"unknown --from {args.source_format!r}: valid are {', '.join(CONVERT_FORMATS)}")
    from vla_data.convert_libero import convert_libero_hdf5

    result = convert_libero_hdf5(args.file, args.out, video_codec=args.video_codec)
    print(f"wrote {result.episodes} episodes ({result.frames} frames) of \"{result.instruction}\" to {args.out}")
    return 0


def add_dataset_subcommands(subparsers: Any) -> None:
    """Register `info`, `render` and `convert` on an argparse subparsers object; each sets `func(args) -> int`."""
    p = subparsers.add_parser("info", help="summarize a LeRobot v3 dataset")
    p.add_argument("dir", help="dataset root folder")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=cmd_info)
    p = subparsers.add_parser("render", help="render an episode to .mp4 or .gif")
    p.add_argument("dir", help="dataset root folder")
    p.add_argument("--episode", type=int, required=True, help="episode index")
    p.add_argument("--out", required=True, help="output file (.mp4 or .gif)")
    p.add_argument("--no-overlays", action="store_true", help="do not draw grounding overlays")
    p.add_argument("--fps", type=int, default=None, help="playback fps (default: the dataset's)")
    p.add_argument("--scale", type=int, default=None, help="integer upscaling (default: auto)")
    p.set_defaults(func=cmd_render)
    p = subparsers.add_parser("convert", help="convert demonstrations from another layout (LIBERO HDF5)")
    p.add_argument("file", help="input file (a LIBERO .hdf5 demonstration file)")
    p.add_argument("--from", dest="source_format", required=True, help=f"input layout: {', '.join(CONVERT_FORMATS)}")
    p.add_argument("--out", required=True, help="new dataset folder")
    p.add_argument("--video-codec", default=None, help="video codec (default h264)")
    p.set_defaults(func=cmd_convert)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: errors print one line and exit 2."""
    parser = argparse.ArgumentParser(prog="vla-dataset", description="LeRobot v3 dataset tools")
    add_dataset_subcommands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except DatasetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
