"""`vla train`: fit the VLA on a LeRobot-format dataset, with checkpoints that survive kill -9.

Multi-GPU / multi-node runs go through Hugging Face `accelerate` (`accelerate launch -m vla.cli.main
train ...`); each process samples its own batches from a process-seeded generator. On this machine it
runs on the CPU in one process.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from safetensors.torch import load_file

from vla.checkpoint import CONFIG, NORM, TEXT, read_config, save_checkpoint
from vla.errors import UserError
from vla.model.action_space import ActionCodec, chunk_action_stats, delta_to_pose
from vla.model.configuration import VLAConfig, get_preset
from vla.model.grounding import point_errors_px
from vla.model.modeling import VLAModel
from vla.model.processing import Normalizer
from vla.train.logs import MetricsLog, plot_curves
from vla.train.schedule import CosineSchedule
from vla.train.state import STATE_JSON, load_training_state, save_training_state

KEEP_CHECKPOINTS = 2
PRECISIONS = ("auto", "bf16", "fp32")


def cpu_has_native_bf16() -> bool:
    """True where the CPU multiplies bf16 in hardware (AVX512-BF16 or AMX); elsewhere bf16 autocast is emulated
    and slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(f in flags for f in ("avx512_bf16", "amx_bf16"))


def resolve_precision(precision: str, cuda: bool) -> str:
    """`auto` -> bf16 autocast where the hardware does bf16 natively (2.1x faster cpu-preset steps on this
    machine's AVX512-BF16 CPU), else fp32. Weights, optimizer state and checkpoints stay fp32 either way."""
    if precision not in PRECISIONS:
        raise UserError(f"--precision must be one of {', '.join(PRECISIONS)} (got {precision!r})")
    if precision != "auto":
        return precision
    native = torch.cuda.is_bf16_supported() if cuda else cpu_has_native_bf16()
    return "bf16" if native else "fp32"


def resolve_config(cfg: VLAConfig, store) -> VLAConfig:
    """Fill the dataset-dependent fields of a preset (`store` already in the config's action space)."""
    layout = {"arm": [0, 6]}
    meta = Path(store.root) / "meta" / "vla_collection.json"
    if meta.is_file():
        layout = {k: v["slice"] for k, v in json.loads(meta.read_text())["action"].items()}
    if cfg.action_space == "pose":  # the arm's 6 delta dims [0, 6) became 9 pose dims; the tool's slice moves by 3
        layout = {("arm_ee_pose" if [a, b] == [0, 6] else k): ([0, 9] if [a, b] == [0, 6] else [a + 3, b + 3])
                  for k, (a, b) in layout.items()}
    cfg = cfg.replace(cameras=tuple(store.cameras), state_dim=int(store.state.shape[1]),
                      state_names=tuple(store.state_names),
                      action_dim=int(store.action.shape[1]), action_names=tuple(store.action_names),
                      action_layout=layout, n_targets=int(store.points.shape[2]), fps=int(store.fps),
                      source_image_size=int(store.source_image_size))
    cfg.validate()
    return cfg


def _ema_fn(decay: float):
    """EMA with warm-up (as diffusers' EMAModel): early checkpoints are not dominated by the initial weights."""

    @torch.no_grad()
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], num_averaged) -> None:
        n = int(num_averaged)
        d = min(decay, (1 + n) / (10 + n))
        torch._foreach_lerp_(averaged, current, 1 - d)

    return update


def in_action_space(store, space: str):
    """The store with its recorded actions turned into the config's action space (see action_space.py)."""
    if space == "delta":
        return store
    pose, names = delta_to_pose(store.state.numpy(), store.action.numpy(), store.state_names, store.action_names)
    return dataclasses.replace(store, action=torch.from_numpy(pose), action_names=names, _stats=None)


