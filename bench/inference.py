"""Inference benchmark: PyTorch eager against ONNX Runtime on the exported model, side by side.

For each model type: build the SemanticSam (random weights), export it with fa_core's exporter,
then time the same input batch in PyTorch (the export wrapper, eager) and in ONNX Runtime, in this
process, medians after a warm-up.

    python bench/inference.py --model-types vit_tiny vit_b --batch-size 1 --runs 3
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from fa_core.export.onnx_model import OnnxSegmenter, build_metadata, export_onnx
from fa_core.export.validation import create_session, median_ms
from fa_core.models import SemanticSam


def bench(model_type: str, batch: int, runs: int, providers) -> dict:
    size = 256 if model_type == "vit_tiny" else 1024
    torch.manual_seed(0)
    model = SemanticSam(class_num=21, model_type=model_type, image_size=size if model_type == "vit_tiny" else None).eval()
    path = Path(tempfile.mkdtemp()) / f"{model_type}.onnx"
    export_s = export_onnx(model, path, size, build_metadata([str(i) for i in range(21)], size, "resize", model_type, "bench", "fp32"))
    session, _ = create_session(path, providers)
    pixels = np.random.default_rng(0).uniform(0, 255, (batch, 3, size, size)).astype(np.float32)
    wrapper = OnnxSegmenter(model).eval()
    with torch.no_grad():
        torch_ms = median_ms(lambda: wrapper(torch.from_numpy(pixels)), runs)
    ort_ms = median_ms(lambda: session.run(None, {"image": pixels}), runs)
    return {"model_type": model_type, "input": size, "batch": batch, "export_s": export_s,
            "onnx_mb": path.stat().st_size / 2**20, "provider": session.get_providers()[0],
            "pytorch_ms": torch_ms, "onnxruntime_ms": ort_ms, "ratio": torch_ms / ort_ms}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-types", nargs="+", default=["vit_tiny", "vit_b"])
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--providers", nargs="+", default=["CUDAExecutionProvider", "CPUExecutionProvider"])
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    results = [bench(m, args.batch_size, args.runs, args.providers) for m in args.model_types]
    print(f"\n{platform.machine()}, torch {torch.__version__}, onnxruntime {ort.__version__}")
    print(f"{'model':<9} {'input':>5} {'batch':>5} {'provider':<22} {'PyTorch ms':>11} {'ORT ms':>9} {'ratio':>6}")
    for r in results:
        print(f"{r['model_type']:<9} {r['input']:>5} {r['batch']:>5} {r['provider']:<22} {r['pytorch_ms']:>11.1f} "
              f"{r['onnxruntime_ms']:>9.1f} {r['ratio']:>6.2f}")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": results}, indent=2))


if __name__ == "__main__":
    main()
