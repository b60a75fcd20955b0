"""A certificate authority of the project's own, so the sandbox can serve HTTPS that clients verify.

The official Salesforce and Dataverse clients insist on https, and the hub verifies TLS by default; a
sandbox on plain http would test neither. ``ensure_ca`` makes (once, then reuses) a CA and a server
certificate for ``localhost``/``127.0.0.1``/the container host name; clients trust the CA through the
Connection's ``verify`` extra (``ca_bundle``), never by turning verification off.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from crmhub.paths import PROJECT_DIR

DEFAULT_DIR = PROJECT_DIR / "data" / "sandbox-tls"
HOST_NAMES = ("localhost", "sandbox", "crmhub-sandbox")
IP_ADDRESSES = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class SandboxTls:
    ca_bundle: Path  # the CA certificate (PEM) clients trust
    certfile: Path  # server certificate chain (PEM)
    keyfile: Path  # server private key (PEM), readable by the owner only


def ensure_ca(directory: Path | None = None, *, extra_hosts: tuple[str, ...] = ()) -> SandboxTls:
    """Return the sandbox's CA and server certificate under ``directory``, creating them if missing."""
    directory = Path(directory or os.environ.get("CRMHUB_SANDBOX_TLS_DIR") or DEFAULT_DIR)
    tls = SandboxTls(directory / "ca.pem", directory / "server.pem", directory / "server-key.pem")
    if all(p.exists() for p in (tls.ca_bundle, tls.certfile, tls.keyfile)) and _covers(tls.certfile, extra_hosts):
        return tls
    directory.mkdir(parents=True, exist_ok=True)
    _generate(tls, extra_hosts)
    return tls


def _covers(certfile: Path, hosts: tuple[str, ...]) -> bool:
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(certfile.read_bytes())
    if cert.not_valid_after_utc < dt.datetime.now(dt.UTC) + dt.timedelta(days=30):
        return False
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(hosts) <= set(names.get_values_for_type(x509.DNSName))


def _generate(tls: SandboxTls, extra_hosts: tuple[str, ...]) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Social CRM Hub sandbox CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    hosts = [*HOST_NAMES, *extra_hosts]
    alt_names: list[x509.GeneralName] = [x509.DNSName(h) for h in dict.fromkeys(hosts)]
    alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in IP_ADDRESSES]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    tls.ca_bundle.write_bytes(ca_cert.public_bytes(pem))
    tls.certfile.write_bytes(cert.public_bytes(pem) + ca_cert.public_bytes(pem))
    key_bytes = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(tls.keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_bytes)
