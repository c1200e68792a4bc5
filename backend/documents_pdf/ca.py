"""The deployment's certificate authority for document seals (pure X.509 building, no storage).

A PDF reader trusts a signature through a certificate chain, not a bare key. So the deployment
has its own root (key: the `ca` key ring) and gives every issuing agency a seal certificate for
the current `seal` key: the agency is named in the certificate's subject, so a reader shows
"signed by 沈阳市应急管理综合行政执法队", while the private key stays in the seal ring (one key
serves all agencies; what differs per agency is the certificate). Rotating either ring makes the
next document use a new certificate; old certificates stay published so that old PDFs verify.

The key rings hold Ed25519 keys, which PDF readers barely support yet (ISO 32002 is new: Acrobat
and poppler/NSS as shipped by Debian 12 reject Ed25519 signatures). So the certificates and the PDF
signatures use ECDSA P-256 keys *derived* from the ring keys (HKDF-SHA256 over the Ed25519 private
key, one label per use): there is still one secret per ring, kept and rotated by the ring, every
node derives the same P-256 key from it, and a reader validates the result like any other seal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID

from backend.core.signing import SigningKey

ROOT_YEARS = 20
SEAL_YEARS = 10
#: Certificates are valid from a little before they are made: clocks of readers drift.
BACKDATE = timedelta(hours=1)


@dataclass(frozen=True)
class IssuedCertificate:
    der: bytes
    serial: int
    not_before: datetime
    not_after: datetime

    @property
    def pem(self) -> str:
        return x509.load_der_x509_certificate(self.der).public_bytes(serialization.Encoding.PEM).decode()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.der).hexdigest()


#: Order of the P-256 group.
_P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_derived: dict[tuple[str, str], ec.EllipticCurvePrivateKey] = {}


def derived_p256(key: SigningKey, label: str) -> ec.EllipticCurvePrivateKey:
    """The P-256 key derived from ring key `key` for `label` ("ca" or "seal"): deterministic, so
    every node (and every restart) gets the same key without storing a second secret."""
    cached = _derived.get((key.kid, label))
    if cached is not None:
        return cached
    raw = key.private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                    serialization.NoEncryption())
    # 48 bytes reduced mod n-1: the bias is 2^-128, negligible (FIPS 186-5 A.2.1).
    okm = HKDF(algorithm=hashes.SHA256(), length=48, salt=b"fieldcheck-pdf-seal-v1",
               info=label.encode()).derive(raw)
    derived = ec.derive_private_key(int.from_bytes(okm, "big") % (_P256_N - 1) + 1, ec.SECP256R1())
    _derived[(key.kid, label)] = derived
    return derived


def _serial(*parts: str) -> int:
    # Unique per (issuer key, subject key, subject): the same inputs never need two certificates.
    return int.from_bytes(hashlib.sha256("\x00".join(parts).encode()).digest()[:16], "big") >> 1


def root_name(origin: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, origin),
        x509.NameAttribute(NameOID.COMMON_NAME, "Fieldcheck 文书电子印章根证书"),
    ])


def issue_root(ca_key: SigningKey, origin: str, now: datetime) -> IssuedCertificate:
    name = root_name(origin)
    not_before = now - BACKDATE
    not_after = now + timedelta(days=365 * ROOT_YEARS)
    serial = _serial("root", origin, ca_key.kid)
    private = derived_p256(ca_key, "ca")
    ski = x509.SubjectKeyIdentifier.from_public_key(private.public_key())
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
        .serial_number(serial).not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ski, critical=False)
        .sign(private, hashes.SHA256())
    )
    return IssuedCertificate(cert.public_bytes(serialization.Encoding.DER), serial, not_before, not_after)


def issue_seal(ca_key: SigningKey, root_der: bytes, seal_key: SigningKey, agency_code: str, agency_name: str,
               origin: str, now: datetime) -> IssuedCertificate:
    """The agency's certificate for the P-256 key derived from `seal_key`, issued by the root made
    from `ca_key`."""
    root = x509.load_der_x509_certificate(root_der)
    issuer = derived_p256(ca_key, "ca")
    seal_public = derived_p256(seal_key, "seal").public_key()
    seal_kid = seal_key.kid
    not_before = now - BACKDATE
    not_after = min(now + timedelta(days=365 * SEAL_YEARS), root.not_valid_after_utc)
    serial = _serial("seal", origin, ca_key.kid, seal_kid, agency_code)
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, agency_name),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"行政区划代码 {agency_code}"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"{agency_name} 电子印章"),
    ])
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(root.subject).public_key(seal_public)
        .serial_number(serial).not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(seal_public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key()), critical=False)
        .sign(issuer, hashes.SHA256())
    )
    return IssuedCertificate(cert.public_bytes(serialization.Encoding.DER), serial, not_before, not_after)
