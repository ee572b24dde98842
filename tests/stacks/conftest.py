"""Fixtures: the AWS and on-prem programs run once each under mocks; the shared reference schemas."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The project root, so `stacks` (the Pulumi program) and `inferstack` import as the program imports them.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pulumi_harness as harness

SHARED = harness.ROOT.parent / "shared"
SCHEMAS = SHARED / "schemas"


def shared_schemas(sub: str) -> Path:
    """../shared/schemas/<sub>, or skip saying why (the reference data lives outside the repository)."""
    path = SCHEMAS / sub
    if not path.is_dir():
        reason = (
            f"reference schemas not found at {path}: these checks read the prometheus-operator CRDs and the "
            "charts' default values from ../shared/schemas beside the repository; without them the objects "
            "and values are NOT checked against those schemas"
        )
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def aws_run() -> harness.Run:
    return harness.run_program(harness.AWS_CONFIG, stack="aws-test")


@pytest.fixture(scope="session")
def onprem_run() -> harness.Run:
    return harness.run_program(
        harness.ONPREM_CONFIG, stack="onprem-test", secret_keys=("inferstack:kubeconfig",)
    )


@pytest.fixture(scope="session", params=["aws", "onprem"])
def rendered(request):
    from inferstack import render

    return request.param, render.build(request.param)
