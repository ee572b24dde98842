"""config.pbtxt rendering: Triton's own protobuf parses it, and the committed configs are current."""

from tritonclient.grpc import model_config_pb2 as mc

from inferstack.modeldef import load_definition
from inferstack.modelrepo.render import parse_config, render_configs, write_repository
from inferstack.paths import default_model_definition, default_model_repo


def test_cpu_config_states_everything_triton_needs():
    spec = load_definition(default_model_definition())
    text = render_configs(spec, "cpu")["sentiment"]
    config = parse_config(text)
    assert config.name == "sentiment" and config.backend == "python"
    assert config.max_batch_size == spec.serving.max_batch_size
    assert [(i.name, i.data_type, list(i.dims)) for i in config.input] == [("TEXT", mc.TYPE_STRING, [1])]
    assert [(o.name, o.data_type, list(o.dims)) for o in config.output] == [
        ("LABEL", mc.TYPE_STRING, [1]),
        ("PROBABILITIES", mc.TYPE_FP32, [2]),
    ]
    assert config.HasField("dynamic_batching")
    assert (
        config.dynamic_batching.max_queue_delay_microseconds
        == spec.serving.dynamic_batching.max_queue_delay_microseconds
    )
    assert config.instance_group[0].kind == mc.ModelInstanceGroup.KIND_CPU
    assert config.instance_group[0].count == spec.serving.instances
    assert config.parameters["encoder"].string_value == "onnxruntime"


def test_committed_model_repo_configs_match_the_definition():
    spec = load_definition(default_model_definition())
    for name, text in render_configs(spec, "cpu").items():
        committed = (default_model_repo() / name / "config.pbtxt").read_text()
        assert committed == text, (
            f"model-repo/{name}/config.pbtxt is stale: run `inferstack model-repo render --target cpu`"
        )


def test_render_leaves_versions_alone(tmp_path):
    spec = load_definition(default_model_definition())
    (tmp_path / "sentiment" / "3").mkdir(parents=True)
    (tmp_path / "sentiment" / "3" / "model.onnx").write_bytes(b"weights")
    write_repository(spec, "cpu", tmp_path)
    assert (tmp_path / "sentiment" / "3" / "model.onnx").read_bytes() == b"weights"
    assert parse_config((tmp_path / "sentiment" / "config.pbtxt").read_text()).name == "sentiment"
