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


def run_check_config(args: argparse.Namespace) -> int:
    import yaml

    from fa_core.config.loader import config_to_dict, load_config

    config = load_config(args.cfg, args.task_name, args.overrides)
    print(yaml.safe_dump(config_to_dict(config), sort_keys=False))
    return 0


COMMANDS = {"train": run_train, "evaluate": run_evaluate, "check-config": run_check_config}


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    from fa_core.engine.setup import setup_logging

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
