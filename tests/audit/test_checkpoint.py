"""backend.audit.checkpoint: C2SP tlog-checkpoint bodies in C2SP signed notes.

The wire format is pinned to the reference vector of golang.org/x/mod/sumdb/note (note_test.go and the
package documentation): the PeterNeumann key pair, its verifier key and its published signature. Ed25519
(RFC 8032) is deterministic, so a note built here from that key must match what Go would produce.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from backend.audit import checkpoint, merkle
from backend.audit.checkpoint import Checkpoint, parse_and_verify_checkpoint, sign_checkpoint, vkey

EM_DASH = "\u2014"

# golang.org/x/mod/sumdb/note reference vector.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
)
GO_SIG = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="

ORIGIN = "fieldcheck.example/audit"
KEY_NAME = "fieldcheck.example/audit"


def go_private_key() -> Ed25519PrivateKey:
    raw = base64.b64decode(GO_SKEY.split("+", 4)[4])  # the base64 part itself contains a '+'
    assert raw[0] == 1
    assert len(raw) == 33
    return Ed25519PrivateKey.from_private_bytes(raw[1:])


def raw_pub(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def independent_note(body: str, key: Ed25519PrivateKey, name: str) -> str:
    """The signed-note layout, built here from the spec rather than from the backend."""
    kid = hashlib.sha256(name.encode() + b"\x0a\x01" + raw_pub(key.public_key())).digest()[:4]
    sig = key.sign(body.encode())
    return body + "\n" + EM_DASH + " " + name + " " + base64.b64encode(kid + sig).decode() + "\n"


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def tree_root() -> bytes:
    return merkle.root([merkle.leaf_hash(b"entry %d" % i) for i in range(10)])


# ---------------------------------------------------------------------------------------------------------
# Known answers
# ---------------------------------------------------------------------------------------------------------


def test_key_id_and_vkey_match_go_sumdb_note() -> None:
    public = go_private_key().public_key()
    assert vkey("PeterNeumann", public) == GO_VKEY
    assert checkpoint.key_id("PeterNeumann", public).hex() == "c74f20a3"
    name, parsed = checkpoint.parse_vkey(GO_VKEY)
    assert name == "PeterNeumann"
    assert raw_pub(parsed) == raw_pub(public)


def test_signature_line_layout_matches_go_sumdb_note() -> None:
    # Our understanding of the layout reproduces the published Go note byte for byte ...
    go_note = GO_TEXT + "\n" + EM_DASH + " PeterNeumann " + GO_SIG + "\n"
    assert independent_note(GO_TEXT, go_private_key(), "PeterNeumann") == go_note
    # ... and the backend signs checkpoints the same way, deterministically.
    root = merkle.root([merkle.leaf_hash(b"x")])
    body = f"example.com/log\n1\n{base64.b64encode(root).decode()}\n"
    assert sign_checkpoint("example.com/log", 1, root, go_private_key(), "PeterNeumann") == independent_note(
        body, go_private_key(), "PeterNeumann"
    )


def test_go_note_signature_verifies_but_its_body_is_no_checkpoint() -> None:
    go_note = GO_TEXT + "\n" + EM_DASH + " PeterNeumann " + GO_SIG + "\n"
    public = go_private_key().public_key()
    with pytest.raises(ValueError, match="tree size"):  # got past the signature check
        parse_and_verify_checkpoint(go_note, public, "PeterNeumann")
    with pytest.raises(ValueError, match="does not verify"):
        parse_and_verify_checkpoint(go_note.replace("problem,", "problem;"), public, "PeterNeumann")


# ---------------------------------------------------------------------------------------------------------
# Round trip and format
# ---------------------------------------------------------------------------------------------------------


def test_round_trip(key: Ed25519PrivateKey, tree_root: bytes) -> None:
    note = sign_checkpoint(ORIGIN, 10, tree_root, key, KEY_NAME)
    cp = parse_and_verify_checkpoint(note, key.public_key(), KEY_NAME)
    assert cp == Checkpoint(ORIGIN, 10, tree_root)
    assert cp.extensions == ()
    # bytes are accepted too (e.g. straight off an HTTP response)
    assert parse_and_verify_checkpoint(note.encode(), key.public_key(), KEY_NAME) == cp
    # The same key round-trips through its verifier key string.
    name, public = checkpoint.parse_vkey(vkey(KEY_NAME, key.public_key()))
    assert parse_and_verify_checkpoint(note, public, name) == cp


def test_note_layout(key: Ed25519PrivateKey, tree_root: bytes) -> None:
    note = sign_checkpoint(ORIGIN, 10, tree_root, key, KEY_NAME)
    body = f"{ORIGIN}\n10\n{base64.b64encode(tree_root).decode()}\n"
    assert note.startswith(body + "\n" + EM_DASH + " " + KEY_NAME + " ")
    assert note.endswith("\n")
    assert note.count("\n") == 5
    blob = base64.b64decode(note.rstrip("\n").rsplit(" ", 1)[1], validate=True)
    assert len(blob) == 4 + 64
    assert blob[:4] == hashlib.sha256(KEY_NAME.encode() + b"\n\x01" + raw_pub(key.public_key())).digest()[:4]
    key.public_key().verify(blob[4:], body.encode())  # raises if the signature is not over the body
    assert note == independent_note(body, key, KEY_NAME)


def test_vkey_format(key: Ed25519PrivateKey) -> None:
    v = vkey(KEY_NAME, key.public_key())
    name, kid, material = v.split("+", 2)
    assert name == KEY_NAME
    assert kid == hashlib.sha256(KEY_NAME.encode() + b"\n\x01" + raw_pub(key.public_key())).digest()[:4].hex()
    assert base64.b64decode(material) == b"\x01" + raw_pub(key.public_key())


def test_empty_tree_and_large_sizes(key: Ed25519PrivateKey) -> None:
    note = sign_checkpoint(ORIGIN, 0, merkle.EMPTY_ROOT, key, KEY_NAME)
    assert parse_and_verify_checkpoint(note, key.public_key(), KEY_NAME) == Checkpoint(
        ORIGIN, 0, merkle.EMPTY_ROOT
    )
    big = 2**64 - 1
    note = sign_checkpoint(ORIGIN, big, merkle.EMPTY_ROOT, key, KEY_NAME)
    assert parse_and_verify_checkpoint(note, key.public_key(), KEY_NAME).tree_size == big


def test_other_signers_are_ignored(key: Ed25519PrivateKey, tree_root: bytes) -> None:
    note = sign_checkpoint(ORIGIN, 10, tree_root, key, KEY_NAME)
    body = note[: note.index("\n\n") + 1]
    witness = Ed25519PrivateKey.generate()
    witness_line = independent_note(body, witness, "witness.example").split("\n\n", 1)[1]
    for cosigned in (note + witness_line, body + "\n" + witness_line + note.split("\n\n", 1)[1]):
        assert parse_and_verify_checkpoint(cosigned, key.public_key(), KEY_NAME).tree_size == 10
        # and the witness can check it with its own key
        assert (
            parse_and_verify_checkpoint(cosigned, witness.public_key(), "witness.example").root == tree_root
        )


def test_extension_lines_are_kept(key: Ed25519PrivateKey, tree_root: bytes) -> None:
    body = f"{ORIGIN}\n10\n{base64.b64encode(tree_root).decode()}\nextension one\n"
    cp = parse_and_verify_checkpoint(independent_note(body, key, KEY_NAME), key.public_key(), KEY_NAME)
    assert cp.extensions == ("extension one",)


# ---------------------------------------------------------------------------------------------------------
# Rejections
# ---------------------------------------------------------------------------------------------------------


def test_tampered_body_is_rejected(key: Ed25519PrivateKey, tree_root: bytes) -> None:
    note = sign_checkpoint(ORIGIN, 10, tree_root, key, KEY_NAME)
    other_root = base64.b64encode(merkle.leaf_hash(b"forged")).decode()
    tampered = [
        note.replace("\n10\n", "\n11\n"),
        note.replace("\n10\n", "\n9\n"),
        note.replace(base64.b64encode(tree_root).decode(), other_root),
        note.replace(ORIGIN + "\n", "evil.example/audit\n", 1),
    ]
    for bad in tampered:
        assert bad != note
        with pytest.raises(ValueError, match="does not verify"):
            parse_and_verify_checkpoint(bad, key.public_key(), KEY_NAME)
    # a forged signature with the right key name and id
    head, blob_b64 = note.rstrip("\n").rsplit(" ", 1)
    blob = bytearray(base64.b64decode(blob_b64))
    blob[10] ^= 1
    with pytest.raises(ValueError, match="does not verify"):
        parse_and_verify_checkpoint(
            f"{head} {base64.b64encode(bytes(blob)).decode()}\n", key.public_key(), KEY_NAME
        )


def test_wrong_key_is_rejected(key: Ed25519PrivateKey, tree_root: bytes) -> None:
    note = sign_checkpoint(ORIGIN, 10, tree_root, key, KEY_NAME)
    stranger = Ed25519PrivateKey.generate()
    with pytest.raises(ValueError, match="not signed by"):
        parse_and_verify_checkpoint(note, stranger.public_key(), KEY_NAME)
    # A different key signing under our name is just as unknown.
    impostor = sign_checkpoint(ORIGIN, 10, tree_root, stranger, KEY_NAME)
    with pytest.raises(ValueError, match="not signed by"):
        parse_and_verify_checkpoint(impostor, key.public_key(), KEY_NAME)


def test_wrong_key_name_is_rejected(key: Ed25519PrivateKey, tree_root: bytes) -> None:
    note = sign_checkpoint(ORIGIN, 10, tree_root, key, KEY_NAME)
    with pytest.raises(ValueError, match="not signed by"):
        parse_and_verify_checkpoint(note, key.public_key(), "other.example/audit")
    # Relabelling the signature line does not help: the key id covers the name.
    relabelled = note.replace(EM_DASH + " " + KEY_NAME + " ", EM_DASH + " other.example/audit ")
    with pytest.raises(ValueError, match="not signed by"):
        parse_and_verify_checkpoint(relabelled, key.public_key(), "other.example/audit")


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda n: n.replace("\n\n", "\n"), id="no-blank-line"),
        pytest.param(lambda n: n.split("\n\n")[0] + "\n\n", id="no-signatures"),
        pytest.param(lambda n: n.rstrip("\n"), id="no-final-newline"),
        pytest.param(lambda n: n.replace(EM_DASH, "--"), id="ascii-dash"),
        pytest.param(lambda n: n.replace(EM_DASH + " ", EM_DASH), id="no-space-after-dash"),
        pytest.param(lambda n: n.replace("\n", "\r\n"), id="crlf"),
        pytest.param(lambda n: n.rstrip("\n") + "!\n", id="bad-base64"),
        pytest.param(lambda n: n.rstrip("\n").rsplit(" ", 1)[0] + " AAAA\n", id="short-signature"),
        pytest.param(lambda n: n + EM_DASH + " x\n", id="truncated-extra-line"),
        pytest.param(lambda n: n + "junk\n", id="junk-line"),
        pytest.param(lambda n: n.replace("\n", "\n\x07", 1), id="control-char"),
    ],
)
def test_malformed_notes_are_rejected(key: Ed25519PrivateKey, tree_root: bytes, mangle) -> None:
    note = sign_checkpoint(ORIGIN, 10, tree_root, key, KEY_NAME)
    with pytest.raises(ValueError):
        parse_and_verify_checkpoint(mangle(note), key.public_key(), KEY_NAME)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("{origin}\n010\n{root}\n", id="leading-zero"),
        pytest.param("{origin}\n+10\n{root}\n", id="plus-sign"),
        pytest.param("{origin}\n1_0\n{root}\n", id="underscore"),
        pytest.param("{origin}\n\u0661\u0660\n{root}\n", id="non-ascii-digits"),
        pytest.param("{origin}\n-1\n{root}\n", id="negative"),
        pytest.param("{origin}\n18446744073709551616\n{root}\n", id="over-uint64"),
        pytest.param("{origin}\n10\n{root_short}\n", id="short-root"),
        pytest.param("{origin}\n10\n{root_unpadded}\n", id="unpadded-root"),
        pytest.param("{origin}\n10\n{root_urlsafe}\n", id="urlsafe-root"),
        pytest.param("{origin}\n10\n", id="missing-root"),
        pytest.param("\n10\n{root}\n", id="empty-origin"),
        pytest.param("{origin}\n10\n{root}\n\nmore\n", id="blank-line-in-body"),
    ],
)
def test_malformed_checkpoint_bodies_are_rejected(key: Ed25519PrivateKey, body: str) -> None:
    # a root whose base64 has '-'/'_' in URL-safe form and '+'/'/' in standard form
    root = bytes.fromhex("fbff" * 16)
    text = body.format(
        origin=ORIGIN,
        root=base64.b64encode(root).decode(),
        root_short=base64.b64encode(root[:31]).decode(),
        root_unpadded=base64.b64encode(root).decode().rstrip("="),
        root_urlsafe=base64.urlsafe_b64encode(root).decode(),
    )
    with pytest.raises(ValueError):
        parse_and_verify_checkpoint(independent_note(text, key, KEY_NAME), key.public_key(), KEY_NAME)


def test_too_many_signatures_are_rejected(key: Ed25519PrivateKey, tree_root: bytes) -> None:
    note = sign_checkpoint(ORIGIN, 10, tree_root, key, KEY_NAME)
    body, own = note.split("\n\n", 1)
    other = independent_note(body + "\n", Ed25519PrivateKey.generate(), "w.example").split("\n\n", 1)[1]
    with pytest.raises(ValueError, match="too many"):
        parse_and_verify_checkpoint(body + "\n\n" + own + other * 100, key.public_key(), KEY_NAME)


def test_signing_validates_its_input(key: Ed25519PrivateKey, tree_root: bytes) -> None:
    for origin in ("", "has space", "two\nlines", "tab\there"):
        with pytest.raises(ValueError):
            sign_checkpoint(origin, 1, tree_root, key, KEY_NAME)
    for name in ("", "a+b", "a b", "a\nb"):
        with pytest.raises(ValueError):
            sign_checkpoint(ORIGIN, 1, tree_root, key, name)
    for size in (-1, 2**64, True, 1.0):
        with pytest.raises(ValueError):
            sign_checkpoint(ORIGIN, size, tree_root, key, KEY_NAME)
    for root in (b"", tree_root[:31], tree_root + b"\x00", tree_root.hex()):
        with pytest.raises(ValueError):
            sign_checkpoint(ORIGIN, 1, root, key, KEY_NAME)


def test_parse_vkey_rejects_mismatches(key: Ed25519PrivateKey) -> None:
    good = vkey(KEY_NAME, key.public_key())
    name, kid, material = good.split("+", 2)
    wrong_kid = f"{int(kid, 16) ^ 1:08x}"
    wrong_type = base64.b64encode(bytes([2]) + base64.b64decode(material)[1:]).decode()
    for bad in (
        f"{name}+{wrong_kid}+{material}",
        f"other.example+{kid}+{material}",
        f"{name}+{kid}+{wrong_type}",
        f"{name}+{kid}",
        f"{name}+{kid.upper()}+{material}",
    ):
        with pytest.raises(ValueError):
            checkpoint.parse_vkey(bad)
