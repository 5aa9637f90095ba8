"""Training augmentation, as in the reference recipes (RIFE / VFIMamba), seeded and reproducible.

Applied identically to I0, gt, I1 (and an N-frame window's ``context`` frames): random crop, horizontal
and vertical flips, 90-degree rotation, channel-order reversal; temporal reversal swaps I0 and I1 (and
reverses the whole window) and maps t -> 1 - t. Randomness comes
from a generator seeded by (seed, epoch, index), so a sample is the same on every run and worker.
The crop size can be changed during training (curriculum): :meth:`Augment.set_crop`.
"""
from __future__ import annotations


import torch
import torch.nn.functional as F

from ..core.seeding import py_rng

KEYS = ("I0", "gt", "I1")


class Augment:
    def __init__(self, crop: int | tuple[int, int] | None = 256, flip: bool = True, rot90: bool = True,
                 reverse: bool = True, channel: bool = True, seed: int = 0):
        self.flip, self.rot90, self.reverse, self.channel, self.seed = flip, rot90, reverse, channel, seed
        self.epoch = 0
        self.set_crop(crop)

    def set_crop(self, crop: int | tuple[int, int] | None) -> None:
        self.crop = (crop, crop) if isinstance(crop, int) else crop

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __call__(self, item: dict, index: int) -> dict:
        rng = py_rng(self.seed, self.epoch, index, "aug")
        ctx = list(item["context"]) if "context" in item else []
        half = len(ctx) // 2
        imgs = ctx[:half] + [item[k] for k in KEYS] + ctx[half:]       # the window in time order
        t = item["t"]
        if self.crop is not None:
            ch, cw = self.crop
            _, h, w = imgs[0].shape
            if h < ch or w < cw:  # small frames: pad (reflect where possible) rather than fail
                ph, pw = max(ch - h, 0), max(cw - w, 0)
                mode = "reflect" if ph < h and pw < w else "replicate"
                imgs = [F.pad(x[None], (0, pw, 0, ph), mode=mode)[0] for x in imgs]
                _, h, w = imgs[0].shape
            y, x = rng.randint(0, h - ch), rng.randint(0, w - cw)
            imgs = [im[:, y:y + ch, x:x + cw] for im in imgs]
        if self.flip and rng.random() < 0.5:
            imgs = [im.flip(-1) for im in imgs]
        if self.flip and rng.random() < 0.5:
            imgs = [im.flip(-2) for im in imgs]
        if self.rot90:
            k = rng.randint(0, 3)
            if k:
                imgs = [torch.rot90(im, k, dims=(-2, -1)) for im in imgs]
        if self.channel and rng.random() < 0.5:
            imgs = [im.flip(0) for im in imgs]
        if self.reverse and rng.random() < 0.5:
            imgs = imgs[::-1]
            t = 1.0 - t
        out = dict(item)
        out.update({k: im.contiguous() for k, im in zip(KEYS, imgs[half:half + 3])})
        if ctx:
            out["context"] = torch.stack(imgs[:half] + imgs[half + 3:]).contiguous()
        out["t"] = t
        return out
