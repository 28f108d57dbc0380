"""Closed-loop evaluation of a policy on simulated tasks: success rates, intervals, videos, a plot.

For each task, `num_envs` environments run in lockstep in this process. Every step, if any running row's
executor needs a chunk, the policy gets ONE batched `act` call with just those rows, named by the
observation's `rows` key (row b is always env b, so a history-caching policy keeps per-row state). The
`ChunkExecutor` then gives every running row its action. Rows finish at different times and restart
on their own with the next episode's seed until exactly `episodes` episodes are done.

Seeds: episode k of the task at position j *in its suite* is `seed + 1000 * j + k`, so a task gets the
same episodes whether it is evaluated alone or with its whole suite; the default base (100000) keeps
evaluation away from the small seeds used for data collection. Suites with official initial states
(LIBERO) start episode k from state k (`reset(options={"init_state": k})`): `episodes` can be at most their
number, so every episode starts from a distinct state; the seed then only draws what the state leaves open.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from tqdm import tqdm

from vla.errors import UserError
from vla.eval import report
from vla.policy import Policy
from vla.runtime import EXECUTOR_MODES, ChunkExecutor, ExecutorSettings, resolve_executor

SEED_STRIDE = 1000
RENDER_MODES = ("fast", "default")
PolicyFactory = Callable[[Sequence[Any]], Policy]  # the task's envs -> a policy with one row per env


def check_executor(executor_mode: str | None, ensemble_horizon: int | None,
                   ensemble_newest: Sequence[str] | None = None) -> None:
    """executor_mode None: the policy's own, resolved (and checked again) once the policy is built."""
    if executor_mode is None:
        if ensemble_horizon is not None and ensemble_horizon < 1:
            raise UserError(f"--ensemble-horizon must be at least 1 (got {ensemble_horizon})")
        return
    if executor_mode not in EXECUTOR_MODES:
        raise UserError(f"unknown executor {executor_mode!r}: valid are {', '.join(EXECUTOR_MODES)}")
    if ensemble_newest and executor_mode != "ensemble":
        raise UserError(f"--ensemble-newest needs --executor ensemble (the executor is {executor_mode})")
    if ensemble_horizon is not None and (ensemble_horizon < 1 or executor_mode != "ensemble"):
        raise UserError(f"--ensemble-horizon must be at least 1 and needs --executor ensemble (got {ensemble_horizon} "
                        f"with executor {executor_mode})")


def check_eval_args(suite: str, tasks: Sequence[str] | None, episodes: int, out: str | Path, *, num_envs: int = 8,
                    videos: int = 2, executor_mode: str | None = None, render_mode: str | None = "fast",
                    image_size: int = 128, max_steps: int | None = None,
                    ensemble_horizon: int | None = None, ensemble_newest: Sequence[str] | None = None) -> list[str]:
    """Validate evaluation settings without side effects; returns the task names. Raises UserError."""
    from vla_sim import registry

    task_names = list(dict.fromkeys(registry.resolve_tasks(suite, list(tasks) if tasks else None)))  # no repeats
    if episodes < 1:
        raise UserError(f"--episodes must be at least 1 (got {episodes})")
    if num_envs < 1:
        raise UserError(f"--num-envs must be at least 1 (got {num_envs})")
    if videos < 0:
        raise UserError(f"--videos must be 0 or more (got {videos})")
    check_executor(executor_mode, ensemble_horizon, ensemble_newest)
    if render_mode is not None and render_mode not in RENDER_MODES:
        raise UserError(f"unknown render mode {render_mode!r}: valid are {', '.join(RENDER_MODES)}")
    if render_mode is None and videos:
        raise UserError("videos need cameras: use render mode fast or default, or 0 videos")
    if image_size < 16:
        raise UserError(f"--image-size must be at least 16 (got {image_size})")
    if max_steps is not None and max_steps < 1:
        raise UserError(f"--max-steps must be at least 1 (got {max_steps})")
    states = registry.official_initial_states(suite)
    if states is not None and episodes > states:
        raise UserError(f"--episodes {episodes} is more than the {states} official initial states of {suite}'s "
                        f"tasks: use at most {states} (each episode starts from its own state)")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"output folder {out} exists and is not empty: choose a new path (nothing was written)")
    return task_names


