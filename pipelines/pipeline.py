"""prepare -> train -> evaluate -> export -> register, as a Kubeflow Pipelines (v2) pipeline.

Run-time parameters (set per run): the config (params.yaml content), the dataset URI (imported as
a Dataset artifact), the MLflow tracking URI and model name, the champion floor gating `register`,
GPU type and count, the GPU node selector and tolerations, and whether export must validate on the
CUDA provider. Compile-time settings (PipelineSettings): the component image, an optional PVC with
SAM checkpoints, shared memory size, retries and caching.
"""


from dataclasses import dataclass
from typing import Callable, Optional

from kfp import dsl, kubernetes
from kfp.dsl import Dataset

from components.stages import build_components

PIPELINE_NAME = "fa-finetune-sam"
DEFAULT_IMAGE = "ghcr.io/fa-core/fa-core:0.1.0"
DEFAULT_GPU_NODE_SELECTOR = {"nvidia.com/gpu.present": "true"}
DEFAULT_GPU_TOLERATIONS = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


@dataclass
class PipelineSettings:
    image: str = DEFAULT_IMAGE
    ckpt_pvc: Optional[str] = None  # a PVC holding Meta's SAM checkpoints, mounted read-only-by-convention
    ckpt_mount_path: str = "/models/sam"
    shm_size: str = "8Gi"  # /dev/shm for data loader workers
    retries: int = 3
    retry_backoff: str = "60s"
    caching: bool = True


def build_pipeline(settings: PipelineSettings = PipelineSettings()) -> Callable:
    ops = build_components(settings.image)

    def common(task: dsl.PipelineTask) -> dsl.PipelineTask:
        # Transient failures (node preemption, registry hiccups) are retried with backoff.
        task.set_retry(num_retries=settings.retries, backoff_duration=settings.retry_backoff, backoff_factor=2.0)
        task.set_caching_options(settings.caching)
        return task

    def with_data_volumes(task: dsl.PipelineTask) -> dsl.PipelineTask:
        kubernetes.empty_dir_mount(task, volume_name="dshm", mount_path="/dev/shm", medium="Memory",
                                   size_limit=settings.shm_size)  # fmt: skip
        if settings.ckpt_pvc:
            kubernetes.mount_pvc(task, pvc_name=settings.ckpt_pvc, mount_path=settings.ckpt_mount_path)
        return task

    def on_gpu(task: dsl.PipelineTask, gpu_type, gpu_count, node_selector, tolerations) -> dsl.PipelineTask:
        task.set_accelerator_type(gpu_type).set_accelerator_limit(gpu_count)
        kubernetes.add_node_selector_json(task, node_selector)
        kubernetes.add_toleration_json(task, tolerations)
        return task

    @dsl.pipeline(name=PIPELINE_NAME, description="Fine-tune Segment Anything into a semantic segmentation model")
    def fa_pipeline(
        config_yaml: str,
        dataset_uri: str,
        tracking_uri: str = "",
        model_name: str = "fa-semantic-sam",
        miou_floor: float = 0.5,
        gpu_type: str = "nvidia.com/gpu",
        gpu_count: int = 1,
        gpu_node_selector: dict = DEFAULT_GPU_NODE_SELECTOR,
        gpu_tolerations: list = DEFAULT_GPU_TOLERATIONS,
        require_gpu: bool = True,
    ):
        source = dsl.importer(artifact_uri=dataset_uri, artifact_class=Dataset, reimport=False)
        source.set_display_name("dataset (DVC)")

        prepare = common(ops.prepare(config_yaml=config_yaml, source=source.output))
        train = common(ops.train(config_yaml=config_yaml, num_gpus=gpu_count, prepared=prepare.outputs["prepared"]))
        on_gpu(with_data_volumes(train), gpu_type, gpu_count, gpu_node_selector, gpu_tolerations)

        evaluate = common(ops.evaluate(config_yaml=config_yaml, prepared=prepare.outputs["prepared"],
                                       model=train.outputs["model"]))  # fmt: skip
        with_data_volumes(evaluate)

        export = common(ops.export(config_yaml=config_yaml, require_gpu=require_gpu,
                                   prepared=prepare.outputs["prepared"], model=train.outputs["model"]))  # fmt: skip
        on_gpu(with_data_volumes(export), gpu_type, 1, gpu_node_selector, gpu_tolerations)

        with dsl.If(evaluate.outputs["Output"] >= miou_floor, name="val-mIoU-above-floor"):
            common(ops.register(config_yaml=config_yaml, tracking_uri=tracking_uri, model_name=model_name,
                                onnx_model=export.outputs["onnx_model"], evaluation=evaluate.outputs["evaluation"],
                                model=train.outputs["model"]))  # fmt: skip

    return fa_pipeline
