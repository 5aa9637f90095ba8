"""The vfilib network and its layers: ``VFIModel(cfg)(I0, I1, t) -> I_t`` (:mod:`.model`).

The CNN stem and the LGS backbone (:mod:`.backbone`, :mod:`.lgs`) with its branches: Mamba mixers
(:mod:`.mamba` over the pure-PyTorch SSD :mod:`.ssd`), cross-frame scans (:mod:`.scan`), gated window
attention (:mod:`.attention`), channel attention (:mod:`.channel_attention`), residual mixing
(:mod:`.mhc`); the flow estimator (:mod:`.flow`), RefineNet (:mod:`.refine`) and MaTVLM
initialisation (:mod:`.init`).
"""
from .model import VFIModel

__all__ = ["VFIModel"]
