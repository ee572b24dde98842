"""The raw engine ceiling: the published ONNX Runtime session alone in its own process, no server.

`inferstack bench` runs it as one process using every core and as one single-threaded process per core
measured side by side (what Triton does with `instances: 2, intra_op_threads: 1`); the ceiling is the
better of the two, so the served figure is never compared with a handicapped engine.

Uses the serving `Pipeline` (model.py, the code the bench's Triton runs), so the session options, the tokenizer and the
padding are exactly what Triton runs. Batches are drawn at random from the texts and padded to their
longest text, as Triton's dynamic batches are. Two figures per batch size:
  engine    session.run on pre-tokenized batches: the most the model can do on this machine
  pipeline  tokenize + run, what one Triton execute() does without the server around it

    python -m inferstack.bench.engine --version-dir model-repo/sentiment/1 --texts texts.json --out ceiling.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import time
from pathlib import Path

SERVING_CODE = Path(__file__).resolve().parent.parent / "modelrepo" / "python" / "model.py"


def load_pipeline(version_dir: Path, threads: int, padding: str):
    spec = importlib.util.spec_from_file_location("inferstack_served_model", SERVING_CODE)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module.Pipeline(str(version_dir), encoder="onnxruntime", intra_op_threads=threads, padding=padding)


def measure(fn, batches: list, seconds: float) -> tuple[int, float]:
    """Run fn over the batches (cycling) for about `seconds`; (sequences done, elapsed seconds).

    Also leaves the CPU seconds this process used in `measure.cpu_s` (seq per CPU-second does not
    depend on how much of the machine the neighbours took)."""
    done, i = 0, 0
    start = time.perf_counter()
    cpu0 = time.process_time()
    while True:
        batch = batches[i % len(batches)]
        fn(batch)
        done += batch[0].shape[0] if isinstance(batch, tuple) else len(batch)
        i += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and i >= 3:
            measure.cpu_s = time.process_time() - cpu0
            return done, elapsed


def ceiling(
    version_dir: Path,
    texts: list[str],
    batch_sizes: list[int],
    seconds: float,
    threads: int,
    padding: str = "longest",
    seed: int = 7,
    start_at: float = 0.0,
) -> dict:
    pipeline = load_pipeline(version_dir, threads, padding)
    if start_at:
        time.sleep(max(0.0, start_at - time.time()))
    rng = random.Random(seed)
    rows = []
    for size in batch_sizes:
        text_batches = [[rng.choice(texts) for _ in range(size)] for _ in range(64)]
        token_batches = [pipeline.encode(b) for b in text_batches]
        session = pipeline.session

        def engine(batch, session=session):
            session.run(None, {"input_ids": batch[0], "attention_mask": batch[1]})

        measure(engine, token_batches, min(1.0, seconds / 4))  # warm-up: thread pools, allocator arenas
        n, elapsed = measure(engine, token_batches, seconds)
        engine_rate = n / elapsed
        engine_per_cpu = n / max(measure.cpu_s, 1e-9)
        n, elapsed = measure(pipeline.probabilities, text_batches, seconds / 2)
        rows.append(
            {
                "batch_size": size,
                "engine_seq_per_s": round(engine_rate, 2),
                "engine_seq_per_cpu_s": round(engine_per_cpu, 2),
                "pipeline_seq_per_s": round(n / elapsed, 2),
                "engine_ms_per_batch": round(1000 * size / engine_rate, 3),
                "mean_tokens": round(sum(b[1].shape[1] for b in token_batches) / len(token_batches), 1),
            }
        )
    best = max(rows, key=lambda r: r["engine_seq_per_s"])
    best_pipeline = max(rows, key=lambda r: r["pipeline_seq_per_s"])
    return {
        "intra_op_threads": threads,
        "padding": padding,
        "seconds_per_size": seconds,
        "by_batch_size": rows,
        "best_batch_size": best["batch_size"],
        "engine_seq_per_s": best["engine_seq_per_s"],
        "pipeline_best_batch_size": best_pipeline["batch_size"],
        "pipeline_seq_per_s": best_pipeline["pipeline_seq_per_s"],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version-dir", type=Path, required=True)
    parser.add_argument("--texts", type=Path, required=True, help='JSON {"texts": [...]}')
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--batch-sizes", default="1,2,4,8,16,32")
    parser.add_argument("--seconds", type=float, default=4.0, help="measuring time per batch size")
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads (0: one per core)")
    parser.add_argument("--padding", default="longest")
    parser.add_argument(
        "--start-at",
        type=float,
        default=0.0,
        help="wall-clock time to start measuring (several processes measured side by side)",
    )
    args = parser.parse_args(argv)
    texts = json.loads(args.texts.read_text())["texts"]
    sizes = [int(s) for s in args.batch_sizes.split(",") if s]
    result = ceiling(
        args.version_dir,
        texts,
        sizes,
        args.seconds,
        args.threads or os.cpu_count() or 1,
        args.padding,
        start_at=args.start_at,
    )
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
