"""The start-up check of the Triton image, with matching and mismatching engines (no GPU: the runtime is
given as data; on a GPU host the image probes it with nvidia-smi and libnvinfer, see docs/gpu.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from inferstack.engine.check import check_repository, compare, main, repository_from_args
from inferstack.engine.metadata import EngineMetadata, Runtime, parse_nvidia_smi

L4 = Runtime(tensorrt_version="10.13.3.9", gpu_name="NVIDIA L4", compute_capability="8.9")


def engine(repo: Path, model="sentiment_encoder", version="1", **overrides) -> Path:
    fields = dict(
        model=model,
        version=version,
        tensorrt_version="10.13.3.9",
        gpu_name="NVIDIA L4",
        compute_capability="8.9",
        precision="int8",
        profiles=[],
        source_onnx_sha256="ab" * 32,
        builder_image="inferstack-trt-builder:25.10-inferstack0.1.0",
        cache_key="k",
    )
    fields.update(overrides)
    d = repo / model / version
    d.mkdir(parents=True, exist_ok=True)
    (d / "model.plan").write_bytes(b"plan")
    (d / "metadata.json").write_text(EngineMetadata(**fields).to_json())
    return d


def test_matching_engines_pass(tmp_path):
    engine(tmp_path, version="1")
    engine(tmp_path, version="2")
    assert check_repository(tmp_path, L4) == []


def test_other_tensorrt_version_is_refused_naming_model_version_and_versions(tmp_path):
    engine(tmp_path, version="3", tensorrt_version="10.11.0.33")
    [finding] = check_repository(tmp_path, L4)
    assert finding.fatal
    text = str(finding)
    assert "'sentiment_encoder'" in text and "version 3" in text
    assert "10.11.0.33" in text and "10.13.3.9" in text


def test_a_different_tensorrt_build_number_is_refused_too(tmp_path):
    engine(tmp_path, tensorrt_version="10.13.3.7")
    assert [f.fatal for f in check_repository(tmp_path, L4)] == [True]


def test_other_compute_capability_is_refused(tmp_path):
    engine(tmp_path, gpu_name="NVIDIA A10G", compute_capability="8.6")
    [finding] = check_repository(tmp_path, L4)
    assert finding.fatal and "8.6" in str(finding) and "8.9" in str(finding) and "NVIDIA A10G" in str(finding)


def test_same_compute_capability_other_product_only_warns(tmp_path):
    engine(tmp_path, gpu_name="NVIDIA GeForce RTX 4090", compute_capability="8.9")
    [finding] = check_repository(tmp_path, L4)
    assert not finding.fatal and "RTX 4090" in str(finding)


def test_ampere_plus_engine_runs_on_newer_gpus_but_not_older(tmp_path):
    meta = EngineMetadata(
        model="m",
        version="1",
        tensorrt_version="10.13.3.9",
        gpu_name="NVIDIA A100",
        compute_capability="8.0",
        precision="fp16",
        profiles=[],
        source_onnx_sha256="",
        builder_image="",
        cache_key="",
        hardware_compatibility="ampere_plus",
    )
    assert [f for f in compare(meta, L4) if f.fatal] == []
    t4 = Runtime("10.13.3.9", "Tesla T4", "7.5")
    assert [f.fatal for f in compare(meta, t4)] == [True]


def test_compute_capability_compares_numerically():
    meta = EngineMetadata(
        model="m",
        version="1",
        tensorrt_version="10.13.3.9",
        gpu_name="X",
        compute_capability="10.0",
        precision="fp16",
        profiles=[],
        source_onnx_sha256="",
        builder_image="",
        cache_key="",
    )
    assert [f.fatal for f in compare(meta, Runtime("10.13.3.9", "X", "1.0"))] == [True]
    assert compare(meta, Runtime("10.13.3.9", "X", "10.0")) == []


def test_engine_without_metadata_is_refused(tmp_path):
    d = tmp_path / "sentiment_encoder" / "1"
    d.mkdir(parents=True)
    (d / "model.plan").write_bytes(b"plan")
    [finding] = check_repository(tmp_path, L4)
    assert finding.fatal and "no metadata.json" in str(finding)


def test_metadata_of_another_model_or_version_is_refused(tmp_path):
    d = engine(tmp_path, version="1")
    d.rename(tmp_path / "sentiment_encoder" / "2")  # version 1's engine copied into version 2
    [finding] = check_repository(tmp_path, L4)
    assert finding.fatal and "wrong place" in str(finding) and "version 2" in str(finding)


def test_unreadable_metadata_is_refused(tmp_path):
    d = engine(tmp_path)
    (d / "metadata.json").write_text('{"schema": 1, "model": "sentiment_encoder"}')
    [finding] = check_repository(tmp_path, L4)
    assert finding.fatal and "missing field" in str(finding)


def test_main_refuses_to_start_with_exit_3_and_says_why(tmp_path, capsys):
    engine(tmp_path, compute_capability="9.0", gpu_name="NVIDIA H100 80GB HBM3")
    code = main(["tritonserver", f"--model-repository={tmp_path}", "--strict-readiness=true"], runtime=L4)
    err = capsys.readouterr().err
    assert code == 3
    assert "Triton not started" in err and "version 1" in err and "9.0" in err


def test_main_lets_matching_engines_start(tmp_path, capsys):
    engine(tmp_path)
    assert main(["tritonserver", "--model-repository", str(tmp_path)], runtime=L4) == 0
    assert "every engine matches TensorRT 10.13.3.9" in capsys.readouterr().err


def test_main_skips_repositories_without_engines_and_remote_ones(tmp_path, capsys):
    (tmp_path / "sentiment" / "1").mkdir(parents=True)
    assert main(["tritonserver", f"--model-repository={tmp_path}"], runtime=L4) == 0
    assert main(["tritonserver", "--model-repository=s3://bucket/models"], runtime=L4) == 0
    assert "remote" in capsys.readouterr().err


def test_repository_is_found_in_triton_arguments_or_environment(monkeypatch):
    assert repository_from_args(["tritonserver", "--model-repository=/m"]) == "/m"
    assert repository_from_args(["tritonserver", "--model-store", "/s"]) == "/s"
    monkeypatch.setenv("MODEL_REPOSITORY", "/env")
    assert repository_from_args(["tritonserver"]) == "/env"


def test_nvidia_smi_output_is_parsed_with_commas_in_names():
    out = "NVIDIA L4, 8.9\nNVIDIA H100 80GB HBM3, 9.0\n"
    assert parse_nvidia_smi(out) == [("NVIDIA L4", "8.9"), ("NVIDIA H100 80GB HBM3", "9.0")]


@pytest.mark.parametrize("schema", [0, 2])
def test_unknown_metadata_schema_is_rejected(tmp_path, schema):
    d = engine(tmp_path)
    text = (d / "metadata.json").read_text().replace('"schema": 1', f'"schema": {schema}')
    (d / "metadata.json").write_text(text)
    with pytest.raises(ValueError, match="schema"):
        EngineMetadata.read(d / "metadata.json")
