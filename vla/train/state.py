"""Training state for resuming (raw weights, EMA, optimizer, scheduler, RNG) in safetensors + JSON, no pickle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

STATE_TENSORS, STATE_JSON = "training_state.safetensors", "training_state.json"


def save_training_state(folder: Path, *, model: torch.nn.Module, ema: torch.nn.Module, optimizer: torch.optim.Optimizer,
                        scheduler, step: int, data_rng: torch.Generator, extra: dict[str, Any]) -> None:
    tensors: dict[str, torch.Tensor] = {}
    for k, v in model.state_dict().items():
        tensors[f"model.{k}"] = v.detach().cpu().contiguous()
    for k, v in ema.state_dict().items():
        tensors[f"ema.{k}"] = v.detach().cpu().contiguous()
    opt = optimizer.state_dict()
    scalars: dict[str, dict[str, Any]] = {}
    for pid, st in opt["state"].items():
        for name, value in st.items():
            if torch.is_tensor(value):
                tensors[f"opt.{pid}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(pid), {})[name] = value
    tensors["rng.torch"] = torch.get_rng_state()
    tensors["rng.data"] = data_rng.get_state()
    save_file(tensors, str(folder / STATE_TENSORS))
    doc = {"step": step, "param_groups": opt["param_groups"], "opt_scalars": scalars,
           "scheduler": scheduler.state_dict(), **extra}
    (folder / STATE_JSON).write_text(json.dumps(doc, indent=1, default=float))


def load_training_state(folder: Path, *, model: torch.nn.Module, ema: torch.nn.Module, optimizer: torch.optim.Optimizer,
                        scheduler, data_rng: torch.Generator) -> dict[str, Any]:
    tensors = load_file(str(folder / STATE_TENSORS))
    doc = json.loads((folder / STATE_JSON).read_text())
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    ema.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("ema.")})
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("opt."):
            _, pid, name = key.split(".", 2)
            state.setdefault(int(pid), {})[name] = value
    for pid, scalars in doc["opt_scalars"].items():
        state.setdefault(int(pid), {}).update(scalars)
    optimizer.load_state_dict({"state": state, "param_groups": doc["param_groups"]})
    scheduler.load_state_dict(doc["scheduler"])
    torch.set_rng_state(tensors["rng.torch"])
    data_rng.set_state(tensors["rng.data"])
    return doc
