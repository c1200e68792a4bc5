"""Where rendered PDFs live: content-addressed files under `{data_dir}/documents/ab/cd/<sha256>.pdf`.

Same crash rule as the evidence store: a file reaches its name only by rename() of a fully written
and fsync'ed temp file, before the row naming it is committed, so a row never names a missing file
(a crash may leave an orphan file, which is harmless: a later render of the same version writes a
new, differently signed file). A node that finds the row but not the file (another node's disk)
renders again. Blocking: callers run it with `anyio.to_thread.run_sync`.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class PdfStore:
    def __init__(self, data_dir: str | Path) -> None:
        self.root = Path(data_dir) / "documents"

    def path(self, sha256: str) -> Path:
        if not _SHA256_RE.match(sha256):
            raise ValueError("not a lower-case hex SHA-256")
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}.pdf"

    def put(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        final = self.path(sha)
        if final.exists():
            return sha
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".{sha}.{uuid.uuid4().hex}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        dfd = os.open(final.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
        return sha

    def get(self, sha256: str) -> bytes | None:
        """The file's bytes, or None when it is missing or not what its name says."""
        try:
            data = self.path(sha256).read_bytes()
        except FileNotFoundError:
            return None
        return data if hashlib.sha256(data).hexdigest() == sha256 else None
