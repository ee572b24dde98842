"""The tokenizer inside Triton (tokenizers) produces exactly what the model was trained with (transformers)."""

import json

import numpy as np

from inferstack.model.encoder import checkpoint_dir, load_tokenizer
from inferstack.model.evaluate import serving_module
from inferstack.modeldef import load_definition
from inferstack.paths import default_model_definition

TEXTS = ["A three-hour cinema master class.", "Dull!", "Naïve, über-long; 1999's worst?? " * 20, "ok"]


def test_serving_tokenizer_matches_training_tokenizer(tmp_path):
    spec = load_definition(default_model_definition())
    checkpoint = checkpoint_dir(spec)
    (tmp_path / "tokenizer").mkdir()
    (tmp_path / "tokenizer" / "tokenizer.json").write_text((checkpoint / "tokenizer.json").read_text())
    (tmp_path / "build.json").write_text(
        json.dumps(
            {"labels": spec.labels, "max_sequence_length": spec.max_sequence_length, "pad_token_id": 0}
        )
    )
    pipeline = serving_module().Pipeline(str(tmp_path), encoder="bls", padding="longest")
    ids, mask = pipeline.encode(TEXTS)
    expected = load_tokenizer(checkpoint)(
        TEXTS, padding="longest", truncation=True, max_length=spec.max_sequence_length, return_tensors="np"
    )
    np.testing.assert_array_equal(ids, expected["input_ids"])
    np.testing.assert_array_equal(mask, expected["attention_mask"])
    assert ids.shape[1] == spec.max_sequence_length  # the long text is truncated, the batch padded to it


def test_bad_texts_are_refused_with_reasons(tmp_path):
    module = serving_module()
    spec = load_definition(default_model_definition())
    (tmp_path / "tokenizer").mkdir()
    (tmp_path / "tokenizer" / "tokenizer.json").write_text(
        (checkpoint_dir(spec) / "tokenizer.json").read_text()
    )
    (tmp_path / "build.json").write_text(json.dumps({"labels": ["a", "b"], "max_sequence_length": 16}))
    pipeline = module.Pipeline(str(tmp_path), encoder="bls", max_text_bytes=100)
    for raw, reason in ((b"", "empty"), (b"   ", "empty"), (b"\xff\xfe", "UTF-8"), (b"x" * 101, "limit")):
        try:
            pipeline.decode(raw)
        except module.BadRequest as exc:
            assert reason in str(exc)
        else:
            raise AssertionError(f"{raw!r} was accepted")
    assert pipeline.decode(b"fine") == "fine"
