"""TensorRT engines: how they are built (trt-builder image) and how Triton refuses ones that cannot run.

A TensorRT plan runs only on the TensorRT version and the GPU architecture that built it. Every engine
therefore carries a `metadata.json` beside its `model.plan` saying what built it, and the Triton image
checks those facts against its own runtime before it starts.

This package is copied into both images (images/trt-builder, images/triton), so it imports only the
standard library at module level; numpy, tokenizers and tensorrt are imported where they are needed.
"""
