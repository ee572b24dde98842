"""The Go tool builds: versions come from the lock, staging modules are pinned, half builds never count."""

from __future__ import annotations

import json

import pytest

from inferstack import versions
from inferstack.cluster import tools
from inferstack.errors import InferstackError

GOMOD = """module k8s.io/kubernetes

go 1.24.0

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go
\tgithub.com/other/thing => github.com/other/thing v1.0.0
)
replace k8s.io/kubectl => ./staging/src/k8s.io/kubectl
"""


def test_every_tool_version_comes_from_the_lock():
    by_name = {t.name: t for t in tools.all_tools()}
    assert by_name["kubernetes"].version == "v" + versions.get("kubernetes.version")
    assert by_name["etcd"].version == versions.get("tools.etcd")
    assert by_name["kwok"].version == versions.get("tools.kwok")
    assert set(by_name["kubernetes"].binaries) == {
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kubectl",
    }


def test_staging_modules_are_replaced_by_their_published_release():
    lines = tools.pinned_staging(GOMOD, "k8s.io/kubernetes", "v1.33.5")
    assert lines == [
        "replace k8s.io/api => k8s.io/api v0.33.5",
        "replace k8s.io/client-go => k8s.io/client-go v0.33.5",
        "replace k8s.io/kubectl => k8s.io/kubectl v0.33.5",
    ]
    with pytest.raises(InferstackError, match="no staging replaces"):
        tools.pinned_staging("module x\n", "k8s.io/kubernetes", "v1.33.5")


def test_a_half_finished_build_is_not_taken_for_a_built_tool(tmp_path, monkeypatch):
    monkeypatch.setenv("INFERSTACK_TOOLS_CACHE", str(tmp_path))
    kwok = next(t for t in tools.all_tools() if t.name == "kwok")
    dest = tmp_path / kwok.key
    (dest / "bin").mkdir(parents=True)
    (dest / "bin" / "kwok").write_text("")
    assert tools.built(kwok) is None  # no manifest: the build did not finish
    with pytest.raises(InferstackError, match="make tools"):
        tools.require("kwok")
    (dest / "manifest.json").write_text(json.dumps({"name": "kwok"}))
    assert tools.built(kwok) == dest
    assert tools.require("kwok") == str(dest / "bin" / "kwok")


def test_a_lock_change_is_a_new_cache_key(monkeypatch):
    real = versions.get
    monkeypatch.setattr(versions, "get", lambda key: "v9.9.9" if key == "tools.kwok" else real(key))
    assert next(t for t in tools.all_tools() if t.name == "kwok").key == "kwok-v9.9.9"
