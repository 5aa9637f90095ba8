"""Model zoo: the VFI model, its layers, the peers' networks and checkpoints (see each module's docstring for shapes)."""
from .vfi import VFIModel

__all__ = ["VFIModel", "build_model"]


def build_model(cfg, runtime=None):
    """A model for a :class:`vfilib.config.ModelConfig`, run as :class:`vfilib.config.RuntimeConfig` says."""
    return VFIModel(cfg, runtime)
