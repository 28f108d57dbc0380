"""The dexterous suite: the Allegro Hand model (names, limits, actuators), its tool, tasks and experts."""

import mujoco
import numpy as np
import pytest

from vla_sim import registry
from vla_sim.robots import allegro
from vla_sim.tools_hand import AllegroHandTool

TASKS = ("lift_cube", "lift_cylinder", "lift_sphere", "lift_box")

# joint_0.0 ... joint_15.0 limits of dex-urdf's allegro_hand_right.urdf (index, middle, ring, thumb).
URDF_LIMITS = {
    **{f"joint_{4 * f + k}.0": lim for f in range(3)
       for k, lim in enumerate([(-0.47, 0.47), (-0.196, 1.61), (-0.174, 1.709), (-0.227, 1.618)])},
    "joint_12.0": (0.263, 1.396), "joint_13.0": (-0.105, 1.163), "joint_14.0": (-0.189, 1.644),
    "joint_15.0": (-0.162, 1.719),
}


@pytest.fixture(scope="module")
def hand_model():
    spec, root = allegro.allegro_hand(mount=None)
    assert root == "base_link"
    return spec.compile()


@pytest.fixture(scope="module")
def env():
    e = registry.make_env("dexterous", "lift_cube", render_mode=None)
    yield e
    e.close()


def test_hand_has_16_allegro_joints_with_urdf_limits_and_servos(hand_model):
    m = hand_model
    hinges = [m.joint(i).name for i in range(m.njnt)]
    assert hinges == [f"joint_{i}.0" for i in range(16)]
    for name, (lo, hi) in URDF_LIMITS.items():
        np.testing.assert_allclose(m.joint(name).range, [lo, hi], atol=1e-9)
    assert m.nu == 16
    for i in range(16):
        act = m.actuator(i)
        assert m.joint(int(act.trnid[0])).name == f"joint_{i}.0"
        np.testing.assert_allclose(act.ctrlrange, URDF_LIMITS[f"joint_{i}.0"])
        assert 0.5 <= act.forcerange[1] <= 1.0 and act.forcerange[0] == -act.forcerange[1]


def test_link_names_fingertips_and_urdf_lengths(hand_model):
    m = hand_model
    for link in ("base_link", "palm", "wrist", *(f"link_{i}.0" for i in range(16)), *allegro.TIP_LINKS):
        m.body(link)  # raises KeyError when missing
    for site in allegro.TIP_SITES:
        m.site(site)
    # Straight index finger: tip 0.0164 + 0.054 + 0.0384 + 0.0267 above its base along base_link z.
    d = mujoco.MjData(m)
    d.qpos[:] = np.clip(0, *allegro.JOINT_LIMITS.T)
    mujoco.mj_kinematics(m, d)
    tip = d.xpos[m.body("link_3.0_tip").id]
    base = d.xpos[m.body("link_0.0").id]
    np.testing.assert_allclose(np.linalg.norm(tip - base), 0.0164 + 0.054 + 0.0384 + 0.0267, atol=1e-6)
    np.testing.assert_allclose(d.xpos[m.body("link_4.0").id], [0, 0, 0.0007], atol=1e-9)


def test_env_layout_and_tool_names(env):
    obs, _ = env.reset(seed=0)
    assert env.action_space.shape == (6 + 16,)
    assert env.action_names[6:] == tuple(f"hand.joint_{i}.0" for i in range(16))
    assert env.state_names[-16:] == tuple(f"hand.joint_{i}.0" for i in range(16))
    np.testing.assert_allclose(env.action_space.low[6:], allegro.JOINT_LIMITS[:, 0], atol=1e-6)
    np.testing.assert_allclose(env.action_space.high[6:], allegro.JOINT_LIMITS[:, 1], atol=1e-6)
    assert env.controller.site_id == env.model.site("robot0_allegro_ee_site").id
    assert len(env.task.target_bodies(env)) == 2
    assert "cube" in obs["task"] or "block" in obs["task"]
    for site in allegro.TIP_SITES:
        env.model.site(f"robot0_allegro_{site}")


def test_out_of_range_hand_actions_are_clipped(env):
    env.reset(seed=1)
    tool: AllegroHandTool = env.tool
    action = np.zeros(22, np.float32)
    action[6:] = 10.0
    env.step(action)
    np.testing.assert_allclose(env.data.ctrl[tool.act_ids], allegro.JOINT_LIMITS[:, 1])
    action[6:] = -10.0
    for _ in range(15):
        env.step(action)
    np.testing.assert_allclose(env.data.ctrl[tool.act_ids], allegro.JOINT_LIMITS[:, 0])
    q = tool.state(env.data)
    assert np.all(q >= allegro.JOINT_LIMITS[:, 0] - 0.03) and np.all(q <= allegro.JOINT_LIMITS[:, 1] + 0.03)


@pytest.mark.parametrize("task", TASKS)
def test_expert_succeeds_and_noop_does_not(task):
    env = registry.make_env("dexterous", task, render_mode=None)
    expert = registry.make_expert("dexterous", task)
    for seed in (0, 1):
        env.reset(seed=seed)
        expert.reset(env)
        done = False
        for _ in range(env.task.max_steps):
            _, _, done, truncated, info = env.step(expert.act(env))
            if done or truncated:
                break
        assert done and info["success"], f"{task} seed {seed}: expert failed"
        assert env.task.bottom_z(env) >= 0.10
    # A no-op policy (arm still, hand holding its reset posture) never lifts the object.
    env.reset(seed=0)
    hold = np.r_[np.zeros(6), env.tool.state(env.data)].astype(np.float32)
    for _ in range(60):
        _, _, done, _, _ = env.step(hold)
        assert not done
    env.close()
