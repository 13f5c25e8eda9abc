from pathlib import Path

import pytest

from fa_core.config.loader import apply_overrides, load_config, parse_config, task_names
from fa_core.errors import ConfigError
from tests.conftest import tiny_config_dict, write_config

FA_CONFIG = Path(__file__).parents[1] / "fixtures" / "fa_semantic_seg.yaml"


def fa_config_text(root="/data/VOC", ckpt="sam_ckpt/sam_vit_b_01ec64.pth") -> str:
    return FA_CONFIG.read_text().replace("DATA_ROOT", root).replace("SAM_CKPT", ckpt)


def error_of(data) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    return str(info.value)


def test_packaged_task_configs_load():
    assert "semantic_seg" in task_names()
    for name in task_names():
        config = load_config(task_name=name)
        assert config.train.model.sam_name == "sem_sam"


def test_finetune_anything_config_loads_unchanged(tmp_path):
    path = tmp_path / "semantic_seg.yaml"
    path.write_text(fa_config_text())
    config = load_config(str(path))
    assert config.train.opt_params.lr_default == pytest.approx(1e-3)  # YAML 1.1 reads `1e-3` as a string
    assert config.train.opt_params.group_keys == [["mask_adapter.decoder_head.output_hypernetworks_mlps"]]
    assert config.train.model.params["model_type"] == "vit_b"
    assert config.val.drop_last is True and config.test.need_test is False


def test_unknown_key_names_its_path_and_the_nearest_key(tmp_path):
    data = tiny_config_dict(tmp_path)
    data["train"]["max_itr"] = 5
    message = error_of(data)
    assert "train.max_itr: unknown key; did you mean 'max_iter'?" in message


def test_unknown_model_param_is_checked_against_the_model(tmp_path):
    data = tiny_config_dict(tmp_path)
    data["train"]["model"]["params"]["fix_img_encoder"] = True
    assert "train.model.params.fix_img_encoder: unknown key; did you mean 'fix_img_en'?" in error_of(data)


def test_every_problem_is_reported_at_once(tmp_path):
    data = tiny_config_dict(tmp_path)
    data["train"]["bs"] = "eight"
    data["train"]["amp"] = "fp8"
    data["val"]["dataset"]["transforms"]["resise"] = {"params": {"size": 64}}
    message = error_of(data)
    assert "train.bs: expected an integer, got str 'eight'" in message
    assert "train.amp: 'fp8' is not allowed; choose one of auto, off, bf16, fp16" in message
    assert "val.dataset.transforms.resise" in message


def test_unknown_registered_names_list_the_valid_ones(tmp_path):
    data = tiny_config_dict(tmp_path)
    data["train"]["dataset"]["name"] = "voc"
    data["train"]["losses"] = {"cross_entropy": {"weight": 1.0}}
    data["train"]["opt_name"] = "lion"
    data["train"]["scheduler_name"] = "poly"
    message = error_of(data)
    assert "train.dataset.name: unknown dataset 'voc'; valid names: base_sem" in message
    assert "train.losses.cross_entropy: unknown loss 'cross_entropy'; valid names: ce" in message
    assert "train.opt_name: unknown optimizer 'lion'; valid names: adam, adamw, sgd" in message
    assert "train.scheduler_name: unknown scheduler 'poly'" in message


def test_wrong_values_name_the_key(tmp_path):
    data = tiny_config_dict(tmp_path, max_iter=0, device="tpu")
    data["train"]["model"]["params"]["model_type"] = "vit_s"
    message = error_of(data)
    assert "train.max_iter: must be a positive integer, got 0" in message
    assert "train.device: 'tpu' is not allowed" in message
    assert "train.model.params.model_type: 'vit_s' is not allowed" in message


def test_loss_ignore_index_must_match_train_ignore_index(tmp_path):
    data = tiny_config_dict(tmp_path, ignore_index=11)
    data["train"]["losses"]["ce"]["params"] = {"ignore_index": 255}
    assert "train.losses.ce.params.ignore_index: 255 differs from train.ignore_index 11" in error_of(data)


def test_need_test_requires_a_test_dataset(tmp_path):
    data = tiny_config_dict(tmp_path)
    data["test"] = {"need_test": True}
    assert "test.dataset: required when test.need_test is true" in error_of(data)


def test_set_overrides_any_key(tmp_path):
    path = write_config(tmp_path / "c.yaml", tiny_config_dict(tmp_path))
    config = load_config(
        str(path),
        overrides=["train.max_iter=7", "train.opt_params.lr_list=[0.1]", "train.opt_params.group_keys=[[decoder]]",
                   "train.opt_params.wd_list=[0]", "train.model.params.class_num=4", "train.dataset.params.seed=3"],
    )  # fmt: skip
    assert config.train.max_iter == 7
    assert config.train.opt_params.lr_list == [0.1]
    assert config.train.model.params["class_num"] == 4
    assert config.train.dataset.params["seed"] == 3


def test_set_of_an_unknown_key_is_reported(tmp_path):
    path = write_config(tmp_path / "c.yaml", tiny_config_dict(tmp_path))
    with pytest.raises(ConfigError, match="train.max_iters: unknown key; did you mean 'max_iter'"):
        load_config(str(path), overrides=["train.max_iters=7"])
    with pytest.raises(ConfigError, match="expected KEY.PATH=VALUE"):
        apply_overrides({}, ["train.max_iter"])


def test_missing_or_broken_files_are_named(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml' does not exist"):
        load_config(str(tmp_path / "nope.yaml"))
    broken = tmp_path / "broken.yaml"
    broken.write_text("train: [\n")
    with pytest.raises(ConfigError, match="broken.yaml' is not valid YAML"):
        load_config(str(broken))
    with pytest.raises(ConfigError, match="unknown task 'semantic'; packaged tasks: semantic_seg"):
        load_config(task_name="semantic")


def test_group_list_lengths_must_agree(tmp_path):
    data = tiny_config_dict(tmp_path)
    data["train"]["opt_params"].update(lr_list=[0.1, 0.2], group_keys=[["a"]], wd_list=[0.0])
    assert "lr_list=2, wd_list=1, group_keys=1" in error_of(data)
