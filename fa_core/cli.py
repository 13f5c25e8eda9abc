"""The `fa` command line: train and evaluate Extend-SAM models from one YAML config."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import List, Optional

from fa_core.errors import FAError

logger = logging.getLogger("fa_core.cli")


def _add_config_args(parser: argparse.ArgumentParser, allow_task: bool = True) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--cfg", help="YAML config file (finetune-anything schema)")
    if allow_task:
        source.add_argument("--task_name", "--task-name", dest="task_name", help="a packaged task config, e.g. semantic_seg")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config key, e.g. --set train.max_iter=100 (repeatable)",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fa", description="Fine-tune Segment Anything into task models.")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="fine-tune a model")
    _add_config_args(train)
    train.add_argument("--resume", action="store_true", help="continue from <model_folder>/<experiment_name>/last.pth")
    train.add_argument("--no-progress", action="store_true", help="no progress bar (log lines only)")

    evaluate = commands.add_parser("evaluate", help="score a checkpoint on the val or test split")
    _add_config_args(evaluate)
    evaluate.add_argument("--ckpt", required=True, help="fa_core checkpoint or finetune-anything model.pth")
    evaluate.add_argument("--split", choices=("val", "test"), default="val")
    evaluate.add_argument("--out-dir", help="folder for metrics.json, per_class_iou.json, confusion_matrix.png, "
                          "overlays/ (default: <run dir>/eval_<split>)")

    export = commands.add_parser("export", help="export a checkpoint to ONNX and validate it in ONNX Runtime")
    _add_config_args(export)
    export.add_argument("--ckpt", required=True, help="fa_core checkpoint or finetune-anything model.pth")
    export.add_argument("--out", required=True, help="ONNX file to write (the report goes next to it)")
    export.add_argument("--require-gpu", action="store_true", default=None,
                        help="fail unless ONNX Runtime's CUDA provider runs the validation")
    export.add_argument("--fp16", action="store_true", default=None, help="also export and validate a float16 model")

    predict = commands.add_parser("predict", help="segment images with an exported ONNX model")
    predict.add_argument("--model", required=True, help="ONNX file written by `fa export`, or models:/NAME@ALIAS")
    predict.add_argument("--tracking-uri", help="MLflow tracking URI for models:/ (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)")
    predict.add_argument("--input", required=True, help="an image file or a folder of images")
    predict.add_argument("--out", required=True, help="folder for <name>.png label maps and <name>_overlay.png")
    predict.add_argument("--batch-size", type=int, default=4)
    predict.add_argument("--providers", nargs="+", default=["CUDAExecutionProvider", "CPUExecutionProvider"],
                         help="ONNX Runtime execution providers in order of preference")
    predict.add_argument("--no-progress", action="store_true")

    register = commands.add_parser("register", help="log the pipeline run to MLflow and register the ONNX model")
    _add_config_args(register)
    register.add_argument("--onnx", required=True, help="validated ONNX file from `fa export`")
    register.add_argument("--metrics", required=True, help="metrics.json from `fa evaluate` (its mIoU feeds the gate)")
    register.add_argument("--out", required=True, help="registration JSON to write")
    register.add_argument("--train-dir", help="training run folder (default: <model_folder>/<experiment_name>)")
    register.add_argument("--eval-dir", help="evaluation folder to log as artifacts (default: the metrics' folder)")
    register.add_argument("--manifest", help="prepared data manifest (default: <prepare.out_dir>/manifest.json)")

    pull = commands.add_parser("pull", help="download a registered ONNX model, e.g. models:/NAME@champion")
    pull.add_argument("model_uri")
    pull.add_argument("--out", required=True, help="folder to download into")
    pull.add_argument("--tracking-uri", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)")

    prepare = commands.add_parser("prepare", help="check the source data and write it prepared, with manifests")
    _add_config_args(prepare)

    # The Kubeflow side (pipelines/) parses its own arguments, so kfp is imported only when used.
    pipeline = commands.add_parser("pipeline", help="compile or submit the Kubeflow pipeline", add_help=False)
    pipeline.add_argument("rest", nargs=argparse.REMAINDER, help="compile ... | submit ...")

    summary = commands.add_parser("summary", help="what the last pipeline run produced")
    _add_config_args(summary)

    check = commands.add_parser("check-config", help="load and validate a config, print it resolved")
    _add_config_args(check)
    return parser


def run_train(args: argparse.Namespace) -> int:
    from fa_core.config.loader import load_config
    from fa_core.engine.runner import build_runner

    config = load_config(args.cfg, args.task_name, args.overrides)
    runner = build_runner(config, show_progress=not args.no_progress)
    history = runner.train(resume=args.resume)
    print(json.dumps({"val_mIoU": history["val"].get("mIoU"), "best_val_mIoU": history["best_val_mIoU"],
                      "run_dir": str(runner.paths.run_dir)}))  # fmt: skip
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from fa_core.config.loader import load_config
    from fa_core.engine.runner import RunPaths
    from fa_core.stages.evaluate import run_evaluate as evaluate_stage

    config = load_config(args.cfg, args.task_name, args.overrides)
    out_dir = Path(args.out_dir) if args.out_dir else RunPaths.from_config(config).run_dir / f"eval_{args.split}"
    metrics = evaluate_stage(config, args.ckpt, str(out_dir), args.split)
    print(json.dumps({"split": args.split, "mIoU": metrics["mIoU"], "pixel_accuracy": metrics["pixel_accuracy"],
                      "out": str(out_dir / "metrics.json")}))  # fmt: skip
    return 0


def run_register(args: argparse.Namespace) -> int:
    from fa_core.config.loader import load_config
    from fa_core.engine.runner import RunPaths
    from fa_core.tracking.registry import run_register as register_stage

    config = load_config(args.cfg, args.task_name, args.overrides)
    train_dir = args.train_dir or str(RunPaths.from_config(config).run_dir)
    eval_dir = args.eval_dir or str(Path(args.metrics).parent)
    manifest = args.manifest or str(Path(config.prepare.out_dir) / "manifest.json")
    registration = register_stage(config, args.onnx, args.metrics, train_dir, args.out, eval_dir, manifest)
    print(json.dumps({k: registration[k] for k in ("model_uri", "aliases", "created_new_version", "val_mIoU")}))
    return 0


def run_pull(args: argparse.Namespace) -> int:
    from fa_core.tracking.pull import pull_model

    print(json.dumps({"onnx": str(pull_model(args.model_uri, args.out, args.tracking_uri))}))
    return 0


def run_prepare(args: argparse.Namespace) -> int:
    from fa_core.config.loader import load_config
    from fa_core.stages.prepare import run_prepare as prepare_stage

    config = load_config(args.cfg, args.task_name, args.overrides)
    manifest = prepare_stage(config)
    print(json.dumps({"out_dir": config.prepare.out_dir, "content_hash": manifest["content_hash"],
                      "splits": {k: v["num_samples"] for k, v in manifest["splits"].items()}}))  # fmt: skip
    return 0


def run_export(args: argparse.Namespace) -> int:
    from fa_core.config.loader import load_config
    from fa_core.stages.export import run_export as export_stage

    config = load_config(args.cfg, args.task_name, args.overrides)
    result = export_stage(config, args.ckpt, args.out, require_gpu=args.require_gpu, fp16=args.fp16)
    report = result.report
    print(json.dumps({"onnx": str(result.onnx_path), "report": str(result.report_path),
                      "providers_used": report["providers_used"], "logits_max_abs_diff": report["logits_max_abs_diff"],
                      "label_agreement": report["label_agreement"]}))  # fmt: skip
    return 0


def run_predict(args: argparse.Namespace) -> int:
    # ONNX Runtime, NumPy and Pillow only: serving hosts need no torch.
    from fa_core.serving.predict import predict_folder

    model = args.model
    if model.startswith("models:/"):
        from fa_core.tracking.pull import pull_model

        model = str(pull_model(model, str(Path(args.out) / "_model"), args.tracking_uri))
    summary = predict_folder(model, args.input, args.out, args.batch_size, args.providers, not args.no_progress)
    print(json.dumps({"written": len(summary.written), "skipped": sorted(summary.skipped), "out": args.out}))
    return 0


def run_summary(args: argparse.Namespace) -> int:
    from fa_core.config.loader import load_config
    from fa_core.stages.summary import summary_lines

    print("\n".join(summary_lines(load_config(args.cfg, args.task_name, args.overrides))))
    return 0


def run_check_config(args: argparse.Namespace) -> int:
    import yaml

    from fa_core.config.loader import config_to_dict, load_config

    config = load_config(args.cfg, args.task_name, args.overrides)
    print(yaml.safe_dump(config_to_dict(config), sort_keys=False))
    return 0


def run_pipeline(args: argparse.Namespace) -> int:
    from pipelines.cli import build_pipeline_parser, run_pipeline_command

    return run_pipeline_command(build_pipeline_parser().parse_args(args.rest))


COMMANDS = {
    "pipeline": run_pipeline,
    "prepare": run_prepare,
    "train": run_train,
    "evaluate": run_evaluate,
    "export": run_export,
    "register": run_register,
    "pull": run_pull,
    "predict": run_predict,
    "summary": run_summary,
    "check-config": run_check_config,
}


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    from fa_core.log import setup_logging

    setup_logging()
    started = time.monotonic()
    try:
        code = COMMANDS[args.command](args)
        logger.info("fa %s finished in %.1f s", args.command, time.monotonic() - started)
        return code
    except FAError as error:
        if args.debug:
            raise
        print(f"fa {args.command}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"fa {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
