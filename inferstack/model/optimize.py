"""ONNX Runtime graph optimization and INT8 dynamic quantization."""

from __future__ import annotations

import json
from pathlib import Path

from inferstack.modeldef import Quantization


def optimize(source: Path, target: Path, checkpoint: Path) -> dict:
    """Fuse attention, layer norm and GELU with ONNX Runtime's transformer optimizer (portable: no
    hardware-specific kernels are baked in, unlike a saved ORT_ENABLE_ALL graph)."""
    from onnxruntime.transformers.optimizer import optimize_model

    config = json.loads((checkpoint / "config.json").read_text())
    model_type = config.get("model_type", "bert")
    model = optimize_model(
        str(source),
        model_type=model_type if model_type in ("bert", "roberta", "distilbert") else "bert",
        num_heads=int(config.get("num_attention_heads", 0)),
        hidden_size=int(config.get("hidden_size", 0)),
        opt_level=1,
        use_gpu=False,
    )
    model.save_model_to_file(str(target))
    return {k: int(v) for k, v in model.get_fused_operator_statistics().items() if v}


def quantize(source: Path, target: Path, settings: Quantization) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(source),
        str(target),
        per_channel=settings.per_channel,
        reduce_range=settings.reduce_range,
        weight_type=QuantType.QInt8,
        # Fused contrib ops (Attention, SkipLayerNorm) escape ONNX shape inference; their tensors are FP32.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
