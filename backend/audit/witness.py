"""A witness of the audit log outside the database: the latest signed checkpoint, as a file (by default
in the data directory, `FIELDCHECK_AUDIT_WITNESS_FILE`).

Someone who can write to the database can delete the newest entries together with their checkpoint
rows (after dropping the append-only triggers) and leave a log that is consistent with itself. The
checkpoint file, written by the sequencer after every round, still names the larger tree: `fieldcheck
audit verify` checks the log reaches it with the same root. A checkpoint a client kept (any signed note
this server handed out) serves the same way: `audit verify --checkpoint FILE`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def _size_of(note: str) -> int:
    lines = note.split("\n")
    try:
        return int(lines[1])
    except (IndexError, ValueError):
        return -1


def publish(target: Path, tree_size: int, note: str) -> None:
    """Replace the witness file with `note` unless it already holds a larger tree (an older round's
    write must not overwrite a newer one). Atomic: readers see the old note or the new one."""
    with contextlib.suppress(OSError):
        if _size_of(target.read_text("utf-8")) >= tree_size:
            return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(note)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read(target: Path) -> str | None:
    try:
        return target.read_text("utf-8")
    except FileNotFoundError:
        return None


