"""The `fa` command line: train and evaluate Extend-SAM models from one YAML config."""

from __future__ import annotations

import argparse
import json
import logging
import sys
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
    evaluate.add_argument("--out", help="metrics JSON path (default: <run dir>/metrics_<split>.json)")

    export = commands.add_parser("export", help="export a checkpoint to ONNX and validate it in ONNX Runtime")
    _add_config_args(export)
    export.add_argument("--ckpt", required=True, help="fa_core checkpoint or finetune-anything model.pth")
    export.add_argument("--out", required=True, help="ONNX file to write (the report goes next to it)")
    export.add_argument("--require-gpu", action="store_true", default=None,
                        help="fail unless ONNX Runtime's CUDA provider runs the validation")
    export.add_argument("--fp16", action="store_true", default=None, help="also export and validate a float16 model")

    predict = commands.add_parser("predict", help="segment images with an exported ONNX model")
    predict.add_argument("--model", required=True, help="ONNX file written by `fa export`")
    predict.add_argument("--input", required=True, help="an image file or a folder of images")
    predict.add_argument("--out", required=True, help="folder for <name>.png label maps and <name>_overlay.png")
    predict.add_argument("--batch-size", type=int, default=4)
    predict.add_argument("--providers", nargs="+", default=["CUDAExecutionProvider", "CPUExecutionProvider"],
                         help="ONNX Runtime execution providers in order of preference")
    predict.add_argument("--no-progress", action="store_true")

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
    from fa_core.engine.runner import build_runner
    from fa_core.models import load_model_weights

    config = load_config(args.cfg, args.task_name, args.overrides)
    runner = build_runner(config)
    load_model_weights(runner.model, args.ckpt)
    metrics = runner.evaluate(args.split)
    metrics["checkpoint"] = str(args.ckpt)
    metrics["split"] = args.split
    out = Path(args.out) if args.out else runner.paths.run_dir / f"metrics_{args.split}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(metrics, indent=2))
    print(json.dumps({"split": args.split, "mIoU": metrics["mIoU"], "pixel_accuracy": metrics["pixel_accuracy"], "out": str(out)}))
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

    summary = predict_folder(args.model, args.input, args.out, args.batch_size, args.providers, not args.no_progress)
    print(json.dumps({"written": len(summary.written), "skipped": sorted(summary.skipped), "out": args.out}))
    return 0


def run_check_config(args: argparse.Namespace) -> int:
    import yaml

    from fa_core.config.loader import config_to_dict, load_config

    config = load_config(args.cfg, args.task_name, args.overrides)
    print(yaml.safe_dump(config_to_dict(config), sort_keys=False))
    return 0


COMMANDS = {
    "train": run_train,
    "evaluate": run_evaluate,
    "export": run_export,
    "predict": run_predict,
    "check-config": run_check_config,
}


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    from fa_core.log import setup_logging

    setup_logging()
    try:
        return COMMANDS[args.command](args)
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
