"""The config schema: finetune-anything's YAML (train / val / test) plus the keys it lacks.

Every field has a one-line doc in its metadata; `fa_core.config.reference` prints them.
Free-form `params` sections are checked against the constructor they feed (model, dataset,
transform, loss, scheduler) by `fa_core.config.checks`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

DEVICES = ("auto", "cpu", "cuda")
AMP_MODES = ("auto", "off", "bf16", "fp16")


def doc(text: str, **extra: Any) -> Dict[str, Any]:
    return {"doc": text, **extra}


@dataclass
class ModelConfig:
    sam_name: str = field(default="sem_sam", metadata=doc("registered model name (fa_core.models.MODELS)"))
    params: Dict[str, Any] = field(
        default_factory=dict,
        metadata=doc("constructor arguments: fix_img_en, fix_prompt_en, fix_mask_de, ckpt_path, class_num, model_type, image_size"),
    )
    init_weights: Optional[str] = field(
        default=None, metadata=doc("fine-tuned weights to start from: an fa_core checkpoint or a finetune-anything model.pth")
    )


@dataclass
class DatasetConfig:
    name: str = field(default="synthetic", metadata=doc("registered dataset name: base_sem, torch_voc_sem, synthetic, ..."))
    params: Dict[str, Any] = field(default_factory=dict, metadata=doc("dataset constructor arguments"))
    transforms: Optional[Dict[str, Any]] = field(
        default=None, metadata=doc("ordered transforms, name -> {params: ...}; applied jointly to image and mask")
    )
    target_transforms: Optional[Dict[str, Any]] = field(
        default=None,
        metadata=doc("accepted for finetune-anything configs; masks follow `transforms` (nearest-neighbour resize)"),
    )


@dataclass
class LossConfig:
    weight: float = field(default=1.0, metadata=doc("weight of this loss in the total"))
    params: Optional[Dict[str, Any]] = field(default=None, metadata=doc("loss constructor arguments"))
    label_one_hot: bool = field(default=False, metadata=doc("pass one-hot targets (BxCxHxW) instead of class indices"))


@dataclass
class OptParams:
    lr_default: float = field(default=1e-3, metadata=doc("learning rate of the default parameter group"))
    wd_default: float = field(default=1e-4, metadata=doc("weight decay of the default parameter group"))
    momentum: float = field(default=0.9, metadata=doc("SGD momentum"))
    lr_list: List[float] = field(default_factory=list, metadata=doc("learning rate of each group in group_keys"))
    group_keys: List[List[str]] = field(
        default_factory=list, metadata=doc("per group, substrings of parameter names that put a parameter in it")
    )
    wd_list: List[float] = field(default_factory=list, metadata=doc("weight decay of each group in group_keys"))

    def check(self, path: str) -> List[str]:
        lengths = {"lr_list": len(self.lr_list), "wd_list": len(self.wd_list), "group_keys": len(self.group_keys)}
        if len(set(lengths.values())) > 1:
            given = ", ".join(f"{k}={v}" for k, v in lengths.items())
            return [f"{path}: lr_list, wd_list and group_keys need one entry per group ({given})"]
        return []


CACHE_MODES = ("auto", "on", "off")
RANDOM_TRANSFORM_POLICIES = ("disable_cache", "drop_random_transforms")


@dataclass
class EmbeddingCacheConfig:
    enabled: str = field(
        default="auto",
        metadata=doc("auto: cache when the image encoder is frozen; on: require it; off", choices=CACHE_MODES),
    )
    dir: str = field(default=".fa_cache/embeddings", metadata=doc("cache folder, shared between runs"))
    random_transforms: str = field(
        default="disable_cache",
        metadata=doc("random train transforms change the encoder input each step: disable_cache, or "
                     "drop_random_transforms to keep the cache and train without them", choices=RANDOM_TRANSFORM_POLICIES),
    )  # fmt: skip


@dataclass
class TrainConfig:
    experiment_name: str = field(default="semantic_sam", metadata=doc("run folder name under the model/log folders"))
    model: ModelConfig = field(default_factory=ModelConfig, metadata=doc("the model to fine-tune"))
    dataset: DatasetConfig = field(default_factory=DatasetConfig, metadata=doc("training data"))
    losses: Dict[str, LossConfig] = field(
        default_factory=lambda: {"ce": LossConfig()}, metadata=doc("loss name -> {weight, params, label_one_hot}")
    )
    opt_params: OptParams = field(default_factory=OptParams, metadata=doc("learning rates, weight decay, groups"))
    opt_name: str = field(default="sgd", metadata=doc("optimizer: sgd, adam, adamw"))
    scheduler_name: str = field(default="cosine", metadata=doc("lr schedule, stepped per iteration"))
    scheduler_params: Dict[str, Any] = field(default_factory=dict, metadata=doc("lr schedule arguments"))
    max_iter: int = field(default=1000, metadata=doc("training iterations"))
    log_iter: int = field(default=20, metadata=doc("iterations between log lines"))
    eval_iter: int = field(default=200, metadata=doc("iterations between validations and checkpoints"))
    runner_name: str = field(default="sem_runner", metadata=doc("registered runner name"))
    bs: int = field(default=8, metadata=doc("batch size (per process under DDP)"))
    num_workers: int = field(default=2, metadata=doc("data loader worker processes"))
    drop_last: bool = field(default=True, metadata=doc("drop the incomplete last batch of each epoch"))
    use_tensorboard: bool = field(default=False, metadata=doc("write TensorBoard event files"))
    tensorboard_folder: str = field(default="./experiment/tensorboard", metadata=doc("TensorBoard root folder"))
    log_folder: str = field(default="./experiment/log", metadata=doc("log file root folder"))
    model_folder: str = field(default="./experiment/model", metadata=doc("checkpoint root folder"))
    # Keys finetune-anything lacks.
    device: str = field(default="auto", metadata=doc("auto (cuda if available), cpu, cuda or cuda:N"))
    seed: int = field(default=0, metadata=doc("seed of weights init, data order and augmentation"))
    ignore_index: int = field(default=255, metadata=doc("label value excluded from losses and metrics"))
    amp: str = field(default="auto", metadata=doc("mixed precision on CUDA: auto (bf16 if supported), off, bf16, fp16", choices=AMP_MODES))
    grad_clip: Optional[float] = field(default=None, metadata=doc("clip the gradient norm to this value"))
    validate_data: bool = field(default=True, metadata=doc("check every image/mask pair before training"))
    embedding_cache: EmbeddingCacheConfig = field(
        default_factory=EmbeddingCacheConfig, metadata=doc("reuse a frozen image encoder's outputs across steps and runs")
    )
    tf32: bool = field(default=True, metadata=doc("allow TF32 matmuls and convolutions on CUDA"))
    sdpa: bool = field(default=True, metadata=doc("run SAM's encoder attention with scaled_dot_product_attention"))
    compile: bool = field(default=False, metadata=doc("torch.compile the model (CUDA; slow first steps)"))

    def check(self, path: str) -> List[str]:
        problems = []
        for key in ("max_iter", "log_iter", "eval_iter", "bs"):
            value = getattr(self, key)
            if isinstance(value, int) and value <= 0:
                problems.append(f"{path}.{key}: must be a positive integer, got {value}")
        if isinstance(self.num_workers, int) and self.num_workers < 0:
            problems.append(f"{path}.num_workers: must be >= 0, got {self.num_workers}")
        device = self.device if isinstance(self.device, str) else ""
        if device.split(":")[0] not in DEVICES:
            problems.append(f"{path}.device: '{self.device}' is not allowed; use auto, cpu, cuda or cuda:N")
        if not self.losses:
            problems.append(f"{path}.losses: at least one loss is required")
        return problems


@dataclass
class EvalSplitConfig:
    dataset: Optional[DatasetConfig] = field(default=None, metadata=doc("evaluation data"))
    bs: int = field(default=1, metadata=doc("batch size"))
    num_workers: int = field(default=0, metadata=doc("data loader worker processes"))
    drop_last: bool = field(default=False, metadata=doc("ignored for evaluation: every sample is scored"))


@dataclass
class ValConfig(EvalSplitConfig):
    def check(self, path: str) -> List[str]:
        return [] if self.dataset is not None else [f"{path}.dataset: required key is missing"]


@dataclass
class TestConfig(EvalSplitConfig):
    need_test: bool = field(default=False, metadata=doc("evaluate on the test split after training"))

    def check(self, path: str) -> List[str]:
        if self.need_test and self.dataset is None:
            return [f"{path}.dataset: required when {path}.need_test is true".lstrip(".")]
        return []


PROVIDERS_DEFAULT = ["CUDAExecutionProvider", "CPUExecutionProvider"]


@dataclass
class Tolerances:
    logits_max_abs: float = field(default=1e-3, metadata=doc("largest allowed |logit(ONNX) - logit(PyTorch)|"))
    label_agreement: float = field(default=0.999, metadata=doc("smallest allowed share of pixels with the same label"))
    miou_diff: float = field(default=0.001, metadata=doc("largest allowed |mIoU(ONNX) - mIoU(PyTorch)| against ground truth"))


@dataclass
class ExportConfig:
    opset: int = field(default=17, metadata=doc("ONNX opset version"))
    providers: List[str] = field(
        default_factory=lambda: list(PROVIDERS_DEFAULT),
        metadata=doc("ONNX Runtime execution providers to validate with, in order (unavailable ones are skipped)"),
    )
    require_gpu: bool = field(default=False, metadata=doc("fail unless the CUDA provider actually ran the validation"))
    num_samples: int = field(default=8, metadata=doc("validation-split images compared between PyTorch and ONNX Runtime"))
    batch_size: int = field(default=2, metadata=doc("batch size of the comparison and latency runs"))
    latency_runs: int = field(default=5, metadata=doc("timed runs per side (the median is reported), after one warm-up"))
    tolerances: Tolerances = field(default_factory=Tolerances, metadata=doc("fp32 export tolerances"))
    fp16: bool = field(default=False, metadata=doc("also export a float16 model for GPU serving"))
    fp16_tolerances: Tolerances = field(
        default_factory=lambda: Tolerances(logits_max_abs=0.1, label_agreement=0.99, miou_diff=0.01),
        metadata=doc("fp16 export tolerances"),
    )

    def check(self, path: str) -> List[str]:
        problems = []
        for key in ("opset", "num_samples", "batch_size", "latency_runs"):
            value = getattr(self, key)
            if isinstance(value, int) and value < 1:
                problems.append(f"{path}.{key}: must be a positive integer, got {value}")
        return problems


@dataclass
class PrepareConfig:
    train: Optional[DatasetConfig] = field(default=None, metadata=doc("source of the training split (name + params; transforms unused)"))
    val: Optional[DatasetConfig] = field(default=None, metadata=doc("source of the validation split"))
    test: Optional[DatasetConfig] = field(default=None, metadata=doc("source of the test split (optional)"))
    out_dir: str = field(default="data/prepared", metadata=doc("prepared data in finetune-anything's folder layout, with manifests"))


@dataclass
class RegisterConfig:
    tracking_uri: Optional[str] = field(
        default=None, metadata=doc("MLflow tracking URI; default $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db here")
    )
    experiment_name: str = field(default="finetune-anything", metadata=doc("MLflow experiment of the pipeline runs"))
    model_name: str = field(default="fa-semantic-sam", metadata=doc("registered model name"))
    miou_floor: float = field(default=0.5, metadata=doc("champion gate: smallest val mIoU a champion may have"))
    retries: int = field(default=3, metadata=doc("attempts to reach the tracking server before failing"))
    retry_backoff_s: float = field(default=2.0, metadata=doc("first wait between attempts, doubled each time"))


@dataclass
class Config:
    train: TrainConfig = field(default_factory=TrainConfig, metadata=doc("training"))
    val: ValConfig = field(default_factory=ValConfig, metadata=doc("validation"))
    test: TestConfig = field(default_factory=TestConfig, metadata=doc("testing"))
    export: ExportConfig = field(default_factory=ExportConfig, metadata=doc("ONNX export and its validation"))
    prepare: PrepareConfig = field(default_factory=PrepareConfig, metadata=doc("the prepare stage: sources -> prepared data"))
    register: RegisterConfig = field(default_factory=RegisterConfig, metadata=doc("MLflow tracking and model registry"))
