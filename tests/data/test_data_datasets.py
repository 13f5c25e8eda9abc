import numpy as np
import pytest
from PIL import Image

from fa_core.data import DATASETS, build_dataset
from fa_core.data.datasets import SyntheticShapes
from fa_core.errors import ConfigError, DataError


def test_base_sem_pairs_by_stem(tmp_path, write_pair):
    for stem in ["b", "a"]:
        write_pair(tmp_path, stem)
    (tmp_path / "img" / "train" / "orphan.jpg").write_bytes(b"")
    ds = build_dataset("base_sem", {"dataset_dir": str(tmp_path), "image_set": "train",
                                    "metainfo": {"class_names": ["bg", "fg"]}}, "train.dataset")
    assert len(ds) == 2 and ds.class_names == ["bg", "fg"]
    image, mask, name = ds[0]
    assert name == "a" and image.shape == (12, 16, 3) and image.dtype == np.uint8
    assert mask.dtype == np.int64 and set(np.unique(mask)) == {0, 1}
    assert ds.unpaired_files() == [str(tmp_path / "img" / "train" / "orphan.jpg")]
    assert "a.jpg" in ds.describe(0) and "a.png" in ds.describe(0)


def test_base_sem_suffixes_prefix_and_palette_masks(tmp_path, write_pair):
    write_pair(tmp_path, "x", img_dir="JPEGImages", ann_dir="Labels", split="val", img_suffix=".png", ann_suffix="_gt.png")
    mask_path = tmp_path / "Labels" / "val" / "x_gt.png"
    palette_mask = Image.fromarray(np.array([[0, 3], [3, 0]], np.uint8).repeat(6, 0).repeat(8, 1), mode="P")
    palette_mask.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 756)
    palette_mask.save(mask_path)
    ds = DATASETS.get("base_sem")(str(tmp_path), "val", img_suffix=".png", ann_suffix="_gt.png",
                                  data_prefix={"img_path": "JPEGImages", "ann_path": "Labels"})
    _, mask, name = ds[0]
    assert name == "x" and set(np.unique(mask)) == {0, 3}  # palette indices, not colours
    assert ds.class_names == [] and ds.names_for(2) == ["class_0", "class_1"]


def test_base_sem_missing_folder(tmp_path):
    with pytest.raises(DataError, match=r"img[/\\]train.*does not exist"):
        DATASETS.get("base_sem")(str(tmp_path), "train")


def test_build_dataset_errors():
    with pytest.raises(ConfigError, match=r"train\.dataset\.name.*synthetic"):
        build_dataset("nope", {}, "train.dataset")
    with pytest.raises(ConfigError, match=r"train\.dataset\.params\.num_image\b"):
        build_dataset("synthetic", {"num_image": 3}, "train.dataset")


def test_torch_voc_missing_is_data_error(tmp_path):
    with pytest.raises(DataError, match="downloaded beforehand"):
        build_dataset("torch_voc_sem", {"root": str(tmp_path)}, "train.dataset")


def test_synthetic_deterministic_and_splits_differ():
    a = SyntheticShapes(num_images=3, image_size=48, num_classes=5, seed=1)
    b = SyntheticShapes(num_images=3, image_size=48, num_classes=5, seed=1)
    val = SyntheticShapes(num_images=3, image_size=48, num_classes=5, seed=1, image_set="val")
    for i in range(3):
        assert np.array_equal(a[i][0], b[i][0]) and np.array_equal(a[i][1], b[i][1])
    assert not np.array_equal(a[0][0], val[0][0])
    assert not np.array_equal(a[0][0], a[1][0])
    assert a.class_names == ["background", "disk", "rectangle", "triangle", "ring"]
    image, mask, _ = a[0]
    assert image.shape == (48, 48, 3) and image.dtype == np.uint8 and mask.dtype == np.int64
    assert mask.min() >= 0 and mask.max() < 5


def test_synthetic_statistics():
    ds = SyntheticShapes(num_images=40, image_size=64, num_classes=4)
    masks = np.stack([ds[i][1] for i in range(len(ds))])
    assert 0.5 <= (masks == 0).mean() <= 0.8
    assert set(np.unique(masks)) == {0, 1, 2, 3}
