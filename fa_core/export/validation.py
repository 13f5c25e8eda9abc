"""Validate an exported ONNX file against the PyTorch model in ONNX Runtime, on real images.

Both sides get the same raw-pixel batches from the validation split. The report records the
providers asked for and actually used, the logit and label differences, each side's mIoU against
the ground truth, PyTorch and ONNX Runtime latency (medians, same inputs, same machine), and the
file's size and sha256. Out of tolerance, or without the GPU when it is required, is an error.
"""

from __future__ import annotations

import hashlib
import logging
import statistics
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader

from fa_core.config.schema import Tolerances
from fa_core.data.transforms import SAM_PIXEL_MEAN, SAM_PIXEL_STD
from fa_core.engine.evaluation import logits_to_original
from fa_core.engine.metrics import ConfusionMatrix
from fa_core.errors import FAError
from fa_core.export.onnx_model import INPUT_NAME, OnnxSegmenter

logger = logging.getLogger(__name__)
CUDA_PROVIDER = "CUDAExecutionProvider"


class ExportValidationError(FAError):
    """The ONNX file does not compute what the PyTorch model computes (or not where required)."""

    exit_code = 5


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def create_session(path: Path, requested: Sequence[str]):
    """An ONNX Runtime session on the requested providers that this onnxruntime build offers.

    Returns (session, notes). onnxruntime-gpu lists the CUDA provider even without a GPU and falls
    back to the CPU when the session is created, so the providers used are read from the session.
    """
    import onnxruntime as ort

    available = ort.get_available_providers()
    usable = [p for p in requested if p in available]
    notes = [f"{p} requested but not offered by onnxruntime {ort.__version__}" for p in requested if p not in available]
    if not usable:
        usable = ["CPUExecutionProvider"]
        notes.append("no requested provider is available; using CPUExecutionProvider")
    session = ort.InferenceSession(str(path), providers=usable)
    used = session.get_providers()
    for provider in usable:
        if provider not in used:
            notes.append(f"{provider} could not be initialised (no device or driver); ONNX Runtime fell back")
    for note in notes:
        logger.warning("%s", note)
    return session, notes


def raw_pixels(normalized: torch.Tensor) -> torch.Tensor:
    """Undo SAM's normalization: the exported graph takes plain 0..255 RGB pixels."""
    mean = torch.tensor(SAM_PIXEL_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(SAM_PIXEL_STD).view(1, 3, 1, 1)
    return normalized.cpu().float() * std + mean


def median_ms(run, repeats: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _check(report: Dict[str, Any], tolerances: Tolerances) -> List[str]:
    failures = []
    diff, agree, miou_diff = report["logits_max_abs_diff"], report["label_agreement"], report["miou_diff"]
    if diff > tolerances.logits_max_abs:
        failures.append(f"max |logit difference| {diff:.3g} exceeds {tolerances.logits_max_abs:g} by {diff - tolerances.logits_max_abs:.3g}")
    if agree < tolerances.label_agreement:
        failures.append(f"label agreement {agree:.5f} is below {tolerances.label_agreement:g} by {tolerances.label_agreement - agree:.5f}")
    if miou_diff > tolerances.miou_diff:
        failures.append(f"mIoU difference {miou_diff:.4f} exceeds {tolerances.miou_diff:g} by {miou_diff - tolerances.miou_diff:.4f}")
    return failures


@torch.no_grad()
def validate_onnx(
    onnx_path: Path,
    model: nn.Module,
    loader: DataLoader,
    num_classes: int,
    ignore_index: int,
    providers: Sequence[str],
    tolerances: Tolerances,
    num_samples: int = 8,
    latency_runs: int = 5,
    require_gpu: bool = False,
    precision: str = "fp32",
) -> Dict[str, Any]:
    """Compare `onnx_path` with `model` on up to `num_samples` images of `loader`; return the report.

    The PyTorch side always runs in fp32: it is the reference an fp16 export is measured against.

    Raises ExportValidationError (after the report is complete) when a tolerance is exceeded or
    when `require_gpu` is set and the CUDA provider did not run the model.
    """
    import onnxruntime as ort

    session, notes = create_session(onnx_path, providers)
    used = session.get_providers()
    device = next(model.parameters()).device
    wrapper = OnnxSegmenter(model).to(device).eval()
    matrices = {side: ConfusionMatrix(num_classes, ignore_index) for side in ("pytorch", "onnxruntime")}
    max_diff, agree, total, seen, first_batch = 0.0, 0, 0, 0, None
    for batch in loader:
        if seen >= num_samples:
            break
        take = min(num_samples - seen, batch["image"].shape[0])
        pixels = raw_pixels(batch["image"][:take])
        first_batch = first_batch if first_batch is not None else pixels
        torch_logits, torch_labels = (t.cpu() for t in wrapper(pixels.to(device)))
        ort_logits, ort_labels = session.run(None, {INPUT_NAME: pixels.numpy()})
        ort_logits, ort_labels = torch.from_numpy(ort_logits), torch.from_numpy(ort_labels)
        max_diff = max(max_diff, float((torch_logits - ort_logits).abs().max()))
        agree += int((torch_labels == ort_labels).sum())
        total += torch_labels.numel()
        size = pixels.shape[-1]
        for i in range(take):
            mask, valid, orig = batch["mask"][i], batch["valid_size"][i], batch["orig_size"][i]
            for side, logits in (("pytorch", torch_logits[i]), ("onnxruntime", ort_logits[i])):
                matrices[side].update(logits_to_original(logits, size, valid, orig).argmax(0), mask)
        seen += take
    if seen == 0:
        raise ExportValidationError("the validation split gave no images to compare the ONNX file on")

    miou = {side: matrix.compute()["mIoU"] or 0.0 for side, matrix in matrices.items()}
    torch_ms = median_ms(lambda: wrapper(first_batch.to(device)), latency_runs)
    ort_ms = median_ms(lambda: session.run(None, {INPUT_NAME: first_batch.numpy()}), latency_runs)
    report: Dict[str, Any] = {
        "onnx_path": str(onnx_path),
        "precision": precision,
        "providers_requested": list(providers),
        "providers_used": used,
        "provider_notes": notes,
        "onnxruntime_version": ort.__version__,
        "opset": _opset(onnx_path),
        "num_samples": seen,
        "logits_max_abs_diff": max_diff,
        "label_agreement": agree / total,
        "miou_pytorch": miou["pytorch"],
        "miou_onnxruntime": miou["onnxruntime"],
        "miou_diff": abs(miou["pytorch"] - miou["onnxruntime"]),
        "tolerances": vars(tolerances),
        "latency": {
            "batch_size": int(first_batch.shape[0]),
            "runs": latency_runs,
            "pytorch_device": str(device),
            "pytorch_median_ms": torch_ms,
            "onnxruntime_median_ms": ort_ms,
            "pytorch_over_onnxruntime": torch_ms / ort_ms,
        },
        "file": {"size_bytes": onnx_path.stat().st_size, "sha256": sha256_of(onnx_path)},
    }
    failures = _check(report, tolerances)
    if require_gpu and used[0] != CUDA_PROVIDER:
        failures.append(f"require_gpu is set but ONNX Runtime ran on {used[0]} ({'; '.join(notes) or 'no CUDA provider'})")
    report["passed"] = not failures
    report["failures"] = failures
    return report


def _opset(path: Path) -> int:
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    return next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))