def evaluate(policy: PolicyFactory | Policy | str, suite: str, tasks: Sequence[str] | None, episodes: int,
             out: str | Path, *, num_envs: int = 8, seed: int = 100_000, render_mode: str | None = "fast",
             image_size: int = 128, videos: int = 2, executor_mode: str | None = None, ensemble_decay: float = 0.01,
             ensemble_horizon: int | None = None, ensemble_newest: Sequence[str] | None = None,
             max_steps: int | None = None, policy_name: str | None = None,
             progress: bool = True) -> dict[str, Any]:
    """Evaluate `policy` for `episodes` episodes on each task; write OUT/eval.json, success.png, videos/.

    policy: "scripted" (the privileged scripted experts), a Policy (reused for every task; must accept
    batches of min(num_envs, episodes) rows), or a factory called per task with that task's envs.
    render_mode None turns cameras off (state-only policies such as "scripted", no videos).
    executor_mode None: the policy's own executor (`Policy.executor`, from its checkpoint's config), see
    `resolve_executor`; eval.json records the one used.
    max_steps: every task's episode step limit instead of its own (shorter for quick checks, longer to ask
    whether a policy is slow rather than wrong). Returns the eval.json content.
    """
    task_names = check_eval_args(suite, tasks, episodes, out, num_envs=num_envs, videos=videos,
                                 executor_mode=executor_mode, render_mode=render_mode, image_size=image_size,
                                 max_steps=max_steps, ensemble_horizon=ensemble_horizon,
                                 ensemble_newest=ensemble_newest)
    if isinstance(policy, str) and policy != "scripted":
        raise UserError(f"unknown policy {policy!r}: pass 'scripted', a Policy or a policy factory")
    from vla_sim import registry

    if isinstance(policy, str):  # "scripted": a task without an expert is named before an hour of evaluation, not at it
        registry.require_experts(suite, task_names)
    out = Path(out)  # made at the first write, so a policy that fails at its first act leaves nothing
    suite_tasks = registry.suites()[suite]
    name = policy_name or _policy_name(policy)
    t0 = time.time()
    summary: dict[str, Any] = {"suite": suite, "policy": name, "success_rate": 0.0, "episodes": 0, "tasks": {},
                               "seed": seed, "executor": executor_mode, "num_envs": min(num_envs, episodes),
                               "render_mode": render_mode, "image_size": image_size, "max_steps": max_steps,
                               "wall_s": 0.0, "complete": False}
    bar = tqdm(total=episodes * len(task_names), desc=f"eval {suite}", unit="ep", disable=not progress)
    try:
        for task in task_names:
            base = seed + SEED_STRIDE * suite_tasks.index(task)
            runner = _TaskRun(suite, task, [base + k for k in range(episodes)], min(num_envs, episodes),
                              render_mode, image_size, videos, out / "videos", max_steps, bar,
                              official_states=registry.official_initial_states(suite) is not None)
            summary["tasks"][task] = runner.run(policy, executor_mode, ensemble_decay, ensemble_horizon, ensemble_newest)
            _record_executor(summary, runner.executor, ensemble_decay)
            bar.set_postfix_str(f"{task} {summary['tasks'][task]['successes']}/{episodes}")
            # Written after every task: an evaluation cut short (hours on a CPU) keeps the tasks it finished.
            _write_summary(summary, out, episodes, t0, complete=len(summary["tasks"]) == len(task_names))
    finally:
        bar.close()
    report.plot_success(summary, out / "success.png")
    return summary


def _record_executor(summary: dict[str, Any], used: ExecutorSettings, decay: float) -> None:
    summary["executor"] = used.mode
    if used.mode == "ensemble":
        summary["ensemble_decay"], summary["ensemble_horizon"] = decay, used.horizon
        summary["ensemble_newest"] = list(used.newest)


def _write_summary(summary: dict[str, Any], out: Path, episodes: int, t0: float, complete: bool) -> None:
    """OUT/eval.json over the tasks finished so far; `complete` says whether every task asked for is in it."""
    rates = [r["success_rate"] for r in summary["tasks"].values()]
    summary.update(success_rate=float(np.mean(rates)), episodes=episodes * len(rates),
                   wall_s=round(time.time() - t0, 2), complete=complete)
    out.mkdir(parents=True, exist_ok=True)
    report.write_json(summary, out / "eval.json")


