"""Reading what the learner's process wrote, and removing it, without trusting any of it.

The learner's code can put anything in its output folder: a symbolic link to a root-only
file, a FIFO that blocks a reader forever, a device, a huge file, a folder chain deeper
than Python's recursion limit. So every read here opens with ``O_NOFOLLOW`` (relative to
a folder opened the same way) and ``O_NONBLOCK``, accepts only a regular file, and
reads at most a bounded number of bytes; cleanup never raises.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from ..i18n import tr


def read_bytes(folder: Path, name: str, limit: int) -> bytes | None:
    """The bytes of regular file ``folder/name`` if it has at most ``limit``, else None.

    Neither ``folder`` nor ``name`` may be a symbolic link; a FIFO, socket or device
    gives None at once.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(
        os, "O_CLOEXEC", 0)
    try:
        dir_fd = os.open(folder, flags | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return None
    try:
        fd = os.open(name, flags, dir_fd=dir_fd)
    except OSError:
        return None
    finally:
        os.close(dir_fd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks) if total <= limit else None
    except OSError:
        return None
    finally:
        os.close(fd)


def read_text(folder: Path, name: str, limit: int) -> str | None:
    data = read_bytes(folder, name, limit)
    return None if data is None else data.decode("utf-8", errors="replace")


def remove_tree(path: Path) -> None:
    """Delete a job folder whatever the learner left in it; never raises (warns instead)."""
    def unlock(func, target, _exc):  # a folder the learner made unreadable: open it, retry
        try:
            os.chmod(os.path.dirname(target), 0o700)
            os.chmod(target, 0o700)
            func(target)
        except OSError:
            pass

    try:
        shutil.rmtree(path, onerror=unlock)
    except (OSError, RecursionError):  # e.g. a folder chain deeper than the recursion limit
        pass
    if os.path.lexists(path):
        try:  # GNU rm walks any depth without recursion
            subprocess.run(["rm", "-rf", "--one-file-system", "--", str(path)],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
        except (OSError, subprocess.SubprocessError):
            pass
    if os.path.lexists(path):
        print(tr("Warning: could not remove the grading folder {path}; delete it by hand.",
                 path=str(path)), file=sys.stderr)


# C0 controls but tab and newline, DEL, C1 controls (a terminal acts on ESC, CSI, OSC: it
# moves the cursor, rewrites lines, sets the clipboard), and the bidirectional overrides
# that make text read differently from what it holds; and lone surrogates (a learner's
# string "\udcff"), which no UTF-8 terminal, CSV or JSON file can take.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def clean_text(text: str, limit: int) -> str:
    """Learner-made text made safe to print and store: unsafe characters shown as escapes
    (``\\x1b``), at most ``limit`` characters (cut where a line ends when one is near)."""
    text = _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256
                       else f"\\u{ord(m.group()):04x}", str(text)[: limit * 4 + 16])
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", limit // 2, limit)
    return text[: cut if cut > 0 else limit] + "\n..."
