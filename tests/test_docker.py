"""The component image's Dockerfile (no Docker engine on this machine: the file is checked, not built)."""

import re
from pathlib import Path

import kfp

DOCKERFILE = (Path(__file__).parents[1] / "docker" / "Dockerfile").read_text()


def test_installs_the_gpu_extra_and_never_cpu_onnxruntime():
    assert '"/src[gpu]"' in DOCKERFILE
    installs = " ".join(line for line in DOCKERFILE.splitlines() if "pip install" in line)
    assert not re.search(r"onnxruntime(?!-gpu)", installs)
    assert "onnxruntime (CPU) must not be installed" in DOCKERFILE


def test_pins_kfp_to_the_sdk_that_compiled_the_pipeline():
    assert f"ARG KFP_VERSION={kfp.__version__}" in DOCKERFILE
    assert '"kfp==${KFP_VERSION}"' in DOCKERFILE


def test_runs_as_a_non_root_user_on_a_cuda_base():
    assert DOCKERFILE.startswith("#") and "FROM nvidia/cuda:" in DOCKERFILE
    assert re.search(r"^USER fa$", DOCKERFILE, re.MULTILINE)
    assert (Path(__file__).parents[1] / ".dockerignore").is_file()
