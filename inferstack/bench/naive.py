"""The naive baseline: the model "as trained", served the way teams ship it before optimizing.

FastAPI + uvicorn (one worker), the Hugging Face tokenizer, the torch encoder in eager FP32 with the same
trained head the published INT8 model carries (read back from the version's `source.onnx`), one forward
pass per request, no batching. The handler is `async def` and calls the model directly, so requests are
served one at a time with torch using every core: on a small CPU that is the baseline's best case
(a threadpool handler would run several forwards at once and oversubscribe the cores).

It answers the same KServe v2 JSON as Triton (`/v2`, `/v2/health/ready`, `/v2/models/<name>[/ready]`,
`/v2/models/<name>/infer`), so the same locustfile drives both.

    python -m inferstack.bench.naive --version-dir model-repo/sentiment/1 --port 18010
"""

# No `from __future__ import annotations`: FastAPI resolves the handler's `Request` annotation at runtime.
import argparse
import json
import os
from pathlib import Path

import numpy as np


def head_weights(source_onnx: Path) -> tuple[np.ndarray, np.ndarray]:
    """The trained head (head.weight [labels, hidden], head.bias [labels]) from the exported FP32 graph."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(source_onnx), load_external_data=False).graph
    found = {
        i.name: numpy_helper.to_array(i) for i in graph.initializer if i.name in ("head.weight", "head.bias")
    }
    if set(found) != {"head.weight", "head.bias"}:
        raise ValueError(
            f"{source_onnx} has no head.weight/head.bias initializers: rebuild the model "
            "(inferstack model build --force)"
        )
    return found["head.weight"].astype(np.float32), found["head.bias"].astype(np.float32)


class NaiveModel:
    """Tokenizer + torch eager classifier; one text (or one request's texts) per forward."""

    def __init__(self, version_dir: Path, definition_file: Path | None = None, threads: int = 0):
        import torch

        from inferstack.model import encoder as enc
        from inferstack.modeldef import load_definition
        from inferstack.paths import default_model_definition

        meta = json.loads((version_dir / "build.json").read_text())
        definition = load_definition(definition_file or default_model_definition())
        self.name = definition.name
        self.version = str(meta.get("published", {}).get("version", version_dir.name))
        self.labels = [str(label) for label in meta["labels"]]
        self.max_length = int(meta["max_sequence_length"])
        torch.set_num_threads(threads or os.cpu_count() or 1)
        checkpoint = enc.checkpoint_dir(definition)
        self.tokenizer = enc.load_tokenizer(checkpoint)
        weight, bias = head_weights(version_dir / "source.onnx")
        self.module = enc.classifier_module(
            enc.load_encoder(checkpoint), weight, bias, definition.head.pooling
        )
        self.torch = torch

    def predict(self, texts: list[str]) -> np.ndarray:
        batch = self.tokenizer(
            texts, padding="longest", truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        with self.torch.no_grad():
            return self.module(batch["input_ids"], batch["attention_mask"]).numpy()


def create_app(model: NaiveModel):
    from fastapi import FastAPI, HTTPException, Request

    app = FastAPI(title=f"naive {model.name}")
    name = model.name

    @app.get("/v2")
    async def server():
        return {"name": "inferstack-naive", "version": "0", "extensions": []}

    @app.get("/v2/health/ready")
    @app.get("/v2/health/live")
    async def ready():
        return {}

    @app.get(f"/v2/models/{name}")
    async def metadata():
        return {
            "name": name,
            "versions": [model.version],
            "platform": "pytorch-eager",
            "inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [-1, 1]}],
            "outputs": [
                {"name": "LABEL", "datatype": "BYTES", "shape": [-1, 1]},
                {"name": "PROBABILITIES", "datatype": "FP32", "shape": [-1, len(model.labels)]},
            ],
        }

    @app.get(f"/v2/models/{name}/ready")
    async def model_ready():
        return {}

    @app.post(f"/v2/models/{name}/infer")
    async def infer(request: Request):
        body = await request.json()
        inputs = {i.get("name"): i for i in body.get("inputs", [])}
        if "TEXT" not in inputs:
            raise HTTPException(400, "input TEXT is missing")
        texts = [str(t) for t in inputs["TEXT"].get("data", [])]
        if not texts or not all(t.strip() for t in texts):
            raise HTTPException(400, "text is empty")
        probs = model.predict(texts)  # blocking on purpose: one forward at a time, as naive servers do
        labels = [model.labels[i] for i in probs.argmax(axis=1)]
        return {
            "model_name": name,
            "model_version": model.version,
            "outputs": [
                {"name": "LABEL", "datatype": "BYTES", "shape": [len(texts), 1], "data": labels},
                {
                    "name": "PROBABILITIES",
                    "datatype": "FP32",
                    "shape": list(probs.shape),
                    "data": [float(p) for p in probs.reshape(-1)],
                },
            ],
        }

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--version-dir", type=Path, required=True, help="a published version (build.json, source.onnx)"
    )
    parser.add_argument(
        "--definition", type=Path, default=None, help="model definition (default: the demo's)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: one per core)")
    args = parser.parse_args(argv)
    import uvicorn

    model = NaiveModel(args.version_dir, args.definition, args.threads)
    model.predict(["warm-up text"])
    uvicorn.run(
        create_app(model), host=args.host, port=args.port, workers=1, log_level="warning", access_log=False
    )


if __name__ == "__main__":
    main()
