"""GPU configs rendered from the model definition and parsed back with Triton's own model_config_pb2.
Whether Triton loads them with a real engine is proven only on a GPU host (docs/gpu.md)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from tritonclient.grpc import model_config_pb2 as mc

from inferstack.engine.plan import INPUTS, OUTPUT, BuildSettings, make_plan
from inferstack.modeldef import load_definition
from inferstack.modelrepo.render import PYTHON_MODEL, TARGETS, parse_config, pin_versions, render_configs
from inferstack.paths import default_model_definition


@pytest.fixture(scope="module")
def definition():
    return load_definition(default_model_definition())


@pytest.fixture(scope="module")
def gpu(definition):
    return {name: parse_config(text) for name, text in render_configs(definition, "gpu").items()}


def test_gpu_is_a_registered_target():
    assert {"cpu", "gpu"} <= set(TARGETS)


def test_front_end_has_the_same_name_and_signature_as_on_cpu(definition, gpu):
    cpu = parse_config(render_configs(definition, "cpu")[definition.name])
    front = gpu[definition.name]
    assert front.name == cpu.name == "sentiment" and front.backend == "python"
    assert front.max_batch_size == cpu.max_batch_size
    assert list(front.input) == list(cpu.input)
    assert list(front.output) == list(cpu.output)
    assert front.parameters["encoder"].string_value == "bls"
    assert front.parameters["encoder_model"].string_value == "sentiment_encoder"
    assert front.instance_group[0].kind == mc.ModelInstanceGroup.KIND_CPU  # the tokenizer


def test_encoder_is_a_tensorrt_plan_on_the_gpu(definition, gpu):
    enc = gpu["sentiment_encoder"]
    assert enc.platform == "tensorrt_plan" and not enc.backend
    assert enc.max_batch_size == definition.serving.max_batch_size
    assert [(g.kind, g.count) for g in enc.instance_group] == [
        (mc.ModelInstanceGroup.KIND_GPU, definition.serving.instances)
    ]
    assert [(i.name, i.data_type, list(i.dims)) for i in enc.input] == [
        ("input_ids", mc.TYPE_INT64, [-1]),
        ("attention_mask", mc.TYPE_INT64, [-1]),
    ]
    assert [(o.name, o.data_type, list(o.dims)) for o in enc.output] == [
        ("probabilities", mc.TYPE_FP32, [len(definition.labels)])
    ]


def test_encoder_io_names_are_what_the_bls_call_and_the_engine_use(gpu):
    source = PYTHON_MODEL.read_text()
    bls = source[source.index("def _bls") : source.index("def _texts")]
    for name in (*INPUTS, OUTPUT):
        assert f'"{name}"' in bls, f"model.py's BLS call does not use {name}"
    enc = gpu["sentiment_encoder"]
    assert tuple(i.name for i in enc.input) == INPUTS and enc.output[0].name == OUTPUT


def test_dynamic_batching_prefers_sizes_within_the_maximum(definition, gpu):
    for config in gpu.values():
        sizes = list(config.dynamic_batching.preferred_batch_size)
        assert sizes and all(1 <= s <= config.max_batch_size for s in sizes)
        assert (
            config.dynamic_batching.max_queue_delay_microseconds
            == definition.serving.dynamic_batching.max_queue_delay_microseconds
        )


def test_warmup_shapes_lie_inside_the_engine_profile(definition, gpu):
    enc = gpu["sentiment_encoder"]
    profile = make_plan(
        "sentiment", "1", definition.serving.max_batch_size, definition.max_sequence_length, BuildSettings()
    ).profiles[0]
    assert len(enc.model_warmup) == 2
    seen_batches = set()
    for warmup in enc.model_warmup:
        assert set(warmup.inputs) == set(INPUTS)
        seen_batches.add(warmup.batch_size)
        for spec in warmup.inputs.values():
            assert spec.data_type == mc.TYPE_INT64 and spec.zero_data
            (seq,) = spec.dims
            assert profile.min[0] <= warmup.batch_size <= profile.max[0]
            assert profile.min[1] <= seq <= profile.max[1]
    assert seen_batches == {1, definition.serving.max_batch_size}


def test_every_gpu_config_states_what_style_requires(gpu):
    for config in gpu.values():
        assert config.name and (config.backend or config.platform) and config.max_batch_size
        assert config.input and config.output and config.instance_group
        assert config.HasField("dynamic_batching")


def test_canary_serves_two_versions_of_both_models_side_by_side(definition, tmp_path):
    configs = pin_versions(TARGETS["gpu"](definition), [2, 1])
    for config in configs.values():
        assert config.version_policy.WhichOneof("policy_choice") == "specific"
        assert list(config.version_policy.specific.versions) == [1, 2]
    with pytest.raises(ValueError):
        pin_versions(TARGETS["gpu"](definition), [1, 1])


def test_cli_renders_gpu_and_cpu_repositories(tmp_path):
    for target, models in (("gpu", {"sentiment", "sentiment_encoder"}), ("cpu", {"sentiment"})):
        out = tmp_path / target
        run = subprocess.run(
            [
                sys.executable,
                "-c",
                "from inferstack.cli import main; main()",
                "model-repo",
                "render",
                "--target",
                target,
                "--out",
                str(out),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        assert {p.parent.name for p in out.glob("*/config.pbtxt")} == models
        for path in out.glob("*/config.pbtxt"):
            parse_config(path.read_text())


def test_cli_canary_writes_pinned_configs(tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "from inferstack.cli import main; main()",
            "engine",
            "canary",
            "--stable",
            "1",
            "--canary",
            "2",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    enc = parse_config((tmp_path / "sentiment_encoder" / "config.pbtxt").read_text())
    assert list(enc.version_policy.specific.versions) == [1, 2]
    assert re.search(
        r"engine canary --stable 1 --canary 2", (tmp_path / "sentiment" / "config.pbtxt").read_text()
    )
