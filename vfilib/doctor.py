"""``vfilib doctor``: what this machine can run, which code paths the model will take, what to do.

Checks torch, CUDA and the GPU's architecture, Triton, ``mamba_ssm`` (and, if it does not import,
why: its compiled extension missing, a C++ ABI mismatch, no kernels for this architecture), PyAV's
encoders, the data and weights folders, and the shipped model. The pure-PyTorch SSD keeps everything
usable where the official kernels do not build (new GPU architectures are a common case).
"""
from __future__ import annotations

import argparse
import importlib
import platform
import traceback


def _try(fn):
    try:
        return True, fn()
    except Exception as e:  # noqa: BLE001 - reported, not raised
        return False, e


def mamba_diagnosis(err: BaseException) -> str:
    text = "".join(traceback.format_exception_only(type(err), err)).strip()
    if isinstance(err, ModuleNotFoundError) and "mamba_ssm" in str(err):
        return "not installed: on a CUDA machine `pip install --no-build-isolation -r requirements-gpu.txt`, " \
               "or `bash scripts/device_mamba.sh` for its Triton kernels alone (seconds, no compiler)"
    if "selective_scan_cuda" in text:
        return "its compiled CUDA extension (Mamba1's scan) is missing or failed to load: rebuild it, or use " \
               "scripts/device_mamba.sh (Mamba2 on Triton, Mamba1 on vfilib's reference scan)"
    if "undefined symbol" in text:
        return "C++ ABI mismatch: the extension was built against another torch; rebuild it against this one"
    if "no kernel image" in text or "sm_" in text:
        return "no kernels for this GPU architecture: rebuild for it (TORCH_CUDA_ARCH_LIST), or run on the pure-PyTorch SSD"
    return text.splitlines()[-1]


def report() -> list[tuple[str, str, str]]:
    """(check, status, detail) rows."""
    import torch

    rows = [("python", "ok", platform.python_version()), ("torch", "ok", torch.__version__)]
    cuda = torch.cuda.is_available()
    if cuda:
        cc = torch.cuda.get_device_capability()
        rows.append(("CUDA", "ok", f"{torch.version.cuda}; {torch.cuda.device_count()} GPU(s): "
                     f"{torch.cuda.get_device_name()} (sm_{cc[0]}{cc[1]}, "
                     f"{torch.cuda.get_device_properties(0).total_memory / 2**30:.0f} GiB)"))
    else:
        rows.append(("CUDA", "none", "no GPU visible to torch: everything runs on the CPU (slow for the small preset)"))
    ok, tr = _try(lambda: importlib.import_module("triton").__version__)
    rows.append(("triton", "ok" if ok else "missing", tr if ok else "the fused kernels and mamba_ssm's SSD need it"))
    ok, m = _try(lambda: importlib.import_module("mamba_ssm").__version__)
    if ok:
        from .models.vfi.mamba import official_kernels
        k = official_kernels() or {}
        rows.append(("mamba_ssm", "ok", f"{m}; Mamba2 SSD: {'official' if k.get('ssd') else 'missing'}, "
                     f"Mamba1 scan: {'official' if k.get('selective_scan') else 'vfilib reference (extension not built)'}"))
    else:
        rows.append(("mamba_ssm", "missing", mamba_diagnosis(m)))
    from .models.vfi.mamba import resolve_impl
    dev = torch.device("cuda" if cuda else "cpu")
    impl = resolve_impl("auto", dev)
    rows.append(("SSD path", "ok", f"{impl} on {dev.type}" + ("" if impl == "official" else
                 " (pure-PyTorch chunked SSD: correct everywhere, slower)")))
    attn = "PyTorch SDPA (FlashAttention-2 / cuDNN / memory-efficient kernels)" if cuda else "PyTorch SDPA (math, CPU)"
    rows.append(("attention path", "ok", attn))
    ok, av = _try(lambda: importlib.import_module("av"))
    if ok:
        enc = [c for c in ("libx264", "libx265", "libsvtav1", "ffv1") if c in av.codecs_available]
        rows.append(("PyAV", "ok", f"{av.__version__}; encoders: {', '.join(enc)}"))
    else:
        rows.append(("PyAV", "missing", "the video tool needs it: pip install av"))
    from .core.paths import DataPaths
    from .models.weights.checkpoint import SHIPPED, verify_shipped
    paths = DataPaths()
    for name in ("embedded", "live", "weights"):
        p = getattr(paths, name)
        rows.append((f"data: {name}", "ok" if p.exists() else "absent",
                     f"{p}" + ("" if p.exists() else f" (python -m vfilib.data.prepare {name})" if name != "weights" else "")))
    if SHIPPED.is_file():
        ok, sha = _try(verify_shipped)
        rows.append(("shipped model", "ok" if ok else "BAD", f"{SHIPPED.name} sha256 {sha[:16]}..." if ok else str(sha)))
    else:
        rows.append(("shipped model", "absent", "no weights/vfilib.pt in this checkout: the video tool uses RIFE HDv3"))
    return rows


def main(argv=None) -> int:
    argparse.ArgumentParser(prog="vfilib doctor", description=__doc__).parse_args(argv)
    rows = report()
    width = max(len(r[0]) for r in rows)
    for check, status, detail in rows:
        print(f"{check:<{width}}  {status:<7}  {detail}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
