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
DEFAULT_VIDEO_CODEC = "h264"  # see collect()
NOISE_CORRELATION = 0.8  # per control step
MAX_AFTER_SUCCESS = 100  # steps
MAX_START_FRAMES = 1000  # steps


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
            max_attempts_factor: int = 3, progress: bool = True, noise: float = 0.0,
            resume: bool = False, video_codec: str | None = None, after_success: int = 0,
            start_frames: int = 0) -> CollectionResult:
    """Record `episodes` expert episodes per task into a new LeRobot v3 dataset at `out`.

    noise > 0 (metres per step, DART-style): the env executes the expert's action plus a temporally
    correlated translation perturbation of that standard deviation, while the dataset records the expert's
    clean action. The closed-loop expert then corrects the drift it causes, so the demonstrations hold the
    recoveries a learned policy needs near objects, which perfect demonstrations never show. The plan's phase
    gates see the pose without the perturbation (Arm.nominal_pose; settings["gates"] = "nominal"), so the
    noise does not stretch the demonstration with hovering at millimetre tolerances.

    Progress (seeds kept so far, attempts) is rewritten to meta/vla_collection.json after every saved
    episode, so a killed collection loses at most the episode in flight; resume=True continues it with the
    same arguments and ends with the dataset an uninterrupted run would have written.

    after_success > 0: a successful episode goes on for up to that many more steps (still recorded) while the
    expert finishes its motion. Tasks that succeed at the release would otherwise end one frame after the
    gripper starts to open, so the release, the most decisive action of a place, would be one label in a
    demonstration and the retreat none; with the extra steps the policy sees the open-and-retreat it must do.
    Evaluation still ends an episode at its first success.

    start_frames > 0: record only the first that many steps of every attempt and keep each one (a start
    does not need the expert to succeed later). Thousands of such short episodes are cheap and show the
    policy many more layouts at the moment where only the instruction says which object is meant; their
    labels are the expert's real actions, and the chunks that would reach past the cut are masked in
    training like any episode's end (`action_pad`).

    video_codec: None = H.264 for a new dataset (a resumed one keeps its own). Not LeRobot's AV1 default:
    the SVT-AV1 encoder in PyAV 18's wheel deadlocked twice here in long collections (after about 200 and
    300 episodes; every thread waiting inside svt_av1_enc_send_picture), and a recorder must not hang."""
    from vla_data.writer import LeRobotDatasetWriter
    from vla_sim import registry

    if episodes < 1:
        raise UserError(f"--episodes must be at least 1 (got {episodes})")
    if not 0.0 <= noise <= MAX_NOISE:
        raise UserError(f"--noise must be in [0, {MAX_NOISE}] m per step (got {noise})")
    if max_attempts_factor < 1:
        raise UserError(f"--max-attempts must be at least 1 (got {max_attempts_factor})")
    if not 0 <= after_success <= MAX_AFTER_SUCCESS:
        raise UserError(f"--after-success must be in [0, {MAX_AFTER_SUCCESS}] steps (got {after_success})")
    if not 0 <= start_frames <= MAX_START_FRAMES:
        raise UserError(f"--start-frames must be in [0, {MAX_START_FRAMES}] steps (got {start_frames})")
    if start_frames and after_success:
        raise UserError("--start-frames and --after-success cannot be combined: a start ends before any success")
    if render_mode not in ("fast", "default"):
        raise UserError(f"unknown render mode {render_mode!r}: valid are fast, default")
    task_names = registry.resolve_tasks(suite, tasks)
    registry.require_experts(suite, task_names)
    out = Path(out)
    settings = {"suite": suite, "tasks": task_names, "episodes_per_task": episodes, "seed": seed,
                "render_mode": render_mode, "image_size": image_size, "noise": noise, "keep_failures": keep_failures}
    if noise:  # noisy collections written before plans gated on the nominal pose resume only with older code
        settings["gates"] = "nominal"
    if after_success:  # only when used: collections written before the option resume as before
        settings["after_success"] = after_success
    if start_frames:
        settings["start_frames"] = start_frames
    prior = _prior_progress(out, settings) if resume else None
    if prior is None and out.exists() and any(out.iterdir()):
        raise UserError(f"output folder {out} exists and is not empty: choose a new path, or --resume an "
                        f"interrupted collection (nothing was written)")

    result = CollectionResult(root=out)
    writer = None
    seeds: dict[str, list[int]] = {t: list(v) for t, v in (prior or {}).get("seeds", {}).items()}
    result.attempts.update((prior or {}).get("attempts", {}))
    result.successes.update((prior or {}).get("successes", {}))
    bar = tqdm(total=episodes * len(task_names), initial=sum(map(len, seeds.values())), desc=f"collect {suite}",
               unit="ep", disable=not progress)
    progress_path = out / "meta" / "vla_collection.json"
    meta: dict = {}

    def record(pending: dict | None = None, complete: bool = False) -> None:
        doc = dict(meta, seeds=seeds, attempts=result.attempts, successes=result.successes, pending=pending,
                   complete=complete)
        tmp = progress_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=2))
        tmp.replace(progress_path)

    try:
        for t_idx, task in enumerate(task_names):
            saved, attempt = len(seeds.get(task, [])), int(result.attempts.get(task, 0))
            if saved >= episodes:
                continue
            env = registry.make_env(suite, task, render_mode=render_mode, image_size=image_size)
            expert = registry.make_expert(suite, task)
            if writer is None:
                env.reset(seed=seed)  # grounding shapes are known after a reset
                started = prior is not None and (out / "meta" / "info.json").is_file()
                codec = video_codec or (None if started else DEFAULT_VIDEO_CODEC)
                writer = LeRobotDatasetWriter(out, fps=env.metadata["render_fps"], features=dataset_features(env),
                                              robot_type=env.robot_type, resume=prior is not None,
                                              video_codec=codec)
                meta = dict(settings, action=_layout(env.action_names), state=list(env.state_names))
                _reconcile(writer, seeds, prior, result)
            seeds.setdefault(task, [])
            meta.setdefault("grounding_labels", {})[task] = getattr(env.task, "grounding_labels", "target_bodies")
            saved, attempt = len(seeds[task]), int(result.attempts.get(task, 0))  # as reconciled
            while saved < episodes and attempt < episodes * max_attempts_factor:
                ep_seed = seed + SEED_STRIDE * t_idx + attempt
                ok, n = _run_episode(env, expert, writer, ep_seed, noise, after_success, start_frames)
                attempt += 1  # counted once finished: an interrupted attempt runs again on resume
                result.attempts[task] = attempt
                result.successes[task] = result.successes.get(task, 0) + int(ok)
                if ok or keep_failures or start_frames:
                    record(pending={"task": task, "seed": ep_seed})  # a crash inside the save stays resolvable
                    writer.save_episode()
                    saved += 1
                    result.frames += n
                    seeds[task].append(ep_seed)
                    bar.update(1)
                else:
                    writer.clear_episode()
                record()
            env.close()
            if saved < episodes:
                raise CollectionError(f"expert for {suite}/{task} succeeded in only {saved} of {attempt} attempts")
    finally:
        bar.close()
        if writer is not None:
            writer.finalize()
            record(complete=all(len(seeds.get(t, [])) >= episodes for t in task_names))
    result.episodes = sum(len(s) for s in seeds.values())
    return result


