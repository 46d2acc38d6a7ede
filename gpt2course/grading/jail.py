"""Run the sandbox worker inside bubblewrap: an allowlist view of the machine.

bubblewrap (``bwrap``, the Debian/Ubuntu/Fedora package ``bubblewrap``, the sandbox Flatpak
uses) starts the worker in new namespaces: its own process ids (a private ``/proc`` that
shows only this submission's processes, all killed when the worker ends), no network
(loopback only, so no TCP and no abstract Unix sockets of the host), its own IPC and
host name, and a root file system built from nothing but:

- the job folder at ``/job`` (its inputs read-only, ``/job/out`` for results,
  ``/job/work`` and ``/tmp`` as small private tmpfs that vanish with the sandbox);
- Python's interpreter and standard library (any ``site-packages`` inside covered);
- the system's shared libraries (``/usr/lib``, ``/lib*``);
- the allowed Python packages, ``ALLOWED_DISTRIBUTIONS`` and what they require, at
  ``/pkgs`` — never this package, tiktoken, transformers, the checkout or its ``.git``.

As root, bwrap runs without a user namespace and keeps only CAP_SETUID/CAP_SETGID, so
the worker can drop to the submission's own user id after importing torch. As a normal
user, bwrap uses an unprivileged user namespace. Where bwrap is missing or the kernel
refuses namespaces, ``usable()`` says why and the grader falls back to ``confine.py``.
"""

from __future__ import annotations

import functools
import importlib.metadata as metadata
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from ..i18n import tr

JOB = "/job"
PKGS = "/pkgs"
ALLOWED_DISTRIBUTIONS = ("torch", "numpy", "regex")
# Read-only inputs of a job; out/ is bound writable, work/ and /tmp are fresh tmpfs.
JOB_INPUTS = ("runner", "job.json", "settings.json", "inputs.npz")
SYSTEM_LIBS = ("/lib", "/lib64", "/lib32", "/libx32", "/usr/lib", "/usr/lib64", "/usr/lib32")
NO_BWRAP_ENV = "GPT2COURSE_NO_BWRAP"  # "1": use the fallback (tests of the fallback use it)


def interpreter() -> Path:
    """The real Python binary (a venv's ``python`` is a link or a copy of it)."""
    return Path(os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable))


