"""The local Triton's Python runtime checks: a missing shared libpython or numpy 2.x is named before start."""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

import numpy
import pytest

from inferstack.errors import ServiceError
from inferstack.local import services


def test_this_python_has_the_shared_libpython_the_stub_links_against():
    libdir = Path(services.python_lib_dir())
    assert (libdir / sysconfig.get_config_var("LDLIBRARY")).is_file()


@pytest.mark.parametrize(
    "override",
    [
        {"Py_ENABLE_SHARED": 0, "LDLIBRARY": f"libpython{sys.version_info.major}.{sys.version_info.minor}.a"},
        {"LIBDIR": "/nonexistent/lib"},
    ],
)
def test_a_python_without_shared_libpython_is_refused_with_the_fix(monkeypatch, override):
    real = sysconfig.get_config_var
    monkeypatch.setattr(sysconfig, "get_config_var", lambda name: override.get(name, real(name)))
    with pytest.raises(ServiceError) as err:
        services.python_lib_dir()
    assert "--enable-shared" in str(err.value)
    assert sys.executable in str(err.value)


def test_numpy_2_in_the_stub_environment_is_refused_with_the_pin(monkeypatch):
    services.check_stub_numpy()  # the venv's numpy is the pinned 1.x
    monkeypatch.setattr(numpy, "__version__", "2.1.0")
    with pytest.raises(ServiceError, match=r"numpy==1\.26\.4"):
        services.check_stub_numpy()
