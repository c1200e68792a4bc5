"""Where evidence bytes live: content-addressed files under `{data_dir}/evidence/`.

    evidence/tmp/<random>.part            an upload being received (streamed here while hashed)
    evidence/ab/cd/<sha256>               the original, exactly as uploaded (never re-encoded)
    evidence/ab/cd/<sha256>.thumb.jpg     its thumbnail (JPEG, <= 512 px)
    evidence/ab/cd/.<name>.<random>.tmp   a file being put in place

Crash safety: a file reaches its final name only by rename() of a fully written and fsync'ed temp
file, followed by an fsync of the directory, and this happens BEFORE the database row that
refers to it is committed. So a crash at any point can leave a temp file or a file without a row
(an orphan), never a row without a file. `sweep()` removes both kinds of leftovers once they are
older than `min_age_s`: a younger one may belong to an upload still in flight in another worker
(renamed into place, row not yet committed).

Leftovers of a process that is certainly dead need no waiting: every temp file, and a marker
`evidence/tmp/<owner>.<sha256>.<random>.placing` kept from just before a photo is put in place
until its row is committed, carry their writer's owner tag (pid, process start time, host). At
start (`fieldcheck serve`) and on a worker's first upload, files whose writer is gone from this
host are removed at once, and a photo named by a dead writer's marker that no row refers to is
an orphan of an interrupted upload: it goes too. Files of other hosts, or without a tag, keep
the age rule.

A full disk is refused, not half-written: the store keeps `min_free_bytes` free (checked before an
upload is read, and again as it streams), and a real ENOSPC/EDQUOT from any write becomes 507
INSUFFICIENT_STORAGE after the partial file is removed.

Everything here is blocking file-system work: callers run it with `anyio.to_thread.run_sync`.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from backend.core.errors import InsufficientStorage
from backend.evidence.imaging import SNIFF_BYTES

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
THUMB_SUFFIX = ".thumb.jpg"
#: Leftovers younger than this may belong to an upload in flight in another worker.
DEFAULT_SWEEP_MIN_AGE_S = 3600
#: While an upload streams, free space is rechecked after every this many bytes.
ROOM_CHECK_BYTES = 1 << 20
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_OWNER_RE = re.compile(r"(?:^|\.)(\d+)-(\d+)-([0-9a-f]{8})\.")
PLACING_SUFFIX = ".placing"


def _start_ticks(pid: int) -> int | None:
    """The start time of process `pid` (clock ticks since boot), None when there is none. With the
    pid it names one process for ever: a recycled pid has another start time."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (IndexError, ValueError):
        return None


def owner_tag(pid: int | None = None) -> str:
    """`<pid>-<start ticks>-<host hash>` of this process: written into every temp file's name."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}-{_start_ticks(pid) or 0}-{_HOST}"


def writer_is_dead(name: str) -> bool:
    """True only when `name` carries an owner tag of this host whose process is gone (or is
    another process now). Untagged names and other hosts' files: False (the age rule applies)."""
    match = _OWNER_RE.search(name)
    if match is None or match.group(3) != _HOST:
        return False
    ticks = _start_ticks(int(match.group(1)))
    return ticks is None or ticks != int(match.group(2))


def _no_room(free: int | None, needed: int, reserve: int) -> InsufficientStorage:
    return InsufficientStorage(
        "No room to store the photo; retry later", "存储空间不足，暂时无法保存照片，请稍后重试",
        detail={"free_bytes": free, "needed_bytes": needed, "min_free_bytes": reserve},
    )


