"""evaluate(): the scripted experts succeed, a bad policy fails, the policy sees the documented batch."""

import json

import numpy as np
import pytest

from vla.errors import UserError
from vla.eval import evaluate, wilson_interval
from vla.policy import ActionChunk, Policy


class ConstantPolicy(Policy):
    """Zero actions (or any fixed action), recording every batch it is given and every reset."""

    def __init__(self, action_dim=7, horizon=4, n_action_steps=4, value=0.0):
        self.action_dim, self.horizon, self.value = action_dim, horizon, value
        self.n_action_steps = n_action_steps
        self.batches, self.resets = [], []

    def reset(self, rows=None):
        self.resets.append(None if rows is None else list(rows))

    def act(self, observation):
        self.batches.append(observation)
        b = len(observation["task"])
        return ActionChunk(np.full((b, self.horizon, self.action_dim), self.value, np.float32))


def test_scripted_policy_succeeds_and_eval_json_has_the_schema(tmp_path):
    out = tmp_path / "eval"
    res = evaluate("scripted", "tabletop", ["open_drawer", "close_drawer"], 3, out, num_envs=2, image_size=64,
                   videos=1, progress=False)
    saved = json.loads((out / "eval.json").read_text())
    assert saved == res
    assert saved["suite"] == "tabletop" and saved["policy"] == "scripted" and saved["seed"] == 100_000
    assert saved["success_rate"] == 1.0 and saved["episodes"] == 6 and isinstance(saved["wall_s"], float)
    assert list(saved["tasks"]) == ["open_drawer", "close_drawer"]
    for task, r in saved["tasks"].items():
        assert {"success_rate", "episodes", "successes", "ci95", "mean_steps"} <= set(r)
        assert (r["success_rate"], r["episodes"], r["successes"]) == (1.0, 3, 3)
        lo, hi = r["ci95"]
        assert 0.0 <= lo <= r["success_rate"] <= hi <= 1.0
        assert (lo, hi) == pytest.approx(wilson_interval(3, 3))
        assert 20 < r["mean_steps"] < 200
        assert r["success"] == [True] * 3 and len(r["steps"]) == 3 and sum(r["steps"]) / 3 == r["mean_steps"]
    # seeds: base + 1000 * (position of the task in its suite) + episode
    assert saved["tasks"]["open_drawer"]["seeds"] == [103_000, 103_001, 103_002]
    assert (out / "success.png").stat().st_size > 1000
    videos = sorted(p.name for p in (out / "videos").iterdir())
    assert videos == ["close_drawer_ep0.mp4", "open_drawer_ep0.mp4"]
    from vla_data.video import video_info

    info = video_info(out / "videos" / "open_drawer_ep0.mp4")
    assert info["video.width"] > 2 * info["video.height"] - 100  # two cameras side by side


def test_an_evaluation_cut_short_keeps_the_tasks_it_finished(tmp_path):
    """eval.json is written after every task: a crash (or a kill) in the second task keeps the first one."""
    made = []

    def factory(envs):
        made.append(len(envs))
        if len(made) == 2:
            raise RuntimeError("the policy died")
        return ConstantPolicy()

    out = tmp_path / "e"
    with pytest.raises(RuntimeError, match="died"):
        evaluate(factory, "tabletop", ["open_drawer", "close_drawer"], 2, out, num_envs=2, render_mode=None,
                 videos=0, progress=False)
    saved = json.loads((out / "eval.json").read_text())
    assert list(saved["tasks"]) == ["open_drawer"] and saved["complete"] is False
    assert saved["episodes"] == 2 and saved["tasks"]["open_drawer"]["episodes"] == 2
    res = evaluate(ConstantPolicy(), "tabletop", ["open_drawer", "close_drawer"], 1, tmp_path / "f", num_envs=1,
                   render_mode=None, videos=0, progress=False)
    assert res["complete"] is True and res["episodes"] == 2


