"""One memory control group per submission, where the machine lets the grader make one.

``RLIMIT_AS`` bounds each process; a submission that forks five children could still hold
five times the limit. A memory cgroup bounds them together: the kernel stops the
submission's processes, not the machine, when their sum goes over. Making a cgroup needs
root and a writable cgroup file system (cgroup v1's ``memory`` hierarchy or cgroup v2 with
the ``memory`` controller delegated); elsewhere ``MemoryGroup.create`` returns None and
the per-process limit is all there is (``confinement`` in the JSON says which held).
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


class MemoryGroup:
    """A cgroup with a memory limit; ``add`` a process, ``close`` kills what is left in it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, limit_bytes: int) -> MemoryGroup | None:
        """A new group below this process's own, limited to ``limit_bytes``; None if the
        machine does not allow it (not root, no cgroup file system, no memory controller)."""
        if not hasattr(os, "geteuid") or os.geteuid() != 0:
            return None
        for parent, limit_files in _candidates():
            path = parent / f"gpt2course-{uuid.uuid4().hex[:12]}"
            try:
                path.mkdir()
            except OSError:
                continue
            group = cls(path)
            if group._limit(limit_files, limit_bytes):
                return group
            group.close()
        return None

    def _limit(self, files: tuple[str, ...], limit_bytes: int) -> bool:
        try:
            (self.path / files[0]).write_text(str(limit_bytes))
        except OSError:
            return False
        for extra in files[1:]:  # swap too, where the kernel accounts it
            try:
                (self.path / extra).write_text(str(limit_bytes if "memsw" in extra else 0))
            except OSError:
                pass
        return True

    def joining(self, command: list[str]) -> list[str]:
        """``command`` run by a shell that first moves itself into the group, then execs
        it: its children are born inside (moving a process later leaves them out)."""
        return ["/bin/sh", "-c", 'echo $$ > "$0" 2>/dev/null; exec "$@"',
                str(self.path / "cgroup.procs"), *command]

    def peak_bytes(self) -> int:
        """The most memory the group's processes held together (0 if unknown)."""
        for name in ("memory.max_usage_in_bytes", "memory.peak"):
            try:
                return int((self.path / name).read_text())
            except (OSError, ValueError):
                continue
        return 0

    def close(self) -> None:
        """Kill every process still in the group and remove it; never raises."""
        for _ in range(100):
            try:
                pids = [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
            except (OSError, ValueError):
                break
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.01)
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.02)  # the last processes are still exiting


def _candidates(lines: list[str] | None = None) -> list[tuple[Path, tuple[str, ...]]]:
    """(folder to make the group in, its limit files) for cgroup v1 and v2, from the lines
    of ``/proc/self/cgroup`` (read when not given)."""
    found = []
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines() if lines is None else lines
    except OSError:
        return []
    for line in lines:
        _, controllers, own = line.split(":", 2)
        own = own.lstrip("/")
        if "memory" in controllers.split(","):  # cgroup v1
            base = CGROUP_ROOT / "memory"
            found.append((base / own, ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes")))
        elif controllers == "" and (CGROUP_ROOT / "cgroup.controllers").exists():  # v2
            found.append((CGROUP_ROOT / own, ("memory.max", "memory.swap.max")))
    return [(parent, files) for parent, files in found if parent.is_dir()]
