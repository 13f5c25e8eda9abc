"""DataLoaders for iteration-based training (resumable, DDP-sharded) and for evaluation.

Training draws global sample keys: key = epoch * N + index. Each key's augmentation is seeded
from (seed, key) alone, so a resumed or multi-worker run sees exactly the batches an
uninterrupted single-process run would.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterator, List, Optional

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, Subset

from fa_core.data.datasets import SegmentationDataset
from fa_core.data.transforms import Compose, Sample
from fa_core.errors import ConfigError


def _sample_seed(seed: int, key: int) -> int:
    # SeedSequence mixes (seed, key) well, so neighbouring keys get unrelated streams.
    return int(np.random.SeedSequence([seed, key]).generate_state(1, dtype=np.uint64)[0] >> 1)


class TransformedDataset(Dataset):
    """Loads raw samples and applies the transform pipeline, keyed by a global sample counter."""

    def __init__(self, dataset: SegmentationDataset, transforms: Compose, seed: int, keep_original_mask: bool):
        self.dataset = dataset
        self.transforms = transforms
        self.seed = int(seed)
        self.keep_original_mask = keep_original_mask

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: int) -> Dict[str, Any]:
        image, mask, name = self.dataset.load(key % len(self.dataset))
        generator = torch.Generator().manual_seed(_sample_seed(self.seed, key))
        # Evaluation transforms the image only and scores against the untouched label.
        sample = Sample.from_numpy(image, None if self.keep_original_mask else mask)
        sample = self.transforms(sample, generator)
        out_mask = torch.from_numpy(np.asarray(mask, dtype=np.int64).copy()) if self.keep_original_mask else sample.mask
        return {
            "image": sample.image,
            "mask": out_mask,
            "valid_size": torch.tensor(sample.meta["valid_size"], dtype=torch.int64),
            "orig_size": torch.tensor(sample.meta["orig_size"], dtype=torch.int64),
            "name": name,
        }


def collate(batch: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Stack a batch; masks of differing sizes (evaluation at label resolution) stay a list."""
    masks = [item["mask"] for item in batch]
    same_shape = all(m.shape == masks[0].shape for m in masks)
    out = {
        "mask": torch.stack(masks) if same_shape else masks,
        "valid_size": torch.stack([item["valid_size"] for item in batch]),
        "orig_size": torch.stack([item["orig_size"] for item in batch]),
        "name": [item["name"] for item in batch],
    }
    # Items carry pixels, or cached image-encoder outputs in their place (fa_core.engine.embedding_cache).
    for key in ("image", "embedding"):
        if key in batch[0]:
            out[key] = torch.stack([item[key] for item in batch])
    return out


class ResumableSampler(Sampler):
    """Infinite batch sampler over global keys, able to start at any batch number.

    Epoch e visits a permutation of range(N) drawn from a generator seeded (seed + e); each
    rank takes perm[rank::world_size], padded (or, with drop_last, truncated) so that every
    rank gets the same number of batches. Batches never straddle epochs, so the number of
    batches per epoch is fixed and `start_step` maps directly to (epoch, offset).
    """

    def __init__(
        self,
        num_samples: int,
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = True,
        start_step: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ):
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} must be in [0, world_size={world_size})")
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        self.num_samples, self.batch_size, self.shuffle = num_samples, batch_size, shuffle
        self.seed, self.drop_last, self.start_step = seed, drop_last, start_step
        self.rank, self.world_size = rank, world_size
        if drop_last:
            self.per_rank = num_samples // world_size
            self.batches_per_epoch = self.per_rank // batch_size
        else:
            self.per_rank = -(-num_samples // world_size)
            self.batches_per_epoch = -(-self.per_rank // batch_size)
        if self.batches_per_epoch == 0:
            raise ConfigError(
                f"batch_size {batch_size} exceeds the {self.per_rank} training samples available per process "
                f"({num_samples} samples, {world_size} process(es)) and drop_last is set, so no batch could be "
                "formed; lower the batch size, add data, or disable drop_last"
            )

    def epoch_keys(self, epoch: int) -> List[int]:
        """This rank's global keys for one epoch, in visiting order."""
        n = self.num_samples
        if self.shuffle:
            order = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed + epoch)).tolist()
        else:
            order = list(range(n))
        total = self.per_rank * self.world_size
        order = (order * (total // n + 1))[:total]  # truncate, or pad by repeating, to equal shards
        return [epoch * n + index for index in order[self.rank :: self.world_size]]

    def __iter__(self) -> Iterator[List[int]]:
        epoch, offset = divmod(self.start_step, self.batches_per_epoch)
        while True:
            keys = self.epoch_keys(epoch)
            for batch in range(offset, self.batches_per_epoch):
                yield keys[batch * self.batch_size : (batch + 1) * self.batch_size]
            epoch, offset = epoch + 1, 0


def build_train_loader(
    dataset: SegmentationDataset,
    transforms: Compose,
    batch_size: int,
    num_workers: int,
    drop_last: bool,
    seed: int,
    start_step: int = 0,
    rank: int = 0,
    world_size: int = 1,
    pin_memory: bool = False,
    wrap: Optional[Callable[[TransformedDataset], Dataset]] = None,
) -> DataLoader:
    """Infinite loader of training batches, starting at batch `start_step` of this rank.

    `wrap` may replace the per-sample dataset (the embedding cache serves encoder outputs this way).
    """
    sampler = ResumableSampler(
        len(dataset), batch_size, shuffle=True, seed=seed, drop_last=drop_last,
        start_step=start_step, rank=rank, world_size=world_size,
    )  # fmt: skip
    items = TransformedDataset(dataset, transforms, seed, keep_original_mask=False)
    return DataLoader(
        wrap(items) if wrap else items,
        batch_sampler=sampler,
        num_workers=num_workers,
        collate_fn=collate,
        pin_memory=pin_memory,
        persistent_workers=num_workers > 0,
    )


def build_eval_loader(
    dataset: SegmentationDataset, transforms: Compose, batch_size: int, num_workers: int, pin_memory: bool = False,
    wrap: Optional[Callable[[TransformedDataset], Dataset]] = None,
    rank: int = 0,
    world_size: int = 1,
) -> DataLoader:
    """One in-order pass; masks are the original labels (scored at their own resolution).

    Under DDP each rank takes every world_size-th sample; the confusion matrices are summed after.
    """
    items = TransformedDataset(dataset, transforms, seed=0, keep_original_mask=True)
    served = wrap(items) if wrap else items
    if world_size > 1:
        served = Subset(served, range(rank, len(served), world_size))
    return DataLoader(
        served,
        batch_size=batch_size,
        shuffle=False,
        drop_last=False,
        num_workers=num_workers,
        collate_fn=collate,
        pin_memory=pin_memory,
    )
