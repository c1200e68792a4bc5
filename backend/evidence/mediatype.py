"""What the leading bytes of an upload prove it is: JPEG, PNG or HEVC-coded HEIF. Only magic bytes
count, never a file name or a client's Content-Type."""

from __future__ import annotations

from typing import Final

JPEG: Final = "image/jpeg"
PNG: Final = "image/png"
HEIC: Final = "image/heic"
ACCEPTED_MEDIA_TYPES: Final = frozenset({JPEG, PNG, HEIC})

# How many leading bytes `sniff_media_type` looks at; an `ftyp` box with many brands is longer
# than the 12 bytes that suffice for JPEG and PNG.
SNIFF_BYTES: Final = 256

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# HEVC-coded HEIF. `mif1`/`msf1` only say "some HEIF" and are also what AVIF files list, so they
# count only when an HEVC brand is listed next to them; AVIF is refused (not in API.md's list).
_HEVC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_GENERIC_HEIF_BRANDS = frozenset({b"mif1", b"msf1", b"miaf"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})


def sniff_media_type(head: bytes) -> str | None:
    """The media type the leading bytes prove (`image/jpeg`, `image/png`, `image/heic`), or None.

    Only magic bytes count, never a file name or a client's Content-Type. Pass at least the first
    `SNIFF_BYTES` bytes so a long HEIF `ftyp` box is seen whole.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(_PNG_MAGIC):
        return PNG
    if _is_hevc_heif(head):
        return HEIC
    return None


def _is_hevc_heif(head: bytes) -> bool:
    if len(head) < 16 or head[4:8] != b"ftyp":
        return False
    box_size = int.from_bytes(head[0:4], "big")
    if box_size == 0:  # "extends to end of file": all we have
        box_size = len(head)
    if box_size < 16 or box_size % 4:
        return False  # also refuses size 1 (64-bit size): no real ftyp box needs it
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)}
    if major in _AVIF_BRANDS:
        return False
    if major in _HEVC_BRANDS:
        return True
    return major in _GENERIC_HEIF_BRANDS and bool(compatible & _HEVC_BRANDS)
