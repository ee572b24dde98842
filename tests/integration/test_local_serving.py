"""The real Triton serving the real model: labels, protocols, bad requests, the local stack's lifecycle."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.integration

POSITIVE = ["A wonderful, moving film with brilliant performances.", "Funny, warm and beautifully made."]
NEGATIVE = ["Dull, tedious and a complete waste of time.", "A boring mess with awful acting."]


def _infer_http(client, texts):
    import tritonclient.http as httpclient

    data = np.array([[t.encode()] for t in texts], dtype=np.object_)
    inp = httpclient.InferInput("TEXT", list(data.shape), "BYTES")
    inp.set_data_from_numpy(data)
    result = client.infer("sentiment", [inp])
    return result.as_numpy("LABEL").reshape(-1), result.as_numpy("PROBABILITIES")


def test_obvious_texts_get_correct_labels_over_http(triton_url):
    import tritonclient.http as httpclient

    client = httpclient.InferenceServerClient(triton_url.removeprefix("http://"))
    labels, probs = _infer_http(client, POSITIVE + NEGATIVE)
    assert [label.decode() for label in labels] == ["fresh", "fresh", "rotten", "rotten"]
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_obvious_texts_get_correct_labels_over_grpc(local_stack):
    import tritonclient.grpc as grpcclient

    client = grpcclient.InferenceServerClient(local_stack["endpoints"]["triton_grpc"]["url"])
    for text, expected in ((POSITIVE[0], "fresh"), (NEGATIVE[0], "rotten")):
        inp = grpcclient.InferInput("TEXT", [1, 1], "BYTES")
        inp.set_data_from_numpy(np.array([[text.encode()]], dtype=np.object_))
        result = client.infer("sentiment", [inp])
        assert result.as_numpy("LABEL")[0][0].decode() == expected


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (
            {"inputs": [{"name": "TXT", "shape": [1, 1], "datatype": "BYTES", "data": ["x"]}]},
            400,
            "unexpected inference input",
        ),
        (
            {"inputs": [{"name": "TEXT", "shape": [1, 1], "datatype": "FP32", "data": [1.0]}]},
            400,
            "data-type",
        ),
        ({"inputs": [{"name": "TEXT", "shape": [1, 1], "datatype": "BYTES", "data": [""]}]}, 400, "empty"),
        (
            {"inputs": [{"name": "TEXT", "shape": [1, 1], "datatype": "BYTES", "data": ["a" * 1_000_000]}]},
            400,
            "limit",
        ),
    ],
    ids=["wrong-input-name", "wrong-type", "empty-text", "1MB-text"],
)
def test_bad_requests_get_4xx_and_the_server_keeps_serving(triton_url, body, status, words):
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"{triton_url}/v2/models/sentiment/infer",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == status
    assert words in caught.value.read().decode()
    with urllib.request.urlopen(f"{triton_url}/v2/health/ready", timeout=5) as ready:
        assert ready.status == 200
    test_obvious_texts_get_correct_labels_over_http(triton_url)


def test_invalid_utf8_is_refused_and_the_rest_of_the_batch_is_answered(local_stack):
    """Raw bytes only travel over gRPC (or binary HTTP); JSON cannot carry them."""
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    client = grpcclient.InferenceServerClient(local_stack["endpoints"]["triton_grpc"]["url"])
    inp = grpcclient.InferInput("TEXT", [1, 1], "BYTES")
    inp.set_data_from_numpy(np.array([[b"\xff\xfe bad bytes"]], dtype=np.object_))
    with pytest.raises(InferenceServerException, match="UTF-8") as caught:
        client.infer("sentiment", [inp])
    assert "INVALID_ARGUMENT" in str(caught.value.status())
    ok = grpcclient.InferInput("TEXT", [1, 1], "BYTES")
    ok.set_data_from_numpy(np.array([[POSITIVE[0].encode()]], dtype=np.object_))
    assert client.infer("sentiment", [ok]).as_numpy("LABEL")[0][0] == b"fresh"


def test_status_json_lists_every_endpoint_healthy(local_stack, isolated_env):
    from tests.integration.conftest import cli_env

    proc = subprocess.run(
        [sys.executable, "-m", "inferstack.cli", "status", "local", "--json"],
        capture_output=True,
        text=True,
        env=cli_env(isolated_env),
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout)
    assert set(status["endpoints"]) == {
        "triton_http",
        "triton_grpc",
        "triton_metrics",
        "prometheus",
        "mlflow",
    }
    assert all(e["healthy"] for e in status["endpoints"].values())
    assert all("127.0.0.1" in e["url"] for e in status["endpoints"].values())


def test_up_twice_starts_nothing_new(local_stack, built):
    from inferstack.local import stack

    before = {k: v["pid"] for k, v in stack.status()["services"].items()}
    again = stack.up(built[1])
    assert {k: v["pid"] for k, v in again["services"].items()} == before


def test_prometheus_scrapes_triton(local_stack):
    import time
    import urllib.request

    url = local_stack["endpoints"]["prometheus"]["url"] + "/api/v1/query?query=up%7Bjob%3D%22triton%22%7D"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with urllib.request.urlopen(url, timeout=5) as response:
            result = json.loads(response.read())["data"]["result"]
        if result and result[0]["value"][1] == "1":
            return
        time.sleep(1)
    raise AssertionError(f"Prometheus never saw Triton up: {result}")


def test_mlflow_holds_the_build_run_and_the_registered_version(built, isolated_env):
    import mlflow

    result, _ = built
    client = mlflow.MlflowClient(isolated_env["MLFLOW_TRACKING_URI"])
    run = client.get_run(result.meta["mlflow"]["run_id"])
    assert run.data.metrics["int8_roc_auc"] > 0.7
    assert run.data.params["quantization"] == "dynamic-int8"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "model")}
    assert {"model/model.onnx", "model/source.onnx", "model/build.json"} <= artifacts
    version = client.get_model_version("sentiment", result.mlflow_model_version)
    assert version.run_id == run.info.run_id and version.tags["triton_version"] == str(
        result.published.version
    )


def test_a_busy_port_is_reported_with_the_port(isolated_env):
    import socket

    from inferstack.errors import ServiceError
    from inferstack.local import services, stack

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        service = services.Service(
            name="probe",
            command=["sleep", "30"],
            health_url=f"http://127.0.0.1:{port}/",
            urls={},
            ports=[port],
        )
        with pytest.raises(ServiceError, match=f"port 127.0.0.1:{port} is already in use"):
            stack.start(service)


def test_a_model_that_fails_to_load_points_at_the_log(tmp_path, isolated_env, monkeypatch):
    from inferstack.errors import ServiceError
    from inferstack.local import services, stack
    from tests.integration.conftest import free_port

    for name in ("TRITON_HTTP", "TRITON_GRPC", "TRITON_METRICS"):
        monkeypatch.setenv(f"INFERSTACK_{name}_PORT", str(free_port()))
    (tmp_path / "sentiment" / "1").mkdir(parents=True)
    (tmp_path / "sentiment" / "config.pbtxt").write_text(
        'name: "sentiment"\nbackend: "python"\nmax_batch_size: 1\n'
    )
    service = services.triton(tmp_path)
    with pytest.raises(ServiceError) as caught:
        stack.start(service)
    assert str(service.log) in str(caught.value)
