"""Sandbox user ids, one per running submission, safe across concurrent ``grade`` runs.

As root, each submission runs as its own unprivileged user id that no account uses: the
process limit counts per user, files of one job are closed to another, and when the job
ends every process of that user id is killed. An id is taken with an exclusive ``flock``
on a file in a root-only folder (so two ``grade`` runs never share one), and only while
no process of that id is alive (a daemon left by a killed run cannot reach the next
student). Linux only; elsewhere there is no root mode.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import signal
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SANDBOX_UIDS = range(190_000, 190_256)
LOCK_DIR = Path("/run/gpt2course-uids")


@contextmanager
def sandbox_uid() -> Iterator[int]:
    """Hold a free sandbox uid for the ``with`` block; kill all its processes after."""
    fd, uid = _acquire()
    try:
        yield uid
    finally:
        kill_user(uid)
        os.close(fd)  # releases the lock


def _lock_dir() -> Path:
    """A root-only folder for the locks: /run, else the temp folder (checked: a learner's
    process may have made one there first)."""
    for folder in (LOCK_DIR, Path(tempfile.gettempdir()) / LOCK_DIR.name):
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
            info = os.lstat(folder)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_uid == 0 and not info.st_mode & 0o077:
            return folder
    raise RuntimeError(f"no root-only folder for sandbox user locks ({LOCK_DIR})")


def _acquire() -> tuple[int, int]:
    lock_dir = _lock_dir()
    for _attempt in range(600):
        for uid in SANDBOX_UIDS:
            if _has_account(uid):
                continue
            fd = os.open(lock_dir / str(uid), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            if kill_user(uid):  # nothing of an earlier job may live on
                return fd, uid
            os.close(fd)
        time.sleep(0.5)
    raise RuntimeError("no free sandbox user id")


def _has_account(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        return False


def processes_of(uid: int) -> set[int]:
    """Process ids whose real or effective user is ``uid`` (zombies left out)."""
    found = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines()
                          if ":" in line)
            ids = fields["Uid"].split()
            if str(uid) in ids[:2] and not fields.get("State", "").strip().startswith("Z"):
                found.add(int(status.parent.name))
        except (OSError, KeyError, ValueError):
            continue
    return found


def kill_user(uid: int, rounds: int = 100) -> bool:
    """SIGKILL every process of ``uid``, again until none is left. True if none is left."""
    for _ in range(rounds):
        pids = processes_of(uid)
        if not pids:
            return True
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.01)
    return not processes_of(uid)
