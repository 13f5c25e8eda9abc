"""The embedding cache: same training with or without it, and no stale reuse."""

import json

import pytest
import torch

from fa_core.config.loader import parse_config
from fa_core.config.schema import EmbeddingCacheConfig
from fa_core.data import TransformedDataset, build_dataset, build_transforms
from fa_core.engine.embedding_cache import EmbeddingCache, cache_decision, encoder_fingerprint, fill_cache
from fa_core.engine.runner import build_runner
from fa_core.models import SemanticSam
from tests.conftest import tiny_config_dict


def frozen_config(tmp_path, enabled):
    data = tiny_config_dict(tmp_path, max_iter=6, log_iter=1, eval_iter=6)
    data["train"]["model"]["params"]["fix_img_en"] = True
    data["train"]["embedding_cache"] = {"enabled": enabled, "dir": str(tmp_path / "cache")}
    return data


def losses(tmp_path):
    lines = (tmp_path / "model" / "tiny" / "train_log.jsonl").read_text().splitlines()
    return [json.loads(line)["loss"] for line in lines]


def test_cached_training_follows_the_uncached_loss_curve(tmp_path):
    build_runner(parse_config(frozen_config(tmp_path / "plain", "off")), show_progress=False).train()
    build_runner(parse_config(frozen_config(tmp_path / "cached", "on")), show_progress=False).train()
    plain, cached = losses(tmp_path / "plain"), losses(tmp_path / "cached")
    assert len(plain) == len(cached) == 6
    # Embeddings are stored in fp16: agreement to half-precision tolerance, not bit for bit.
    assert cached == pytest.approx(plain, rel=5e-3, abs=5e-4)
    assert len(list((tmp_path / "cached" / "cache").rglob("*.npy"))) == 8 + 4  # one entry per train and val image


def items(image_size):
    dataset = build_dataset("synthetic", {"num_images": 3, "image_size": 32, "num_classes": 3}, "d")
    transforms = build_transforms({"resize": {"params": {"size": image_size}}}, 255, "t")
    return TransformedDataset(dataset, transforms, seed=0, keep_original_mask=False)


def tiny_model(seed, image_size=64):
    torch.manual_seed(seed)
    return SemanticSam(class_num=3, model_type="vit_tiny", image_size=image_size, fix_img_en=True)


def test_another_checkpoint_or_input_size_misses_the_cache(tmp_path):
    model = tiny_model(0)
    cache = EmbeddingCache(str(tmp_path), encoder_fingerprint(model))
    keys = fill_cache(model, items(64), cache, torch.device("cpu"), show_progress=False)
    assert all(cache.get(k) is not None for k in keys)
    assert encoder_fingerprint(tiny_model(0)) == encoder_fingerprint(model)  # same weights: shared entries

    other_weights = tiny_model(1)
    other_size = tiny_model(0, image_size=128)
    for other, other_items in ((other_weights, items(64)), (other_size, items(128))):
        other_cache = EmbeddingCache(str(tmp_path), encoder_fingerprint(other))
        assert other_cache.dir != cache.dir and not list(other_cache.dir.rglob("*.npy"))  # a miss: nothing to reuse
        other_keys = fill_cache(other, other_items, other_cache, torch.device("cpu"), show_progress=False)
        assert len(list(other_cache.dir.rglob("*.npy"))) == 3
        expected = other.img_adapter(torch.stack([other_items[i]["image"] for i in range(3)]))
        assert torch.allclose(torch.from_numpy(other_cache.get(other_keys[0]).astype("float32")), expected[0], atol=1e-2)


def test_random_transforms_switch_the_cache_off_or_are_dropped_as_configured():
    model = tiny_model(0)
    transforms = build_transforms({"hflip": {"params": None}, "resize": {"params": {"size": 64}}}, 255, "t")
    use, _, reason = cache_decision(EmbeddingCacheConfig(), model, transforms)
    assert not use and "random train transforms (HorizontalFlip)" in reason
    use, kept, reason = cache_decision(EmbeddingCacheConfig(random_transforms="drop_random_transforms"), model, transforms)
    assert use and not kept.is_random and "dropped: HorizontalFlip" in reason
    trained = SemanticSam(class_num=3, model_type="vit_tiny", image_size=64)
    assert not cache_decision(EmbeddingCacheConfig(), trained, transforms)[0]
