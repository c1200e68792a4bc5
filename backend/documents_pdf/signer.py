"""PAdES signing of a rendered PDF with pyHanko, and its validation (used by tests and by anyone
checking a printed document's file).

pyHanko because it is the maintained Python implementation of PAdES (ETSI EN 319 142) that writes
the CMS signature with the signing-certificate attribute readers check, signs incrementally (so
the PDF/A-2b body is kept as rendered) and ships a validator (pyhanko-certvalidator) that checks
the chain and the byte ranges — the same code tests use.

Blocking CPU work: callers run it with `anyio.to_thread`.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.utils import CryptographyDeprecationWarning

# pyHanko imports cryptography's DSA types, which warn at import; seals are P-256, never DSA, and the
# warning would only alarm whoever reads the server's start-up log.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import fields, signers
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.registry import SimpleCertificateStore

from backend.core.signing import SigningKey
from backend.documents_pdf.ca import derived_p256

FIELD_NAME = "AgencySeal"


def _asn1_key(key: SigningKey) -> asn1_keys.PrivateKeyInfo:
    der = derived_p256(key, "seal").private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    return asn1_keys.PrivateKeyInfo.load(der)


def sign_pdf(pdf: bytes, key: SigningKey, seal_der: bytes, root_der: bytes, *, reason: str, location: str,
             name: str) -> bytes:
    """`pdf` with an invisible PAdES B-B signature by the P-256 key derived from the seal ring key
    `key`, whose certificate is `seal_der`."""
    signer = signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(seal_der), signing_key=_asn1_key(key),
        cert_registry=SimpleCertificateStore.from_certs([asn1_x509.Certificate.load(root_der)]),
    )
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME, subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256",
        reason=reason, location=location, name=name,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    out = signers.sign_pdf(writer, meta, signer=signer)
    return out.getvalue()


@dataclass(frozen=True)
class SealCheck:
    intact: bool
    trusted: bool
    signer: str
    coverage: str

    @property
    def ok(self) -> bool:
        return self.intact and self.trusted


def check_pdf(pdf: bytes, root_ders: list[bytes]) -> SealCheck:
    """Validate the last signature of `pdf` against the given roots."""
    reader = PdfFileReader(io.BytesIO(pdf))
    if not reader.embedded_signatures:
        return SealCheck(intact=False, trusted=False, signer="", coverage="none")
    sig = reader.embedded_signatures[-1]
    vc = ValidationContext(trust_roots=[asn1_x509.Certificate.load(d) for d in root_ders])
    status = validate_pdf_signature(sig, vc)
    return SealCheck(intact=bool(status.intact and status.valid), trusted=bool(status.trusted),
                     signer=status.signing_cert.subject.human_friendly,
                     coverage=status.coverage.name if status.coverage else "none")
