"""The simulated cluster's certificates: the API server's is valid for 127.0.0.1, clients carry the RBAC names."""

from __future__ import annotations

import base64
import ipaddress
import stat

import yaml
from cryptography import x509
from cryptography.x509.oid import NameOID

from inferstack.cluster import pki


def test_certificates_chain_to_the_cluster_ca_and_name_the_right_identities(tmp_path):
    p = pki.generate(tmp_path / "pki")
    ca = x509.load_pem_x509_certificate(p.ca_cert.read_bytes())
    server = x509.load_pem_x509_certificate(p.cert("apiserver").read_bytes())
    server.verify_directly_issued_by(ca)
    ips = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.IPAddress
    )
    assert ipaddress.ip_address("127.0.0.1") in ips
    admin = x509.load_pem_x509_certificate(p.cert("admin").read_bytes())
    admin.verify_directly_issued_by(ca)
    assert admin.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:masters"
    sched = x509.load_pem_x509_certificate(p.cert("scheduler").read_bytes())
    assert sched.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "system:kube-scheduler"
    for key in [p.key("ca"), p.key("admin"), p.sa_key]:
        assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_kubeconfig_embeds_what_it_needs(tmp_path):
    p = pki.generate(tmp_path / "pki")
    path = pki.kubeconfig(p, "admin", "https://127.0.0.1:6443", tmp_path / "kubeconfig")
    cfg = yaml.safe_load(path.read_text())
    assert cfg["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"
    assert (
        base64.b64decode(cfg["clusters"][0]["cluster"]["certificate-authority-data"])
        == p.ca_cert.read_bytes()
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
