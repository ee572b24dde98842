"""Certificates for one simulated cluster: a CA of its own, the API server's serving certificate for
127.0.0.1, a client certificate per component, and the service-account signing key.

Made fresh for each cluster directory (never shared, never reused across clusters), with `cryptography`.
Keys are written 0600. Kubeconfigs embed the certificates, so a kubeconfig works on its own.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 30
SERVICE_IP = "10.96.0.1"  # the first address of the service range kube-apiserver is given
# Component -> (common name, organization): the identities Kubernetes' default RBAC knows.
CLIENTS = {
    "admin": ("inferstack-admin", "system:masters"),
    "controller-manager": ("system:kube-controller-manager", ""),
    "scheduler": ("system:kube-scheduler", ""),
    "kwok": ("inferstack-kwok", "system:masters"),  # kwok updates every node and pod status
}


@dataclass(frozen=True)
class Pki:
    dir: Path

    @property
    def ca_cert(self) -> Path:
        return self.dir / "ca.crt"

    def cert(self, name: str) -> Path:
        return self.dir / f"{name}.crt"

    def key(self, name: str) -> Path:
        return self.dir / f"{name}.key"

    @property
    def sa_key(self) -> Path:
        return self.dir / "sa.key"

    @property
    def sa_pub(self) -> Path:
        return self.dir / "sa.pub"


def _write(path: Path, data: bytes, private: bool = False) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    tmp.replace(path)


def _key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(cn: str, org: str = "") -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def _issue(
    subject: x509.Name,
    key,
    ca_key,
    ca_name: x509.Name,
    *,
    ca: bool = False,
    server: bool = False,
    sans: list[x509.GeneralName] | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        builder = builder.add_extension(
            x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True
        )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def generate(directory: Path) -> Pki:
    """A CA, the API server's certificate, one client certificate per component, the SA key pair."""
    directory.mkdir(parents=True, exist_ok=True)
    pki = Pki(directory)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("inferstack-sim-ca")
    ca = _issue(ca_name, ca_key, ca_key, ca_name, ca=True)
    _write(pki.key("ca"), _key_pem(ca_key), private=True)
    _write(pki.ca_cert, ca.public_bytes(serialization.Encoding.PEM))

    server_key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address(SERVICE_IP)),
        *(
            x509.DNSName(n)
            for n in (
                "localhost",
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
            )
        ),
    ]
    server = _issue(_name("kube-apiserver"), server_key, ca_key, ca_name, server=True, sans=sans)
    _write(pki.key("apiserver"), _key_pem(server_key), private=True)
    _write(pki.cert("apiserver"), server.public_bytes(serialization.Encoding.PEM))

    for component, (cn, org) in CLIENTS.items():
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _issue(_name(cn, org), key, ca_key, ca_name)
        _write(pki.key(component), _key_pem(key), private=True)
        _write(pki.cert(component), cert.public_bytes(serialization.Encoding.PEM))

    sa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write(pki.sa_key, _key_pem(sa), private=True)
    _write(
        pki.sa_pub,
        sa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )
    return pki


def kubeconfig(pki: Pki, component: str, server: str, path: Path, context: str = "inferstack-sim") -> Path:
    """A kubeconfig for one component, certificates embedded."""

    def b64(p: Path) -> str:
        return base64.b64encode(p.read_bytes()).decode()

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": context, "cluster": {"server": server, "certificate-authority-data": b64(pki.ca_cert)}}
        ],
        "users": [
            {
                "name": component,
                "user": {
                    "client-certificate-data": b64(pki.cert(component)),
                    "client-key-data": b64(pki.key(component)),
                },
            }
        ],
        "contexts": [{"name": context, "context": {"cluster": context, "user": component}}],
        "current-context": context,
    }
    _write(path, yaml.safe_dump(config, sort_keys=False).encode(), private=True)
    return path
