"""ChunkExecutor: queue order and cadence, ACT temporal ensembling by hand, per-row state."""

import numpy as np
import pytest

from vla.runtime import ChunkExecutor, ExecutorSettings, resolve_executor


def chunk(h, a=2, start=0.0):
    """[1, h, a] chunk whose action k is (start + k) in every dimension."""
    return (start + np.arange(h, dtype=np.float32))[None, :, None].repeat(a, axis=2)


def test_queue_runs_the_first_n_actions_in_order_then_asks_again():
    ex = ChunkExecutor(1, n_action_steps=3)
    assert ex.needs_chunk().tolist() == [True]
    ex.push([0], chunk(5))
    got = []
    for _ in range(3):
        assert ex.needs_chunk().tolist() == [False]
        got.append(ex.pop()[0, 0])
    assert got == [0.0, 1.0, 2.0]  # actions 3 and 4 of the chunk are never run
    assert ex.needs_chunk().tolist() == [True]
    with pytest.raises(RuntimeError, match="no action queued"):
        ex.pop()
    ex.push([0], chunk(5, start=10))
    assert ex.pop()[0, 0] == 10.0


def test_queue_request_cadence_over_many_steps():
    ex = ChunkExecutor(1, n_action_steps=4)
    requests = []
    for t in range(12):
        if ex.needs_chunk()[0]:
            requests.append(t)
            ex.push([0], chunk(8, start=100 * t))
        assert ex.pop()[0, 0] == 100 * requests[-1] + (t - requests[-1])
    assert requests == [0, 4, 8]


def test_queue_without_n_action_steps_runs_the_whole_chunk_and_chunks_shorter_than_n():
    ex = ChunkExecutor(1, n_action_steps=None)
    ex.push([0], chunk(3))
    assert [ex.pop()[0, 0] for _ in range(3)] == [0.0, 1.0, 2.0]
    ex = ChunkExecutor(1, n_action_steps=5)
    ex.push([0], chunk(2))
    ex.pop(), ex.pop()
    assert ex.needs_chunk()[0]


def test_rows_are_independent_and_reset_per_row():
    ex = ChunkExecutor(3, n_action_steps=2)
    ex.push([0, 2], np.concatenate([chunk(4, start=0), chunk(4, start=50)]))
    with pytest.raises(RuntimeError, match=r"rows \[1\]"):
        ex.pop()  # row 1 never got a chunk
    np.testing.assert_array_equal(ex.pop([0, 2])[:, 0], [0, 50])
    ex.reset([2])
    assert ex.needs_chunk().tolist() == [False, True, True]
    np.testing.assert_array_equal(ex.pop([0])[:, 0], [1])
    assert ex.needs_chunk().tolist() == [True, True, True]
    ex.push([1], chunk(2, start=7))
    assert ex.pop([1])[0, 0] == 7


def test_ensemble_equals_hand_computed_weighted_mean():
    decay, h = 0.5, 3
    rng = np.random.default_rng(0)
    chunks = rng.normal(size=(5, h, 2)).astype(np.float32)  # chunk t is made at step t
    ex = ChunkExecutor(1, n_action_steps=1, mode="ensemble", ensemble_decay=decay)
    for t in range(5):
        assert ex.needs_chunk()[0]  # ensembling asks every step
        ex.push([0], chunks[t][None])
        assert not ex.needs_chunk()[0]
        # predictions for step t, oldest chunk first: chunk s predicts t at index t - s
        preds = [chunks[s][t - s] for s in range(max(0, t - h + 1), t + 1)]
        w = np.exp(-decay * np.arange(len(preds)))  # the oldest prediction weighs most
        expected = (w[:, None] * np.stack(preds)).sum(0) / w.sum()
        np.testing.assert_allclose(ex.pop()[0], expected, rtol=1e-5)
    # explicit check of step 1: (c0[1] * 1 + c1[0] * e^-0.5) / (1 + e^-0.5)
    e = np.exp(-0.5)
    ex.reset()
    ex.push([0], chunks[0][None]), ex.pop()
    ex.push([0], chunks[1][None])
    np.testing.assert_allclose(ex.pop()[0], (chunks[0][1] + e * chunks[1][0]) / (1 + e), rtol=1e-5)


def test_ensemble_keeps_going_on_old_chunks_until_they_run_out():
    ex = ChunkExecutor(1, mode="ensemble", ensemble_decay=0.0)
    ex.push([0], chunk(3, start=0))
    ex.pop()
    ex.push([0], chunk(3, start=10))
    assert ex.pop()[0, 0] == pytest.approx((1 + 10) / 2)  # decay 0: the plain mean
    assert ex.pop()[0, 0] == pytest.approx((2 + 11) / 2)  # no new chunk: the stored ones still cover t
    assert ex.pop()[0, 0] == pytest.approx(12)  # the first chunk has run out
    with pytest.raises(RuntimeError, match="no action queued"):
        ex.pop()


