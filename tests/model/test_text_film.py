"""The instruction-conditioned CNN (film_text, text_keypoints): FiLM starts as the plain CNN, and both learn
to read the object the instruction names."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vla_model_testlib import make_batch, make_config
from vla.model.encoders import ConvImageEncoder
from vla.model.modeling import VLAModel


def _two_squares(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Images [n, 3, 32, 32] in [-1, 1] with a red and a blue 6-px square at random places; which colour is
    asked for ([n] 0 = red, 1 = blue); the asked square's centre x in [0, 1]."""
    images = torch.full((n, 3, 32, 32), -1.0)
    which = torch.randint(0, 2, (n,), generator=g)
    xs = torch.randint(0, 26, (n, 2), generator=g)
    ys = torch.randint(0, 26, (n, 2), generator=g)
    for i in range(n):
        for c in range(2):  # red square in channel 0, blue in channel 2
            images[i, 2 * c, ys[i, c]:ys[i, c] + 6, xs[i, c]:xs[i, c] + 6] = 1.0
    target = (xs[torch.arange(n), which].float() + 3) / 32
    return images, which, target


def test_film_starts_as_the_plain_cnn():
    cfg = make_config(film_text=True)
    torch.manual_seed(0)
    film = ConvImageEncoder(cfg)
    torch.manual_seed(0)
    plain = ConvImageEncoder(make_config())
    plain.load_state_dict({k: v for k, v in film.state_dict().items() if not k.startswith("film.")})
    images, text = torch.rand(4, 3, 32, 32) * 2 - 1, torch.randn(4, cfg.text_dim)
    assert torch.allclose(film(images, text), plain(images), atol=1e-6)


@pytest.mark.parametrize("option", [{"film_text": True}, {"text_keypoints": 2}])
def test_the_cnn_reads_the_named_square(option):
    """A linear readout of the pooled tokens finds the named square's x only if the instruction reaches the
    CNN: the same readout without it cannot tell which square is meant."""
    g = torch.Generator().manual_seed(0)
    words = torch.randn(2, 384, generator=g)  # stand-ins for two instruction embeddings

    def fit(film: bool) -> float:
        torch.manual_seed(0)
        enc = ConvImageEncoder(make_config(**option) if film else make_config())
        head = nn.Linear(enc.proj.out_features, 1)
        opt = torch.optim.Adam([*enc.parameters(), *head.parameters()], lr=3e-3)
        for _ in range(150):
            images, which, target = _two_squares(32, g)
            pred = head(enc(images, words[which] if film else None).mean(1)).squeeze(1)
            loss = (pred - target).square().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        images, which, target = _two_squares(256, torch.Generator().manual_seed(1))
        with torch.no_grad():
            pred = head(enc(images, words[which] if film else None).mean(1)).squeeze(1)
        return float((pred - target).abs().mean())

    with_film, without = fit(True), fit(False)
    assert with_film < 0.6 * without, (with_film, without)


def test_film_model_conditions_the_cameras_on_the_instruction():
    cfg = make_config(film_text=True)
    torch.manual_seed(0)
    model = VLAModel(cfg)
    for p in model.cameras.encoder.film.parameters():
        nn.init.normal_(p, std=0.05)  # as after some training
    batch = make_batch(cfg, 2)
    images = batch["images"][:1, -1].expand(2, -1, -1, -1, -1)  # one frame, two different instructions
    seen = []
    model.cameras.register_forward_hook(lambda mod, args, out: seen.append(out))
    model.encode_frames(images, torch.zeros(2, cfg.state_dim), model.text(batch["task"]))
    model.encode_frames(images, torch.zeros(2, cfg.state_dim), model.text([batch["task"][0]] * 2))
    assert not torch.allclose(seen[0][0], seen[0][1], atol=1e-3)  # the camera tokens depend on the instruction
    assert torch.allclose(seen[1][0], seen[1][1], atol=1e-6)
