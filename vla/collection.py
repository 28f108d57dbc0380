"""Scripted data collection: run a suite's experts in simulation and record a LeRobot-format dataset.

Only successful episodes are kept (unless asked otherwise); a failed attempt is retried with the
next seed. Episode seeds are `seed + 1000 * task_position + attempt`, recorded in
`meta/vla_collection.json` beside LeRobot's own metadata, with the action and state layout.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from vla.errors import UserError

SEED_STRIDE = 1000


class CollectionError(UserError):
    """The scripted expert could not produce the requested episodes (finished ones are kept)."""


@dataclass
class CollectionResult:
    root: Path
    episodes: int = 0
    frames: int = 0
    attempts: dict[str, int] = field(default_factory=dict)
    successes: dict[str, int] = field(default_factory=dict)


MAX_NOISE = 0.05  # m per step: one full control step
NOISE_CORRELATION = 0.8  # per control step


def dataset_features(env) -> dict:
    """LeRobot feature descriptions for an environment's observations, actions and labels."""
    feats: dict[str, dict] = {}
    for cam in env.cameras:
        feats[f"observation.images.{cam}"] = {"dtype": "video", "shape": [env.height, env.width, 3],
                                             "names": ["height", "width", "channels"]}
    feats["observation.state"] = {"dtype": "float32", "shape": [len(env.state_names)],
                                  "names": list(env.state_names)}
    feats["action"] = {"dtype": "float32", "shape": [len(env.action_names)], "names": list(env.action_names)}
    for key, value in env.grounding().items():
        names = {"target_points": ["u", "v"], "target_boxes": ["u_min", "v_min", "u_max", "v_max"],
                 "ee_point": ["u", "v"]}[key.rsplit(".", 1)[1]]
        feats[key] = {"dtype": "float32", "shape": list(value.shape), "names": names}
    feats["next.success"] = {"dtype": "bool", "shape": [1], "names": None}
    feats["next.done"] = {"dtype": "bool", "shape": [1], "names": None}
    return feats


def collect(suite: str, tasks: list[str] | None, episodes: int, out: str | Path, *, seed: int = 0,
            render_mode: str = "fast", image_size: int = 128, keep_failures: bool = False,
            max_attempts_factor: int = 3, progress: bool = True, noise: float = 0.0) -> CollectionResult:
    """Record `episodes` expert episodes per task into a new LeRobot v3 dataset at `out`.

    noise > 0 (metres per step, DART-style): the env executes the expert's action plus a temporally
    correlated translation perturbation of that standard deviation, while the dataset records the expert's
    clean action. The closed-loop expert then corrects the drift it causes, so the demonstrations hold the
    recoveries a learned policy needs near objects, which perfect demonstrations never show."""
    from vla_data.writer import LeRobotDatasetWriter
    from vla_sim import registry

    if episodes < 1:
        raise UserError(f"--episodes must be at least 1 (got {episodes})")
    if not 0.0 <= noise <= MAX_NOISE:
        raise UserError(f"--noise must be in [0, {MAX_NOISE}] m per step (got {noise})")
    if render_mode not in ("fast", "default"):
        raise UserError(f"unknown render mode {render_mode!r}: valid are fast, default")
    task_names = registry.resolve_tasks(suite, tasks)
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"output folder {out} exists and is not empty: choose a new path (nothing was written)")

    result = CollectionResult(root=out)
    writer = None
    bar = tqdm(total=episodes * len(task_names), desc=f"collect {suite}", unit="ep", disable=not progress)
    seeds: dict[str, list[int]] = {}
    try:
        for t_idx, task in enumerate(task_names):
            env = registry.make_env(suite, task, render_mode=render_mode, image_size=image_size)
            expert = registry.make_expert(suite, task)
            if writer is None:
                env.reset(seed=seed)  # grounding shapes are known after a reset
                writer = LeRobotDatasetWriter(out, fps=env.metadata["render_fps"], features=dataset_features(env),
                                              robot_type=f"panda_{env.tool.name}")
                layout = {"suite": suite, "action": _layout(env.action_names), "state": list(env.state_names),
                          "render_mode": render_mode, "image_size": image_size, "noise": noise}
            saved, attempt = 0, 0
            seeds[task] = []
            while saved < episodes and attempt < episodes * max_attempts_factor:
                ep_seed = seed + SEED_STRIDE * t_idx + attempt
                attempt += 1
                ok, n = _run_episode(env, expert, writer, ep_seed, noise)
                if ok or keep_failures:
                    writer.save_episode()
                    saved += 1
                    result.frames += n
                    seeds[task].append(ep_seed)
                    bar.update(1)
                else:
                    writer.clear_episode()
                result.successes[task] = result.successes.get(task, 0) + int(ok)
            result.attempts[task] = attempt
            env.close()
            if saved < episodes:
                raise CollectionError(f"expert for {suite}/{task} succeeded in only {saved} of {attempt} attempts")
    finally:
        bar.close()
        if writer is not None:
            writer.finalize()
            meta = dict(layout, seeds=seeds, attempts=result.attempts, successes=result.successes)
            (out / "meta" / "vla_collection.json").write_text(json.dumps(meta, indent=2))
    result.episodes = sum(len(s) for s in seeds.values())
    return result


def _run_episode(env, expert, writer, ep_seed: int, noise: float = 0.0) -> tuple[bool, int]:
    obs, info = env.reset(seed=ep_seed)
    expert.reset(env)
    rng = np.random.default_rng([ep_seed, 1])  # its own stream: noise never changes the scene of a seed
    perturb = np.zeros(3)
    n, success = 0, False
    while True:
        action = expert.act(env)
        frame = {k: v for k, v in obs.items() if k != "task"}
        frame.update(info["grounding"])
        frame["action"] = np.asarray(action, np.float32)
        executed = np.array(action, np.float32)
        if noise > 0:  # AR(1) with stationary standard deviation `noise`: it displaces the arm, not just jitters
            perturb = NOISE_CORRELATION * perturb + rng.normal(0.0, noise, 3) * np.sqrt(1 - NOISE_CORRELATION ** 2)
            executed[:3] += perturb.astype(np.float32)
        obs, _, terminated, truncated, info = env.step(executed)
        success = bool(info["success"])
        frame["next.success"] = np.array([success])
        frame["next.done"] = np.array([terminated or truncated])
        writer.add_frame(frame, task=env.instruction)
        n += 1
        if terminated or truncated:
            return success, n


def _layout(names) -> dict:
    """Which slice of the action vector is what, with units and frames (see docs/SIM.md)."""
    names = list(names)
    layout = {"arm_ee_delta": {"slice": [0, 6], "units": "m (0:3), rad axis-angle (3:6)",
                               "frame": "world, relative to the measured end-effector pose"}}
    if names[6:] == ["gripper"]:
        layout["gripper"] = {"slice": [6, 7], "units": "-1 open .. +1 closed"}
    else:
        layout["hand"] = {"slice": [6, len(names)], "units": "rad, absolute joint positions"}
    return layout
