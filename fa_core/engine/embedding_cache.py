"""Cache of a frozen image encoder's outputs, so training runs SAM's heavy ViT once per image.

Entries are fp16 .npy files read memory-mapped, one per (encoder, preprocessed image). The folder
name is a fingerprint of the encoder's weights, model type and input size, and each file name a
hash of the image content and the preprocessing, so a different checkpoint, model type, input size
or image never reuses a stale entry; runs with the same encoder share the folder.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset
from tqdm import tqdm

from fa_core.data.loaders import TransformedDataset
from fa_core.data.transforms import Compose

logger = logging.getLogger(__name__)


def encoder_fingerprint(model: nn.Module) -> str:
    """Hash of the image encoder's weights, the model type and the input size."""
    digest = hashlib.sha256(f"{getattr(model, 'model_type', '?')}:{model.image_size}".encode())
    for name, tensor in model.img_adapter.state_dict().items():
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:24]


class EmbeddingCache:
    def __init__(self, root: str, fingerprint: str):
        self.dir = Path(root) / fingerprint
        self.dir.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.npy"

    def get(self, key: str) -> Optional[np.ndarray]:
        path = self.path(key)
        return np.load(path, mmap_mode="r") if path.exists() else None

    def put(self, key: str, embedding: torch.Tensor) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(handle, "wb") as file:
            np.save(file, embedding.detach().to(torch.float16).cpu().numpy())
        os.replace(tmp, path)  # atomic: concurrent runs never read half a file


def sample_keys(items: TransformedDataset) -> List[str]:
    """One key per sample: its preprocessed pixels (deterministic transforms only) hashed."""
    keys = []
    for index in range(len(items)):
        image = items[index]["image"]
        keys.append(hashlib.sha256(image.numpy().tobytes() + str(tuple(image.shape)).encode()).hexdigest())
    return keys


@torch.no_grad()
def fill_cache(model: nn.Module, items: TransformedDataset, cache: EmbeddingCache, device: torch.device,
               batch_size: int = 8, show_progress: bool = True) -> List[str]:  # fmt: skip
    """Encode every sample that the cache lacks; returns the sample keys (index -> key)."""
    keys = sample_keys(items)
    missing = [i for i, key in enumerate(keys) if not cache.path(key).exists()]
    logger.info("embedding cache %s: %d of %d samples cached, encoding %d", cache.dir, len(keys) - len(missing),
                len(keys), len(missing))  # fmt: skip
    model.eval()
    for start in tqdm(range(0, len(missing), batch_size), desc="encode", disable=not show_progress, leave=False):
        chunk = missing[start : start + batch_size]
        images = torch.stack([items[i]["image"] for i in chunk]).to(device)
        for i, embedding in zip(chunk, model.img_adapter(images)):
            cache.put(keys[i], embedding)
    return keys


class CachedEmbeddings(Dataset):
    """Training items with the cached encoder output in place of the pixels."""

    def __init__(self, items: TransformedDataset, cache: EmbeddingCache, keys: List[str]):
        self.items, self.cache, self.keys = items, cache, keys

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: int) -> Dict[str, Any]:
        item = self.items[key]
        del item["image"]
        item["embedding"] = torch.from_numpy(np.array(self.cache.get(self.keys[key % len(self.keys)]), dtype=np.float32))
        return item


def cache_decision(config_cache, model: nn.Module, transforms: Compose) -> tuple:
    """(use_cache, transforms to train with, reason), following train.embedding_cache."""
    from fa_core.errors import ConfigError
    from fa_core.models.adapters import is_frozen

    frozen = is_frozen(model.img_adapter)
    if config_cache.enabled == "off":
        return False, transforms, "train.embedding_cache.enabled is off"
    if not frozen:
        if config_cache.enabled == "on":
            raise ConfigError("train.embedding_cache.enabled is on but the image encoder trains "
                              "(set train.model.params.fix_img_en: true)")  # fmt: skip
        return False, transforms, "the image encoder is trained, so its outputs change every step"
    random_ones = [type(t).__name__ for t in transforms.transforms if getattr(t, "is_random", False)]
    if random_ones:
        if config_cache.random_transforms == "disable_cache":
            return False, transforms, (f"random train transforms ({', '.join(random_ones)}) change the encoder input "
                                       "each step; set train.embedding_cache.random_transforms: drop_random_transforms "
                                       "to cache without them")  # fmt: skip
        kept = Compose([t for t in transforms.transforms if not getattr(t, "is_random", False)])
        return True, kept, f"cached; random train transforms dropped: {', '.join(random_ones)}"
    return True, transforms, "cached (frozen encoder, deterministic transforms)"