def test_zero_actions_never_succeed_and_run_to_the_step_limit(tmp_path):
    res = evaluate(ConstantPolicy(), "tabletop", ["open_drawer"], 2, tmp_path / "e", num_envs=2,
                   render_mode=None, videos=0, progress=False)
    r = res["tasks"]["open_drawer"]
    assert (r["success_rate"], r["successes"], r["episodes"]) == (0.0, 0, 2)
    assert r["ci95"][0] == 0.0 and r["ci95"][1] == pytest.approx(wilson_interval(0, 2)[1])
    assert r["mean_steps"] == 200  # the task's own limit
    assert res["success_rate"] == 0.0


class LowerPosePolicy(Policy):
    """A pose-space policy: targets 3 cm below the measured tool position, orientation kept."""

    action_space = "pose"
    n_action_steps = 1

    def reset(self, rows=None):
        pass

    def act(self, observation):
        from vla_sim.controller import rot6d_from_quat

        state = np.asarray(observation["observation.state"])
        pos, quat = state[:, 7:10], state[:, 10:14]
        targets = [np.r_[p - [0, 0, 0.03], rot6d_from_quat(q), -1.0] for p, q in zip(pos, quat)]
        self.first_z = getattr(self, "first_z", pos[:, 2].copy())
        self.last_z = pos[:, 2].copy()
        return ActionChunk(np.array(targets, np.float32)[:, None])


def test_envs_run_pose_targets_for_a_pose_policy(tmp_path):
    """The runner drives its envs in the policy's action space: 10-dim pose targets, not 7-dim deltas."""
    policy = LowerPosePolicy()
    res = evaluate(policy, "tabletop", ["open_drawer"], 1, tmp_path / "e", num_envs=1, render_mode=None, videos=0,
                   max_steps=6, progress=False)
    assert res["tasks"]["open_drawer"]["episodes"] == 1
    assert policy.last_z[0] < policy.first_z[0] - 0.03  # pose targets were executed: the tool went down


def test_policy_gets_the_documented_batch_and_frame_index_restarts_after_reset(tmp_path):
    pol = ConstantPolicy(horizon=6, n_action_steps=4)
    evaluate(pol, "tabletop", ["stack_blocks"], 3, tmp_path / "e", num_envs=2, image_size=64, videos=0,
             max_steps=10, progress=False)
    frames: dict[int, list[int]] = {0: [], 1: []}
    for batch in pol.batches:
        assert set(batch) == {"observation.images.scene", "observation.images.wrist", "observation.state", "task",
                              "frame_index", "rows"}
        n = len(batch["task"])
        for cam in ("scene", "wrist"):
            img = batch[f"observation.images.{cam}"]
            assert img.dtype == np.uint8 and img.shape == (n, 64, 64, 3)
        assert batch["observation.state"].dtype == np.float32 and batch["observation.state"].shape[0] == n
        assert batch["observation.state"].ndim == 2
        assert isinstance(batch["task"], list) and all(isinstance(t, str) and t for t in batch["task"])
        assert batch["frame_index"].dtype == np.int64 and batch["frame_index"].shape == (n,)
        assert batch["rows"].dtype == np.int64 and batch["rows"].shape == (n,)
        for row, frame in zip(batch["rows"], batch["frame_index"]):
            frames[int(row)].append(int(frame))
    # 10-step episodes, 4 actions per chunk: chunks at frames 0, 4, 8; row 0 then runs episode 2 from 0,
    # alone (row 1 has no episode left), so later batches hold only the rows that need a chunk
    assert frames == {0: [0, 4, 8, 0, 4, 8], 1: [0, 4, 8]}
    assert pol.resets[0] is None  # at the start of the task
    assert [0] in pol.resets and [1] in pol.resets


