import itertools

import pytest
import torch

from fa_core.data import ResumableSampler, build_eval_loader, build_train_loader, build_transforms
from fa_core.data.datasets import SyntheticShapes
from fa_core.errors import ConfigError


def keys(sampler, num_batches):
    return list(itertools.islice(iter(sampler), num_batches))


@pytest.mark.parametrize("drop_last", [True, False])
def test_sampler_resume_matches_uninterrupted_run(drop_last):
    full = keys(ResumableSampler(10, 3, seed=4, drop_last=drop_last), 20)
    for start in [1, 3, 4, 7]:
        assert keys(ResumableSampler(10, 3, seed=4, drop_last=drop_last, start_step=start), 20 - start) == full[start:]


def test_sampler_epochs_are_permutations_and_batches_do_not_straddle():
    sampler = ResumableSampler(10, 3, seed=0, drop_last=True)
    batches = keys(sampler, 6)  # 3 batches per epoch
    assert all(len(b) == 3 for b in batches)
    assert all(k // 10 == 0 for b in batches[:3] for k in b) and all(k // 10 == 1 for b in batches[3:] for k in b)
    epoch0 = [k for b in batches[:3] for k in b]
    assert len(set(epoch0)) == 9
    unshuffled = keys(ResumableSampler(10, 3, shuffle=False, drop_last=False), 4)
    assert unshuffled == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]


def test_sampler_ddp_shards_disjoint_and_equal():
    shards = [keys(ResumableSampler(11, 2, seed=1, drop_last=True, rank=r, world_size=3), 2) for r in range(3)]
    flat = [[k for b in shard for k in b] for shard in shards]
    assert all(len(f) == 4 for f in flat)
    assert not set(flat[0]) & set(flat[1]) and not set(flat[1]) & set(flat[2]) and not set(flat[0]) & set(flat[2])


def test_batch_larger_than_dataset_with_drop_last():
    with pytest.raises(ConfigError, match="batch_size 8 exceeds"):
        ResumableSampler(5, 8, drop_last=True)
    assert sorted(keys(ResumableSampler(5, 8, drop_last=False), 1)[0]) == [0, 1, 2, 3, 4]


def test_train_loader_reproducible_and_resumable():
    data = SyntheticShapes(num_images=6, image_size=32, num_classes=3)
    spec = {"random_scale_crop": {"params": {"crop_size": 24}}, "hflip": None, "color_jitter": None}
    transforms = build_transforms(spec, 255, "train.dataset.transforms")
    full = list(itertools.islice(build_train_loader(data, transforms, 2, 0, True, seed=3), 4))
    resumed = list(itertools.islice(build_train_loader(data, transforms, 2, 0, True, seed=3, start_step=2), 2))
    for a, b in zip(full[2:], resumed):
        assert torch.equal(a["image"], b["image"]) and torch.equal(a["mask"], b["mask"]) and a["name"] == b["name"]
    batch = full[0]
    assert batch["image"].shape == (2, 3, 24, 24) and batch["mask"].shape == (2, 24, 24)
    assert batch["mask"].dtype == torch.int64 and batch["valid_size"].shape == (2, 2)


def test_train_loader_workers_match_single_process():
    data = SyntheticShapes(num_images=4, image_size=32, num_classes=3)
    transforms = build_transforms({"random_scale_crop": {"params": {"crop_size": 16}}}, 255, "t")
    single = next(iter(build_train_loader(data, transforms, 2, 0, True, seed=1)))
    multi = next(iter(build_train_loader(data, transforms, 2, 2, True, seed=1)))
    assert torch.equal(single["image"], multi["image"])


class Mixed(SyntheticShapes):
    """Two samples of different sizes, as real evaluation sets have."""

    def load(self, index):
        image, mask, name = super().load(index)
        return (image, mask, name) if index == 0 else (image[:20], mask[:20], name)


def test_eval_loader_keeps_original_masks():
    data = Mixed(num_images=3, image_size=32, num_classes=3)
    transforms = build_transforms({"long_side_resize_pad": {"params": {"target_length": 16}}}, 255, "t")
    batches = list(build_eval_loader(data, transforms, batch_size=2, num_workers=0))
    assert [len(b["name"]) for b in batches] == [2, 1]
    first = batches[0]
    assert first["image"].shape == (2, 3, 16, 16)
    assert isinstance(first["mask"], list) and first["mask"][0].shape == (32, 32) and first["mask"][1].shape == (20, 32)
    assert torch.equal(first["mask"][0], torch.from_numpy(data.load(0)[1]))
    assert first["valid_size"].tolist() == [[16, 16], [10, 16]]
    assert first["orig_size"].tolist() == [[32, 32], [20, 32]]