def _prior_progress(out: Path, settings: dict) -> dict:
    """The progress of an interrupted collection at `out`, checked against this call's settings."""
    path = out / "meta" / "vla_collection.json"
    try:
        prior = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise UserError(f"--resume: {path} is missing or unreadable ({e}); only a collection started by this "
                        f"version can be resumed") from None
    differ = [k for k, v in settings.items() if k != "episodes_per_task" and prior.get(k) != v]
    if differ:
        k = differ[0]
        raise UserError(f"--resume: {k} was {prior.get(k)!r} in the interrupted collection, not {settings[k]!r}: "
                        f"resume with the same arguments")
    return prior


def _reconcile(writer, seeds: dict[str, list[int]], prior: dict | None, result: CollectionResult) -> None:
    """A crash while saving an episode leaves it either saved but unrecorded (one more episode than recorded
    seeds: record it) or not saved (run its seed again, as an uninterrupted collection would have kept it)."""
    recorded = sum(map(len, seeds.values()))
    pending = (prior or {}).get("pending")
    if pending and writer.num_episodes == recorded + 1:
        seeds.setdefault(pending["task"], []).append(int(pending["seed"]))
    elif pending and writer.num_episodes == recorded:
        result.attempts[pending["task"]] -= 1
        result.successes[pending["task"]] -= 1
    elif writer.num_episodes != recorded:
        raise CollectionError(f"--resume: the dataset holds {writer.num_episodes} episodes but the progress file "
                              f"records {recorded}; it cannot be resumed safely")


def _run_episode(env, expert, writer, ep_seed: int, noise: float = 0.0, after_success: int = 0,
                 start_frames: int = 0) -> tuple[bool, int]:
    """One expert episode into the writer's buffer -> (succeeded, frames). It ends at truncation, or
    `after_success` steps after the first success (at once with 0), or after `start_frames` steps (if > 0)."""
    obs, info = env.reset(seed=ep_seed)
    expert.reset(env)
    rng = np.random.default_rng([ep_seed, 1])  # its own stream: noise never changes the scene of a seed
    perturb = np.zeros(3)
    n, success, extra = 0, False, -1  # extra: steps recorded since the first success (-1 before it)
    tell = getattr(expert, "set_perturbation", None) if noise > 0 else None
    while True:
        if tell is not None:
            tell(perturb)  # the plan's gates decide on the pose without it (Arm.nominal_pose)
        action = expert.act(env)
        frame = {k: v for k, v in obs.items() if k != "task"}
        frame.update(info["grounding"])
        frame["action"] = np.asarray(action, np.float32)
        executed = np.array(action, np.float32)
        if noise > 0:  # AR(1) with stationary standard deviation `noise`: it displaces the arm, not just jitters
            perturb = NOISE_CORRELATION * perturb + rng.normal(0.0, noise, 3) * np.sqrt(1 - NOISE_CORRELATION ** 2)
            executed[:3] += perturb.astype(np.float32)
        obs, _, terminated, truncated, info = env.step(executed)
        step_success = bool(info["success"])
        success = success or step_success
        extra = extra + 1 if success else -1
        last = truncated or (success and extra >= after_success) or n + 1 == start_frames
        frame["next.success"] = np.array([step_success])
        frame["next.done"] = np.array([last])
        writer.add_frame(frame, task=env.instruction)
        n += 1
        if last:
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
