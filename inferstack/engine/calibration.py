"""INT8 calibration batches drawn from real held-out texts, tokenized exactly as Triton tokenizes them.

The texts come from the model definition's held-out split (never the training texts) and travel with the
model version as `calibration.json`, written by `inferstack engine calibration-texts` where the dataset is
reachable; the build Job only reads the model store.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

CALIBRATION_FILE = "calibration.json"


def write_calibration_texts(version_dir: Path, texts: Sequence[str], origin: str, count: int) -> Path:
    if not texts:
        raise ValueError("no held-out texts to calibrate on")
    chosen = [str(t) for t in texts[:count]]
    path = Path(version_dir) / CALIBRATION_FILE
    payload = {"origin": origin, "split": "test", "count": len(chosen), "texts": chosen}
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n")
    return path


def read_calibration_texts(version_dir: Path) -> tuple[list[str], str]:
    """(texts, sha256 of the file): the hash enters the engine's cache key and metadata."""
    path = Path(version_dir) / CALIBRATION_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: INT8 needs calibration texts; run "
            f"`inferstack engine calibration-texts --version {Path(version_dir).name}` "
            "(or build with precision fp16)"
        )
    raw = path.read_bytes()
    texts = [str(t) for t in json.loads(raw)["texts"]]
    if not texts:
        raise ValueError(f"{path} holds no texts")
    return texts, hashlib.sha256(raw).hexdigest()


def tokenizer_encoder(tokenizer_json: Path, max_length: int) -> Callable[[list[str]], list[list[int]]]:
    """The tokenizer of the model version (tokenizers package), truncating like the serving code."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_json))
    tok.enable_truncation(max_length=max_length)
    tok.no_padding()
    return lambda texts: [e.ids for e in tok.encode_batch(texts)]


def calibration_batches(
    texts: Sequence[str],
    encode: Callable[[list[str]], list[list[int]]],
    batch_size: int,
    sequence_length: int,
    batches: int,
    pad_id: int = 0,
):
    """Fixed-shape [batch_size, sequence_length] INT64 batches (TensorRT calibrates at one shape: the
    calibration profile). Texts longer than sequence_length are truncated, shorter ones padded with the
    attention mask zero, as in serving. Cycles through the texts if there are fewer than needed."""
    import numpy as np

    if not texts:
        raise ValueError("no texts to calibrate on")
    out = []
    cursor = 0
    for _ in range(batches):
        chunk = [texts[(cursor + i) % len(texts)] for i in range(batch_size)]
        cursor += batch_size
        ids = np.full((batch_size, sequence_length), pad_id, dtype=np.int64)
        mask = np.zeros((batch_size, sequence_length), dtype=np.int64)
        for row, tokens in enumerate(encode(list(chunk))):
            tokens = tokens[:sequence_length]
            ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        out.append({"input_ids": ids, "attention_mask": mask})
    return out