def test_a_policy_runs_with_its_own_executor_unless_told_otherwise(tmp_path):
    """A checkpoint recommends its executor (config `executor`/`ensemble_horizon`); an explicit mode wins."""
    pol = ConstantPolicy(horizon=6, n_action_steps=4)
    pol.executor, pol.ensemble_horizon = "ensemble", 2
    own = evaluate(pol, "tabletop", ["open_drawer"], 1, tmp_path / "own", num_envs=1, render_mode=None, videos=0,
                   max_steps=10, progress=False)
    assert len(pol.batches) == 10  # the ensemble asks every step
    assert (own["executor"], own["ensemble_horizon"]) == ("ensemble", 2)
    assert json.loads((tmp_path / "own" / "eval.json").read_text())["executor"] == "ensemble"
    pol.batches.clear()
    told = evaluate(pol, "tabletop", ["open_drawer"], 1, tmp_path / "told", num_envs=1, render_mode=None, videos=0,
                    max_steps=10, executor_mode="queue", progress=False)
    assert len(pol.batches) == 3 and told["executor"] == "queue" and "ensemble_horizon" not in told  # frames 0, 4, 8
    with pytest.raises(UserError, match="needs --executor ensemble"):  # a horizon for a queue policy: one line
        evaluate(ConstantPolicy(), "tabletop", ["open_drawer"], 1, tmp_path / "bad", num_envs=1, render_mode=None,
                 videos=0, max_steps=4, ensemble_horizon=3, progress=False)
    assert not (tmp_path / "bad").exists()
    pol.action_layout, pol.ensemble_newest = {"arm": [0, 6], "gripper": [6, 7]}, ("hand",)
    with pytest.raises(UserError, match="unknown action group 'hand'.*arm, gripper"):
        evaluate(pol, "tabletop", ["open_drawer"], 1, tmp_path / "bad2", num_envs=1, render_mode=None, videos=0,
                 max_steps=4, progress=False)
    pol.ensemble_newest = ("gripper",)
    res = evaluate(pol, "tabletop", ["open_drawer"], 1, tmp_path / "grip", num_envs=1, render_mode=None, videos=0,
                   max_steps=4, progress=False)
    assert res["ensemble_newest"] == ["gripper"]


def test_episode_outcomes_do_not_depend_on_the_number_of_envs(tmp_path):
    a = evaluate("scripted", "tabletop", ["close_drawer"], 3, tmp_path / "a", num_envs=1, render_mode=None,
                 videos=0, progress=False)
    b = evaluate("scripted", "tabletop", ["close_drawer"], 3, tmp_path / "b", num_envs=3, render_mode=None,
                 videos=0, executor_mode="ensemble", progress=False)
    assert a["tasks"]["close_drawer"]["mean_steps"] == b["tasks"]["close_drawer"]["mean_steps"]
    assert a["success_rate"] == b["success_rate"] == 1.0


