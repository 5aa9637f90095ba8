"""Training engine: ``train(TrainConfig)``; command line ``python -m vfilib.train``."""
from .trainer import TrainConfig, TrainingDiverged, train

__all__ = ["TrainConfig", "TrainingDiverged", "train"]
