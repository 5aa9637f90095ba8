"""Image I/O and the one place that states the channel order.

vfilib works in **RGB**, float32 in [0, 1], tensors (3, H, W). Reference VFI models (RIFE, VFIMamba)
read frames with OpenCV and never convert, so they see **BGR**: peers that need it call
:func:`rgb_to_bgr` at their boundary, never the loaders.

Bad files are converted or rejected with a message naming the file:
grayscale -> replicated to 3 channels; alpha -> dropped (rejected if the image is not opaque);
16-bit -> scaled by 1/65535; unreadable or truncated -> :class:`ImageError`.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
import torch

from ..core.tensors import to_uint8

CHANNEL_ORDER = "RGB"


class ImageError(ValueError):
    """An image that cannot be used, with the file named in the message."""


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as RGB float32 (H, W, 3) in [0, 1]."""
    img = read_pixels(path)
    return np.ascontiguousarray(img, dtype=np.float32) / np.float32(np.iinfo(img.dtype).max)


def read_pixels(path: str | Path) -> np.ndarray:
    """Read an image file as RGB (H, W, 3) at its own depth: uint8, or uint16 for 16-bit files."""
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: file not found")
    data = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise ImageError(f"{path}: unreadable or truncated image ({data.size} bytes)")
    return rgb_pixels(img, path, bgr=True)


def normalize_image(img: np.ndarray, source: str | Path = "<array>", bgr: bool = False) -> np.ndarray:
    """Any 8/16-bit gray, RGB(A) or BGR(A) array -> RGB float32 (H, W, 3) in [0, 1]."""
    img = rgb_pixels(img, source, bgr)
    return np.ascontiguousarray(img, dtype=np.float32) / np.float32(np.iinfo(img.dtype).max)


def rgb_pixels(img: np.ndarray, source: str | Path = "<array>", bgr: bool = False) -> np.ndarray:
    """Any 8/16-bit gray, RGB(A) or BGR(A) array -> RGB (H, W, 3) of the same integer type."""
    if img.dtype not in (np.uint8, np.uint16):
        raise ImageError(f"{source}: unsupported pixel type {img.dtype} (expected 8- or 16-bit)")
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3 or img.shape[2] not in (1, 3, 4):
        raise ImageError(f"{source}: unsupported image shape {img.shape}")
    if img.shape[2] == 4:
        if img[..., 3].min() < np.iinfo(img.dtype).max:
            raise ImageError(f"{source}: has a transparent alpha channel; flatten it onto a background first")
        warnings.warn(f"{source}: opaque alpha channel dropped", stacklevel=3)
        img = img[..., :3]
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    elif bgr:
        img = img[..., ::-1]
    return np.ascontiguousarray(img)


def to_tensor(img: np.ndarray) -> torch.Tensor:
    """(H, W, 3) float array -> (3, H, W) tensor."""
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


def load_frames(paths, resize: tuple[int, int] | None = None) -> list[torch.Tensor]:
    """Read frames of one sample; all must share one size. ``resize`` = (W, H) with INTER_AREA."""
    imgs = [read_image(p) for p in paths]
    sizes = {im.shape[:2] for im in imgs}
    if len(sizes) > 1:
        desc = ", ".join(f"{Path(p).name}: {im.shape[1]}x{im.shape[0]}" for p, im in zip(paths, imgs))
        raise ImageError(f"frames of one sample differ in size ({desc}) in {Path(paths[0]).parent}")
    if resize is not None:
        imgs = [cv2.resize(im, resize, interpolation=cv2.INTER_AREA) for im in imgs]
    return [to_tensor(im) for im in imgs]


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def write_image(path: str | Path, img: torch.Tensor | np.ndarray) -> None:
    """Write an RGB image ((3, H, W) tensor or (H, W, 3) array in [0, 1]) as 8-bit PNG/JPEG."""
    if torch.is_tensor(img):
        img = img.detach().cpu().float().clamp(0, 1).permute(1, 2, 0).numpy()
    write_pixels(path, to_uint8(img))


def write_pixels(path: str | Path, pixels: np.ndarray) -> None:
    """Write RGB (H, W, 3) uint8 or uint16 levels as they are (a 16-bit PNG from uint16)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(Path(path).suffix or ".png", np.ascontiguousarray(pixels[..., ::-1]))
    if not ok:
        raise ImageError(f"{path}: could not encode image")
    buf.tofile(str(path))


def rgb_to_bgr(x: torch.Tensor) -> torch.Tensor:
    """Swap the channel order of (..., 3, H, W); its own inverse."""
    return x.flip(-3)
