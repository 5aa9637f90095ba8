"""How a model runs fast, beside the plain-PyTorch path it must equal: CUDA-graph replay of one
inference call (:mod:`.graph`) and the fused Triton kernels of the SSM branch (:mod:`.kernels`)."""
