"""VLA policy benchmarks: act() latency (p50/p99) and training throughput (samples/s) with peak memory, per
preset, with memory and grounding on. Weights are random (timing does not depend on them); shapes are the
tabletop suite's (two 128x128 cameras, 16 state values, 7 action values, 2 grounding targets).

    python bench/policy_bench.py latency --threads 2 --out bench/results/policy_latency.json
    python bench/policy_bench.py train --threads 2 --out bench/results/train_throughput.json

Each preset runs in its own subprocess so that peak memory (ru_maxrss; on a GPU also the CUDA allocator's
peak) is per preset. `--device cuda` times on a GPU (synchronized before each clock read). The instruction
embedding is a random unit vector: act() never runs the sentence encoder for a known instruction, and
timing depends on neither it nor the weights, so the benchmark needs no MiniLM files.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

DIMS = dict(cameras=("scene", "wrist"), state_dim=16, action_dim=7, n_targets=2,
            action_layout={"arm_ee_delta": [0, 6], "gripper": [6, 7]})
TASK = "pick the red block that is left of the blue block"


def _model(preset: str, overrides: dict):
    import torch

    from vla.model.configuration import get_preset
    from vla.model.modeling import VLAModel

    torch.manual_seed(0)
    return VLAModel(get_preset(preset, **DIMS, **overrides))


def _known_instructions(model, texts: list[str]) -> None:
    import torch

    table = torch.nn.functional.normalize(torch.randn(len(texts), model.text.dim), dim=-1)
    model.text.load(texts, table)


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _latency(preset: str, overrides: dict, calls: int, device: str) -> dict:
    import torch

    from vla.model.policy import VLAPolicy
    from vla.model.processing import Normalizer

    model = _model(preset, overrides)
    _known_instructions(model, [TASK])
    cfg = model.cfg
    norm = Normalizer({"state_mean": torch.zeros(16), "state_std": torch.ones(16),
                       "action_min": -torch.ones(7), "action_max": torch.ones(7)})
    policy = VLAPolicy(model, norm, device=device)
    rng = np.random.default_rng(0)
    times = []
    for k in range(calls + 5):
        obs = {f"observation.images.{c}": rng.integers(0, 256, (1, 128, 128, 3), dtype=np.uint8) for c in cfg.cameras}
        obs.update({"observation.state": rng.normal(size=(1, 16)).astype(np.float32), "task": [TASK],
                    "frame_index": np.array([k * cfg.n_action_steps])})
        _sync(device)
        t0 = time.perf_counter()
        policy.act(obs)
        _sync(device)
        if k >= 5:  # warm-up calls fill the history cache
            times.append((time.perf_counter() - t0) * 1e3)
    return {"p50_ms": float(np.percentile(times, 50)), "p99_ms": float(np.percentile(times, 99)),
            "mean_ms": float(np.mean(times)), "calls": calls, "history_len": cfg.history_len,
            "head": cfg.head, "inference_steps": cfg.inference_steps,
            "params_m": sum(p.numel() for p in model.parameters()) / 1e6, **_peak(device)}


def _peak(device: str) -> dict:
    import torch

    out = {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if device.startswith("cuda"):
        out["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
        out["gpu"] = torch.cuda.get_device_name()
    return out


def _train(preset: str, overrides: dict, steps: int, device: str, precision: str = "fp32") -> dict:
    import torch

    model = _model(preset, overrides).to(device)
    cfg = model.cfg
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "model"))
    from vla_model_testlib import TASKS, make_batch

    _known_instructions(model, list(TASKS))
    batch = {k: v.to(device) if torch.is_tensor(v) else v for k, v in make_batch(cfg, cfg.batch_windows, start_pad=2).items()}
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    times = []
    for k in range(steps + 1):
        _sync(device)
        t0 = time.perf_counter()
        with torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss, _ = model.compute_loss(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        _sync(device)
        if k:  # the first step allocates
            times.append(time.perf_counter() - t0)
    step_s = float(np.median(times))
    return {"step_s": step_s, "windows_per_s": cfg.batch_windows / step_s,
            "frames_per_s": cfg.frames_per_batch / step_s, "batch_windows": cfg.batch_windows,
            "history_len": cfg.history_len, "image_size": cfg.image_size, "steps": steps, "precision": precision,
            "params_m": sum(p.numel() for p in model.parameters()) / 1e6, **_peak(device)}


def _child(args) -> None:
    import torch

    torch.set_num_threads(args.threads)
    overrides = json.loads(args.overrides)
    if args.kind == "latency":
        print(json.dumps(_latency(args.preset, overrides, args.n, args.device)))
    else:
        print(json.dumps(_train(args.preset, overrides, args.n, args.device, args.precision)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", choices=["latency", "train"])
    p.add_argument("--presets", default="tiny,cpu,gpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--n", type=int, help="act() calls (latency, default 200) or train steps (default 10; gpu preset on CPU: 2)")
    p.add_argument("--variants", action="store_true", help="latency: also diffusion vs flow at several step counts (cpu preset)")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"], help="train: fp32 (default) or bf16 autocast")
    p.add_argument("--out", type=Path)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--preset", help=argparse.SUPPRESS)
    p.add_argument("--overrides", default="{}", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return _child(args)
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("error: --device cuda given but torch sees no CUDA device; valid: cpu, or cuda on a GPU machine")
    runs = [(name, {}) for name in args.presets.split(",")]
    if args.variants:
        runs += [("cpu", {"head": "diffusion", "inference_steps": 10})]
        runs += [("cpu", {"head": "flow", "inference_steps": n}) for n in (2, 5, 10)]
    results = []
    for preset, overrides in runs:
        n = args.n or (200 if args.kind == "latency" else (2 if preset == "gpu" and args.device == "cpu" else 10))
        cmd = [sys.executable, __file__, args.kind, "--child", "--preset", preset, "--threads", str(args.threads),
               "--n", str(n), "--overrides", json.dumps(overrides), "--device", args.device,
               "--precision", args.precision]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode == 0:
            row = {"preset": preset, "overrides": overrides, **json.loads(done.stdout.strip().splitlines()[-1])}
        else:  # e.g. the gpu preset's batch does not fit a CPU machine's memory: record it, go on
            reason = f"killed by signal {-done.returncode}" if done.returncode < 0 else done.stderr.strip()[-300:]
            row = {"preset": preset, "overrides": overrides, "error": reason, "steps": n}
        print(json.dumps(row))
        results.append(row)
    doc = {"benchmark": f"policy_{args.kind}", "date": date.today().isoformat(), "threads": args.threads,
           "precision": args.precision, "device": torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu",
           "machine": f"{platform.machine()} {platform.processor() or ''} ({__import__('os').cpu_count()} cpus)".strip(),
           "torch": torch.__version__, "results": results}
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
