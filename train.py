"""finetune-anything's entry point: `python train.py --task_name semantic_seg` or `--cfg file.yaml`."""

import sys

from fa_core.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
