"""TLS material and the kubeconfig, made once per state directory.

kubectl only sends a bearer token over TLS, so the sandbox serves HTTPS with its own CA; the
kubeconfig embeds that CA and the token, and lives in the state dir (never ~/.kube/config).
"""

from __future__ import annotations

import base64
import ipaddress
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CONTEXT = "rollout-labs"


@dataclass(frozen=True)
class Credentials:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    token: str


def _write_private(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only, without a window where it is world-readable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def ensure_credentials(pki_dir: Path) -> Credentials:
    """Create the CA, serving certificate and token on first use; reuse them afterwards."""
    ca_cert, srv_cert, srv_key, token_file = (pki_dir / "ca.crt", pki_dir / "apiserver.crt",
                                              pki_dir / "apiserver.key", pki_dir / "token")
    if not (ca_cert.exists() and srv_cert.exists() and srv_key.exists() and token_file.exists()):
        _generate(ca_cert, pki_dir / "ca.key", srv_cert, srv_key)
        _write_private(token_file, secrets.token_urlsafe(32).encode())
    return Credentials(ca_cert, srv_cert, srv_key, token_file.read_text().strip())


def _generate(ca_cert: Path, ca_key_path: Path, srv_cert: Path, srv_key: Path) -> None:
    now = datetime.now(UTC) - timedelta(minutes=5)
    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rollout-labs-ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = _key()
    san = x509.SubjectAlternativeName([
        x509.DNSName("localhost"), x509.DNSName("kubernetes"),
        x509.DNSName("kubernetes.default"), x509.DNSName("kubernetes.default.svc"),
        x509.DNSName("kubernetes.default.svc.cluster.local"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("127.96.0.1")),
    ])
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + timedelta(days=3650))
            .add_extension(san, critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    _write_private(ca_key_path, _pem_key(ca_key))
    _write_private(ca_cert, ca.public_bytes(serialization.Encoding.PEM))
    _write_private(srv_key, _pem_key(key))
    _write_private(srv_cert, cert.public_bytes(serialization.Encoding.PEM))


def write_kubeconfig(path: Path, server: str, creds: Credentials) -> None:
    ca_b64 = base64.b64encode(creds.ca_cert.read_bytes()).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {
            "server": server, "certificate-authority-data": ca_b64}}],
        "users": [{"name": CONTEXT, "user": {"token": creds.token}}],
        "contexts": [{"name": CONTEXT, "context": {
            "cluster": CONTEXT, "user": CONTEXT, "namespace": "default"}}],
        "current-context": CONTEXT,
        "preferences": {},
    }
    _write_private(path, yaml.safe_dump(config, sort_keys=False).encode())
