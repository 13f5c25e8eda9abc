"""finetune-anything's three-step extension: subclass an adapter, subclass BaseExtendSam, register."""

import torch
import torch.nn.functional as F
from torch import nn

from fa_core.config.loader import parse_config
from fa_core.engine.runner import build_runner
from fa_core.models import MODELS, BaseExtendSam, BaseMaskDecoderAdapter
from tests.conftest import tiny_config_dict


# Step 1: a custom mask decoder adapter (here: a light conv head on the image embedding).
class ConvHeadAdapter(BaseMaskDecoderAdapter):
    def __init__(self, ori_sam, fix=False, class_num=3):
        super().__init__(ori_sam, fix)
        del self.sam_mask_decoder  # not used by this head
        channels = ori_sam.prompt_encoder.embed_dim
        self.head = nn.Sequential(nn.Conv2d(channels, 32, 3, padding=1), nn.GELU(), nn.Conv2d(32, class_num, 1))

    def forward(self, image_embeddings, prompt_adapter, sparse_embeddings, dense_embeddings, multimask_output=True):
        logits = self.head(image_embeddings + dense_embeddings)
        return F.interpolate(logits, scale_factor=4, mode="bilinear", align_corners=False), None


# Step 2: a model that swaps in the adapter.
class ConvHeadSam(BaseExtendSam):
    def __init__(self, ckpt_path=None, fix_img_en=False, fix_prompt_en=False, fix_mask_de=False,
                 class_num=3, model_type="vit_tiny", image_size=None):  # fmt: skip
        super().__init__(ckpt_path, fix_img_en, fix_prompt_en, fix_mask_de, model_type, image_size)
        self.class_num = class_num
        self.mask_adapter = ConvHeadAdapter(self.ori_sam, fix=fix_mask_de, class_num=class_num)


def test_custom_model_registered_by_name_trains_from_config(tmp_path):
    # Step 3: register a name; step 4: set sam_name in the config.
    MODELS.register("conv_head_sam", obj=ConvHeadSam, force=True)
    data = tiny_config_dict(tmp_path, max_iter=6, eval_iter=3)
    data["train"]["model"]["sam_name"] = "conv_head_sam"
    data["train"]["model"]["params"]["fix_img_en"] = True
    data["train"]["opt_params"]["lr_default"] = 1e-2
    runner = build_runner(parse_config(data), show_progress=False)
    assert isinstance(runner.model.mask_adapter, ConvHeadAdapter)
    head_before = [p.clone() for p in runner.model.mask_adapter.head.parameters()]

    history = runner.train()

    head_after = list(runner.model.mask_adapter.head.parameters())
    assert all(not torch.equal(a, b) for a, b in zip(head_before, head_after))
    losses = [line for line in (tmp_path / "model" / "tiny" / "train_log.jsonl").read_text().splitlines()]
    assert len(losses) == 3 and history["val"]["mIoU"] is not None
    assert (tmp_path / "model" / "tiny" / "best.pth").is_file()
