"""`inferstack bench`: optimized serving (Triton + INT8 ONNX + dynamic batching) against the naive baseline
(FastAPI + uvicorn + torch eager FP32), side by side in one run, with the raw engine ceiling beside them."""
