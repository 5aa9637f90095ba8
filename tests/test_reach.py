"""Reach of a model's parts: the output change when a part's parameters are zero."""
import torch

from vfilib.config import preset
from vfilib.eval.reach import matches, part_reach
from vfilib.models import build_model


def _model():
    torch.manual_seed(0)
    m = build_model(preset("tiny"))
    with torch.no_grad():                      # a trained head (the fresh one starts at zero)
        for p in m.refine.head.parameters():
            p.normal_(0, 0.05)
    return m.eval()


def test_reach_is_the_output_change_with_the_part_zeroed_and_the_model_is_untouched():
    m = _model()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    torch.manual_seed(1)
    a = torch.rand(1, 3, 32, 48)
    b = torch.roll(a, 3, -1)
    reach = part_reach(m, a, b, parts={"head": ("refine.head",), "none": ("nothing.",), "ssm": (".ssm.",)})
    assert "none" not in reach                                        # no parameter of the model: left out
    with torch.no_grad():
        ref = m(a, b, 0.5)
        for p in m.refine.head.parameters():
            p.zero_()
        by_hand = float((m(a, b, 0.5) - ref).abs().max())
    m.load_state_dict(before)
    n, r = reach["head"]
    assert n == sum(p.numel() for p in m.refine.head.parameters()) and r == by_hand > 1e-3
    assert reach["ssm"][1] >= 0 and all(torch.equal(v, before[k]) for k, v in m.state_dict().items())


def test_part_keys_are_prefixes_or_pieces():
    assert matches("backbone.stage3.blocks.0.ssm.mixer.out_proj.weight", (".ssm.",))
    assert matches("backbone.stage3.blocks.0.fuse.weight", ("backbone.stage",))
    assert not matches("refine.head.weight", ("backbone.",)) and not matches("xbackbone.w", ("backbone.",))
