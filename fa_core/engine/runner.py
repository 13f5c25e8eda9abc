"""The training runner: iteration-based loop, evaluation, checkpoints and resume.

Runs write to <model_folder>/<experiment_name>/ (checkpoints, config, metrics, train log) and
<log_folder>/<experiment_name>/train.log, as finetune-anything does.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

import fa_core
from fa_core.config.kwargs_check import call_with_config
from fa_core.config.loader import config_hash, config_to_dict, dump_config
from fa_core.config.schema import Config, DatasetConfig, EvalSplitConfig
from fa_core.data import TransformedDataset, build_dataset, build_eval_loader, build_train_loader, build_transforms, validate_dataset
from fa_core.data.datasets import SegmentationDataset
from fa_core.data.transforms import Compose
from fa_core.engine.checkpoint import BEST, LAST, load_checkpoint, save_checkpoint
from fa_core.engine.embedding_cache import CachedEmbeddings, EmbeddingCache, cache_decision, encoder_fingerprint, fill_cache
from fa_core.engine.performance import configure_performance
from fa_core.engine.evaluation import evaluate, most_frequent_class_miou
from fa_core.engine.losses import build_losses
from fa_core.engine.optim import build_optimizer
from fa_core.engine.schedulers import build_scheduler
from fa_core.engine.setup import DistContext, init_distributed, resolve_device, seed_everything
from fa_core.log import setup_logging
from fa_core.errors import CheckpointError, ConfigError
from fa_core.models import MODELS, load_model_weights
from fa_core.registry import Registry

RUNNERS = Registry("runner")
logger = logging.getLogger(__name__)


@dataclass
class RunPaths:
    run_dir: Path
    log_dir: Path
    tensorboard_dir: Path

    @classmethod
    def from_config(cls, config: Config) -> "RunPaths":
        train = config.train
        name = train.experiment_name
        return cls(Path(train.model_folder) / name, Path(train.log_folder) / name, Path(train.tensorboard_folder) / name)


def build_model(config: Config) -> nn.Module:
    """The configured Extend-SAM model, with `model.init_weights` loaded when set."""
    model_cfg = config.train.model
    model = call_with_config(MODELS.get(model_cfg.sam_name), model_cfg.params, "train.model.params")
    if model_cfg.init_weights:
        load_model_weights(model, model_cfg.init_weights)
        logger.info("loaded fine-tuned weights from %s", model_cfg.init_weights)
    return model


def model_class_num(model: nn.Module, config: Config) -> int:
    class_num = getattr(model, "class_num", None) or config.train.model.params.get("class_num")
    if not class_num:
        raise ConfigError("train.model.params.class_num: required for semantic segmentation")
    return int(class_num)


def build_split_data(
    dataset_cfg: DatasetConfig, path: str, config: Config, class_num: int
) -> Tuple[SegmentationDataset, Compose]:
    """Dataset and transforms of one split, checked before any training starts."""
    ignore_index = config.train.ignore_index
    dataset = build_dataset(dataset_cfg.name, dataset_cfg.params, f"{path}.dataset")
    transforms = build_transforms(dataset_cfg.transforms, ignore_index, f"{path}.dataset.transforms")
    if dataset_cfg.target_transforms:
        logger.info(
            "%s.dataset.target_transforms: masks follow the image transforms (nearest-neighbour resize)", path
        )
    if config.train.validate_data:
        summary = validate_dataset(dataset, class_num, ignore_index, split=path, config_path=f"{path}.dataset")
        logger.info("%s data: %d samples checked", path, summary["num_samples"])
    if len(dataset.class_names) != class_num:
        logger.warning(
            "%s.dataset has %d class names but model.params.class_num is %d", path, len(dataset.class_names), class_num
        )
    return dataset, transforms


def check_input_size(dataset: SegmentationDataset, transforms: Compose, image_size: int, path: str) -> None:
    """Fail early when the transforms do not produce the square input size the model takes."""
    sample = TransformedDataset(dataset, transforms, seed=0, keep_original_mask=True)[0]
    height, width = sample["image"].shape[-2:]
    if (height, width) != (image_size, image_size):
        raise ConfigError(
            f"{path}.dataset.transforms produce {height}x{width} images but the model takes "
            f"{image_size}x{image_size}; add `resize: {{params: {{size: [{image_size}, {image_size}]}}}}` "
            "or `long_side_resize_pad`"
        )


def autocast_settings(amp: str, device: torch.device) -> Tuple[bool, torch.dtype, bool]:
    """(enabled, dtype, needs_grad_scaler). Mixed precision is a CUDA feature here; CPU runs fp32."""
    if device.type != "cuda" or amp == "off":
        return False, torch.float32, False
    if amp == "bf16" or (amp == "auto" and torch.cuda.is_bf16_supported()):
        return True, torch.bfloat16, False
    return True, torch.float16, True


def train_step(
    model: nn.Module,
    batch: Dict[str, Any],
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    device: torch.device,
    autocast: Tuple[bool, torch.dtype, bool],
    scaler: torch.amp.GradScaler,
    grad_clip: Optional[float] = None,
) -> Dict[str, float]:
    """One optimisation step; returns the loss (and its parts) and the learning rate used."""
    masks = batch["mask"].to(device, non_blocking=True)
    enabled, dtype, _ = autocast
    with torch.autocast(device.type, dtype=dtype, enabled=enabled):
        if "embedding" in batch:  # the embedding cache stands in for a frozen image encoder
            logits, _ = model(image_embeddings=batch["embedding"].to(device, non_blocking=True))
        else:
            logits, _ = model(batch["image"].to(device, non_blocking=True))
    # Losses are computed in fp32 at the label's resolution.
    logits = F.interpolate(logits.float(), size=masks.shape[-2:], mode="bilinear", align_corners=False)
    loss, parts = loss_fn(logits, masks)
    if not torch.isfinite(loss):
        raise FloatingPointError(f"loss is {loss.item()}; lower train.opt_params.lr_default or set train.grad_clip")
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    if grad_clip:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    lr = optimizer.param_groups[-1]["lr"]
    scaler.step(optimizer)
    scaler.update()
    scheduler.step()
    return {"loss": loss.item(), "lr": lr, **{f"loss_{k}": float(v) for k, v in parts.items()}}


@RUNNERS.register("sem_runner")
class SemRunner:
    """Trains and evaluates a semantic segmentation Extend-SAM from one config."""

    def __init__(self, config: Config, show_progress: bool = True):
        self.config = config
        self.train_cfg = config.train
        self.paths = RunPaths.from_config(config)
        self.dist: DistContext = init_distributed(self.train_cfg.device)
        self.device = resolve_device(self.train_cfg.device, self.dist.local_rank)
        self.show_progress = show_progress and self.dist.is_main
        setup_logging(self.paths.log_dir / "train.log", is_main=self.dist.is_main)
        seed_everything(self.train_cfg.seed)
        self.model = build_model(config).to(self.device)
        self.class_num = model_class_num(self.model, config)
        self.performance = configure_performance(self.model, self.train_cfg, self.device)
        self._eval_data: Dict[str, Any] = {}

    # ----------------------------------------------------------------- evaluation
    def eval_loader(self, split: str):
        split_cfg: EvalSplitConfig = getattr(self.config, split)
        if split_cfg.dataset is None:
            raise ConfigError(f"{split}.dataset: not configured, so the {split} split cannot be evaluated")
        dataset, transforms = build_split_data(split_cfg.dataset, split, self.config, self.class_num)
        check_input_size(dataset, transforms, self.model.image_size, split)
        self._eval_data[split] = (dataset, transforms)
        loader = build_eval_loader(dataset, transforms, split_cfg.bs, split_cfg.num_workers, self.device.type == "cuda",
                                   rank=self.dist.rank, world_size=self.dist.world_size)  # fmt: skip
        return loader, dataset.names_for(self.class_num)

    def evaluate(self, split: str = "val", loader=None, class_names=None) -> Dict[str, Any]:
        if loader is None:
            loader, class_names = self.eval_loader(split)
        names = class_names
        return evaluate(
            self.model, loader, self.class_num, self.train_cfg.ignore_index, self.device, names,
            description=f"eval {split}", show_progress=self.show_progress,
        )  # fmt: skip

    # ------------------------------------------------------------------- training
    def train(self, resume: bool = False) -> Dict[str, Any]:
        """Train for train.max_iter iterations; returns the final metrics (also in metrics.json)."""
        cfg = self.train_cfg
        run_dir = self.paths.run_dir
        dataset, transforms = build_split_data(cfg.dataset, "train", self.config, self.class_num)
        check_input_size(dataset, transforms, self.model.image_size, "train")
        val_loader, class_names = self.eval_loader("val")
        self._warn_if_val_is_train()

        cache, transforms, cache_note = self._embedding_cache(transforms)
        wrap = None
        if cache is not None:
            wrap = self._cached_items(cache, dataset, transforms, keep_original_mask=False)
            # Validation images are deterministic: serve them from the cache too.
            val_dataset, val_transforms = self._eval_data["val"]
            val_loader = build_eval_loader(
                val_dataset, val_transforms, self.config.val.bs, self.config.val.num_workers,
                self.device.type == "cuda", rank=self.dist.rank, world_size=self.dist.world_size,
                wrap=self._cached_items(cache, val_dataset, val_transforms, keep_original_mask=True),
            )  # fmt: skip
        loss_fn = build_losses(
            {name: vars(loss) for name, loss in cfg.losses.items()}, cfg.ignore_index, "train.losses"
        ).to(self.device)
        fused = self.device.type == "cuda" and cfg.opt_name in ("adam", "adamw")  # fused kernels: CUDA only
        optimizer, _ = build_optimizer(self.model, cfg.opt_name, {**vars(cfg.opt_params), "fused": fused or None})
        scheduler = build_scheduler(cfg.scheduler_name, optimizer, cfg.max_iter, cfg.scheduler_params)
        autocast = autocast_settings(cfg.amp, self.device)
        scaler = torch.amp.GradScaler(self.device.type, enabled=autocast[2])
        logger.info(
            "device %s, world size %d; mixed precision %s, %s, fused optimizer %s, loader workers %d (pinned memory %s); "
            "embedding cache: %s", self.device, self.dist.world_size,
            str(autocast[1]).replace("torch.", "") if autocast[0] else "off", self.performance, fused, cfg.num_workers,
            self.device.type == "cuda", cache_note,
        )  # fmt: skip

        start_step, best_miou, history = 0, -math.inf, {}
        if resume:
            start_step, best_miou = self._restore(run_dir / LAST, optimizer, scheduler, scaler)
        elif (run_dir / LAST).exists():
            logger.warning("%s holds an earlier run; its checkpoints will be replaced (use --resume to continue it)", run_dir)
        if self.dist.is_main:
            run_dir.mkdir(parents=True, exist_ok=True)
            dump_config(self.config, run_dir / "config.yaml")
            if start_step == 0:
                (run_dir / "train_log.jsonl").write_text("")
                (run_dir / "train_log.csv").write_text("step,loss,lr\n")
                (run_dir / "val_log.jsonl").write_text("")

        model = self.model
        if self.dist.enabled:
            # Parts with no gradient in a task (e.g. the IoU head) would stall DDP's reducer otherwise.
            model = DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=True,
            )  # fmt: skip
        loader = build_train_loader(
            dataset, transforms, cfg.bs, cfg.num_workers, cfg.drop_last, cfg.seed, start_step,
            self.dist.rank, self.dist.world_size, pin_memory=self.device.type == "cuda", wrap=wrap,
        )  # fmt: skip
        writer = self._tensorboard()
        model.train()
        batches = iter(loader)
        progress = tqdm(
            total=cfg.max_iter, initial=start_step, desc="train", disable=not self.show_progress, dynamic_ncols=True
        )
        started = time.monotonic()
        metrics: Dict[str, Any] = {}
        for step in range(start_step + 1, cfg.max_iter + 1):
            stats = train_step(model, next(batches), loss_fn, optimizer, scheduler, self.device, autocast, scaler, cfg.grad_clip)
            progress.update(1)
            progress.set_postfix(loss=f"{stats['loss']:.4f}", lr=f"{stats['lr']:.2e}")
            if step % cfg.log_iter == 0 or step == cfg.max_iter:
                self._log_train(step, stats, started, start_step, writer)
            if step % cfg.eval_iter == 0 or step == cfg.max_iter:
                metrics = self.evaluate("val", val_loader, class_names)
                best_miou = self._after_eval(step, metrics, best_miou, optimizer, scheduler, scaler, writer)
        progress.close()
        history["val"] = metrics
        history["best_val_mIoU"] = best_miou
        if self.config.test.need_test:
            history["test"] = self.evaluate("test")
            logger.info("test mIoU %.4f", history["test"]["mIoU"] or 0.0)
        history["baseline_val_mIoU_most_frequent_class"] = most_frequent_class_miou(metrics.get("confusion_matrix"))
        if self.dist.is_main:
            (run_dir / "metrics.json").write_text(json.dumps(history, indent=2))
            logger.info("run finished: val mIoU %.4f (best %.4f); outputs in %s", metrics.get("mIoU") or 0.0, best_miou, run_dir)
        if writer is not None:
            writer.close()
        return history

    def _embedding_cache(self, transforms):
        """(cache or None, the train transforms to use, what was decided and why), per train.embedding_cache."""
        cfg = self.train_cfg
        use, transforms, reason = cache_decision(cfg.embedding_cache, self.model, transforms)
        if not use:
            return None, transforms, f"off ({reason})"
        cache = EmbeddingCache(cfg.embedding_cache.dir, encoder_fingerprint(self.model))
        return cache, transforms, f"on, {cache.dir} ({reason})"

    def _cached_items(self, cache, dataset, transforms, keep_original_mask: bool):
        """Fill the cache for `dataset`; returns the loader wrapper that serves its entries."""
        items = TransformedDataset(dataset, transforms, self.train_cfg.seed, keep_original_mask)
        keys = fill_cache(self.model, items, cache, self.device, self.train_cfg.bs, self.show_progress)
        return lambda loader_items: CachedEmbeddings(loader_items, cache, keys)

    def _log_train(self, step: int, stats: Dict[str, float], started: float, start_step: int, writer) -> None:
        if not self.dist.is_main:
            return
        elapsed = time.monotonic() - started
        per_step = elapsed / max(step - start_step, 1)
        eta = per_step * (self.train_cfg.max_iter - step)
        parts = " ".join(f"{k}={v:.4f}" for k, v in stats.items() if k.startswith("loss_"))
        logger.info(
            "step %d/%d loss %.4f %s lr %.3e (%.2f s/step, ETA %.0f s)",
            step, self.train_cfg.max_iter, stats["loss"], parts, stats["lr"], per_step, eta,
        )  # fmt: skip
        with open(self.paths.run_dir / "train_log.jsonl", "a") as log:
            log.write(json.dumps({"step": step, **stats}) + "\n")
        with open(self.paths.run_dir / "train_log.csv", "a") as series:  # for `dvc plots`
            series.write(f"{step},{stats['loss']:.6f},{stats['lr']:.6g}\n")
        if writer is not None:
            for key, value in stats.items():
                writer.add_scalar(f"train/{key}", value, step)

    def _after_eval(self, step, metrics, best_miou, optimizer, scheduler, scaler, writer) -> float:
        miou = metrics["mIoU"] if metrics["mIoU"] is not None else 0.0
        improved = miou > best_miou
        best_miou = max(best_miou, miou)
        if not self.dist.is_main:
            return best_miou
        logger.info("step %d: val mIoU %.4f, pixel accuracy %.4f%s", step, miou, metrics["pixel_accuracy"] or 0.0,
                    " (best so far)" if improved else "")  # fmt: skip
        with open(self.paths.run_dir / "val_log.jsonl", "a") as log:
            log.write(json.dumps({"step": step, "mIoU": miou, "pixel_accuracy": metrics["pixel_accuracy"]}) + "\n")
        if writer is not None:
            writer.add_scalar("val/mIoU", miou, step)
        state = {
            "model": self.model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict(),
            "step": step,
            "best_miou": best_miou,
            "metrics": metrics,
            "config": config_to_dict(self.config),
            "config_hash": config_hash(self.config),
            "fa_core_version": fa_core.__version__,
        }
        save_checkpoint(self.paths.run_dir / LAST, state)
        if improved:
            save_checkpoint(self.paths.run_dir / BEST, state)
        return best_miou

    def _restore(self, path: Path, optimizer, scheduler, scaler) -> Tuple[int, float]:
        if not path.exists():
            raise CheckpointError(f"--resume: no checkpoint to resume from at '{path}'; start without --resume")
        state = load_checkpoint(path)
        if state.get("config_hash") != config_hash(self.config):
            logger.warning("resuming with a config that differs from the one in %s", path)
        self.model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        logger.info("resumed from %s at step %d", path, state["step"])
        return int(state["step"]), float(state["best_miou"])

    def _warn_if_val_is_train(self) -> None:
        train_ds, val_ds = self.train_cfg.dataset, self.config.val.dataset
        if val_ds is not None and (train_ds.name, train_ds.params) == (val_ds.name, val_ds.params):
            logger.warning("val.dataset reads the same data as train.dataset: validation scores will be optimistic")

    def _tensorboard(self):
        if not (self.train_cfg.use_tensorboard and self.dist.is_main):
            return None
        from torch.utils.tensorboard import SummaryWriter

        return SummaryWriter(str(self.paths.tensorboard_dir))


def build_runner(config: Config, show_progress: bool = True):
    return RUNNERS.get(config.train.runner_name)(config, show_progress=show_progress)