def _policy_name(policy: PolicyFactory | Policy | str) -> str:
    if isinstance(policy, str):
        return policy
    if isinstance(policy, Policy):
        return type(policy).__name__
    return getattr(policy, "__name__", "policy")


def stack_observations(obs: Sequence[dict[str, Any]], frame_index: np.ndarray,
                       rows: Sequence[int] | None = None) -> dict[str, Any]:
    """Per-env observations -> the batched dict of vla.policy (images [B,H,W,3], state, task, frame_index, rows)."""
    batch: dict[str, Any] = {k: np.stack([o[k] for o in obs]) for k in obs[0] if k != "task"}
    batch["task"] = [o["task"] for o in obs]
    batch["frame_index"] = np.asarray(frame_index, dtype=np.int64).copy()
    batch["rows"] = np.arange(len(obs)) if rows is None else np.asarray(rows, dtype=np.int64)
    return batch


def single_env_steps(env: Any, policy: Policy, seed: int, mode: str | None = None, decay: float = 0.01,
                     horizon: int | None = None, newest: Sequence[str] | None = None):
    """One env driven by a policy through the shared chunk executor, for diagnostics that look at every step.
    Yields (step, chunk or None, action) before the env executes the action; stops at success or truncation
    (read the outcome with `env.task.success(env)`). mode None: the policy's own executor, as `vla eval` runs it."""
    obs, _ = env.reset(seed=seed)
    policy.reset()
    settings = resolve_executor(policy, mode, horizon, newest)
    executor = ChunkExecutor(1, policy.n_action_steps, settings.mode, decay, settings.horizon,
                             settings.newest_dims(policy.action_layout))
    for step in range(env.task.max_steps):
        chunk = None
        if executor.needs_chunk()[0]:
            chunk = policy.act(stack_observations([obs], np.array([step])))
            executor.push([0], chunk.actions)
        action = executor.pop([0])[0]
        yield step, chunk, action
        obs, _, success, truncated, _ = env.step(action)
        if success or truncated:
            return


