"""Load test of a Triton model over the KServe v2 HTTP API: raw text in, label and probabilities out.

Driven by `inferstack loadtest`, which passes the load shape (stages of offered req/s, as data from the
SLO file) and the texts through environment variables, and reads back one sample per request.
Runs with plain `locust -f loadtests/locustfile.py --host URL` too (defaults: 10 users, 2 req/s each).

A request counts as failed unless the answer is well formed: the label is one of the model's labels
and the probabilities are finite, one per label, and sum to 1.
"""

from __future__ import annotations

import json
import math
import os
import random
import time

from locust import FastHttpUser, events, task

MODEL = os.environ.get("INFERSTACK_MODEL", "sentiment")
TEXT_INPUT = os.environ.get("INFERSTACK_TEXT_INPUT", "TEXT")
LABEL_OUTPUT = os.environ.get("INFERSTACK_LABEL_OUTPUT", "LABEL")
PROBS_OUTPUT = os.environ.get("INFERSTACK_PROBS_OUTPUT", "PROBABILITIES")
LABELS = [label for label in os.environ.get("INFERSTACK_LABELS", "").split(",") if label]
# [[seconds, rps], ...]: the offered rate over time, shared by every user.
STAGES = json.loads(os.environ.get("INFERSTACK_STAGES", "[[3600, 20]]"))
USERS = int(os.environ.get("INFERSTACK_USERS", "10"))
SAMPLES_OUT = os.environ.get("INFERSTACK_SAMPLES_OUT")


def _texts() -> list[str]:
    path = os.environ.get("INFERSTACK_TEXTS")
    if not path:
        return ["A moving, beautifully acted film.", "Dull and far too long."]
    with open(path) as handle:
        return json.load(handle)["texts"]


TEXTS = _texts()

SAMPLES: list[tuple[float, float, int, str]] = []  # (start time, latency ms, ok, error kind)
T0 = [0.0]


def offered_rps(elapsed: float) -> float:
    for seconds, rps in STAGES:
        if elapsed < seconds:
            return float(rps)
        elapsed -= seconds
    return float(STAGES[-1][1])


def check_answer(body: dict) -> str | None:
    """None when the answer is well formed, else the reason it is not."""
    outputs = {o.get("name"): o for o in body.get("outputs", [])}
    if LABEL_OUTPUT not in outputs or PROBS_OUTPUT not in outputs:
        return "missing output"
    label = (outputs[LABEL_OUTPUT].get("data") or [None])[0]
    probs = outputs[PROBS_OUTPUT].get("data") or []
    if not isinstance(label, str) or (LABELS and label not in LABELS):
        return "unknown label"
    if (LABELS and len(probs) != len(LABELS)) or not probs:
        return "wrong number of probabilities"
    if not all(isinstance(p, (int, float)) and math.isfinite(p) and 0 <= p <= 1 for p in probs):
        return "probability out of range"
    if abs(sum(probs) - 1.0) > 1e-3:
        return "probabilities do not sum to 1"
    return None


class TritonUser(FastHttpUser):
    """Paces itself so that all users together offer the stage's rate (open-loop as long as it keeps up)."""

    def on_start(self):
        interval = USERS / offered_rps(0)
        self._next = time.monotonic() + random.uniform(0, interval)

    def wait_time(self):
        now = time.monotonic()
        elapsed = time.time() - T0[0] if T0[0] else 0.0
        interval = USERS / offered_rps(elapsed)
        self._next = max(self._next + interval, now - interval)
        return max(0.0, self._next - now)

    @task
    def infer(self):
        body = {
            "inputs": [
                {"name": TEXT_INPUT, "shape": [1, 1], "datatype": "BYTES", "data": [random.choice(TEXTS)]}
            ]
        }
        with self.client.post(
            f"/v2/models/{MODEL}/infer", json=body, name="infer", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(
                    "connection: no response" if response.status_code == 0 else f"http-{response.status_code}"
                )
                return
            try:
                problem = check_answer(response.json())
            except (ValueError, AttributeError):
                problem = "not JSON"
            if problem:
                response.failure(f"bad-answer: {problem}")
            else:
                response.success()


@events.test_start.add_listener
def _start(**_kwargs):
    T0[0] = time.time()


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception=None, start_time=None, **_kwargs):
    kind = ""
    if exception is not None:
        text = str(exception)
        kind = text if text.startswith(("http-", "bad-answer")) else f"connection: {type(exception).__name__}"
    SAMPLES.append((start_time or time.time(), float(response_time), 0 if exception else 1, kind))


@events.quitting.add_listener
def _write(**_kwargs):
    if SAMPLES_OUT:
        with open(SAMPLES_OUT, "w") as handle:
            json.dump({"t0": T0[0], "samples": SAMPLES}, handle)
