import torch

from fa_core.models import build_sam
from fa_core.models.sdpa import use_sdpa_attention


def test_sdpa_attention_matches_segment_anything():
    torch.manual_seed(0)
    sam = build_sam("vit_tiny", image_size=128).eval()
    with torch.no_grad():  # random rel-pos tables, so the position terms matter
        for name, param in sam.image_encoder.named_parameters():
            if "rel_pos" in name:
                param.normal_(0, 0.5)
    images = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        expected = sam.image_encoder(images)
        assert use_sdpa_attention(sam.image_encoder) == 4
        actual = sam.image_encoder(images)
    assert torch.allclose(actual, expected, atol=1e-4, rtol=1e-4), (actual - expected).abs().max()