class _TaskRun:
    """The lockstep episode loop of one task."""

    def __init__(self, suite: str, task: str, seeds: list[int], rows: int, render_mode: str | None,
                 image_size: int, videos: int, video_dir: Path, max_steps: int | None, bar: tqdm,
                 official_states: bool = False) -> None:
        self.suite, self.task, self.seeds, self.rows = suite, task, seeds, rows
        self.official_states = official_states
        self.render_mode, self.image_size, self.videos, self.video_dir = render_mode, image_size, videos, video_dir
        self.max_steps, self.bar = max_steps, bar
        self.executor = ExecutorSettings()  # what run() used

    def run(self, policy: PolicyFactory | Policy | str, executor_mode: str | None, decay: float,
            horizon: int | None = None, newest: Sequence[str] | None = None) -> dict[str, Any]:
        from vla_sim import registry

        t0 = time.time()
        envs = [registry.make_env(self.suite, self.task, render_mode=self.render_mode, image_size=self.image_size)
                for _ in range(self.rows)]
        try:
            if self.max_steps is not None:
                for env in envs:
                    env.task.max_steps = self.max_steps
            pol = self._make_policy(policy, envs)
            for env in envs:  # the envs execute what the policy outputs: deltas or pose targets
                env.set_action_mode(pol.action_space)
            pol.reset()
            self.executor = settings = resolve_executor(pol, executor_mode, horizon, newest)
            check_executor(settings.mode, settings.horizon, settings.newest)
            try:
                dims = settings.newest_dims(pol.action_layout)
            except ValueError as e:
                raise UserError(str(e)) from None
            action_dim = envs[0].action_space.shape[0]
            if dims and max(dims) >= action_dim:
                raise UserError(f"the policy's action groups {', '.join(settings.newest)} reach index {max(dims)}, "
                                f"beyond the {action_dim}-dim actions of {self.task}")
            executor = ChunkExecutor(self.rows, pol.n_action_steps, settings.mode, decay, settings.horizon, dims)
            results = self._loop(envs, pol, executor)
        finally:
            for env in envs:
                env.close()
        ok = [results[k][0] for k in range(len(self.seeds))]
        steps = [results[k][1] for k in range(len(self.seeds))]
        rec = report.task_record(ok, steps, self.seeds, [results[k][2] for k in range(len(self.seeds))],
                                 [results[k][3] for k in range(len(self.seeds))])
        rec["wall_s"] = round(time.time() - t0, 2)
        if self.official_states:
            rec["initial_states"] = list(range(len(self.seeds)))
        return rec

    def _make_policy(self, policy: PolicyFactory | Policy | str, envs: list[Any]) -> Policy:
        if isinstance(policy, str):
            from vla.eval.scripted import ScriptedPolicy

            return ScriptedPolicy(self.suite, self.task, envs)
        return policy if isinstance(policy, Policy) else policy(envs)

    def _loop(self, envs: list[Any], policy: Policy, executor: ChunkExecutor) -> dict[int, tuple]:
        """Episode k -> (success, steps, for each of the task's milestones whether the episode ever reached it,
        the task's end state when the episode ended)."""
        rows = self.rows
        obs: list[dict[str, Any]] = [{} for _ in range(rows)]
        episode = [-1] * rows  # the episode each row is running; -1: idle (all episodes handed out)
        frame_index = np.zeros(rows, np.int64)
        frames: dict[int, list[list[np.ndarray]]] = {}  # rows being recorded -> per step, camera images
        results: dict[int, tuple] = {}
        reached: list[dict[str, bool]] = [{} for _ in range(rows)]
        next_episode = 0
        action_dim = envs[0].action_space.shape[0]

        def start(r: int) -> None:
            nonlocal next_episode
            episode[r] = next_episode if next_episode < len(self.seeds) else -1
            if episode[r] < 0:
                return
            next_episode += 1
            options = {"init_state": episode[r]} if self.official_states else None
            obs[r], _ = envs[r].reset(seed=self.seeds[episode[r]], options=options)
            reached[r] = dict.fromkeys(envs[r].task.milestones(envs[r]), False)
            frame_index[r] = 0
            if episode[r] < self.videos:
                frames[r] = [self._images(obs[r])]

        for r in range(rows):
            start(r)
        while any(e >= 0 for e in episode):
            active = [r for r in range(rows) if episode[r] >= 0]
            need = executor.needs_chunk()
            asking = [r for r in active if need[r]]
            if asking:
                chunk = policy.act(stack_observations([obs[r] for r in asking], frame_index[asking], asking))
                executor.push(asking, self._check_actions(chunk.actions, len(asking), action_dim))
            for r, action in zip(active, executor.pop(active)):
                obs[r], _, terminated, truncated, info = envs[r].step(action)
                for name, now in envs[r].task.milestones(envs[r]).items():
                    reached[r][name] = reached[r][name] or bool(now)
                frame_index[r] += 1
                if r in frames:
                    frames[r].append(self._images(obs[r]))
                if terminated or truncated:
                    k, success = episode[r], bool(info["success"])
                    results[k] = (success, int(envs[r].steps), reached[r], envs[r].task.end_state(envs[r]))
                    if r in frames:
                        self._write_video(k, frames.pop(r), success, envs[r])
                    self.bar.update(1)
                    policy.reset([r])
                    executor.reset([r])
                    start(r)
        return results

    def _check_actions(self, actions: Any, rows: int, action_dim: int) -> np.ndarray:
        actions = np.asarray(actions, dtype=np.float32)
        if actions.ndim != 3 or actions.shape[0] != rows or actions.shape[2] != action_dim or actions.shape[1] < 1:
            raise UserError(f"policy returned actions of shape {tuple(actions.shape)}: {self.suite}/{self.task} "
                            f"needs [{rows}, H, {action_dim}] (is the policy trained for this suite?)")
        if not np.all(np.isfinite(actions)):
            raise UserError(f"policy returned NaN or Inf actions on {self.suite}/{self.task}")
        return actions

    @staticmethod
    def _images(obs: dict[str, Any]) -> list[np.ndarray]:
        return [v for k, v in obs.items() if k.startswith("observation.images.")]

    def _write_video(self, k: int, frames: list[list[np.ndarray]], success: bool, env: Any) -> None:
        from vla.eval.video import write_episode_video

        write_episode_video(frames, self.video_dir / f"{self.task}_ep{k}.mp4", env.metadata["render_fps"],
                            f"{self.task} ep{k} seed {self.seeds[k]}", success)
