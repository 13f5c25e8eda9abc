"""The export-only wrapper and the ONNX export itself.

The exported graph takes plain RGB pixels: input `image`, float32 [N, 3, S, S], values 0..255,
already resized to S x S (or long-side resized and padded with SAM's pixel mean; the metadata says
which). SAM's mean/std normalization runs inside the graph. Outputs:
  - `logits`: float32 [N, K, S, S], class scores at the input resolution;
  - `labels`: int64 [N, S, S], the argmax class per pixel.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from pathlib import Path
from typing import Dict, List, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from fa_core.data.transforms import SAM_PIXEL_MEAN, SAM_PIXEL_STD

logger = logging.getLogger(__name__)

INPUT_NAME = "image"
OUTPUT_NAMES = ("logits", "labels")
PIXEL_RANGE = "RGB float32 in [0, 255]"


class OnnxSegmenter(nn.Module):
    """Normalization + Extend-SAM + upsampling to the input size + argmax, for export and serving."""

    def __init__(self, model: nn.Module, half: bool = False):
        super().__init__()
        self.model = model
        self.half = half
        self.register_buffer("pixel_mean", torch.tensor(SAM_PIXEL_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(SAM_PIXEL_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, image: torch.Tensor):
        """image: Nx3xSxS RGB pixels 0..255 -> (logits NxKxSxS float32, labels NxSxS int64)."""
        x = (image - self.pixel_mean) / self.pixel_std
        if self.half:
            x = x.half()
        logits, _ = self.model(x)
        logits = F.interpolate(logits.float(), size=image.shape[-2:], mode="bilinear", align_corners=False)
        return logits, logits.argmax(dim=1)


def build_metadata(
    class_names: Sequence[str], input_size: int, preprocessing: str, model_type: str, config_hash: str, precision: str
) -> Dict[str, str]:
    """What a client needs to use the file, stored as ONNX metadata_props (string values)."""
    import fa_core

    return {
        "class_names": json.dumps(list(class_names)),
        "input_size": str(input_size),
        "input_name": INPUT_NAME,
        "pixel_range": PIXEL_RANGE,
        "preprocessing": json.dumps(
            {
                "resize": preprocessing,
                "pad_value": list(SAM_PIXEL_MEAN) if preprocessing == "long_side_resize_pad" else None,
                "normalization": {"in_graph": True, "mean": list(SAM_PIXEL_MEAN), "std": list(SAM_PIXEL_STD)},
            }
        ),
        "outputs": json.dumps({"logits": "float32 [N, K, S, S]", "labels": "int64 [N, S, S]"}),
        "model_type": model_type,
        "precision": precision,
        "fa_core_version": fa_core.__version__,
        "config_hash": config_hash,
    }


def export_onnx(
    model: nn.Module, path: Path, input_size: int, metadata: Dict[str, str], opset: int = 17, half: bool = False
) -> float:
    """Export `model` wrapped in OnnxSegmenter to `path` with a dynamic batch; returns seconds taken."""
    import onnx

    wrapper = OnnxSegmenter(model, half=half).eval()
    if half:
        wrapper = wrapper.to(next(model.parameters()).device)
        wrapper.model.half()
        wrapper.model.prompt_adapter.float()  # SAM's prompt encoder builds fp32 grids; the neck casts them
    device = next(model.parameters()).device
    dummy = torch.rand(2, 3, input_size, input_size, device=device) * 255
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    # segment-anything's shape arithmetic triggers TracerWarnings that do not apply at a fixed input size.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        torch.onnx.export(
            wrapper,
            (dummy,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES),
            dynamic_axes={INPUT_NAME: {0: "batch"}, "logits": {0: "batch"}, "labels": {0: "batch"}},
            opset_version=opset,
            dynamo=False,
        )
    # Models over 2 GB (vit_h) come out with their weights as external data next to the file;
    # the metadata edit touches only the graph file and keeps those references.
    proto = onnx.load(str(path), load_external_data=False)
    del proto.metadata_props[:]
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))
    seconds = time.monotonic() - started
    logger.info("exported %s (%s) in %.1f s", path, metadata.get("precision", "fp32"), seconds)
    return seconds


def preprocessing_of(transform_names: List[str]) -> str:
    """How a client must bring images to S x S, read off the validation transforms."""
    return "long_side_resize_pad" if "long_side_resize_pad" in transform_names else "resize"
