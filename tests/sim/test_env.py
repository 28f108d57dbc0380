"""The tabletop environment: spaces, reproducibility, control, grounding labels, rendering modes."""

import gc

import mujoco
import numpy as np
import pytest

from vla_sim import grounding, registry


@pytest.fixture(scope="module")
def env():
    e = registry.make_env("tabletop", "stack_blocks", render_mode="fast", image_size=96)
    yield e
    e.close()


def test_observation_matches_space_and_names(env):
    obs, info = env.reset(seed=1)
    assert env.observation_space.contains(obs)
    assert obs["observation.images.scene"].shape == (96, 96, 3) and obs["observation.images.scene"].dtype == np.uint8
    assert obs["observation.state"].shape == (len(env.state_names),)
    assert env.action_names[:6] == ("ee.dx", "ee.dy", "ee.dz", "ee.drx", "ee.dry", "ee.drz")
    assert env.action_names[6] == "gripper"
    assert obs["task"] and "block" in obs["task"]


def test_same_seed_same_episode_different_seed_differs(env):
    a, _ = env.reset(seed=7)
    b, _ = env.reset(seed=7)
    c, _ = env.reset(seed=8)
    for key in ("observation.images.scene", "observation.state"):
        np.testing.assert_array_equal(a[key], b[key])
    assert a["task"] == b["task"]
    assert not np.array_equal(a["observation.images.scene"], c["observation.images.scene"])


def test_zero_action_holds_pose_and_delta_moves_tool(env):
    env.reset(seed=2)
    p0, _ = env.ee_pose()
    for _ in range(20):
        env.step(np.zeros(7))
    p1, _ = env.ee_pose()
    assert np.linalg.norm(p1 - p0) < 2e-3, "a zero action must not drift"
    for _ in range(10):
        env.step(np.array([0, 0, 0.02, 0, 0, 0, -1]))
    p2, _ = env.ee_pose()
    assert 0.06 < p2[2] - p1[2] <= 0.2  # servo lag: about half of each commanded step is reached
    assert np.linalg.norm(p2[:2] - p1[:2]) < 0.02


def test_bad_actions_are_rejected_or_clipped(env):
    env.reset(seed=3)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(5))
    with pytest.raises(ValueError, match="NaN"):
        env.step(np.array([np.nan, 0, 0, 0, 0, 0, 0]))
    p0, _ = env.ee_pose()
    env.step(np.array([10.0, 0, 0, 0, 0, 0, 0]))  # clipped to 5 cm
    p1, _ = env.ee_pose()
    assert p1[0] - p0[0] < 0.05


def test_grounding_points_hit_the_object_in_the_image(env):
    """The projected target point must land on the target's pixels: compare with a segmentation render."""
    obs, info = env.reset(seed=4)
    m, d = env.model, env.data
    r = mujoco.Renderer(m, 96, 96)
    r.enable_segmentation_rendering()
    r.update_scene(d, camera="scene")
    seg = r.render()
    r.close()
    env._rig.render(d)  # restore our GL context for the next tests
    points = info["grounding"]["grounding.scene.target_points"]
    boxes = info["grounding"]["grounding.scene.target_boxes"]
    for body, (u, v), box in zip(env.task.target_bodies(env), points, boxes):
        geom_ids = seg[int(v), int(u), 0]
        assert seg[int(v), int(u), 1] == mujoco.mjtObj.mjOBJ_GEOM
        assert m.body(m.geom_bodyid[geom_ids]).name == body
        assert box[0] <= u <= box[2] and box[1] <= v <= box[3]
        ys, xs = np.nonzero((seg[..., 1] == mujoco.mjtObj.mjOBJ_GEOM) & (m.geom_bodyid[seg[..., 0]] == m.body(body).id))
        assert abs(xs.mean() - u) < 3 and abs(ys.mean() - v) < 3


def test_points_outside_the_image_are_marked_absent():
    uv = grounding.in_image(np.array([[10.0, 20.0], [-3.0, 5.0], [50.0, 200.0]]), 128, 128)
    np.testing.assert_array_equal(uv, [[10, 20], [-1, -1], [-1, -1]])


def test_fast_and_default_looks_differ_but_show_the_same_scene():
    fast = registry.make_env("tabletop", "stack_blocks", render_mode="fast", image_size=64)
    default = registry.make_env("tabletop", "stack_blocks", render_mode="default", image_size=64)
    a, _ = fast.reset(seed=5)
    b, _ = default.reset(seed=5)
    np.testing.assert_array_equal(a["observation.state"], b["observation.state"])
    ia, ib = a["observation.images.scene"].astype(int), b["observation.images.scene"].astype(int)
    assert np.abs(ia - ib).mean() > 0.5  # shadows/meshes differ
    assert np.abs(ia - ib).mean() < 40  # ...but it is the same scene
    fast.close()
    default.close()


