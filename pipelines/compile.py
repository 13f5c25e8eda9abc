"""Compile the pipeline to the YAML package that Kubeflow runs (and that is committed here)."""

from __future__ import annotations

from pathlib import Path

from kfp import compiler

from pipelines.pipeline import PipelineSettings, build_pipeline

COMPILED = Path(__file__).parent / "fa_pipeline.yaml"


def compile_pipeline(out: Path = COMPILED, settings: PipelineSettings = PipelineSettings()) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(build_pipeline(settings), package_path=str(out))
    return out


if __name__ == "__main__":
    print(compile_pipeline())
