"""The instruction-reading check of validation (`start_grounding`): first frames only, the chosen target only
(0 by default), cameras with a label only, and a point on another object counted as a misread."""

from __future__ import annotations

import types

import torch
from torch import nn
from train_testlib import IMAGE_SIZE, LENGTHS, STARTS, TASKS

from vla.model.action_space import ActionCodec
from vla.train.data import WindowDataset, WindowSpec
from vla.train.loop import MISREAD_PX, make_normalizer, start_grounding

SIZE = 128  # the labels' source resolution the errors are measured at


class PointAt(nn.Module):
    """Stands in for a trained model: grounds every target exactly, except target `target` `off_px` to the right
    in windows whose instruction is `misread`, and far off wherever the window does not end on an episode's first frame."""

    def __init__(self, misread: str, off_px: float, target: int = 0):
        super().__init__()
        self.target = target
        self.weight = nn.Parameter(torch.zeros(1))  # start_grounding asks the model for its device
        self.grounding = object()
        self.cfg = types.SimpleNamespace(source_image_size=SIZE)
        self.misread, self.off = misread, off_px / SIZE

    def ground_last(self, batch: dict) -> dict:
        assert not self.training, "grounded with training augmentation on"
        points = batch["points"][:, -1].clamp(0, 1).clone()
        for row, task in enumerate(batch["task"]):
            points[row, :, self.target, 0] += self.off if task == self.misread else 0.0
            if int(batch["frame_index"][row, -1]) != 0:
                points[row, :, :, 0] += 0.5
        return {"points": points}


def test_start_grounding_counts_misread_first_frames(store):
    data = WindowDataset(store, WindowSpec(history_len=2, history_stride=1, chunk=2, trace_len=1, trace_stride=1,
                                           image_size=IMAGE_SIZE))
    codec = ActionCodec.for_config("delta", store.state_names)
    norm = make_normalizer(store, types.SimpleNamespace(chunk=2), codec)
    starts = torch.unique(store.ep_start)
    assert starts.tolist() == STARTS and len(LENGTHS) == 3
    misread = TASKS[1]  # one of three episodes; only the scene camera has labels
    model = PointAt(misread, 2 * MISREAD_PX).train()
    out = start_grounding(model, data, starts, norm, codec)
    assert model.training  # the caller's mode comes back
    assert abs(out["start_misread_share"] - 1 / 3) < 1e-6
    assert out["start_point_err_px_median"] < 1e-3
    close = start_grounding(PointAt(misread, 0.5 * MISREAD_PX), data, starts, norm, codec)
    assert close["start_misread_share"] == 0.0  # a near miss is imprecision, not a misread
    # the model grounds target 0 wrongly but target 1 exactly: target=1 reads target 1 only
    other = start_grounding(PointAt(misread, 2 * MISREAD_PX, target=0), data, starts, norm, codec, target=1)
    assert other["start_misread_share"] == 0.0 and other["start_point_err_px_median"] < 1e-3
    wrong = start_grounding(PointAt(misread, 2 * MISREAD_PX, target=1), data, starts, norm, codec, target=1)
    assert abs(wrong["start_misread_share"] - 1 / 3) < 1e-6