def test_ensemble_horizon_averages_only_the_newest_chunks():
    ex = ChunkExecutor(1, mode="ensemble", ensemble_decay=0.0, ensemble_horizon=2)
    for t, start in enumerate((0, 10, 20)):  # chunk t predicts start + i for step t + i
        ex.push([0], chunk(4, start=start))
        got = ex.pop()[0, 0]
    # step 2: the chunks of steps 1 and 2 (11 and 20); the horizonless ensemble would also average chunk 0's 2
    assert got == pytest.approx((11 + 20) / 2)
    assert ex.pop()[0, 0] == pytest.approx((12 + 21) / 2)  # no new chunk: the two newest still cover step 3
    full = ChunkExecutor(1, mode="ensemble", ensemble_decay=0.0)
    for start in (0, 10, 20):
        full.push([0], chunk(4, start=start))
        got = full.pop()[0, 0]
    assert got == pytest.approx((2 + 11 + 20) / 3)
    with pytest.raises(ValueError, match="ensemble_horizon"):
        ChunkExecutor(1, mode="ensemble", ensemble_horizon=0)


def test_ensemble_reset_forgets_one_row_only():
    ex = ChunkExecutor(2, mode="ensemble", ensemble_decay=0.0)
    ex.push([0, 1], np.concatenate([chunk(4, start=0), chunk(4, start=100)]))
    ex.pop()
    ex.reset([0])
    ex.push([0, 1], np.concatenate([chunk(4, start=20), chunk(4, start=200)]))
    out = ex.pop()[:, 0]
    assert out[0] == pytest.approx(20)  # row 0's old chunk is gone
    assert out[1] == pytest.approx((101 + 200) / 2)


def test_bad_chunks_and_settings_are_rejected():
    ex = ChunkExecutor(2, n_action_steps=2)
    with pytest.raises(ValueError, match="shape"):
        ex.push([0, 1], chunk(3))  # one chunk for two rows
    ex.push([0], chunk(3, a=2))
    with pytest.raises(ValueError, match="dimensions"):
        ex.push([1], chunk(3, a=4))
    with pytest.raises(IndexError):
        ex.push([5], chunk(3))
    with pytest.raises(ValueError, match="executor mode"):
        ChunkExecutor(1, 2, mode="fifo")


def test_resolve_executor_prefers_the_callers_mode_then_the_policys_own():
    class Own:
        executor, ensemble_horizon = "ensemble", 4

        ensemble_newest = ("gripper",)

    assert resolve_executor(Own()) == ExecutorSettings("ensemble", 4, ("gripper",))
    assert resolve_executor(Own(), horizon=2, newest=[]) == ExecutorSettings("ensemble", 2, ())
    # an explicit ensemble averages every chunk and every dimension, as it did before these settings existed
    assert resolve_executor(Own(), "ensemble") == ExecutorSettings("ensemble", None, ())
    assert resolve_executor(Own(), "queue") == ExecutorSettings("queue")
    assert resolve_executor("scripted") == ExecutorSettings("queue")


def test_newest_dims_follow_the_newest_chunk_and_the_rest_is_averaged():
    """A gripper that one plan opens and an older one keeps closed opens: the mean of the two grips nothing."""
    ex = ChunkExecutor(1, mode="ensemble", ensemble_decay=0.0, newest_dims=[1])
    ex.push([0], np.array([[[0.0, 1.0], [0.0, 1.0]]], np.float32))  # arm 0, gripper closed
    ex.pop([0])
    ex.push([0], np.array([[[2.0, -1.0], [2.0, -1.0]]], np.float32))  # arm 2, gripper open
    np.testing.assert_allclose(ex.pop([0])[0], [1.0, -1.0])  # arm: the mean; gripper: the newest
    layout = {"arm": [0, 6], "gripper": [6, 7]}
    assert ExecutorSettings("ensemble", 4, ("gripper",)).newest_dims(layout) == [6]
    with pytest.raises(ValueError, match="unknown action group 'hand'.*arm, gripper"):
        ExecutorSettings("ensemble", 4, ("hand",)).newest_dims(layout)
    with pytest.raises(ValueError, match="out of range"):
        ChunkExecutor(1, mode="ensemble", newest_dims=[5]).push([0], np.zeros((1, 2, 2), np.float32))