def test_a_garbage_collected_env_does_not_break_another_renderer():
    """Regression: mujoco.Renderer frees its GL objects in the current context, which was another's."""
    ref_env = registry.make_env("tabletop", "stack_blocks", render_mode="fast", image_size=64)
    ref, _ = ref_env.reset(seed=6)
    ref_env.close()
    first = registry.make_env("tabletop", "stack_blocks", render_mode="fast", image_size=64)
    first.reset(seed=6)
    second = registry.make_env("tabletop", "stack_blocks", render_mode="fast", image_size=64)
    del first
    gc.collect()
    obs, _ = second.reset(seed=6)
    np.testing.assert_array_equal(obs["observation.images.scene"], ref["observation.images.scene"])
    second.close()


def test_registry_rejects_unknown_names_with_the_valid_ones():
    from vla.errors import UserError

    with pytest.raises(UserError, match="valid suites are .*tabletop"):
        registry.resolve_tasks("nope")
    with pytest.raises(UserError, match="valid tasks are .*stack_blocks"):
        registry.resolve_tasks("tabletop", ["nope"])


def test_tasks_can_be_named_by_their_position_in_the_suite():
    from vla.errors import UserError

    names = registry.resolve_tasks("tabletop")
    assert registry.resolve_tasks("tabletop", ["2", names[0]]) == [names[2], names[0]]
    with pytest.raises(UserError, match=f"task index {len(names)} is out of range.*0-{len(names) - 1}"):
        registry.resolve_tasks("tabletop", [str(len(names))])


def _run_expert(env, expert, seed: int) -> dict:
    """One expert episode; the last step's info."""
    env.reset(seed=seed)
    expert.reset(env)
    while True:
        _, _, term, trunc, info = env.step(expert.act(env))
        if term or trunc:
            return info


@pytest.mark.parametrize("task", ["pick_block_by_relation", "place_block_relative", "stack_blocks"])
def test_expert_succeeds_and_idle_policy_does_not(task):
    env = registry.make_env("tabletop", task, render_mode=None)
    expert = registry.make_expert("tabletop", task)
    for seed in (11, 12):
        assert _run_expert(env, expert, seed)["success"], f"{task} seed {seed}"
    env.reset(seed=11)
    for _ in range(env.task.max_steps):
        _, _, term, trunc, info = env.step(np.r_[np.zeros(6), -1.0])
        if term or trunc:
            break
    assert not info["success"]


def test_no_episode_starts_already_solved():
    """place_block_relative used to drop its block inside the goal region for 4% of seeds (1019, 101022, ...):
    a success the policy never earned. A reset now draws again from the same seeded stream."""
    env = registry.make_env("tabletop", "place_block_relative", render_mode=None)
    for seed in (1019, 1048, 1074, 1121, 1125, 101022, 101035):
        env.reset(seed=seed)
        assert not env.task.success(env), seed
    env.reset(seed=1019)
    first = env.data.qpos.copy()
    env.reset(seed=1019)
    assert np.array_equal(first, env.data.qpos)  # still one scene per seed
    env.close()
    for task in registry.resolve_tasks("tabletop", None):
        env = registry.make_env("tabletop", task, render_mode=None)
        for seed in range(100000, 100020):
            env.reset(seed=seed)
            assert not env.task.success(env), (task, seed)
        env.close()


def test_place_labels_the_goal_place_where_the_expert_sets_the_block_down():
    """place_block_relative's second grounding target is the place the relation word names (bowl + 11 cm
    toward "left of" / "behind" ...), not the bowl: after a successful expert episode the block's point label
    lies on the goal's label, while the bowl's centre is far from it."""
    env = registry.make_env("tabletop", "place_block_relative", render_mode=None, image_size=128)
    expert = registry.make_expert("tabletop", "place_block_relative")
    cid = env.model.camera("scene").id
    for seed in (11, 12):
        info = _run_expert(env, expert, seed)
        assert info["success"], seed
        block, goal = info["grounding"]["grounding.scene.target_points"]
        box = info["grounding"]["grounding.scene.target_boxes"][1]
        bowl = grounding.project_points(env.model, env.data, cid, env.body_pos("bowl") + [0, 0, 0.02], 128, 128)[0]
        assert np.linalg.norm(block - goal) < 6, (seed, block, goal)
        assert np.linalg.norm(bowl - goal) > 12, (seed, bowl, goal)
        assert box[0] <= goal[0] <= box[2] and box[1] <= goal[1] <= box[3]
    env.close()
