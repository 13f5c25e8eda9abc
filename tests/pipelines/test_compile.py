"""The compiled Kubeflow pipeline: GPU requests, retries, Kubernetes settings, the register condition."""

from pathlib import Path

import kfp
import pytest
import yaml

from pipelines.compile import COMPILED, compile_pipeline
from pipelines.pipeline import PipelineSettings


def load(path: Path):
    spec, platform = list(yaml.safe_load_all(path.read_text()))
    return spec, platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    path = tmp_path_factory.mktemp("kfp") / "pipeline.yaml"
    return load(compile_pipeline(path, PipelineSettings(image="registry.example/fa-core:1.2", ckpt_pvc="sam-checkpoints")))


def test_gpus_are_requested_by_train_and_export_only(compiled):
    spec, _ = compiled
    executors = spec["deploymentSpec"]["executors"]
    with_gpu = {name for name, ex in executors.items() if "accelerator" in ex.get("container", {}).get("resources", {})}
    assert with_gpu == {"exec-train", "exec-export"}
    train = executors["exec-train"]["container"]["resources"]["accelerator"]
    assert train["resourceType"] == "{{$.inputs.parameters['pipelinechannel--gpu_type']}}"
    assert train["resourceCount"] == "{{$.inputs.parameters['pipelinechannel--gpu_count']}}"
    assert executors["exec-export"]["container"]["resources"]["accelerator"]["resourceCount"] == "1"
    assert all(ex["container"]["image"] == "registry.example/fa-core:1.2" for ex in executors.values() if "container" in ex)


def test_every_step_retries_with_backoff(compiled):
    spec, _ = compiled
    tasks = dict(spec["root"]["dag"]["tasks"])
    tasks.update(spec["components"]["comp-condition-1"]["dag"]["tasks"])
    for name in ("prepare", "train", "evaluate", "export", "register"):
        policy = tasks[name]["retryPolicy"]
        assert policy["maxRetryCount"] == 3 and policy["backoffDuration"] == "60s" and policy["backoffFactor"] == 2.0, name


def test_kubernetes_section_places_gpu_steps_and_mounts_volumes(compiled):
    _, k8s = compiled
    for gpu_step in ("exec-train", "exec-export"):
        config = k8s[gpu_step]
        assert config["nodeSelector"]["nodeSelectorJson"]["componentInputParameter"] == "gpu_node_selector"
        assert config["tolerations"][0]["tolerationJson"]["componentInputParameter"] == "gpu_tolerations"
        assert config["pvcMount"][0]["mountPath"] == "/models/sam"
        assert config["pvcMount"][0]["pvcNameParameter"]["runtimeValue"]["constant"] == "sam-checkpoints"
    for step in ("exec-train", "exec-evaluate", "exec-export"):
        shm = k8s[step]["emptyDirMounts"][0]
        assert shm["mountPath"] == "/dev/shm" and shm["medium"] == "Memory"
    assert "nodeSelector" not in k8s["exec-evaluate"] and "exec-prepare" not in k8s


def test_register_runs_only_above_the_miou_floor(compiled):
    spec, _ = compiled
    condition = spec["root"]["dag"]["tasks"]["condition-1"]
    assert condition["triggerPolicy"]["condition"] == (
        "inputs.parameter_values['pipelinechannel--evaluate-Output'] >= "
        "inputs.parameter_values['pipelinechannel--miou_floor']"
    )
    assert set(spec["components"]["comp-condition-1"]["dag"]["tasks"]) == {"register"}
    assert spec["root"]["inputDefinitions"]["parameters"]["miou_floor"]["defaultValue"] == 0.5


def test_the_committed_package_is_up_to_date(tmp_path):
    fresh = compile_pipeline(tmp_path / "fresh.yaml")
    # Compared as data: the compiler's header comment lists dict defaults in no fixed order.
    assert list(yaml.safe_load_all(fresh.read_text())) == list(yaml.safe_load_all(COMPILED.read_text())), (
        "pipelines/fa_pipeline.yaml is out of date with the code: run `fa pipeline compile` and commit it"
    )
    assert f"sdkVersion: kfp-{kfp.__version__}" in COMPILED.read_text()