def make_normalizer(store, cfg: VLAConfig, codec: ActionCodec) -> Normalizer:
    """State stats per frame; action min-max over the head's targets (chunk-relative in the pose space)."""
    stats = store.stats()
    stats["action"] = chunk_action_stats(store.action, store.state, store.ep_end, cfg.chunk, codec)
    return Normalizer.from_stats(stats)


def _normalize(batch: dict, norm: Normalizer, codec: ActionCodec) -> dict:
    out = dict(batch)
    out["state"] = norm.state(batch["state"])
    out["action"] = norm.action(codec.to_model(batch["action"], batch["state"]))
    return out


def _checkpoints(run: Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first (a folder is renamed into place only when complete)."""
    folder = run / "checkpoints"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("step_*")
                  if not p.name.endswith((".tmp", ".old")) and (p / CONFIG).is_file() and (p / STATE_JSON).is_file())


MISREAD_PX = 15.0  # at 128 px: blocks stand >= 12 cm apart, 25-45 px in the scene camera; a grasp's own error is < 12


@torch.no_grad()
def start_grounding(model: VLAModel, data, starts: torch.Tensor, norm: Normalizer, codec: ActionCodec,
                    batch: int = 32, target: int = 0) -> dict[str, float]:
    """Did the policy read the instruction? On each episode's first frame (before any motion gives the target
    away), the pixel error of the grounding point of `target` (default 0, the object the task acts on first),
    per camera where it is in view. In scenes with a look-alike distractor an error over MISREAD_PX means the
    point sits on another object: `start_misread_share` is the share of such (episode, camera) pairs."""
    if model.grounding is None or len(starts) == 0:
        return {}
    size, device, was_training = model.cfg.source_image_size, next(model.parameters()).device, model.training
    model.eval()  # no shift augmentation
    errs = []
    for part in starts.split(batch):
        b = _normalize(data.get_batch(part), norm, codec)
        b = {k: v.to(device) if torch.is_tensor(v) else v for k, v in b.items()}
        pred = model.ground_last(b)
        true, valid = b["points"][:, -1, :, target].clamp(0, 1), b["points_valid"][:, -1, :, target]
        errs.append(point_errors_px(pred["points"][:, :, target], true, valid, size))
    model.train(was_training)
    e = torch.cat(errs)
    if not len(e):
        return {}
    return {"start_point_err_px_median": float(e.median()), "start_misread_share": float((e > MISREAD_PX).float().mean())}


@torch.no_grad()
def validate(model: VLAModel, data, idx: torch.Tensor, norm: Normalizer, cfg: VLAConfig,
             codec: ActionCodec, starts: torch.Tensor | None = None) -> dict[str, float]:
    """Held-out episodes: action loss and grounding pixel errors (at the labels' source resolution); with
    `starts` (episodes' first frames) also start_grounding's instruction-reading check."""
    model.eval()
    metrics: dict[str, list[float]] = {}
    errors: list[torch.Tensor] = []
    per_cam: dict[str, list[torch.Tensor]] = {cam: [] for cam in cfg.cameras}
    device = next(model.parameters()).device  # the EMA copy lives where training runs (a GPU, say)
    for chunk in idx.split(cfg.batch_windows):
        batch = _normalize(data.get_batch(chunk), norm, codec)
        batch = {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
        _, m = model.compute_loss(batch)
        for k, v in m.items():
            metrics.setdefault(k, []).append(float(v))
        if model.grounding is not None:
            pred = model.ground_last(batch)
            target, valid = batch["points"][:, -1].clamp(0, 1), batch["points_valid"][:, -1]
            errors.append(point_errors_px(pred["points"], target, valid, cfg.source_image_size))
            for ci, cam in enumerate(cfg.cameras):
                per_cam[cam].append(point_errors_px(pred["points"][:, ci], target[:, ci], valid[:, ci],
                                                    cfg.source_image_size))
    model.train()
    out = {k: float(np.mean(v)) for k, v in metrics.items()}
    if errors:
        e = torch.cat(errors)
        out["point_err_px_median"] = float(e.median()) if len(e) else float("nan")
        out["point_err_px_mean"] = float(e.mean()) if len(e) else float("nan")
        for cam, errs in per_cam.items():
            e = torch.cat(errs)
            out[f"point_err_px_median_{cam}"] = float(e.median()) if len(e) else float("nan")
    if starts is not None:
        out.update(start_grounding(model, data, starts, norm, codec))
    return out


def train(config: str, dataset: str | Path | list[str | Path], out: str | Path, *, steps: int | None = None, minutes: float | None = None,
          overrides: dict[str, Any] | None = None, save_every: int = 500, log_every: int = 20,
          val_fraction: float = 0.1, val_windows: int = 64, progress: bool = True,
          stop_after: int | None = None, tasks: list[str] | None = None, precision: str = "auto") -> dict[str, Any]:
    """Train (or resume) a run folder on all episodes of `dataset` (one folder or a list, trained as one), or on
    those of the suite `tasks` given.
    `stop_after` ends this call early at that step (tests use it). `precision`: see resolve_precision; a
    resumed run keeps the precision it started with."""
    from accelerate import Accelerator

    from vla.train.data import EpisodeStore, WindowDataset, WindowSpec, train_val_split

    out = Path(out)
    existing = _checkpoints(out)
    if out.exists() and any(out.iterdir()) and not existing and not (out / "run.json").is_file():
        raise UserError(f"output folder {out} exists and holds no training run: choose a new path")
    if existing:  # resume: the run's own config wins; a different --config is a mistake
        cfg, _ = read_config(existing[-1])
        if config not in (cfg.preset, "resume"):
            raise UserError(f"{out} is a run of config {cfg.preset!r}; resume it with --config {cfg.preset} or use a new --out")
        for key, value in (overrides or {}).items():
            if getattr(cfg, key, None) != value:
                raise UserError(f"{out} was trained with {key}={getattr(cfg, key, None)!r}; a resumed run keeps its "
                                f"config (asked for {key}={value!r}): use a new --out")
        if steps is not None:
            cfg = cfg.replace(steps=steps)
    else:
        cfg = get_preset(config, **(overrides or {}))
        if steps is not None:
            cfg = cfg.replace(steps=steps)

    from accelerate.utils import DistributedDataParallelKwargs

    # parameters without a gradient in some steps: a HF tower's unused heads, the action head during grounding pre-training
    ddp = DistributedDataParallelKwargs(find_unused_parameters=cfg.vision_backbone == "hf" or cfg.grounding_pretrain_steps > 0)
    if existing and (out / "run.json").is_file():
        precision = json.loads((out / "run.json").read_text()).get("precision", "fp32")
    precision = resolve_precision(precision, torch.cuda.is_available())
    accelerator = Accelerator(cpu=not torch.cuda.is_available(), kwargs_handlers=[ddp])
    main = accelerator.is_main_process
    roots = [Path(d) for d in dataset] if isinstance(dataset, (list, tuple)) else [Path(dataset)]
    dataset = ",".join(map(str, roots))
    store = EpisodeStore.load_many(roots, image_size=cfg.image_size, progress=progress and accelerator.is_main_process)
    store = in_action_space(store, cfg.action_space)
    if not existing:
        cfg = resolve_config(cfg, store)
    codec = ActionCodec.for_config(cfg.action_space, cfg.state_names)
    data = WindowDataset(store, WindowSpec.for_config(cfg))
    train_eps, val_eps = train_val_split(store, val_fraction, seed=cfg.seed)
    if existing and (out / "run.json").is_file():
        tasks = json.loads((out / "run.json").read_text()).get("tasks") or None
    if tasks:
        known = sorted(set(store.task_name))
        unknown = [t for t in tasks if t not in known]
        if unknown:
            raise UserError(f"task {unknown[0]!r} is not in {dataset}: its tasks are {', '.join(known)}")
        name_of = dict(zip((int(e) for e in store.episodes), store.task_name))
        train_eps = [e for e in train_eps if name_of[int(e)] in tasks]
        val_eps = [e for e in val_eps if name_of[int(e)] in tasks]
    ep_of_frame = store.episode_index
    train_idx = torch.nonzero(torch.isin(ep_of_frame, torch.as_tensor(train_eps))).flatten()
    val_all = torch.nonzero(torch.isin(ep_of_frame, torch.as_tensor(val_eps))).flatten()
    val_idx = val_all[torch.randperm(len(val_all), generator=torch.Generator().manual_seed(0))[:val_windows]]
    val_starts = torch.unique(store.ep_start[val_all])
    pretrain_idx = train_idx[store.frame_index[train_idx] < cfg.grounding_pretrain_frames]
    if len(train_idx) == 0:
        raise UserError(f"dataset {dataset} has no training frames after holding out validation episodes")

    torch.manual_seed(cfg.seed + accelerator.process_index)
    model = VLAModel(cfg)
    if existing and (existing[-1] / TEXT).is_file():  # a resumed run knows its instructions: no sentence encoder
        model.text.load(read_config(existing[-1])[1].get("texts", []), load_file(str(existing[-1] / TEXT))["table"])
    model.fit_text(sorted(set(store.task)))
    norm = make_normalizer(store, cfg, codec)
    ema = torch.optim.swa_utils.AveragedModel(model, device=accelerator.device, multi_avg_fn=_ema_fn(cfg.ema_decay))
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    schedule = CosineSchedule(cfg.warmup_steps, cfg.steps)
    # through a lambda: LambdaLR would save a callable object's fields and a resume would keep the old --steps
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: schedule(i))
    data_rng = torch.Generator().manual_seed(cfg.seed * 1000 + accelerator.process_index)

    out.mkdir(parents=True, exist_ok=True)
    start = 0
    if existing:
        norm = Normalizer(load_file(str(existing[-1] / NORM)))
        doc = load_training_state(existing[-1], model=model, ema=ema, optimizer=optimizer, scheduler=scheduler,
                                  data_rng=data_rng)
        start, elapsed_before = int(doc["step"]), float(doc.get("train_seconds", 0.0))
        if accelerator.num_processes > 1:  # only rank 0's generators were saved: give each rank its own stream
            data_rng.manual_seed(cfg.seed * 1000 + accelerator.process_index + 7919 * start)
            torch.manual_seed(cfg.seed + accelerator.process_index + 7919 * start)
    else:
        elapsed_before = 0.0
    run_doc_path = out / "run.json"
    model, optimizer = accelerator.prepare(model, optimizer)
    raw = accelerator.unwrap_model(model)
    ema_model = ema.module

    train_log = MetricsLog(out / "metrics.csv", tensorboard="train" if main else None, enabled=main)
    val_log = MetricsLog(out / "val.csv", tensorboard="val" if main else None, enabled=main)
    train_log.truncate(start)
    val_log.truncate(start)
    run_doc = {"config": cfg.preset, "dataset": str(dataset), "tasks": list(tasks or []), "train_episodes": [int(e) for e in train_eps],
               "val_episodes": [int(e) for e in val_eps], "frames": int(len(store.action)),
               "torch_threads": torch.get_num_threads(), "device": str(accelerator.device),
               "processes": accelerator.num_processes, "precision": precision}
    if existing and main:
        print(f"resumed {out} from step {start}", flush=True)

    def checkpoint(step: int, seconds: float) -> None:
        if not accelerator.is_main_process:
            return
        folder = out / "checkpoints" / f"step_{step:07d}"
        ema_model.text.load(raw.text.texts, raw.text.table)

        def state(tmp: Path) -> None:
            save_training_state(tmp, model=raw, ema=ema, optimizer=optimizer, scheduler=scheduler, step=step,
                                data_rng=data_rng, extra={"train_seconds": seconds})

        save_checkpoint(folder, ema_model, norm, meta={"step": step, "train_seconds": seconds, "dataset": str(dataset)},
                        extra=state)
        (out / "checkpoints" / "last.tmp").write_text(folder.name)
        (out / "checkpoints" / "last.tmp").replace(out / "checkpoints" / "last")
        for old in _checkpoints(out)[:-KEEP_CHECKPOINTS]:
            shutil.rmtree(old, ignore_errors=True)
        with torch.random.fork_rng(devices=[]):  # validation must not shift the training random stream
            vm = validate(ema_model, data, val_idx, norm, cfg, codec, val_starts) if len(val_idx) else {}
        val_log.log({"step": step, **vm})
        plot_curves(train_log, val_log, out / "loss.png")
        run_doc.update(step=step, train_seconds=seconds, last_val=vm)
        run_doc_path.write_text(json.dumps(run_doc, indent=1))

    if not existing and main:
        run_doc_path.write_text(json.dumps(run_doc, indent=1))
    t0 = time.monotonic()
    last_log, last_t = start, t0
    end = min(cfg.steps, stop_after) if stop_after is not None else cfg.steps
    bar = tqdm(total=cfg.steps, initial=start, desc=f"train {cfg.preset}", unit="step",
               disable=not (progress and main))
    step = start
    model.train()
    while step < end:
        pretraining = step < cfg.grounding_pretrain_steps and len(pretrain_idx) > 0
        pool, size = (pretrain_idx, cfg.grounding_pretrain_windows) if pretraining else (train_idx, cfg.batch_windows)
        idx = pool[torch.randint(len(pool), (size,), generator=data_rng)]
        batch = _normalize(data.get_batch(idx), norm, codec)
        batch = {k: v.to(accelerator.device) if torch.is_tensor(v) else v for k, v in batch.items()}
        # torch.autocast rather than Accelerator(mixed_precision=...): accelerate's process-wide state refuses a
        # second run with another precision in one process (tests, ablations). Losses and weights stay fp32.
        with torch.autocast(accelerator.device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss, metrics = model(batch, grounding_only=pretraining)  # through DDP, which syncs gradients
        if not torch.isfinite(loss):
            raise RuntimeError(f"loss became {float(loss)} at step {step}: lower the learning rate")
        accelerator.backward(loss)
        if cfg.grad_clip:
            accelerator.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        seconds = elapsed_before + time.monotonic() - t0
        if minutes is not None:  # a time budget: the cosine reaches zero when the time is spent
            schedule.time_fraction = seconds / (minutes * 60)
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        ema.update_parameters(raw)
        step += 1
        bar.update(1)
        if step % log_every == 0 or step == end:
            now = time.monotonic()
            rate = (step - last_log) * cfg.frames_per_batch / max(now - last_t, 1e-9)
            last_log, last_t = step, now
            row = {"step": step, "time_s": round(seconds, 2), "lr": scheduler.get_last_lr()[0],
                   "frames_per_s": round(rate, 1), **{k: float(v) for k, v in metrics.items()}}
            train_log.log(row)
            bar.set_postfix(loss=f"{row['loss']:.3f}", fps=f"{rate:.0f}")
        out_of_time = minutes is not None and seconds >= minutes * 60
        if accelerator.num_processes > 1:  # every rank must stop at the same step, or the others hang
            flag = torch.tensor(float(out_of_time), device=accelerator.device)
            out_of_time = bool(accelerator.reduce(flag, "max") > 0)
        if step % save_every == 0 or step == end or out_of_time:
            checkpoint(step, seconds)
        if out_of_time:
            print(f"stopped at step {step}: the {minutes} minute budget is spent", flush=True)
            break
    bar.close()
    return {"out": str(out), "step": step, "train_seconds": elapsed_before + time.monotonic() - t0,
            "config": cfg.to_dict()}
