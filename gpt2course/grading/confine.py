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
    allow = settings.get("landlock")
    if allow:  # last: the steps above still read and mount what they need
        held["landlock"] = landlock(allow["read"], allow["write"])
        if held["landlock"]:
            held["hidden_paths"] = ["allowlist (Landlock)"]
    return held


CLONE_NEWPID = 0x20000000


def new_pid_namespace() -> bool:
    """Make the next child this process forks the first process (pid 1) of a new pid
    namespace: when that child ends, the kernel kills every process left in it, a daemon
    that left the session included. Needs root, or a user namespace of our own (the
    fallback's ``CLONE_NEWUSER`` above); False where it cannot."""
    return sys.platform.startswith("linux") and _unshare(CLONE_NEWPID)


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


# --- Landlock: an allowlist of files, and no signals or sockets out, without privileges ---

_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446  # every Linux arch
_PR_SET_NO_NEW_PRIVS, _RULE_PATH_BENEATH = 38, 1
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FILE_RIGHTS = _EXECUTE | _WRITE_FILE | _READ_FILE | (1 << 14) | (1 << 15)  # + truncate, ioctl
_READ = _EXECUTE | _READ_FILE | _READ_DIR


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    """The Landlock ABI version of this kernel, 0 when it has none (or not Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        return max(0, int(libc.syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0),
                                       ctypes.c_uint32(1))))
    except (OSError, AttributeError):
        return 0


def landlock(read: list[str], write: list[str]) -> int:
    """Let this process and its children open only ``read`` (read-only) and ``write``
    (read-write) paths, connect or bind no TCP port, and send no signal nor reach any
    abstract Unix socket outside themselves, with Linux's Landlock (5.13+; the network from
    ABI 4, the signals and sockets from ABI 6). No privileges needed. Returns the ABI
    version applied, 0 when the kernel has no Landlock."""
    abi = landlock_abi() if sys.platform.startswith("linux") else 0
    if abi < 1:
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    fs = (1 << [13, 13, 14, 15, 15, 16, 16][min(abi, 7) - 1]) - 1  # rights this ABI knows
    attr = (ctypes.c_uint64 * 3)(fs, 3 if abi >= 4 else 0, 3 if abi >= 6 else 0)
    size = 8 * (1 if abi < 4 else 2 if abi < 6 else 3)
    ruleset = libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size),
                           ctypes.c_uint32(0))
    if ruleset < 0:
        return 0
    try:
        for paths, rights in ((read, _READ), (write, fs)):
            for path in paths:
                _allow(libc, int(ruleset), path, rights & fs)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or libc.syscall(
                _SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            return 0
    finally:
        os.close(ruleset)
    return int(abi)


def _allow(libc: ctypes.CDLL, ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # not on this machine
    try:
        if not os.path.isdir(path):
            rights &= _FILE_RIGHTS
        rule = _PathBeneath(rights, fd)
        libc.syscall(_SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH),
                     ctypes.byref(rule), ctypes.c_uint32(0))
    finally:
        os.close(fd)
