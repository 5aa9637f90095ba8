"""The SSD scan and the window attention alone, on a preset's stage shapes (CUDA)."""
from __future__ import annotations

import torch

from ..config import preset
from ..eval.timing import DTYPES, RESOLUTIONS, time_fn
from ..models.runtime.graph import capture


def ssd(args) -> None:
    """The official SSD kernel on the shapes of a preset's LGS stages at a resolution, for several
    chunk sizes and input dtypes, timed as CUDA-graph replays. The chunk size changes only how the scan is split, not its result
    (the printed difference to chunk 256 / fp32 shows it), so it is a free inference setting."""
    from ..models.vfi.mamba import official_kernels

    kern = official_kernels()
    if kern is None or not torch.cuda.is_available():
        raise SystemExit("bench ssd needs CUDA and mamba_ssm")
    device, cfg = torch.device("cuda"), preset(args.preset)
    h, w = RESOLUTIONS[args.res]
    g = torch.Generator(device="cpu").manual_seed(0)
    for stage, dim in enumerate(cfg.dims[3:]):
        length = 2 * -(-h // 2 ** (3 + stage)) * -(-w // 2 ** (3 + stage))      # both frames, one pool
        nheads = cfg.expand * dim // cfg.headdim
        mk = lambda *shape: torch.randn(*shape, generator=g).to(device)      # noqa: E731
        x, dt = mk(4, length, nheads, cfg.headdim), mk(4, length, nheads) - 3
        B, C = mk(4, length, cfg.ngroups, cfg.d_state), mk(4, length, cfg.ngroups, cfg.d_state)
        A, D, bias = -torch.rand(nheads, device=device) - 0.5, torch.ones(nheads, device=device), torch.zeros(nheads, device=device)
        ref = None
        for dt_name in ("fp32", "bf16"):
            cast = (lambda t: t) if dt_name == "fp32" else (lambda t: t.bfloat16())
            for chunk in args.chunks:
                fn = lambda: kern["ssd"](cast(x), dt, A, cast(B), cast(C), chunk_size=chunk, D=D, dt_bias=bias,  # noqa: E731
                                         dt_softplus=True)
                y = fn().float()
                ref = y if ref is None else ref
                err = ((y - ref).abs().max() / ref.abs().max()).item()
                r = time_fn(capture(fn)[0].replay, device, 5, 50)        # replayed: kernel time only
                print(f"stage 1/{2 ** (3 + stage)} L={length} heads={nheads}x{cfg.headdim} state={cfg.d_state} "
                      f"x/B/C {dt_name} chunk {chunk:4d}: {r['median_ms']:.3f} ms  (max rel. diff to chunk "
                      f"{args.chunks[0]} fp32: {err:.1e})", flush=True)


def sdpa(args) -> None:
    """SDPA backends on the window-attention shapes of a preset at a resolution (the LGS 1/8 and 1/16
    stages; windows of ``window_size``^2 tokens of both frames)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    import torch.nn.functional as F

    device = torch.device(args.device or "cuda")
    cfg = preset(args.preset)
    h, w = RESOLUTIONS[args.res]
    backends = {"flash": SDPBackend.FLASH_ATTENTION, "efficient": SDPBackend.EFFICIENT_ATTENTION,
                "cudnn": SDPBackend.CUDNN_ATTENTION, "math": SDPBackend.MATH}
    for stage, (dim, heads) in enumerate(zip(cfg.dims[3:], cfg.num_heads)):
        sh, sw = -(-h // 2 ** (3 + stage)), -(-w // 2 ** (3 + stage))
        n_win = 2 * -(-sh // cfg.window_size) * -(-sw // cfg.window_size)
        q, k, v = (torch.randn(n_win, heads, cfg.window_size ** 2, dim // heads, device=device,
                               dtype=DTYPES[args.dtype] or torch.float32) for _ in range(3))
        for name, be in backends.items():
            try:
                with sdpa_kernel(be):
                    r = time_fn(lambda: F.scaled_dot_product_attention(q, k, v), device, 10, 50)
                print(f"stage 1/{2 ** (3 + stage)} windows={n_win} heads={heads} hd={dim // heads} {args.dtype} "
                      f"{name:9s} {r['median_ms']:.3f} ms")
            except RuntimeError as e:
                print(f"stage 1/{2 ** (3 + stage)} {args.dtype} {name:9s} unavailable ({str(e).splitlines()[0][:60]})")
