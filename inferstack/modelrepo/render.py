"""Render Triton `config.pbtxt` files from the model definition, with Triton's own protobuf.

A target decides only where the encoder runs; the model name, inputs and outputs are the same on every
target, so clients, load tests and dashboards never change between the laptop and a GPU cluster.
Targets register themselves in TARGETS: `cpu` (python backend + ONNX Runtime, served locally) here.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from inferstack.modeldef import ModelDefinition

PYTHON_MODEL = Path(__file__).parent / "python" / "model.py"
HEADER = "# Rendered by `inferstack model-repo render --target {target}` from {source}. Do not edit: edit the definition.\n"


def _param(config: mc.ModelConfig, key: str, value) -> None:
    config.parameters[key].string_value = str(value)


def frontend_config(definition: ModelDefinition, encoder: str) -> mc.ModelConfig:
    """The model clients call: text in, label + probabilities out (python backend on every target)."""
    iface = definition.interface
    serving = definition.serving
    config = mc.ModelConfig(name=definition.name, backend="python", max_batch_size=serving.max_batch_size)
    config.input.add(name=iface.text_input, data_type=mc.TYPE_STRING, dims=[1])
    config.output.add(name=iface.label_output, data_type=mc.TYPE_STRING, dims=[1])
    config.output.add(name=iface.probabilities_output, data_type=mc.TYPE_FP32, dims=[len(definition.labels)])
    batching = config.dynamic_batching
    batching.max_queue_delay_microseconds = serving.dynamic_batching.max_queue_delay_microseconds
    batching.preferred_batch_size.extend(serving.dynamic_batching.preferred_batch_size)
    config.version_policy.latest.num_versions = 1
    _param(config, "encoder", encoder)
    _param(config, "padding", serving.padding)
    _param(config, "max_text_bytes", iface.max_text_bytes)
    _param(config, "text_input", iface.text_input)
    _param(config, "label_output", iface.label_output)
    _param(config, "probabilities_output", iface.probabilities_output)
    return config


def cpu_target(definition: ModelDefinition) -> dict[str, mc.ModelConfig]:
    config = frontend_config(definition, encoder="onnxruntime")
    config.instance_group.add(count=definition.serving.instances, kind=mc.ModelInstanceGroup.KIND_CPU)
    _param(config, "intra_op_threads", definition.serving.intra_op_threads)
    _param(config, "sub_batch_size", definition.serving.sub_batch_size)
    return {definition.name: config}


TARGETS: dict[str, Callable[[ModelDefinition], dict[str, mc.ModelConfig]]] = {"cpu": cpu_target}


def render_configs(definition: ModelDefinition, target: str) -> dict[str, str]:
    """{model name: config.pbtxt text} for a target."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; known: {', '.join(TARGETS)}")
    source = definition.file.name if definition.file else "the model definition"
    header = HEADER.format(target=target, source=source)
    return {
        name: header + text_format.MessageToString(cfg) for name, cfg in TARGETS[target](definition).items()
    }


def parse_config(text: str) -> mc.ModelConfig:
    return text_format.Parse(text, mc.ModelConfig())


def write_repository(definition: ModelDefinition, target: str, out: Path) -> list[Path]:
    """Write every model's config.pbtxt for `target` under `out`. Existing versions are left untouched."""
    written = []
    for name, text in render_configs(definition, target).items():
        path = out / name / "config.pbtxt"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(text)
            tmp.replace(path)
        written.append(path)
    return written


def install_version_code(version_dir: Path) -> None:
    """Every version of the front-end model carries its own copy of the serving code."""
    shutil.copy2(PYTHON_MODEL, version_dir / "model.py")


# --- gpu: the same front-end model calling a TensorRT engine through BLS (issue 7) -------------------


def gpu_preferred_batch_sizes(definition: ModelDefinition) -> list[int]:
    """The definition's preferred sizes, or half and all of max_batch_size: the engine's optimization
    profile is tuned at half (inferstack.engine.plan), and a full batch is what a GPU under load wants."""
    sizes = list(definition.serving.dynamic_batching.preferred_batch_size)
    if not sizes:
        top = definition.serving.max_batch_size
        sizes = sorted({max(1, top // 2), top})
    return sizes


def encoder_config(definition: ModelDefinition) -> mc.ModelConfig:
    """The TensorRT engine (`model.plan` + `metadata.json` per version, written by images/trt-builder).

    Inputs are those of source.onnx: INT64 [batch, sequence], the sequence padded per batch to its longest
    text by the front-end; the profile covers 1..max_sequence_length. Fallback where no engine can be
    built: `backend: "onnxruntime"` with the TensorRT execution provider on source.onnx (docs/gpu.md).
    """
    from inferstack.engine.plan import INPUTS, OUTPUT, encoder_name

    serving = definition.serving
    config = mc.ModelConfig(
        name=encoder_name(definition.name), platform="tensorrt_plan", max_batch_size=serving.max_batch_size
    )
    for name in INPUTS:
        config.input.add(name=name, data_type=mc.TYPE_INT64, dims=[-1])
    config.output.add(name=OUTPUT, data_type=mc.TYPE_FP32, dims=[len(definition.labels)])
    config.instance_group.add(count=serving.instances, kind=mc.ModelInstanceGroup.KIND_GPU)
    # The front-end already forms batches; this batcher merges what arrives together with equal lengths.
    batching = config.dynamic_batching
    batching.max_queue_delay_microseconds = serving.dynamic_batching.max_queue_delay_microseconds
    batching.preferred_batch_size.extend(gpu_preferred_batch_sizes(definition))
    config.version_policy.latest.num_versions = 1
    # Warm up at the smallest and the largest shape the profile allows, so neither the first request nor
    # the first full batch pays for CUDA context, lazy module loading and TensorRT execution contexts.
    for batch, seq in ((1, 16), (serving.max_batch_size, definition.max_sequence_length)):
        warmup = config.model_warmup.add(name=f"batch{batch}_seq{seq}", batch_size=batch, count=2)
        for name in INPUTS:
            warmup.inputs[name].data_type = mc.TYPE_INT64
            warmup.inputs[name].dims.extend([seq])
            warmup.inputs[name].zero_data = True
    return config


def gpu_target(definition: ModelDefinition) -> dict[str, mc.ModelConfig]:
    from inferstack.engine.plan import encoder_name

    front = frontend_config(definition, encoder="bls")
    front.dynamic_batching.ClearField("preferred_batch_size")
    front.dynamic_batching.preferred_batch_size.extend(gpu_preferred_batch_sizes(definition))
    # Tokenization runs on CPU; the engine on the GPU.
    front.instance_group.add(count=definition.serving.instances, kind=mc.ModelInstanceGroup.KIND_CPU)
    _param(front, "encoder_model", encoder_name(definition.name))
    encoder = encoder_config(definition)
    return {front.name: front, encoder.name: encoder}


def pin_versions(configs: dict[str, mc.ModelConfig], versions: list[int]) -> dict[str, mc.ModelConfig]:
    """A canary: serve exactly these versions of every model side by side (version_policy specific)."""
    if not versions or len(set(versions)) != len(versions) or min(versions) < 1:
        raise ValueError(f"versions {versions}: give distinct version numbers >= 1, e.g. 1,2")
    for config in configs.values():
        config.version_policy.specific.versions[:] = sorted(versions)
    return configs


TARGETS["gpu"] = gpu_target
