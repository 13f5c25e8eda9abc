import json

import pytest
import torch

from fa_core.engine.metrics import ConfusionMatrix

# Valid pairs (target, pred): (0,0) (0,1) (1,1) (1,1) (2,0); the 255 pixel is ignored.
TARGET = torch.tensor([[0, 0, 1], [1, 2, 255]])
PRED = torch.tensor([[0, 1, 1], [1, 0, 2]])
EXPECTED_MATRIX = [[1, 1, 0], [0, 2, 0], [1, 0, 0]]


def test_matches_hand_built_matrix():
    cm = ConfusionMatrix(3)
    cm.update(PRED, TARGET)
    cm.reduce()  # no-op without torch.distributed
    result = cm.compute()
    assert result["confusion_matrix"] == EXPECTED_MATRIX
    # IoU: class 0 = 1 / (2 + 2 - 1), class 1 = 2 / (2 + 3 - 2), class 2 = 0 / (1 + 0 - 0)
    assert result["per_class_iou"] == pytest.approx([1 / 3, 2 / 3, 0.0])
    assert result["mIoU"] == pytest.approx(1 / 3)
    assert result["pixel_accuracy"] == pytest.approx(3 / 5)
    assert result["mean_accuracy"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    assert isinstance(result["mIoU"], float)
    json.dumps(result)


def test_updates_accumulate_and_out_of_range_targets_are_masked():
    cm = ConfusionMatrix(3, ignore_index=255)
    cm.update(PRED[0], TARGET[0])
    cm.update(PRED[1], TARGET[1])
    cm.update(torch.tensor([0, 1]), torch.tensor([7, -1]))
    assert cm.compute()["confusion_matrix"] == EXPECTED_MATRIX
    cm.reset()
    assert cm.compute()["mIoU"] is None and cm.compute()["pixel_accuracy"] is None


def test_absent_class_excluded_and_named():
    cm = ConfusionMatrix(4, class_names=["bg", "road", "car", "boat"])
    cm.update(PRED, TARGET)
    result = cm.compute()
    assert result["per_class_iou"][3] is None
    assert result["mIoU"] == pytest.approx(1 / 3)
    assert result["per_class_iou_by_name"]["boat"] is None
    assert result["per_class_iou_by_name"]["road"] == pytest.approx(2 / 3)
    json.dumps(result)


def test_custom_ignore_index_and_shape_check():
    cm = ConfusionMatrix(3, ignore_index=0)
    cm.update(PRED, TARGET)
    assert cm.compute()["confusion_matrix"] == [[0, 0, 0], [0, 2, 0], [1, 0, 0]]
    with pytest.raises(ValueError, match="shape"):
        cm.update(PRED, TARGET[0])
