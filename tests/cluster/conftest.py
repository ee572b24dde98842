"""A real control plane with kwok nodes, once per topology per session, in a state dir of its own.

The Go tools are built first when the cache lacks them (`make tools`; a cold build takes many minutes on
2 cores and prints its progress). The cluster is stopped by the fixture that started it, whatever happened.
"""

from __future__ import annotations

import os
import sys
import time

import pytest

from inferstack.cluster import tools


@pytest.fixture(scope="session")
def built_tools():
    t0 = time.monotonic()
    tools.ensure(echo=lambda msg: print(f"[tools] {msg}", file=sys.stderr, flush=True))
    print(f"[tools] ready in {time.monotonic() - t0:.0f} s", file=sys.stderr)


@pytest.fixture(scope="module")
def sim_cluster(request, built_tools, tmp_path_factory):
    """Yields the control_plane module bound to a fresh cluster of the module's TOPOLOGY."""
    from inferstack.cluster import control_plane

    topology = getattr(request.module, "TOPOLOGY", "onprem")
    state = tmp_path_factory.mktemp(f"cluster-{topology}")
    old = os.environ.get("INFERSTACK_STATE_DIR")
    os.environ["INFERSTACK_STATE_DIR"] = str(state)
    try:
        control_plane.up(topology, echo=lambda msg: print(f"[cluster] {msg}", file=sys.stderr, flush=True))
        yield control_plane
    finally:
        control_plane.down(echo=lambda msg: print(f"[cluster] {msg}", file=sys.stderr, flush=True))
        if old is None:
            os.environ.pop("INFERSTACK_STATE_DIR", None)
        else:
            os.environ["INFERSTACK_STATE_DIR"] = old
