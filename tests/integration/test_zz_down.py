"""Runs last in the session: `down` stops exactly the processes `up` started."""

import psutil
import pytest

pytestmark = pytest.mark.integration


def test_down_stops_exactly_what_up_started(local_stack):
    from inferstack.local import stack

    entries = stack.read_stack()["services"]
    assert set(entries) == {"triton", "prometheus", "mlflow"}
    bystander = psutil.Process()  # this test process must survive
    stopped = stack.down()
    assert set(stopped) == set(entries)
    for entry in entries.values():
        assert not stack.alive(entry)
    assert bystander.is_running()
    assert stack.read_stack()["services"] == {}