@contextlib.contextmanager
def no_space_is_507(reserve: int = 0) -> Iterator[None]:
    """A write that fails for want of space (ENOSPC, EDQUOT) is 507, not a 500."""
    try:
        yield
    except OSError as exc:
        if exc.errno in _NO_SPACE:
            raise _no_room(None, 0, reserve) from exc
        raise


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class EvidenceStore:
    """The evidence directory of one deployment."""

    def __init__(self, data_dir: str | Path, *, min_free_bytes: int = 0) -> None:
        self.root = Path(data_dir) / "evidence"
        self.tmp = self.root / "tmp"
        self.min_free_bytes = min_free_bytes

    # --- room -------------------------------------------------------------------------------

    def free_bytes(self) -> int:
        path = self.root
        while not path.exists() and path != path.parent:
            path = path.parent
        st = os.statvfs(path)
        return st.f_bavail * st.f_frsize

    def check_room(self, needed: int = 0) -> None:
        """507 unless `needed` more bytes still leave `min_free_bytes` free."""
        free = self.free_bytes()
        if free - max(needed, 0) < self.min_free_bytes:
            raise _no_room(free, needed, self.min_free_bytes)

    # --- paths ------------------------------------------------------------------------------

    def original_path(self, sha256: str) -> Path:
        if not _SHA256_RE.match(sha256):
            raise ValueError("not a lower-case hex SHA-256")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def thumbnail_path(self, sha256: str) -> Path:
        original = self.original_path(sha256)
        return original.with_name(original.name + THUMB_SUFFIX)

    # --- receiving --------------------------------------------------------------------------

    def open_upload(self) -> SpoolFile:
        """A new temp file for an incoming upload (created 0600, exclusive)."""
        self.check_room()
        with no_space_is_507(self.min_free_bytes):
            self.tmp.mkdir(parents=True, exist_ok=True)
            path = self.tmp / f"{owner_tag()}.{uuid.uuid4().hex}.part"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        return SpoolFile(path, os.fdopen(fd, "wb", buffering=0), room=self.check_room)

    # --- putting in place -------------------------------------------------------------------

    def _ensure_dir(self, directory: Path) -> None:
        if directory.is_dir():
            return
        created: list[Path] = []
        d = directory
        while not d.is_dir():
            created.append(d)
            d = d.parent
        directory.mkdir(parents=True, exist_ok=True)
        # New directory entries must survive a crash too, or a renamed file could vanish with them.
        for d in reversed(created):
            _fsync_dir(d.parent)

    def commit_original(self, spool_path: Path, sha256: str) -> Path:
        """Move a received (already fsync'ed) upload to its content address, durably.

        If the address is already taken (the same bytes arrived before) the fresh copy replaces it:
        the content is identical by construction, and the new file's mtime protects it from a
        concurrent sweep that might have judged the old one an orphan."""
        target = self.original_path(sha256)
        with no_space_is_507(self.min_free_bytes):
            self._ensure_dir(target.parent)
            os.replace(spool_path, target)
            _fsync_dir(target.parent)
        return target

    def write_thumbnail(self, sha256: str, data: bytes) -> Path:
        target = self.thumbnail_path(sha256)
        with no_space_is_507(self.min_free_bytes):
            self._ensure_dir(target.parent)
            _write_atomic(target, data)
        return target

    def mark_placing(self, sha256: str) -> Path:
        """A marker naming a photo about to be put in place by this process, until its row is
        committed (`discard` it then): if the process dies in between, the sweep knows the photo
        may be an orphan without waiting an hour."""
        self.original_path(sha256)  # validates the hash
        with no_space_is_507(self.min_free_bytes):
            self.tmp.mkdir(parents=True, exist_ok=True)
            marker = self.tmp / f"{owner_tag()}.{sha256}.{uuid.uuid4().hex[:12]}{PLACING_SUFFIX}"
            marker.touch(mode=0o600)
        return marker

    def dead_placings(self) -> tuple[list[Path], set[str], set[str]]:
        """(markers of dead writers, the photos they name, the photos live writers are placing)."""
        dead: list[Path] = []
        dead_shas: set[str] = set()
        live_shas: set[str] = set()
        if not self.tmp.is_dir():
            return dead, dead_shas, live_shas
        for p in self.tmp.iterdir():
            if not p.name.endswith(PLACING_SUFFIX):
                continue
            parts = p.name.split(".")
            sha = parts[1] if len(parts) >= 4 and _SHA256_RE.match(parts[1]) else None
            if writer_is_dead(p.name):
                dead.append(p)
                if sha:
                    dead_shas.add(sha)
            elif sha:
                live_shas.add(sha)
        return dead, dead_shas, live_shas

    def discard(self, path: Path | None) -> None:
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def has(self, sha256: str) -> bool:
        return self.original_path(sha256).is_file() and self.thumbnail_path(sha256).is_file()

    # --- sweeping ---------------------------------------------------------------------------

    def temp_files(self) -> Iterable[Path]:
        if self.tmp.is_dir():
            yield from (p for p in self.tmp.iterdir() if p.is_file())
        for d in self._content_dirs():
            yield from (p for p in d.iterdir() if p.is_file() and p.name.startswith(".") and p.name.endswith(".tmp"))

    def content_files(self) -> Iterable[tuple[str, Path]]:
        """(sha256, path) of every original and thumbnail in place."""
        for d in self._content_dirs():
            for p in d.iterdir():
                if not p.is_file():
                    continue
                name = p.name
                sha = name[: -len(THUMB_SUFFIX)] if name.endswith(THUMB_SUFFIX) else name
                if _SHA256_RE.match(sha):
                    yield sha, p

    def _content_dirs(self) -> Iterable[Path]:
        if not self.root.is_dir():
            return
        for a in self.root.iterdir():
            if len(a.name) == 2 and a.is_dir():
                for b in a.iterdir():
                    if len(b.name) == 2 and b.is_dir():
                        yield b

    def sweep_temp(self, *, min_age_s: float = DEFAULT_SWEEP_MIN_AGE_S, now: float | None = None,
                   report: SweepReport | None = None) -> SweepReport:
        """Delete temp files (interrupted uploads and writes) older than `min_age_s`, or at once when
        their writer is certainly dead. A dead writer's placing marker is left to `sweep`, which
        needs it (and the database) to find the photo it may have orphaned."""
        now = time.time() if now is None else now
        report = report or SweepReport()
        for p in list(self.temp_files()):
            dead = writer_is_dead(p.name)
            if dead and p.name.endswith(PLACING_SUFFIX):
                continue
            if dead or _age(p, now) >= min_age_s:
                self.discard(p)
                report.temp_removed.append(str(p))
            else:
                report.kept_young += 1
        return report

    def sweep(self, referenced: set[str], *, min_age_s: float = DEFAULT_SWEEP_MIN_AGE_S,
              now: float | None = None) -> SweepReport:
        """Delete temp files, and content files whose hash is not in `referenced`, once older than
        `min_age_s`. `referenced` must have been read from the database AFTER the files were listed
        (or the young-file rule covers the gap: a file renamed into place since is young).
        Leftovers of dead writers go whatever their age (see the module docstring)."""
        now = time.time() if now is None else now
        dead_markers, suspects, _ = self.dead_placings()
        report = self.sweep_temp(min_age_s=min_age_s, now=now)
        for sha, p in list(self.content_files()):
            if sha in referenced:
                continue
            # A photo a dead writer was placing, with no row: unless a live writer is placing the
            # same bytes right now (looked up again, as late as possible).
            orphaned = sha in suspects and sha not in self.dead_placings()[2]
            if orphaned or _age(p, now) >= min_age_s:
                self.discard(p)
                report.orphans_removed.append(str(p))
            else:
                report.kept_young += 1
        for marker in dead_markers:
            self.discard(marker)
            report.temp_removed.append(str(marker))
        return report