@functools.cache
def usable() -> tuple[bool, str]:
    """Whether bwrap can start a sandbox here, and if not, why (one line, translated)."""
    if os.environ.get(NO_BWRAP_ENV) == "1":
        return False, tr("bubblewrap is turned off by {var}=1.", var=NO_BWRAP_ENV)
    exe = shutil.which("bwrap")
    if exe is None:
        return False, tr("bubblewrap (bwrap) is not installed; install the package "
                         "'bubblewrap' (apt-get install bubblewrap).")
    probe = [*_namespaces(), *_system_binds(), *_python_binds(),
             "--proc", "/proc", "--dev", "/dev", str(interpreter()), "-I", "-S", "-c", "pass"]
    try:
        done = subprocess.run([exe, *probe], capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as err:
        return False, tr("bubblewrap could not start: {error}", error=str(err)[:200])
    if done.returncode != 0:
        return False, tr("bubblewrap cannot create namespaces here ({error}); the kernel or "
                         "the container forbids them.",
                         error=(done.stderr.strip().splitlines() or ["?"])[-1][:200])
    return True, exe


def fallback_warning() -> str:
    """The warning printed once when grading falls back to the hand-rolled confinement."""
    return tr("Warning: {reason} Learners' code runs with weaker confinement: it may read "
              "files this user can read. See 'What the sandbox enforces' in the README.",
              reason=usable()[1])


def command(job: Path, worker_args: list[str], *, tmp_mb: int) -> list[str]:
    """The bwrap command line that runs ``interpreter() -I -S worker_args`` for ``job``."""
    ok, exe = usable()
    if not ok:
        raise RuntimeError(exe)
    args = [exe, *_namespaces(), "--die-with-parent", "--new-session",
            "--proc", "/proc", "--dev", "/dev", *_system_binds(), *_python_binds()]
    for path in package_paths():
        args += ["--ro-bind", str(path), f"{PKGS}/{path.name}"]
    for name in JOB_INPUTS:
        args += ["--ro-bind", str(job / name), f"{JOB}/{name}"]
    args += ["--bind", str(job / "out"), f"{JOB}/out"]
    size = str(tmp_mb * 1024 * 1024)
    for tmpfs in ("/tmp", f"{JOB}/work"):
        args += ["--perms", "1777", "--size", size, "--tmpfs", tmpfs]
    args += ["--chdir", f"{JOB}/work", "--setenv", "HOME", f"{JOB}/work",
             "--setenv", "TMPDIR", "/tmp"]
    return [*args[:1], *_parents(args[1:]), *args[1:], str(interpreter()), "-I", "-S",
            *worker_args]


def landlock_paths(job: Path, *, proc: bool = False) -> tuple[list[str], list[str]]:
    """(read-only, read-write) paths of a job without bubblewrap, for ``confine.landlock``:
    the same allowlist as bwrap's view (the job, Python's standard library less its
    site-packages, the allowed packages, the system's shared libraries), where the job's
    ``out`` and ``work`` folders and ``/dev/null`` are writable. ``proc``: ``/proc`` too
    (as root, where the job's own ``/proc`` shows only its sandbox user's processes)."""
    stdlib = Path(os.path.realpath(os.path.dirname(os.__file__)))
    read = [str(interpreter()), str(job), "/etc/ld.so.cache", "/proc" if proc else
            "/proc/cpuinfo", "/sys/devices/system/cpu", "/dev/urandom"]
    read += [str(p) for p in stdlib.iterdir() if p.name not in ("site-packages", "dist-packages")]
    read += [str(p) for p in sorted(Path(os.path.realpath(sys.base_prefix)).glob("lib/libpython*"))]
    read += [str(p) for p in package_paths()]
    for libs in SYSTEM_LIBS:  # shared libraries, not Debian's Python packages in /usr/lib
        folder = Path(libs)
        if folder.is_dir():
            read += [str(p) for p in folder.iterdir() if not p.name.startswith("python")]
    return read, [str(job / "out"), str(job / "work"), "/dev/null"]


def _parents(args: list[str]) -> list[str]:
    """``--dir`` for every folder above a mount point, readable by all: bwrap would make
    them 0700 as root, and the worker, once it is the sandbox user, could not pass."""
    targets = [args[i + 2] for i, a in enumerate(args) if a in ("--ro-bind", "--bind")]
    targets += [args[i + 1] for i, a in enumerate(args) if a == "--tmpfs"]
    parents = {str(p) for t in targets for p in Path(t).parents if str(p) != "/"}
    links = {args[i + 2] for i, a in enumerate(args) if a == "--symlink"}
    out = []
    for folder in sorted(parents - links, key=lambda p: (p.count("/"), p)):
        if not any(folder.startswith(link + "/") for link in links):
            out += ["--perms", "0755", "--dir", folder]
    return out


def _namespaces() -> list[str]:
    common = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
              "--unshare-cgroup-try"]
    if os.geteuid() == 0:  # no user namespace: the worker drops to its own uid itself
        return [*common, "--cap-drop", "ALL", "--cap-add", "CAP_SETUID",
                "--cap-add", "CAP_SETGID"]
    return ["--unshare-user", *common]


def _system_binds() -> list[str]:
    args = []
    for path in SYSTEM_LIBS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    if os.path.isfile("/etc/ld.so.cache"):
        args += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    # Debian's system-wide Python packages live under /usr/lib: not on the allowlist.
    for packages in sorted(Path("/usr/lib").glob("python3*/dist-packages")):
        args += ["--tmpfs", str(packages)]
    return args


def _python_binds() -> list[str]:
    exe = interpreter()
    stdlib = Path(os.path.realpath(os.path.dirname(os.__file__)))
    libs = sorted(Path(os.path.realpath(sys.base_prefix)).glob("lib/libpython*"))
    args = []
    for path in (exe, stdlib, *libs):
        args += ["--ro-bind", str(path), str(path)]
    for packages in ("site-packages", "dist-packages"):  # third-party packages: not allowed
        if (stdlib / packages).is_dir():
            args += ["--tmpfs", str(stdlib / packages)]
    return args


@functools.cache
def package_paths() -> tuple[Path, ...]:
    """The folders and modules of the allowed distributions and of all they require."""
    paths: dict[str, Path] = {}
    todo, seen = list(ALLOWED_DISTRIBUTIONS), set()
    while todo:
        name = _canonical(todo.pop())
        if name in seen or name in _NOT_NEEDED:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        todo += [req for line in dist.requires or [] if (req := _required(line))]
        for top in {f.parts[0] for f in dist.files or [] if f.parts and f.parts[0] != ".."}:
            located = Path(os.path.realpath(dist.locate_file(top)))
            if located.exists() and top.split(".")[0] not in _FORBIDDEN_TOPS and not \
                    top.endswith(".pth"):
                paths.setdefault(top, located)
    return tuple(paths[k] for k in sorted(paths))


_NOT_NEEDED = {"setuptools", "pip"}  # torch requires setuptools only to build extensions
_FORBIDDEN_TOPS = {"gpt2course", "tiktoken", "transformers", "__pycache__", "bin"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _required(line: str) -> str | None:
    """The distribution a ``Requires-Dist`` line names, unless only an extra wants it."""
    name, _, marker = line.partition(";")
    if "extra" in marker:
        return None
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", name)
    return match.group(1) if match else None