def test_bad_settings_and_incompatible_policies_are_user_errors(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    with pytest.raises(UserError, match="not empty"):
        evaluate("scripted", "tabletop", None, 1, tmp_path / "full", progress=False)
    with pytest.raises(UserError, match="stack_blocks"):
        evaluate("scripted", "tabletop", ["fly"], 1, tmp_path / "x", progress=False)
    with pytest.raises(UserError, match="episodes"):
        evaluate("scripted", "tabletop", None, 0, tmp_path / "x", progress=False)
    assert not (tmp_path / "x").exists()
    with pytest.raises(UserError, match=r"needs \[1, H, 7\]"):
        evaluate(ConstantPolicy(action_dim=3), "tabletop", ["open_drawer"], 1, tmp_path / "y", num_envs=1,
                 render_mode=None, videos=0, progress=False)
    assert not (tmp_path / "y").exists()  # failed at the first act: nothing written


def test_single_env_steps_asks_a_chunk_every_n_action_steps_and_stops_at_the_outcome():
    from vla.eval.runner import single_env_steps
    from vla.eval.scripted import ScriptedPolicy
    from vla_sim.registry import make_env

    env = make_env("toy", "reach_pad", render_mode=None)
    policy = ConstantPolicy(n_action_steps=4, value=0.0)
    steps = list(single_env_steps(env, policy, seed=0))
    assert len(steps) == env.task.max_steps and not env.task.success(env)  # zero actions: to the step limit
    assert [s for s, chunk, _ in steps if chunk is not None] == list(range(0, env.task.max_steps, 4))
    assert [b["frame_index"][0] for b in policy.batches] == list(range(0, env.task.max_steps, 4))

    expert = ScriptedPolicy("toy", "reach_pad", [env])
    n = sum(1 for _ in single_env_steps(env, expert, seed=0))
    assert env.task.success(env) and n < env.task.max_steps  # stopped at the success, not the limit
    env.close()


class OpenHandExpert(Policy):
    """The scripted expert with the gripper held open: it goes to the object but can never lift it."""

    n_action_steps = 1

    def __init__(self, envs):
        from vla.eval.scripted import ScriptedPolicy

        self.inner = ScriptedPolicy("tabletop", envs[0].task.name, envs)

    def reset(self, rows=None):
        self.inner.reset(rows)

    def act(self, observation):
        actions = self.inner.act(observation).actions.copy()
        actions[..., 6] = -1.0
        return ActionChunk(actions)


class NeverLetGoExpert(OpenHandExpert):
    """The scripted expert whose gripper, once it closes, never opens again."""

    def __init__(self, envs):
        super().__init__(envs)
        self.closed = np.zeros(len(envs), bool)

    def reset(self, rows=None):
        self.inner.reset(rows)
        self.closed[slice(None) if rows is None else list(rows)] = False

    def act(self, observation):
        actions = self.inner.act(observation).actions.copy()
        for i, row in enumerate(observation["rows"]):
            self.closed[row] |= bool((actions[i, :, 6] > 0).any())
            if self.closed[row]:
                actions[i, :, 6] = 1.0
        return ActionChunk(actions)


def test_end_states_say_how_failures_ended(tmp_path):
    expert = evaluate("scripted", "tabletop", ["place_block_relative"], 1, tmp_path / "x", num_envs=1,
                      render_mode=None, videos=0, progress=False)["tasks"]["place_block_relative"]
    assert expert["end_states"] == [["reached", "over_goal"]]  # at rest in the goal region, let go
    assert expert["end_rates_failed"] == {"reached": 0.0, "lifted": 0.0, "over_goal": 0.0, "holding": 0.0}
    clinging = evaluate(NeverLetGoExpert, "tabletop", ["place_block_relative"], 2, tmp_path / "c", num_envs=2,
                        render_mode=None, videos=0, progress=False)["tasks"]["place_block_relative"]
    assert clinging["success_rate"] == 0.0  # it carried the block to the goal and still holds it there
    assert clinging["end_rates_failed"]["over_goal"] == 1.0 and clinging["end_rates_failed"]["holding"] == 1.0


def test_milestones_say_how_far_each_episode_got(tmp_path):
    tasks = ["pick_block_by_relation", "place_block_relative", "stack_blocks", "open_drawer", "close_drawer",
             "push_block_to_target", "cup_shuffle", "return_block"]
    expert = evaluate("scripted", "tabletop", tasks, 1, tmp_path / "x", num_envs=1, render_mode=None, videos=0,
                      progress=False)
    for task, r in expert["tasks"].items():  # a success passes every stage on the way
        assert len(r["milestone_rates"]) == 3 and set(r["milestone_rates"].values()) == {1.0}, task
        assert r["milestones"] == [list(r["milestone_rates"])]
    assert list(expert["tasks"]["stack_blocks"]["milestone_rates"]) == ["reached", "lifted", "over_goal"]
    still = evaluate(ConstantPolicy(), "tabletop", ["pick_block_by_relation", "close_drawer", "cup_shuffle"], 1,
                     tmp_path / "z", num_envs=1, render_mode=None, videos=0, progress=False)
    for task, r in still["tasks"].items():  # holding still reaches nothing (the episode's start counts for none)
        assert set(r["milestone_rates"].values()) == {0.0} and r["milestones"] == [[]], task
    open_hand = evaluate(OpenHandExpert, "tabletop", ["pick_block_by_relation", "stack_blocks"], 2, tmp_path / "o",
                         num_envs=2, render_mode=None, videos=0, progress=False)
    for task, r in open_hand["tasks"].items():  # at the block, never lifted: the stage where it fails
        assert r["success_rate"] == 0.0
        assert r["milestone_rates"] == {"reached": 1.0, "lifted": 0.0, "over_goal": 0.0}, task
