"""The bottom layer: facts and helpers every other layer may use, and that use nothing of vfilib.

``paths`` (where things live), ``io`` (atomic and locked writes, checksums), ``seeding`` (stable
random streams), ``tensors`` (padding; images between float [0, 1] and uint8), ``tables`` (result rows
with provenance, appended atomically). Nothing here imports torch models, data sets or results.
"""
