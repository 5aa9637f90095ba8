"""Training: ``train(TrainConfig)``; command line ``python -m vfilib.train`` (also under torchrun)."""
from .config import TrainConfig
from .loop import TrainingDiverged, train

__all__ = ["TrainConfig", "TrainingDiverged", "train"]
