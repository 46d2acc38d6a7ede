"""Shut the learner's process in: no network, hidden reference code, another user, limits.

Under bubblewrap (``jail.py``) the namespaces and the file-system allowlist exist already;
this adds the user id and the limits. Without it, this is the whole (weaker) confinement.

The sandbox worker calls ``confine`` first thing, before it reads the job or imports
torch. It is loaded from its file path, so it uses the standard library only. Each step
is done where the machine allows it and reported in the returned dict; steps that need
root (hiding paths, changing user) are skipped otherwise.
"""

from __future__ import annotations

import ctypes
import os
import resource
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_BIND, MS_REC, MS_PRIVATE = 0x1000, 0x4000, 0x40000


def confine(settings: dict) -> dict:
    """Apply ``settings`` (see ``sandbox.SandboxLimits``) to this process; say what held."""
    held: dict = {"platform": sys.platform}
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    if settings.get("bubblewrap"):  # bwrap made the namespaces and the allowlist view
        held["network_cut"], held["hidden_paths"] = True, ["allowlist"]
    elif sys.platform.startswith("linux"):
        held["network_cut"] = _unshare(CLONE_NEWNET) or (
            not root and _unshare(CLONE_NEWUSER | CLONE_NEWNET))
        held["hidden_paths"] = _hide(settings["hide"], settings["empty_dir"]) if root else []
    else:
        held["network_cut"], held["hidden_paths"] = False, []
    if root and settings.get("uid") is not None:
        os.setgroups([])
        os.setgid(settings["gid"])
        os.setuid(settings["uid"])
    held["uid"] = os.getuid() if hasattr(os, "getuid") else None
    mib = 1024 * 1024
    limits = {
        "RLIMIT_AS": settings["memory_mb"] * mib,
        "RLIMIT_NPROC": settings["max_processes"],
        "RLIMIT_FSIZE": settings["max_file_mb"] * mib,
        "RLIMIT_CPU": int(settings["cpu_seconds"]),
        "RLIMIT_CORE": 0,
    }
    held["limits"] = {}
    for name, value in limits.items():
        which = getattr(resource, name, None)
        if which is None:
            continue
        try:
            hard = resource.getrlimit(which)[1]
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, value))
            held["limits"][name] = value
        except (ValueError, OSError):
            pass  # e.g. macOS refuses RLIMIT_AS; reported by its absence
    return held


def _unshare(flags: int) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.unshare(flags) == 0
    except (OSError, AttributeError):
        return False


def _hide(paths: list[str], empty_dir: str) -> list[str]:
    """In a private mount namespace, cover each folder with an empty one."""
    if not _unshare(CLONE_NEWNS):
        return []
    libc = ctypes.CDLL(None, use_errno=True)
    # Keep our mounts from spreading back to the host's namespace.
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return []
    hidden = []
    # A /proc of our own that shows only this user's processes (the grader's command
    # line, with its --seed, among the hidden ones). Without a new pid namespace.
    if libc.mount(b"proc", b"/proc", b"proc", 0, b"hidepid=2") == 0:
        hidden.append("/proc (other users' processes)")
    for path in paths:
        if os.path.isdir(path) and libc.mount(empty_dir.encode(), path.encode(), None,
                                              MS_BIND, None) == 0:
            hidden.append(path)
    return hidden
