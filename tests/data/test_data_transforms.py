import logging

import numpy as np
import pytest
import torch

from fa_core.data.transforms import SAM_PIXEL_MEAN, TRANSFORMS, Compose, Normalize, Sample, build_transforms
from fa_core.errors import ConfigError


def make_sample(h=30, w=40, with_mask=True, seed=0):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    mask = rng.choice([0, 2, 5, 255], size=(h, w)) if with_mask else None
    return Sample.from_numpy(image, mask)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_resize_uses_nearest_for_masks():
    sample = make_sample()
    out = TRANSFORMS.get("resize")(size=[17, 23])(sample, gen())
    assert out.image.shape == (3, 17, 23) and out.mask.shape == (17, 23)
    assert out.mask.dtype == torch.int64
    assert set(out.mask.unique().tolist()) <= {0, 2, 5, 255}
    assert out.meta["valid_size"] == (17, 23) and out.meta["orig_size"] == (30, 40)


def test_long_side_resize_pad_sets_valid_size_and_pads():
    out = TRANSFORMS.get("long_side_resize_pad")(target_length=64, ignore_index=255)(make_sample(30, 40), gen())
    assert out.image.shape == (3, 64, 64) and out.mask.shape == (64, 64)
    assert out.meta["valid_size"] == (48, 64)
    assert torch.allclose(out.image[:, 48:, :], torch.tensor(SAM_PIXEL_MEAN)[:, None, None].expand(3, 16, 64))
    assert (out.mask[48:] == 255).all()
    normalized = Normalize()(out, gen())
    assert normalized.image[:, 48:].abs().max() < 1e-5  # padding becomes 0 after normalization


@pytest.mark.parametrize(
    "name,params",
    [
        ("resize", {"size": 20}),
        ("long_side_resize_pad", {"target_length": 32}),
        ("hflip", {"p": 0.5}),
        ("random_scale_crop", {"crop_size": [24, 24]}),
        ("color_jitter", {}),
        ("normalize", {}),
        ("to_tensor", {}),
    ],
)
def test_transforms_reproducible_and_accept_no_mask(name, params):
    transform = TRANSFORMS.get(name)(**params)
    a = transform(make_sample(), gen(7))
    b = transform(make_sample(), gen(7))
    assert torch.equal(a.image, b.image) and torch.equal(a.mask, b.mask)
    assert a.image.dtype == torch.float32
    image_only = transform(make_sample(with_mask=False), gen(7))
    assert image_only.mask is None
    assert torch.equal(image_only.image, a.image)  # the image path does not depend on the mask


def test_random_transforms_vary_with_seed():
    crop = TRANSFORMS.get("random_scale_crop")(crop_size=24)
    outputs = {tuple(crop(make_sample(), gen(s)).image.flatten()[:20].tolist()) for s in range(5)}
    assert len(outputs) > 1


def test_random_scale_crop_pads_when_small():
    crop = TRANSFORMS.get("random_scale_crop")(crop_size=100, scale_range=(1.0, 1.0), ignore_index=254)
    out = crop(make_sample(30, 40), gen())
    assert out.image.shape == (3, 100, 100) and out.meta["valid_size"] == (30, 40)
    assert (out.mask[30:] == 254).all() and (out.mask[:, 40:] == 254).all()


def test_hflip_keeps_padding_in_place():
    padded = TRANSFORMS.get("long_side_resize_pad")(target_length=64)(make_sample(30, 40), gen())
    flipped = TRANSFORMS.get("hflip")(p=1.0)(padded, gen())
    assert torch.equal(flipped.mask[:48].flip(-1), padded.mask[:48])
    assert (flipped.mask[48:] == 255).all()


def test_build_transforms_finetune_anything_spec_appends_normalize(caplog):
    spec = {"resize": {"params": {"size": [32, 32]}}, "to_tensor": {"params": None}, "hflip": None}
    with caplog.at_level(logging.INFO):
        pipeline = build_transforms(spec, ignore_index=255, config_path="train.dataset.transforms")
    assert isinstance(pipeline, Compose) and pipeline.is_random
    assert isinstance(pipeline.transforms[-1], Normalize) and len(pipeline) == 4
    assert "normalize" in caplog.text
    out = pipeline(make_sample(), gen())
    assert out.image.shape == (3, 32, 32)
    assert not build_transforms(None, 255, "x").is_random


def test_build_transforms_keeps_explicit_normalize():
    pipeline = build_transforms({"normalize": {"params": {"mean": [0, 0, 0], "std": [1, 1, 1]}}}, 255, "t")
    assert len(pipeline) == 1


def test_build_transforms_passes_ignore_index():
    pipeline = build_transforms({"long_side_resize_pad": {"params": {"target_length": 64}}}, 7, "t")
    assert pipeline.transforms[0].ignore_index == 7


def test_unknown_transform_name_error_names_path():
    with pytest.raises(ConfigError, match=r"train\.dataset\.transforms\.rezise.*valid names: .*resize"):
        build_transforms({"rezise": {"params": {"size": 32}}}, 255, "train.dataset.transforms")


def test_unknown_param_error_names_path():
    with pytest.raises(ConfigError, match=r"train\.dataset\.transforms\.resize\.params\.sise.*did you mean 'size'"):
        build_transforms({"resize": {"params": {"sise": 32}}}, 255, "train.dataset.transforms")


def test_bad_param_value_is_config_error():
    with pytest.raises(ConfigError, match=r"t\.resize\.params"):
        build_transforms({"resize": {"params": {"size": [1, 2, 3]}}}, 255, "t")