def _age(p: Path, now: float) -> float:
    try:
        return now - p.stat().st_mtime
    except FileNotFoundError:
        return -1.0


@dataclass
class SweepReport:
    temp_removed: list[str] = field(default_factory=list)
    orphans_removed: list[str] = field(default_factory=list)
    kept_young: int = 0
    #: Rows whose files are missing (should never happen; reported, not repaired).
    missing: list[str] = field(default_factory=list)


class SpoolFile:
    """An upload being written to disk while its SHA-256 is computed, chunk by chunk."""

    def __init__(self, path: Path, fh: BinaryIO, *, room: Callable[[int], None] | None = None) -> None:
        self.path = path
        self._fh = fh
        self._hash = hashlib.sha256()
        self.size = 0
        self.head = b""
        self._room = room
        self._unchecked = 0

    def write(self, chunks: list[bytes]) -> None:
        for chunk in chunks:
            if len(self.head) < SNIFF_BYTES:
                self.head += chunk[: SNIFF_BYTES - len(self.head)]
            self._hash.update(chunk)
            with no_space_is_507():
                # An unbuffered write may be short (it is, just before ENOSPC): write the rest.
                view = memoryview(chunk)
                while view:
                    written = self._fh.write(view)
                    view = view[written or 0:]
            self.size += len(chunk)
            self._unchecked += len(chunk)
            if self._room is not None and self._unchecked >= ROOM_CHECK_BYTES:
                self._unchecked = 0
                self._room(0)

    def finish(self) -> str:
        """Flush to stable storage; the hex SHA-256 of everything written."""
        with no_space_is_507():
            self._fh.flush()
            os.fsync(self._fh.fileno())
        self._fh.close()
        return self._hash.hexdigest()

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()


def _write_atomic(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".{target.name}.{owner_tag()}.{uuid.uuid4().hex[:12]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(target.parent)
