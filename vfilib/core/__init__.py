"""The bottom layer: facts and helpers every other layer may use, and that use nothing of vfilib.

``paths`` (where things live), ``io`` (atomic and locked writes, checksums), ``seeding`` (stable
random streams), ``tensors`` (padding), ``errors`` (user-facing errors). Nothing here imports torch
models, data sets or results.
"""
