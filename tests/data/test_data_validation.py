import numpy as np
import pytest
from PIL import Image

from fa_core.data import DATASETS, validate_dataset
from fa_core.errors import DataError


def dataset(root):
    return DATASETS.get("base_sem")(str(root), "train")


def check(root, **kwargs):
    args = dict(class_num=3, ignore_index=255, split="train", config_path="train.dataset")
    args.update(kwargs)
    return validate_dataset(dataset(root), **args)


def test_valid_dataset_summary_and_ignore_index(tmp_path, write_pair):
    write_pair(tmp_path, "a")
    write_pair(tmp_path, "b", label=255)  # ignore_index pixels are fine
    summary = check(tmp_path)
    assert summary["num_samples"] == 2
    assert summary["pixel_counts"] == [2 * 6 * 16, 6 * 16, 0]
    assert summary["ignored_pixels"] == 6 * 16


def test_missing_pair(tmp_path, write_pair):
    write_pair(tmp_path, "a")
    write_pair(tmp_path, "b")
    (tmp_path / "ann" / "train" / "b.png").unlink()
    with pytest.raises(DataError, match=r"without a partner.*b\.jpg"):
        check(tmp_path)


def test_corrupt_file(tmp_path, write_pair):
    write_pair(tmp_path, "a")
    write_pair(tmp_path, "bad")
    (tmp_path / "img" / "train" / "bad.jpg").write_bytes(b"not an image")
    with pytest.raises(DataError, match=r"could not be read.*bad\.jpg"):
        check(tmp_path)


def test_rgb_mask_is_reported(tmp_path, write_pair):
    write_pair(tmp_path, "a")
    Image.fromarray(np.zeros((12, 16, 3), np.uint8)).save(tmp_path / "ann" / "train" / "a.png")
    with pytest.raises(DataError, match=r"a\.png.*mode RGB"):
        check(tmp_path)


def test_size_mismatch(tmp_path, write_pair):
    write_pair(tmp_path, "a")
    write_pair(tmp_path, "c")
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(tmp_path / "ann" / "train" / "c.png")
    with pytest.raises(DataError, match=r"mask size differs.*c\.png.*image 12x16, mask 5x5"):
        check(tmp_path)


def test_out_of_range_labels_list_values_and_advice(tmp_path, write_pair):
    for i in range(7):
        write_pair(tmp_path, f"m{i}", label=7)
    with pytest.raises(DataError) as info:
        check(tmp_path, max_listed=5)
    message = str(info.value)
    assert "[7]" in message and "m0.png" in message and "and 2 more" in message
    assert "model.params.class_num" in message and "train.ignore_index" in message


def test_all_problems_in_one_error(tmp_path, write_pair):
    write_pair(tmp_path, "a", label=9)
    write_pair(tmp_path, "b")
    (tmp_path / "ann" / "train" / "b.png").write_bytes(b"garbage")
    (tmp_path / "img" / "train" / "lonely.jpg").write_bytes(b"")
    with pytest.raises(DataError) as info:
        check(tmp_path)
    message = str(info.value)
    assert "3 problem(s)" in message and "lonely.jpg" in message and "b.png" in message and "a.png" in message


def test_empty_split(tmp_path, write_pair):
    (tmp_path / "img" / "train").mkdir(parents=True)
    (tmp_path / "ann" / "train").mkdir(parents=True)
    with pytest.raises(DataError, match=r"train split \(train\.dataset\) has no samples"):
        check(tmp_path)
