"""Triton python model: raw text in, label and probabilities out.

Copied into every published model version (`<repo>/<model>/<version>/model.py`), so a version carries
the exact code that serves it. Self-contained on purpose: the GPU image has no inferstack package.
The model build evaluates accuracy and latency through `Pipeline` below: what is measured is what serves.

The encoder runs in-process with ONNX Runtime on CPU (`encoder: onnxruntime`), or is called through
Triton's BLS API as another model (`encoder: bls`, e.g. a TensorRT plan on a GPU). Tokenization pads each
dynamic batch to its longest text, not to the maximum length: real texts are far shorter than 128 tokens.
"""

from __future__ import annotations

import json
import os

import numpy as np


class BadRequest(ValueError):
    """A request the client must fix (answered with 400, the server keeps serving)."""


class Pipeline:
    def __init__(
        self,
        version_dir: str,
        encoder: str = "onnxruntime",
        intra_op_threads: int = 0,
        padding: str = "longest",
        max_text_bytes: int = 16384,
        bls_call=None,
        sub_batch_size: int = 0,
    ):
        from tokenizers import Tokenizer

        with open(os.path.join(version_dir, "build.json")) as handle:
            meta = json.load(handle)
        self.labels = [str(label) for label in meta["labels"]]
        self.max_length = int(meta["max_sequence_length"])
        self.padding = padding
        # > 0: run a dynamic batch as length-sorted sub-batches of at most this many texts. Random texts
        # padded to the longest of a large batch waste about half the compute on padding on a CPU.
        self.sub_batch_size = int(sub_batch_size)
        self.max_text_bytes = int(max_text_bytes)
        self.tokenizer = Tokenizer.from_file(os.path.join(version_dir, "tokenizer", "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=self.max_length)
        self.tokenizer.no_padding()
        self.pad_id = int(meta.get("pad_token_id", 0))
        self.bls_call = bls_call
        self.session = None
        if encoder == "onnxruntime":
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = int(intra_op_threads)
            options.inter_op_num_threads = 1
            options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            model_file = meta.get("model_file", "model.onnx")
            self.session = ort.InferenceSession(
                os.path.join(version_dir, model_file), options, providers=["CPUExecutionProvider"]
            )
        elif encoder != "bls":
            raise ValueError(f"unknown encoder mode {encoder!r}: use 'onnxruntime' or 'bls'")

    def decode(self, raw) -> str:
        data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
        if len(data) > self.max_text_bytes:
            raise BadRequest(f"text is {len(data)} bytes; the limit is {self.max_text_bytes}")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest(f"text is not valid UTF-8 (byte {exc.start})") from None
        if not text.strip():
            raise BadRequest("text is empty")
        return text

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        return self._pad(self.tokenizer.encode_batch(texts))

    def _pad(self, encodings) -> tuple[np.ndarray, np.ndarray]:
        width = self.max_length if self.padding == "max_length" else max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            ids[row, :n] = enc.ids
            mask[row, :n] = 1
        return ids, mask

    def probabilities(self, texts: list[str]) -> np.ndarray:
        if self.sub_batch_size and len(texts) > self.sub_batch_size and self.padding == "longest":
            encodings = self.tokenizer.encode_batch(texts)
            order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
            parts = []
            for start in range(0, len(order), self.sub_batch_size):
                chunk = order[start : start + self.sub_batch_size]
                parts.append(self._run(*self._pad([encodings[i] for i in chunk])))
            probs = np.empty((len(texts), parts[0].shape[1]), dtype=parts[0].dtype)
            probs[order] = np.concatenate(parts)
            return probs
        return self._run(*self.encode(texts))

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.session is not None:
            return self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return self.bls_call(ids, mask)

    def label_of(self, probs: np.ndarray) -> list[str]:
        return [self.labels[i] for i in probs.argmax(axis=1)]


class TritonPythonModel:
    def initialize(self, args):
        import triton_python_backend_utils as pb_utils

        self.pb = pb_utils
        config = json.loads(args["model_config"])
        params = {k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()}
        version_dir = os.path.join(args["model_repository"], args["model_version"])
        encoder = params.get("encoder", "onnxruntime")
        self.encoder_model = params.get("encoder_model", "")
        # Front-end version N calls encoder version N, so two versions can serve side by side (canary).
        self.encoder_version = int(args["model_version"])
        self.text_input = params.get("text_input", "TEXT")
        self.label_output = params.get("label_output", "LABEL")
        self.probs_output = params.get("probabilities_output", "PROBABILITIES")
        self.pipeline = Pipeline(
            version_dir,
            encoder=encoder,
            intra_op_threads=int(params.get("intra_op_threads", "0") or 0),
            padding=params.get("padding", "longest"),
            max_text_bytes=int(params.get("max_text_bytes", "16384")),
            bls_call=self._bls if encoder == "bls" else None,
            sub_batch_size=int(params.get("sub_batch_size", "0") or 0),
        )

    def _bls(self, ids, mask):
        pb = self.pb
        request = pb.InferenceRequest(
            model_name=self.encoder_model,
            model_version=self.encoder_version,
            requested_output_names=["probabilities"],
            inputs=[pb.Tensor("input_ids", ids), pb.Tensor("attention_mask", mask)],
        )
        response = request.exec()
        if response.has_error():
            raise RuntimeError(response.error().message())
        return pb.get_output_tensor_by_name(response, "probabilities").as_numpy()

    def _texts(self, request) -> list[str]:
        tensor = self.pb.get_input_tensor_by_name(request, self.text_input)
        if tensor is None:
            raise BadRequest(f"input {self.text_input} is missing")
        values = tensor.as_numpy().reshape(-1)
        if values.size == 0:
            raise BadRequest("no text given")
        return [self.pipeline.decode(v) for v in values]

    def execute(self, requests):
        pb = self.pb
        responses: list = [None] * len(requests)
        texts: list[str] = []
        owners: list[tuple[int, int, int]] = []  # (request index, start, count)
        for index, request in enumerate(requests):
            try:
                batch = self._texts(request)
            except BadRequest as exc:
                responses[index] = pb.InferenceResponse(
                    error=pb.TritonError(str(exc), pb.TritonError.INVALID_ARG)
                )
                continue
            owners.append((index, len(texts), len(batch)))
            texts.extend(batch)
        if texts:
            try:
                probs = self.pipeline.probabilities(texts).astype(np.float32)
            except Exception as exc:  # one failing batch must answer every request, not hang them
                for index, _, _ in owners:
                    responses[index] = pb.InferenceResponse(error=pb.TritonError(f"inference failed: {exc}"))
                return responses
            labels = np.array([s.encode() for s in self.pipeline.label_of(probs)], dtype=np.object_)
            for index, start, count in owners:
                responses[index] = pb.InferenceResponse(
                    output_tensors=[
                        pb.Tensor(self.label_output, labels[start : start + count].reshape(count, 1)),
                        pb.Tensor(self.probs_output, probs[start : start + count]),
                    ]
                )
        return responses
