"""Crash-safe commits: temp files, a redo journal, fsync, os.replace, and a writer lock.

A save writes every new file version under `<root>/.vla_tmp/`, fsyncs them, then atomically
writes the journal `.vla_tmp/COMMIT.json` listing (temp, final) pairs: that is the commit point.
The pairs are then moved into place with os.replace and the journal removed. After a crash,
`recover()` replays a journal (idempotent) or, without one, drops the unfinished temp files,
so every reader sees either the dataset before the save or after it, never a mix.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

from vla_data.errors import DatasetError

TMP_DIR = ".vla_tmp"
JOURNAL = "COMMIT.json"
LOCK = "writer.lock"

try:
    import fcntl
except ImportError:  # pragma: no cover - non-POSIX
    fcntl = None  # type: ignore[assignment]


def tmp_dir(root: Path) -> Path:
    """The dataset's private temp folder (same file system, so os.replace is atomic)."""
    d = root / TMP_DIR
    d.mkdir(parents=True, exist_ok=True)
    return d


def tmp_path(root: Path, name: str) -> Path:
    """A fresh temp file path for a file to be committed later."""
    return tmp_dir(root) / f"{uuid.uuid4().hex[:12]}-{Path(name).name}"


def fsync_file(path: Path) -> None:
    """Flush a file's content to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (renames) to disk."""
    try:
        fsync_file(path)
    except OSError:  # pragma: no cover - some file systems refuse
        pass


def write_bytes(path: Path, data: bytes) -> None:
    """Write bytes and fsync them."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def commit(root: Path, moves: list[tuple[Path, Path]]) -> None:
    """Atomically move temp files to their final places (all or nothing across a crash)."""
    for src, _ in moves:
        fsync_file(src)
    journal = tmp_dir(root) / JOURNAL
    pending = journal.with_suffix(".json.part")
    rel = [[str(s.relative_to(root)), str(d.relative_to(root))] for s, d in moves]
    write_bytes(pending, json.dumps(rel).encode())
    os.replace(pending, journal)  # the commit point
    fsync_dir(journal.parent)
    _replay(root, rel)
    journal.unlink()
    fsync_dir(journal.parent)


def _replay(root: Path, rel: list[list[str]]) -> None:
    dirs = set()
    for src, dst in rel:
        s, d = root / src, root / dst
        if s.exists():
            d.parent.mkdir(parents=True, exist_ok=True)
            os.replace(s, d)
            dirs.add(d.parent)
    for d in dirs:
        fsync_dir(d)


def has_pending(root: Path) -> bool:
    """True when a commit was interrupted after its commit point."""
    return (root / TMP_DIR / JOURNAL).exists()


def recover(root: Path) -> None:
    """Finish an interrupted commit, or drop an unfinished one's temp files. Needs no writer alive."""
    d = root / TMP_DIR
    if not d.is_dir():
        return
    journal = d / JOURNAL
    if journal.exists():
        try:
            rel = json.loads(journal.read_text())
        except (OSError, ValueError):
            raise DatasetError(f"{journal} is corrupt: cannot finish the interrupted save") from None
        try:
            _replay(root, rel)
            journal.unlink()
        except PermissionError:
            raise DatasetError(f"{root} has an interrupted save: open it once with write access to finish it") from None
    for p in d.iterdir():
        if p.name != LOCK and p.is_file():
            p.unlink(missing_ok=True)


class WriterLock:
    """An exclusive advisory lock held by the one writer of a dataset (released on process death)."""

    def __init__(self, root: Path) -> None:
        self.path = tmp_dir(root) / LOCK
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        """Take the lock if free; False if another live process holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return False
        self._fd = fd
        return True

    def release(self) -> None:
        """Drop the lock."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def recover_for_reading(root: Path, wait_s: float = 10.0) -> None:
    """Before reading: replay an interrupted commit if no writer is alive, else wait for it."""
    if not (root / TMP_DIR / JOURNAL).exists():
        return
    deadline = time.monotonic() + wait_s
    while has_pending(root):
        lock = WriterLock(root)
        try:
            free = lock.try_acquire()
        except PermissionError:
            raise DatasetError(f"{root} has an interrupted save: open it once with write access to finish it") from None
        if free:
            try:
                recover(root)
            finally:
                lock.release()
            return
        if time.monotonic() > deadline:
            raise DatasetError(f"{root}: a writer is in the middle of saving an episode; try again")
        time.sleep(0.05)
