"""A finished `vla train` run with the data it trained on, for the bench scripts that question a policy on
its own training and held-out episodes (action_fit, start_reading)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class TrainedRun:
    folder: Path
    doc: dict[str, Any]  # run.json: the splits (train_episodes, val_episodes), config, ...
    checkpoint: str
    step: int | None
    model: Any  # VLAModel, in eval mode
    norm: Any  # Normalizer
    store: Any  # EpisodeStore of the run's datasets, in the run's order
    codec: Any  # ActionCodec
    data: Any  # WindowDataset shaped for the model


def add_run_arguments(parser: Any) -> None:
    """The options every script that questions a trained run takes: the run, its datasets, threads, output."""
    parser.add_argument("--policy", required=True, help="a training run folder (its run.json names the splits)")
    parser.add_argument("--dataset", required=True,
                        help="the run's dataset folder(s), comma-separated, in its order (as given to vla train)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None, help="JSON file to write")


def write_result(path: str | None, result: dict[str, Any]) -> None:
    """Write a script's JSON result to `path` (folders made as needed); nothing without a path."""
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(result, indent=1))
        print(f"wrote {path}")


def load_trained_run(policy: str, dataset: str) -> TrainedRun:
    """Load the run's last checkpoint and its dataset folders (comma-separated); bad input exits with one line."""
    from vla.checkpoint import load_model, resolve_checkpoint
    from vla.errors import UserError
    from vla.model.action_space import ActionCodec
    from vla.train.data import EpisodeStore, WindowDataset, WindowSpec

    folder = Path(policy)
    if not (folder / "run.json").is_file():
        raise SystemExit(f"error: {folder} has no run.json: --policy must be a `vla train --out` folder")
    try:
        ckpt = resolve_checkpoint(folder)
        model, norm, meta = load_model(ckpt)
        store = EpisodeStore.load_many(dataset.split(","), image_size=model.cfg.image_size, progress=False)
    except UserError as e:
        raise SystemExit(f"error: {e}")
    model.eval()
    cfg = model.cfg
    return TrainedRun(folder=folder, doc=json.loads((folder / "run.json").read_text()), checkpoint=ckpt.name,
                      step=meta.get("meta", {}).get("step"), model=model, norm=norm, store=store,
                      codec=ActionCodec.for_config(cfg.action_space, cfg.state_names),
                      data=WindowDataset(store, WindowSpec.for_config(cfg)))
