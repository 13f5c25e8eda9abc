"""A stand-in for finetune-anything's SemanticSam, for checkpoint-migration tests only.

finetune-anything (FA) cannot be installed from PyPI and must not be vendored, so this module
rebuilds just what the migration depends on: the *module tree* that gives FA's `model.pth` its
keys, and FA's forward semantics. The tree mirrors FA's:
  - `ori_sam` registered as a submodule (SAM's tensors appear under ori_sam.* as well),
  - the adapters' sam_img_encoder / sam_prompt_encoder / sam_mask_decoder attributes,
  - a mask decoder adapter that *inherits* SAM's MaskDecoder, so it owns a second, unused set of
    tokens / upscaling / MLPs next to its neck and head,
  - a neck that also owns an (unused) output_upscaling.
The forward follows FA: prompt embeddings keep batch size 1 and are broadcast by SAM's attention
against the image batch, unlike fa_core's explicit expansion.
"""

import torch
from segment_anything.modeling import MaskDecoder, Sam
from segment_anything.modeling.common import LayerNorm2d
from segment_anything.modeling.mask_decoder import MLP
from torch import nn


def _upscaling(dim: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(dim, dim // 4, kernel_size=2, stride=2),
        LayerNorm2d(dim // 4),
        nn.GELU(),
        nn.ConvTranspose2d(dim // 4, dim // 8, kernel_size=2, stride=2),
        nn.GELU(),
    )


class Holder(nn.Module):
    def __init__(self, **children):
        super().__init__()
        for name, child in children.items():
            setattr(self, name, child)


class FAStyleMaskAdapter(MaskDecoder):
    def __init__(self, sam: Sam, class_num: int):
        dim = sam.mask_decoder.transformer_dim
        hidden = sam.mask_decoder.iou_prediction_head.layers[0].out_features
        super().__init__(transformer_dim=dim, transformer=sam.mask_decoder.transformer, iou_head_hidden_dim=hidden)
        self.sam_mask_decoder = sam.mask_decoder
        self.decoder_neck = Holder(
            transformer=sam.mask_decoder.transformer,
            iou_token=nn.Embedding(1, dim),
            mask_tokens=nn.Embedding(4, dim),
            output_upscaling=_upscaling(dim),
        )
        self.decoder_head = Holder(
            output_upscaling=_upscaling(dim),
            output_hypernetworks_mlps=nn.ModuleList([MLP(dim, dim, dim // 8, 3) for _ in range(class_num)]),
            iou_prediction_head=MLP(dim, hidden, 4, 3),
        )


class FAStyleSemanticSam(nn.Module):
    def __init__(self, sam: Sam, class_num: int):
        super().__init__()
        self.ori_sam = sam
        self.img_adapter = Holder(sam_img_encoder=sam.image_encoder)
        self.prompt_adapter = Holder(sam_prompt_encoder=sam.prompt_encoder)
        self.mask_adapter = FAStyleMaskAdapter(sam, class_num)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        embeddings = self.img_adapter.sam_img_encoder(images)
        prompt_encoder = self.prompt_adapter.sam_prompt_encoder
        sparse, dense = prompt_encoder(points=None, boxes=None, masks=None)  # batch size 1
        neck, head = self.mask_adapter.decoder_neck, self.mask_adapter.decoder_head
        tokens = torch.cat([neck.iou_token.weight, neck.mask_tokens.weight], dim=0).unsqueeze(0)
        tokens = torch.cat((tokens, sparse), dim=1)
        src = embeddings + dense
        b, c, h, w = src.shape
        hs, src = neck.transformer(src, prompt_encoder.get_dense_pe(), tokens)  # broadcast over the batch
        src = src.transpose(1, 2).reshape(b, c, h, w)
        upscaled = head.output_upscaling(src)
        hyper_in = torch.stack([mlp(hs[:, 2, :]) for mlp in head.output_hypernetworks_mlps], dim=1)
        b, c, h, w = upscaled.shape
        return (hyper_in @ upscaled.reshape(b, c, h * w)).reshape(b, -1, h, w)
