"""Model pipeline: train a head on a pre-trained encoder, export to ONNX, quantize, gate, track, publish."""
