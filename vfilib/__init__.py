"""vfilib: a research workbook for video frame interpolation with a hybrid Mamba2-Transformer backbone."""
from .config import ModelConfig, preset

__version__ = "0.1.0"
__all__ = ["ModelConfig", "preset", "__version__"]
