"""A memory limit for all of a submission's processes together, where no cgroup can be made.

As root the grader puts a submission in a memory cgroup (``cgroups.py``) and the kernel
holds the sum. A normal user cannot make one, and ``RLIMIT_AS`` bounds each process only:
five children could hold five times the limit. So while the worker runs, ``Watchdog``
reads a few times a second the proportional set size (PSS, from ``/proc/PID/smaps_rollup``:
pages shared by several processes, such as the torch every forked child inherits, are
split between them, so they count once) of every process below the worker, and when the
sum goes over the limit it kills the process group of the largest one: the exercise that
allocated loses its points, the others go on. It polls, so a burst shorter than a poll can
pass; each process stays under its own ``RLIMIT_AS`` all the same. Linux only.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

POLL_S = 0.2
WRAPPERS = ("bwrap",)  # processes between the grader and the worker (bubblewrap's)


class Watchdog:
    """Kills the largest process group below ``root``'s worker when their PSS passes
    ``limit_bytes``; ``check`` is called between waits. ``killed`` counts its kills."""

    def __init__(self, root: int, limit_bytes: int) -> None:
        self.root, self.limit, self.killed = root, limit_bytes, 0

    def check(self) -> None:
        tree = _children()
        chain, below = _split(self.root, tree)
        sizes = {pid: _pss(pid) for pid in below}
        if sum(sizes.values()) + sum(_pss(p) for p in chain) <= self.limit or not sizes:
            return
        largest = max(sizes, key=sizes.__getitem__)
        group = _pgid(largest)
        try:
            if group is not None and group not in chain and group != largest:
                os.killpg(group, signal.SIGKILL)
            else:
                os.kill(largest, signal.SIGKILL)
            self.killed += 1
        except (ProcessLookupError, PermissionError):
            pass


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(ppid, []).append(int(stat.parent.name))
    return tree


def _split(root: int, tree: dict[int, list[int]]) -> tuple[set[int], set[int]]:
    """(the wrappers and the worker, every other process below ``root``). The worker is the
    first process down from ``root`` that is not a wrapper; bubblewrap's are made by the
    grader, so the learner cannot pass for one."""
    chain, node = {root}, root
    while _comm(node) in WRAPPERS and len(tree.get(node, [])) >= 1:
        node = min(tree[node])  # the first child bwrap made (the oldest pid)
        chain.add(node)
    below, todo = set(), list(tree.get(root, []))
    while todo:
        pid = todo.pop()
        if pid not in chain and pid not in below:
            below.add(pid)
        todo += tree.get(pid, [])
    return chain, below - chain


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def _pss(pid: int) -> int:
    """Bytes of PSS of ``pid`` (0 when it is gone or unreadable)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0
