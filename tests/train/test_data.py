"""The training data pipeline: EpisodeStore loading, windows (history, chunks, traces, padding), stats, split."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from train_testlib import (FEATURES, IMAGE_SIZE, LENGTHS, SCENE_HW, STARTS, TASKS, WRIST_HW, action, ee_px,
                           expected_window, points_px, scene_level, state, where, wrist_level, write_dataset)

from vla.errors import UserError
from vla.model.processing import resize_images
from vla.train.data import DataError, EpisodeStore, WindowDataset, WindowSpec, collate, train_val_split
from vla_data import DatasetReader

N = sum(LENGTHS)


def spec(T=3, s=2, H=3, K=2, ks=2, size=IMAGE_SIZE) -> WindowSpec:
    return WindowSpec(history_len=T, history_stride=s, chunk=H, trace_len=K, trace_stride=ks, image_size=size)


# ---------------------------------------------------------------------- EpisodeStore
def test_store_holds_every_frame_in_episode_order(store):
    assert store.cameras == ["scene", "wrist"]
    assert store.images.shape == (N, 2, 3, IMAGE_SIZE, IMAGE_SIZE) and store.images.dtype == torch.uint8
    assert store.episodes == [0, 1, 2] and store.task == TASKS and store.task_name == TASKS
    assert store.fps == 10 and store.image_size == IMAGE_SIZE
    assert store.source_sizes == {"scene": SCENE_HW, "wrist": WRIST_HW} and store.source_image_size == SCENE_HW[0]
    assert store.state_names == ["ep", "t", "code"] and store.action_names == ["code", "neg_t"]
    frames = [where(g) for g in range(N)]
    assert store.state.dtype == store.action.dtype == torch.float32
    assert store.state.tolist() == [state(e, t) for e, t in frames]
    assert store.action.tolist() == [action(e, t) for e, t in frames]
    assert store.episode_index.tolist() == [e for e, _ in frames]
    assert store.frame_index.tolist() == [t for _, t in frames]
    assert store.ep_start.tolist() == [STARTS[e] for e, _ in frames]
    assert store.ep_end.tolist() == [STARTS[e] + LENGTHS[e] for e, _ in frames]
    assert [store.tasks[i] for i in store.task_index.tolist()] == [TASKS[e] for e, _ in frames]
    assert store.frames_of([1]).tolist() == list(range(5, 12)) and len(store) == N


def test_images_are_the_decoded_frames_resized_like_the_policy(store, synthetic_root):
    with DatasetReader(synthetic_root) as reader:
        for e in range(len(LENGTHS)):
            ep = reader.episode(e)
            rows = store.frames_of([e])
            for c, cam in enumerate(store.cameras):
                ref = resize_images(torch.from_numpy(ep[f"observation.images.{cam}"]).permute(0, 3, 1, 2), IMAGE_SIZE)
                assert torch.equal(store.images[rows, c], ref)
    for g in range(N):  # and they are the right frames (the codec keeps flat colours within a few levels)
        e, t = where(g)
        assert abs(store.images[g, 0, e % 3].float().mean() - scene_level(e, t)) < 6
        assert abs(store.images[g, 1].float().mean() - wrist_level(e, t)) < 6


def test_grounding_is_normalized_by_the_source_size_and_missing_stays_minus_one(store):
    h, w = SCENE_HW
    for g in range(N):
        e, t = where(g)
        (u0, v0), p1 = points_px(e, t)
        assert torch.allclose(store.points[g, 0, 0], torch.tensor([u0 / w, v0 / h]))
        if t % 2:
            assert store.points[g, 0, 1].tolist() == [-1.0, -1.0]
        else:
            assert torch.allclose(store.points[g, 0, 1], torch.tensor([p1[0] / w, p1[1] / h]))
        assert torch.allclose(store.boxes[g, 0, 0], torch.tensor([0.0, 0.0, 1.0, 1.0]))
        assert store.boxes[g, 0, 1].tolist() == [-1.0] * 4
        u, v = ee_px(e, t)
        want = [-1.0, -1.0] if t == 2 else [u / w, v / h]
        assert torch.allclose(store.ee[g, 0], torch.tensor(want))
    # the wrist camera has no labels in this dataset: all missing, same shapes as the scene's
    assert store.points.shape == (N, 2, 2, 2) and store.boxes.shape == (N, 2, 2, 4) and store.ee.shape == (N, 2, 2)
    assert (store.points[:, 1] == -1).all() and (store.boxes[:, 1] == -1).all() and (store.ee[:, 1] == -1).all()


def test_stats_of_state_and_action(store):
    st = store.stats()
    for key, fn in (("observation.state", state), ("action", action)):
        x = np.array([fn(*where(g)) for g in range(N)], np.float64)
        assert set(st[key]) == {"mean", "std", "min", "max", "q01", "q99"}
        np.testing.assert_allclose(st[key]["mean"], x.mean(0))
        np.testing.assert_allclose(st[key]["std"], x.std(0))
        np.testing.assert_array_equal(st[key]["min"], x.min(0))
        np.testing.assert_array_equal(st[key]["max"], x.max(0))
        np.testing.assert_allclose(st[key]["q01"], np.quantile(x, 0.01, axis=0))
        np.testing.assert_allclose(st[key]["q99"], np.quantile(x, 0.99, axis=0))
    st["action"]["mean"][:] = 99  # callers get copies
    assert store.stats()["action"]["mean"][0] != 99


def test_a_subset_of_episodes_and_task_names_from_vla_collection_json(tmp_path, synthetic_root):
    root = tmp_path / "copy"
    shutil.copytree(synthetic_root, root)
    (root / "meta" / "vla_collection.json").write_text(json.dumps({"seeds": {"reach_pad": [0, 1], "other": [7]}}))
    sub = EpisodeStore.load(root, image_size=8, episodes=[2, 1], progress=False)
    assert sub.episodes == [1, 2] and sub.task_name == ["reach_pad", "other"] and sub.task == TASKS[1:]
    assert sub.images.shape == (LENGTHS[1] + LENGTHS[2], 2, 3, 8, 8)
    assert sub.episode_index.tolist() == [1] * LENGTHS[1] + [2] * LENGTHS[2]
    assert sub.ep_start.tolist() == [0] * LENGTHS[1] + [LENGTHS[1]] * LENGTHS[2]
    assert sub.state.tolist() == [state(1, t) for t in range(LENGTHS[1])] + [state(2, t) for t in range(LENGTHS[2])]


# ---------------------------------------------------------------------- windows
@pytest.mark.parametrize("T,s,H,K,ks", [(3, 2, 3, 2, 2), (1, 1, 1, 1, 1), (4, 1, 6, 3, 3), (2, 5, 2, 1, 10)])
def test_every_window_matches_the_hand_computed_one(store, T, s, H, K, ks):
    data = WindowDataset(store, spec(T, s, H, K, ks))
    batch = data.get_batch(torch.arange(N))
    for g in range(N):
        want = expected_window(g, T, s, H, K, ks)
        for key, value in want.items():
            assert torch.equal(batch[key][g], value) or torch.allclose(batch[key][g], value), (key, g)
        assert batch["task"][g] == TASKS[where(g)[0]]
    assert batch["images"].shape == (N, T, 2, 3, IMAGE_SIZE, IMAGE_SIZE)
    assert batch["trace"].shape == (N, T, 2, K, 2) and batch["action"].shape == (N, T, H, 2)


def test_window_at_an_episode_start_and_end_by_hand(store):
    data = WindowDataset(store, spec(T=3, s=2, H=3, K=2, ks=2))
    b = data.get_batch(torch.tensor([6, 11]))  # episode 1 (global 5..11): its frame 1 and its last frame 6
    assert b["history_pad"].tolist() == [[True, True, False], [False, False, False]]
    assert b["frame_index"].tolist() == [[-3, -1, 1], [2, 4, 6]]
    assert b["state"][0, :, 1].tolist() == [0, 0, 1]  # padded positions copy the first frame
    assert b["action"][0, 2, :, 0].tolist() == [1001, 1002, 1003] and not b["action_pad"][0, 2].any()
    assert b["action"][1, 2, :, 0].tolist() == [1006, 1006, 1006]  # the last action repeated past the end
    assert b["action_pad"][1].tolist() == [[False, False, False], [False, False, False], [False, True, True]]
    # trace of the last position of window 0 (frame 1): ee at frames 3 and 5; of window 1: clamped at 6
    assert torch.allclose(b["trace"][0, 2, 0], torch.tensor([[7 / 48, 2 / 32], [11 / 48, 2 / 32]]))
    assert torch.allclose(b["trace"][1, 2, 0], torch.tensor([[13 / 48, 2 / 32]] * 2))
    # position 0 of window 1 is frame 2, whose ee is out of view: the trace starts at frame 4
    assert b["trace_valid"][1, 0, 0].tolist() == [True, True] and not b["trace_valid"][:, :, 1].any()
    assert b["task"] == ["reach the blue pad", "reach the blue pad"]


def test_windows_never_leak_across_episodes(store):
    data = WindowDataset(store, spec(T=5, s=3, H=8, K=4, ks=4))
    b = data.get_batch(torch.arange(N))
    ep = store.episode_index[:, None]
    assert (b["state"][..., 0] == ep).all()
    assert (b["action"][..., 0] // 1000 == ep[..., None]).all()
    pos = store.ep_start[:, None] + b["frame_index"].clamp(min=0)
    assert torch.equal(b["images"], store.images[pos])
    ee_frames = b["trace"][:, :, 0, :, 1] * SCENE_HW[0] - 1  # v = e + 1 where in view
    valid = b["trace_valid"][:, :, 0]
    assert torch.allclose(ee_frames[valid], ep[..., None].expand_as(ee_frames)[valid].float(), atol=1e-4)


def test_dataloader_with_getitems_and_single_items(store):
    data = WindowDataset(store, spec())
    loader = torch.utils.data.DataLoader(data, batch_size=4, collate_fn=collate)
    got = list(loader)
    assert [len(b["task"]) for b in got] == [4, 4, 4, 4]
    full = data.get_batch(torch.arange(N))
    for i, b in enumerate(got):
        for key in full:
            want = full[key][4 * i:4 * i + 4]
            assert b[key] == want if key == "task" else torch.equal(b[key], want), key
    items = collate([data[3], data[9]])
    pair = data.get_batch([3, 9])
    assert items["task"] == pair["task"] and all(torch.equal(items[k], pair[k]) for k in pair if k != "task")
    assert data[3]["images"].shape == (3, 2, 3, IMAGE_SIZE, IMAGE_SIZE) and isinstance(data[3]["task"], str)
    assert len(data) == N and WindowDataset.collate is not None
    with pytest.raises(IndexError):
        data.get_batch(torch.tensor([N]))


def test_zero_length_trace(store):
    b = WindowDataset(store, spec(K=0)).get_batch(torch.tensor([0, 5]))
    assert b["trace"].shape == (2, 3, 2, 0, 2) and b["trace_valid"].shape == (2, 3, 2, 0)


# ---------------------------------------------------------------------- split
def _fake_store(groups: dict[str, int]) -> EpisodeStore:
    """A store with one frame per episode and no images: enough for the split."""
    names = [name for name, n in groups.items() for _ in range(n)]
    n = len(names)
    z = torch.zeros(n, 1)
    idx = torch.arange(n)
    return EpisodeStore(root=None, cameras=["scene"], images=torch.zeros(n, 1, 3, 8, 8, dtype=torch.uint8), state=z,
                        action=z, episode_index=idx, frame_index=torch.zeros(n, dtype=torch.int64), ep_start=idx,
                        ep_end=idx + 1, task_index=idx, tasks=names, episodes=idx.tolist(), task=names,
                        task_name=names, points=torch.full((n, 1, 1, 2), -1.0), boxes=torch.full((n, 1, 1, 4), -1.0),
                        ee=torch.full((n, 1, 2), -1.0), state_names=["s"], action_names=["a"], fps=10, image_size=8)


def test_datasets_whose_labels_for_a_task_differ_do_not_train_together():
    """place_block_relative's second target changed from the bowl to the goal place (2026-12-07): an old and a
    new place dataset would teach both at once, so concatenating them is refused; other tasks still mix."""
    old, new, other = _fake_store({"place": 2}), _fake_store({"place": 2}), _fake_store({"pick": 2})
    old.grounding_labels, new.grounding_labels = {"place": "target_bodies"}, {"place": "block+goal_place"}
    other.grounding_labels = {"pick": "target_bodies"}
    with pytest.raises(DataError, match="label place's grounding targets differently"):
        EpisodeStore.concat([old, other, new])
    both = EpisodeStore.concat([new, other])
    assert both.grounding_labels == {"place": "block+goal_place", "pick": "target_bodies"}


def test_split_is_by_whole_episodes_stratified_per_task_and_seeded():
    s = _fake_store({"a": 20, "b": 3, "c": 2, "d": 1})
    train, val = train_val_split(s, 0.1, seed=0)
    assert sorted(train + val) == list(range(26)) and not set(train) & set(val)
    held = {name: sum(1 for e in val if s.task_name[e] == name) for name in "abcd"}
    assert held == {"a": 2, "b": 1, "c": 1, "d": 0}  # every task with >= 2 episodes is held out, never all of it
    assert train_val_split(s, 0.1, seed=0) == (train, val)
    assert train_val_split(s, 0.1, seed=1) != (train, val)
    assert train_val_split(s, 0.0, seed=0) == (list(range(26)), [])
    assert train_val_split(s, 0.9, seed=0)[0]  # each task keeps at least one training episode
    with pytest.raises(UserError, match="val_fraction"):
        train_val_split(s, 1.0, seed=0)


def test_split_of_the_synthetic_store_keeps_episode_ids(store):
    train, val = train_val_split(store, 0.5, seed=0)
    assert len(val) == 1 and val[0] in (0, 2) and sorted(train + val) == [0, 1, 2]  # "red" has 2 episodes


# ---------------------------------------------------------------------- bad input
def _one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and isinstance(exc.value, UserError)
    return msg


def test_bad_input_is_a_one_line_user_error(tmp_path, synthetic_root, store):
    with pytest.raises(UserError) as e:
        EpisodeStore.load(tmp_path / "nope", image_size=16)
    assert "does not exist" in _one_line(e)
    for size in (4, 7, 16.0, True):
        with pytest.raises(UserError) as e:
            EpisodeStore.load(synthetic_root, image_size=size)
        assert "image_size" in _one_line(e)
    with pytest.raises(UserError) as e:
        EpisodeStore.load(synthetic_root, image_size=16, episodes=[5], progress=False)
    assert "episode 5" in _one_line(e)
    with pytest.raises(UserError) as e:
        EpisodeStore.load(tmp_path, image_size=16)
    assert "info.json" in _one_line(e)
    with pytest.raises(UserError) as e:
        WindowDataset(store, spec(size=32))
    assert "image_size" in _one_line(e)
    with pytest.raises(UserError) as e:
        WindowDataset(store, spec(s=0))
    assert "history_stride" in _one_line(e)


def test_datasets_without_action_or_without_images_are_refused(tmp_path):
    no_action = write_dataset(tmp_path / "no_action", [2], {k: v for k, v in FEATURES.items() if k != "action"})
    with pytest.raises(UserError) as e:
        EpisodeStore.load(no_action, image_size=16, progress=False)
    assert "no 'action'" in _one_line(e)
    no_images = write_dataset(tmp_path / "no_images", [2], {k: v for k, v in FEATURES.items() if "images" not in k})
    with pytest.raises(UserError) as e:
        EpisodeStore.load(no_images, image_size=16, progress=False)
    assert "no camera videos" in _one_line(e)


def test_several_datasets_train_as_one_store(tmp_path, synthetic_root, store):
    """Two datasets (here: the synthetic one and a copy holding only its episodes 1-2 with other task
    strings) concatenate with unique episode ids, tasks merged, and windows that stay inside their own
    episode of their own dataset."""
    second = tmp_path / "second"
    write_dataset(second, lengths=LENGTHS[1:])  # its episodes 0, 1 have the lengths of episodes 1, 2
    both = EpisodeStore.load_many([synthetic_root, second], image_size=IMAGE_SIZE, progress=False)
    n2 = sum(LENGTHS[1:])
    assert len(both) == N + n2 and both.images.shape[0] == N + n2
    assert both.episodes == [0, 1, 2, 3, 4] and both.episode_index.unique().tolist() == [0, 1, 2, 3, 4]
    assert sorted(both.tasks) == sorted(set(TASKS))
    # every frame keeps its own instruction, through the merged task list
    frame_tasks = [both.tasks[i] for i in both.task_index.tolist()]
    want = [TASKS[where(g)[0]] for g in range(N)] + [TASKS[0]] * LENGTHS[1] + [TASKS[1]] * LENGTHS[2]
    assert frame_tasks == want and both.task == TASKS + TASKS[:2]
    assert both.ep_start[N:].tolist() == [N] * LENGTHS[1] + [N + LENGTHS[1]] * LENGTHS[2]
    assert torch.equal(both.images[:N], store.images) and torch.equal(both.state[:N], store.state)
    data = WindowDataset(both, spec(T=4, s=2, H=6, K=2, ks=2))
    b = data.get_batch(torch.arange(len(both)))
    pos = both.ep_start[:, None] + b["frame_index"].clamp(min=0)
    assert torch.equal(b["images"], both.images[pos])
    assert (pos < both.ep_end[:, None]).all() and (pos >= both.ep_start[:, None]).all()
    train_eps, val_eps = train_val_split(both, 0.4, seed=0)
    assert sorted(train_eps + val_eps) == [0, 1, 2, 3, 4]


def test_datasets_that_differ_are_refused_together(tmp_path, synthetic_root):
    other = tmp_path / "no_wrist"
    features = {k: v for k, v in FEATURES.items() if "wrist" not in k}
    write_dataset(other, features=features)
    with pytest.raises(DataError, match="differ in cameras"):
        EpisodeStore.load_many([synthetic_root, other], image_size=IMAGE_SIZE, progress=False)


def test_a_dataset_spec_takes_only_the_named_collected_tasks(tmp_path):
    from vla.collection import collect
    from vla.train.data import DataError, EpisodeStore, dataset_spec

    collect("tabletop", ["close_drawer", "pick_block_by_relation"], 2, tmp_path / "two", image_size=32,
            progress=False, seed=5, start_frames=3)
    whole = EpisodeStore.load_many([tmp_path / "two"], image_size=16, progress=False)
    assert whole.task_name == ["close_drawer"] * 2 + ["pick_block_by_relation"] * 2
    only = EpisodeStore.load_many([f"{tmp_path / 'two'}:pick_block_by_relation", tmp_path / "two"], image_size=16,
                                  progress=False)
    assert only.task_name == ["pick_block_by_relation"] * 2 + whole.task_name
    picked = only.action[:len(only.action) - len(whole.action)]
    torch.testing.assert_close(picked, whole.action[whole.ep_start[-1] - 3:])  # the same frames, not others
    assert len(set(only.episodes)) == len(only.episodes) == 6
    assert dataset_spec("a/b") == (Path("a/b"), None)
    assert dataset_spec("a/b:x+y") == (Path("a/b"), ["x", "y"])
    with pytest.raises(DataError, match="has no task 'push_block_to_target': its tasks are close_drawer, "
                                        "pick_block_by_relation"):
        EpisodeStore.load_many([f"{tmp_path / 'two'}:push_block_to_target"], image_size=16, progress=False)
    with pytest.raises(DataError, match="FOLDER:task"):
        dataset_spec("a/b:")
    meta = tmp_path / "two" / "meta" / "vla_collection.json"  # a record that no longer lists every episode
    doc = json.loads(meta.read_text())
    doc["seeds"]["close_drawer"] = doc["seeds"]["close_drawer"][:1]
    meta.write_text(json.dumps(doc))
    with pytest.raises(DataError, match="lists every episode"):
        EpisodeStore.load_many([f"{tmp_path / 'two'}:pick_block_by_relation"], image_size=16, progress=False)
