"""bootstrap names the Debian package behind every missing command, for the demo and for the tests."""

from __future__ import annotations

import shutil

from inferstack import bootstrap


def test_test_purpose_covers_the_demo_and_the_test_bed():
    demo, test = bootstrap.required("demo"), bootstrap.required("test")
    assert demo == {"prometheus": "prometheus"}
    assert set(demo) < set(test)
    assert test["systemd-nspawn"] == "systemd-container" and test["mmdebstrap"] == "mmdebstrap"


def test_missing_commands_are_reported_by_package_not_by_command(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(bootstrap.os.path, "exists", lambda path: False)
    gone = bootstrap.missing("test")
    assert "systemd-container" in gone and "openssh-client" in gone
    assert gone == sorted(set(gone))  # ssh and ssh-keygen are one package, named once


def test_a_non_root_user_gets_the_apt_line_and_a_failure(monkeypatch, capsys):
    monkeypatch.setattr(bootstrap, "missing", lambda purpose: ["prometheus"])
    monkeypatch.setattr(bootstrap.os, "geteuid", lambda: 1000)
    assert bootstrap.main(["--for", "demo"]) == 1
    assert "sudo apt-get install prometheus" in capsys.readouterr().err
