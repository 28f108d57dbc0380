"""Checkpoints: safetensors weights, the resolved config with its schema version, normalization stats and
the cached instruction embeddings, side by side in one folder. No pickle anywhere.

    DIR/config.json                {"schema_version", "policy": "vla", "config": {...}, "meta": {...}}
    DIR/model.safetensors          trained weights
    DIR/normalization.safetensors  state mean/std, action min/max
    DIR/text_cache.safetensors     embeddings of known instructions (+ their strings in config.json)
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors.torch import load_file, save_file

from vla.errors import UserError
from vla.model.configuration import SCHEMA_VERSION, VLAConfig
from vla.model.modeling import VLAModel
from vla.model.processing import Normalizer

CONFIG, WEIGHTS, NORM, TEXT = "config.json", "model.safetensors", "normalization.safetensors", "text_cache.safetensors"


class CheckpointError(UserError):
    """A checkpoint folder is missing, incomplete, or does not match this code or model."""


def save_checkpoint(path: str | Path, model: VLAModel, normalizer: Normalizer, meta: dict[str, Any] | None = None,
                    extra: Callable[[Path], None] | None = None) -> Path:
    """Write atomically: into a sibling temporary folder (`extra(folder)` adds more files there, e.g. the
    training state), then rename over `path`."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(tmp / WEIGHTS))
    save_file({k: v.cpu().contiguous() for k, v in normalizer.t.items()}, str(tmp / NORM))
    save_file({"table": model.text.table.detach().cpu().contiguous()}, str(tmp / TEXT))
    doc = {"schema_version": SCHEMA_VERSION, "policy": "vla", "config": model.cfg.to_dict(),
           "texts": list(model.text.texts), "meta": meta or {}}
    (tmp / CONFIG).write_text(json.dumps(doc, indent=2))
    if extra is not None:
        extra(tmp)
    if path.exists():
        old = path.with_name(path.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, path)
    return path


def read_config(path: str | Path) -> tuple[VLAConfig, dict[str, Any]]:
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"checkpoint folder {path} does not exist")
    missing = [f for f in (CONFIG, WEIGHTS, NORM) if not (path / f).is_file()]
    if missing:
        raise CheckpointError(f"{path} is not a VLA checkpoint: {missing[0]} is missing "
                              f"(a checkpoint holds {CONFIG}, {WEIGHTS}, {NORM})")
    try:
        doc = json.loads((path / CONFIG).read_text())
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path / CONFIG} is not valid JSON: {e}") from None
    version = doc.get("schema_version")
    if version != SCHEMA_VERSION:
        raise CheckpointError(f"{path} has checkpoint schema version {version}, this code reads version "
                              f"{SCHEMA_VERSION}: retrain or use the matching release")
    if doc.get("policy") != "vla":
        raise CheckpointError(f"{path} holds a {doc.get('policy')!r} policy, not a 'vla' policy")
    return VLAConfig.from_dict(doc["config"]), doc


def load_model(path: str | Path, device: str = "cpu") -> tuple[VLAModel, Normalizer, dict[str, Any]]:
    path = Path(path)
    cfg, doc = read_config(path)
    model = VLAModel(cfg)
    state = load_file(str(path / WEIGHTS), device="cpu")
    expected = model.state_dict()
    for key, value in expected.items():
        if key not in state:
            raise CheckpointError(f"{path / WEIGHTS} lacks weight {key!r}: it was saved by a different model")
        if state[key].shape != value.shape:
            raise CheckpointError(f"weight {key!r} in {path / WEIGHTS} has shape {tuple(state[key].shape)}, "
                                  f"the config builds {tuple(value.shape)}")
    extra = sorted(set(state) - set(expected))
    if extra:
        raise CheckpointError(f"{path / WEIGHTS} has unexpected weight {extra[0]!r}: it was saved by a different model")
    model.load_state_dict(state)
    if (path / TEXT).is_file():
        model.text.load(doc.get("texts", []), load_file(str(path / TEXT))["table"])
    normalizer = Normalizer(load_file(str(path / NORM)))
    return model.to(device), normalizer, doc


def load_policy(path: str | Path, device: str = "cpu", seed: int = 0, inference_steps: int | None = None):
    """A ready-to-act VLAPolicy from a checkpoint folder (or a training run folder: its latest checkpoint)."""
    from vla.model.policy import VLAPolicy

    path = resolve_checkpoint(path)
    model, normalizer, _ = load_model(path, device)
    return VLAPolicy(model, normalizer, device=device, seed=seed, inference_steps=inference_steps)


def resolve_checkpoint(path: str | Path) -> Path:
    """Accept a checkpoint folder, or a training run folder whose `checkpoints/last` names the latest one."""
    path = Path(path)
    if (path / CONFIG).is_file():
        return path
    last = path / "checkpoints" / "last"
    if last.is_file():
        name = last.read_text().strip()
        if (path / "checkpoints" / name / CONFIG).is_file():
            return path / "checkpoints" / name
    if not path.exists():
        raise CheckpointError(f"policy folder {path} does not exist")
    raise CheckpointError(f"{path} is neither a VLA checkpoint (no {CONFIG}) nor a training run with checkpoints")
