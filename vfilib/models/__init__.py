"""Model zoo: the Phase-1 VFI model and its layers (see each module's docstring for shapes)."""
from .vfi import VFIModel

__all__ = ["VFIModel", "build_model"]


def build_model(cfg):
    """A model for a :class:`vfilib.config.ModelConfig`."""
    return VFIModel(cfg)
