"""Point a config (as a dict) at folders chosen by an orchestrator.

Kubeflow gives each step its own artifact folders; the stages read every path from the config, so
the orchestrator rewrites those paths instead of the stages knowing about artifacts.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Dict, Optional

# Where each dataset type keeps its root folder in `params`.
ROOT_PARAM = {"base_sem": "dataset_dir", "torch_voc_sem": "root"}


def relocate(
    data: Dict[str, Any],
    source_dir: Optional[str] = None,
    prepared_dir: Optional[str] = None,
    run_root: Optional[str] = None,
) -> Dict[str, Any]:
    """A copy of `data` reading sources from `source_dir`, prepared data from `prepared_dir`,
    and writing checkpoints and logs under `run_root`."""
    data = copy.deepcopy(data)
    prepare = data.setdefault("prepare", {})
    old_prepared = prepare.get("out_dir", "data/prepared")
    if source_dir is not None:
        for split in ("train", "val", "test"):
            source = prepare.get(split)
            if source and source.get("name") in ROOT_PARAM:
                source.setdefault("params", {})[ROOT_PARAM[source["name"]]] = source_dir
    if prepared_dir is not None:
        prepare["out_dir"] = prepared_dir
        for section in (data.get("train", {}), data.get("val", {}), data.get("test", {})):
            dataset = section.get("dataset") or {}
            params = dataset.get("params") or {}
            if dataset.get("name") == "base_sem" and Path(params.get("dataset_dir", "")) == Path(old_prepared):
                params["dataset_dir"] = prepared_dir
    if run_root is not None:
        train = data.setdefault("train", {})
        train["model_folder"] = run_root
        train["log_folder"] = str(Path(run_root) / "logs")
        train["tensorboard_folder"] = str(Path(run_root) / "tensorboard")
    return data
