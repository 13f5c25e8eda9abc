"""`fa pipeline compile` and `fa pipeline submit` (the `fa` CLI loads this only when asked)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pipelines.compile import COMPILED, compile_pipeline
from pipelines.pipeline import DEFAULT_IMAGE, PipelineSettings
from pipelines.submit import dataset_uri_from_dvc, parse_params, submit


def build_pipeline_parser() -> argparse.ArgumentParser:
    pipeline = argparse.ArgumentParser(prog="fa pipeline", description="Compile or submit the Kubeflow pipeline.")
    actions = pipeline.add_subparsers(dest="pipeline_command", required=True)

    compile_ = actions.add_parser("compile", help="compile the pipeline to a YAML package")
    compile_.add_argument("--out", default=str(COMPILED), help=f"package to write (default {COMPILED})")
    compile_.add_argument("--image", default=DEFAULT_IMAGE, help="component image, e.g. REGISTRY/fa-core:TAG")
    compile_.add_argument("--ckpt-pvc", help="PVC holding Meta's SAM checkpoints, mounted at /models/sam")
    compile_.add_argument("--shm-size", default="8Gi", help="shared memory for data loader workers")
    compile_.add_argument("--retries", type=int, default=3)
    compile_.add_argument("--no-cache", action="store_true", help="disable KFP step caching")

    submit_ = actions.add_parser("submit", help="create a run on a Kubeflow Pipelines server")
    submit_.add_argument("--host", required=True, help="KFP API endpoint, e.g. http://ml-pipeline-ui.kubeflow")
    submit_.add_argument("--package", default=str(COMPILED), help="compiled pipeline YAML")
    submit_.add_argument("--experiment", help="KFP experiment name")
    submit_.add_argument("--run-name", help="run name (default fa-<UTC time>)")
    submit_.add_argument("--config", default="params.yaml", help="config passed as the config_yaml parameter")
    submit_.add_argument("--dvc-dataset", help="DVC-tracked data folder; its remote URL becomes dataset_uri")
    submit_.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="pipeline parameter (repeatable)")
    submit_.add_argument("--no-cache", action="store_true", help="disable caching for this run")
    return pipeline


def run_pipeline_command(args: argparse.Namespace) -> int:
    if args.pipeline_command == "compile":
        settings = PipelineSettings(image=args.image, ckpt_pvc=args.ckpt_pvc, shm_size=args.shm_size,
                                    retries=args.retries, caching=not args.no_cache)  # fmt: skip
        print(json.dumps({"package": str(compile_pipeline(Path(args.out), settings))}))
        return 0
    arguments = {"config_yaml": Path(args.config).read_text()} if Path(args.config).is_file() else {}
    if args.dvc_dataset:
        arguments["dataset_uri"] = dataset_uri_from_dvc(args.dvc_dataset)
    arguments.update(parse_params(args.param))
    result = submit(args.host, Path(args.package), arguments, args.experiment, args.run_name,
                    enable_caching=False if args.no_cache else None)  # fmt: skip
    print(json.dumps(result))
    return 0
