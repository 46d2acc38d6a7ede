"""The grader's side of the sandbox: prepare a job, run the worker with limits, read results.

The learner's code runs only in the worker (``worker.py``), a separate OS process that
confines itself (``confine.py``). This module never imports the learner's code and never
unpickles anything: it reads back JSON and ``.npz`` arrays (``allow_pickle=False``) and
checks their size and types before handing them to the judge.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..exercises import Case, Exercise
from ..exercises.calling import InputChanged, LearnerError
from ..exercises.core import ALWAYS_FORBIDDEN, Problem, timed_out
from ..exercises.forbidden import runtime_names
from ..exercises.plain import NUMERIC_KINDS, pack, to_plain, unpack
from ..exercises.returns import returned_text
from ..i18n import tr
from . import jail
from .cgroups import MemoryGroup
from .uids import SANDBOX_UIDS, sandbox_uid
from .untrusted import clean_text, read_bytes, read_text, remove_tree
from .watchdog import POLL_S, Watchdog

HERE = Path(__file__).resolve().parent
RUNNER_FILES = (HERE / "worker.py", HERE / "confine.py", HERE / "refusals.py",
                HERE.parent / "exercises" / "calling.py", HERE.parent / "exercises" / "plain.py")
MAX_RESULT_BYTES = 64 * 1024 * 1024
MAX_TEXT = 4000  # characters of a learner's traceback or output shown back
MAX_LOG_BYTES = 4 * 1024 * 1024
NOGROUP = 65534
__all__ = ["SANDBOX_UIDS", "Cell", "SandboxLimits", "run_sandboxed"]


@dataclass(frozen=True)
class SandboxLimits:
    """What the learner's process may use. Times are wall-clock seconds."""

    notebook_s: float = 180.0
    exercise_s: float | None = None  # caps each exercise's own time limit (tests use it)
    memory_mb: int = 3072
    max_processes: int = 64
    max_file_mb: int = 32
    tmp_mb: int = 256  # each private tmpfs (/tmp, the working folder) under bubblewrap


@dataclass(frozen=True)
class Cell:
    """A cell to run in the sandbox: where it came from, and its code."""

    label: str
    source: str


def run_sandboxed(
    cells: list[Cell],
    exercises: list[Exercise],
    cases: dict[str, list[Case]],
    limits: SandboxLimits,
    hide: tuple[str, ...] = (),
    upstream: dict[str, tuple[list[str], list[str]]] | None = None,
    reference_cells: list[Cell] | None = None,
) -> tuple[dict[str, list[Any] | Problem], dict]:
    """Run the learner's cells and call each exercise's function on its cases.

    upstream: exercise id -> (function names, their grade_ids): earlier exercises whose
    functions are replaced by correct ones, defined by ``reference_cells`` (the
    instructor's setup and solution cells), before the cases run. Those cells reach the
    worker on its stdin, never through the job folder.

    Returns, per exercise id, either one output per case (plain data, ``LearnerError``
    or ``Problem``) or one ``Problem`` for the whole exercise; and what the sandbox
    managed to enforce on this machine.
    """
    root = hasattr(os, "geteuid") and os.geteuid() == 0 and sys.platform.startswith("linux")
    with sandbox_uid() if root else nullcontext(None) as uid:
        job = Path(tempfile.mkdtemp(prefix="gpt2course-grade-"))
        try:
            return _run_job(job, uid, cells, exercises, cases, limits, hide,
                            upstream or {}, reference_cells or [])
        finally:
            remove_tree(job)


@functools.cache
def warn_if_weak() -> bool:
    """Say once, on stderr, when bubblewrap cannot be used; True when it can."""
    ok, _ = jail.usable()
    if not ok and sys.platform.startswith("linux"):
        print(jail.fallback_warning(), file=sys.stderr)
    return ok


def _run_job(job: Path, uid: int | None, cells: list[Cell], exercises: list[Exercise],
             cases: dict[str, list[Case]], limits: SandboxLimits, hide: tuple[str, ...],
             upstream: dict[str, tuple[list[str], list[str]]],
             reference_cells: list[Cell]) -> tuple[dict[str, list[Any] | Problem], dict]:
    bwrap = sys.platform.startswith("linux") and warn_if_weak()
    _prepare(job, uid, cells, exercises, cases, limits, hide, bwrap, upstream)
    private = {"reference_cells": [asdict(c) for c in reference_cells]} if upstream else {}
    timed_out, grouped = _run_worker(job, limits, bwrap, json.dumps(private).encode())
    held = _read_json(job / "out", "confinement.json")
    held = held if isinstance(held, dict) else {}  # written by the learner's process: a hint
    held["bubblewrap"], held["memory_per_submission"] = bwrap, grouped
    outputs = {
        e.id: _read_outputs(job, n, len(cases[e.id]), e, timed_out)
        for n, e in enumerate(exercises)
    }
    return outputs, held


def _prepare(job: Path, uid: int | None, cells: list[Cell], exercises: list[Exercise],
             cases: dict[str, list[Case]], limits: SandboxLimits, hide: tuple[str, ...],
             bwrap: bool, upstream: dict[str, tuple[list[str], list[str]]]) -> None:
    runner = job / "runner"
    for d in (runner, job / "out", job / "work", job / "empty"):
        d.mkdir()
    for f in RUNNER_FILES:
        shutil.copy(f, runner / f.name)
    arrays: dict[str, np.ndarray] = {}
    spec = {
        "cells": [asdict(c) for c in cells],
        "exercises": [
            {
                "id": e.id,
                "function": e.function,
                "adapter": e.adapter,
                "time_limit_s": _time_limit(e, limits),
                "forbidden_modules": sorted({*ALWAYS_FORBIDDEN, *e.forbidden_modules}),
                "forbidden_functions": runtime_names(e),  # every spelling
                "must_not_modify": list(e.must_not_modify),
                "returns": [e.contract(c) for c in cases[e.id]],  # what each case must return
                "upstream": upstream.get(e.id, ([], []))[0],
                "upstream_cells": upstream.get(e.id, ([], []))[1],
                "cases": [pack(to_plain(c.inputs), arrays, f"e{n}c{k}_")
                          for k, c in enumerate(cases[e.id])],
            }
            for n, e in enumerate(exercises)
        ],
    }
    (job / "job.json").write_text(json.dumps(spec))
    np.savez(job / "inputs.npz", **arrays)
    (job / "settings.json").write_text(json.dumps(_settings(job, uid, exercises, limits, hide,
                                                            bwrap)))
    os.chmod(job, 0o711)  # other jobs' users may not list it
    if uid is not None:  # the worker drops to this user: it may write only out/ and work/
        for d in (job / "out", job / "work"):
            os.chown(d, uid, NOGROUP)
            os.chmod(d, 0o700)


def _settings(job: Path, uid: int | None, exercises: list[Exercise], limits: SandboxLimits,
              hide: tuple[str, ...], bwrap: bool) -> dict:
    total = sum(_time_limit(e, limits) for e in exercises)
    return {
        "memory_mb": limits.memory_mb,
        "max_processes": limits.max_processes,
        "max_file_mb": limits.max_file_mb,
        "cpu_seconds": total + 30,
        "hide": [] if bwrap else [*hidden_paths(), *hide],
        "empty_dir": str(job / "empty"),
        "uid": uid,
        "gid": NOGROUP,
        "bubblewrap": bwrap,  # namespaces and the allowlist are made already
        "python_path": [jail.PKGS] if bwrap else [],
        # without bubblewrap, the kernel's Landlock gives the same allowlist where it can
        "landlock": None if bwrap or not sys.platform.startswith("linux") else dict(
            zip(("read", "write"), jail.landlock_paths(job, proc=uid is not None),
                strict=True)),
    }


def _time_limit(exercise: Exercise, limits: SandboxLimits) -> float:
    return min(exercise.time_limit_s, limits.exercise_s or exercise.time_limit_s)


def hidden_paths() -> list[str]:
    """Folders to hide from the learner without bubblewrap (a denylist, so weaker): this
    package, libraries that would do the work, the checkout's git history, Gradescope's
    copy of the grader."""
    checkout_git = HERE.parents[1] / ".git"
    paths = [str(p) for p in (checkout_git, Path("/autograder/source")) if p.is_dir()]
    for name in ALWAYS_FORBIDDEN:
        spec = importlib.util.find_spec(name)
        if spec and spec.submodule_search_locations:
            # str(): an imported lazy package (transformers) lists Path objects here
            paths += [str(p) for p in spec.submodule_search_locations]
    return paths


def _run_worker(job: Path, limits: SandboxLimits, bwrap: bool,
                private: bytes = b"") -> tuple[bool, str | bool]:
    """Run the worker in its own session; kill everything in it at the end. Returns whether
    it timed out and how its memory limit holds for all its processes together: "cgroup"
    (the kernel), "watchdog" (polled, ``watchdog.py``) or False (per process only).
    ``private`` (JSON) goes to the worker's stdin, where the learner's code cannot read it.

    Under bubblewrap the worker sees the job folder at ``/job``; its process namespace dies
    with it. Otherwise it runs here directly, confined by ``confine.py``.
    """
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(job / "work"),
        "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if bwrap:
        command = jail.command(job, [f"{jail.JOB}/runner/worker.py", jail.JOB],
                               tmp_mb=limits.tmp_mb)
    else:
        command = [sys.executable, "-I", str(job / "runner" / "worker.py"), str(job)]
    # The log lies outside out/: the learner's process writes to it only through its
    # descriptor (bounded by the file-size limit) and cannot swap it for a link.
    group = MemoryGroup.create(limits.memory_mb * 1024 * 1024)
    if group is not None:  # join the group before the first fork: children follow
        command = group.joining(command)
    with open(job / "worker.log", "wb") as log:
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=log, stderr=log,
                                env=env, cwd=job / "work", start_new_session=True)
        try:
            proc.stdin.write(private)  # type: ignore[union-attr] - stdin is a pipe
            proc.stdin.close()  # type: ignore[union-attr]
        except OSError:
            pass  # the worker died before reading: its missing results say why
        dog = None if group is not None or not sys.platform.startswith("linux") else \
            Watchdog(proc.pid, limits.memory_mb * 1024 * 1024)
        timed_out = _wait(proc, limits.notebook_s, dog)
        _kill_session(proc.pid)
        proc.wait()
        grouped = "cgroup" if group is not None and group.peak_bytes() > 0 else (
            "watchdog" if dog is not None else False)  # how the sum is held (the README)
        if group is not None:
            group.close()
    return timed_out, grouped


def _wait(proc: subprocess.Popen, seconds: float, dog: Watchdog | None) -> bool:
    """Wait for the worker at most ``seconds``, the watchdog looking at its memory between
    waits; True when it ran out of time."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            proc.wait(timeout=max(0.0, min(POLL_S, deadline - time.monotonic())) if dog
                      else seconds)
            return False
        except subprocess.TimeoutExpired:
            if time.monotonic() >= deadline:
                return True
        if dog is not None:
            dog.check()


def _kill_session(sid: int) -> None:
    """Kill every process of the worker's session, again until none is left: a fork bomb
    keeps making new ones while we kill (children in their own groups are found too)."""
    for _ in range(100):
        pids = _session_members(sid)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def _session_members(sid: int) -> set[int]:
    if not Path("/proc/self/stat").exists():  # not Linux: the process group is what we have
        try:
            os.killpg(sid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        return set()
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            # after the name: state, ppid, pgrp, session; zombies are already dead
            if int(fields[3]) == sid and fields[0] != "Z":
                found.add(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def _read_outputs(job: Path, number: int, n_cases: int, exercise: Exercise,
                  notebook_timed_out: bool) -> list[Any] | Problem:
    out = job / "out"
    result = _read_json(out, f"{number}.json")
    if not isinstance(result, dict):
        return Problem(_why_no_result(job, number, exercise, notebook_timed_out))
    try:
        arrays = _read_arrays(out, f"{number}.npz")
        if result.get("missing"):
            return Problem(_missing(exercise, result.get("cell_errors", [])))
        records = result["cases"]
        if len(records) != n_cases:
            raise ValueError("wrong number of cases")
        return [_output(r, arrays) for r in records]
    except (KeyError, TypeError, ValueError, AttributeError, zipfile.BadZipFile, OSError,
            RecursionError, MemoryError):
        return Problem(tr("The grader could not read what your code returned. Return a "
                          "torch.Tensor, a number, a string, or a list of these."))


def _output(record: dict, arrays: dict[str, np.ndarray]) -> Any:
    if "error" in record:
        return LearnerError(clean_text(record["error"], MAX_TEXT))
    if "changed" in record:
        return InputChanged([clean_text(n, 100) for n in list(record["changed"])[:10]])
    if "returned" in record:  # a breach of the exercise's contract, in check's words
        return Problem(returned_text(record["returned"]))
    if "problem" in record:
        return Problem(clean_text(record["problem"], MAX_TEXT))
    return unpack(record["value"], arrays)


def _read_json(folder: Path, name: str) -> Any:
    """JSON the learner's process may have written: a regular file, bounded, no link."""
    text = read_text(folder, name, MAX_RESULT_BYTES)
    try:
        return None if text is None else json.loads(text)
    except (ValueError, RecursionError):
        return None


def _read_arrays(folder: Path, name: str) -> dict[str, np.ndarray]:
    """Arrays of numbers only; the declared sizes are checked before anything is unpacked."""
    data = read_bytes(folder, name, MAX_RESULT_BYTES)
    if data is None:
        raise ValueError("no readable arrays")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        if sum(i.file_size for i in z.infolist()) > MAX_RESULT_BYTES:
            raise ValueError("results too large")
        for info in z.infolist():  # the sizes its headers declare, before numpy allocates
            with z.open(info) as member:
                _check_header(member, info.file_size)
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    if any(a.dtype.kind not in NUMERIC_KINDS for a in arrays.values()):
        raise ValueError("non-numeric array")
    return arrays


def _check_header(member: Any, size: int) -> None:
    """Refuse an ``.npy`` whose header asks for objects or for more data than it holds
    (numpy would allocate what the header says before reading)."""
    version = np.lib.format.read_magic(member)
    read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
            else np.lib.format.read_array_header_2_0)
    shape, _, dtype = read(member, max_header_size=10_000)
    count = int(np.prod(shape, dtype=object))
    if dtype.hasobject or dtype.kind not in NUMERIC_KINDS or count * dtype.itemsize > size:
        raise ValueError("array header does not match its data")


def _why_no_result(job: Path, number: int, exercise: Exercise, notebook_timed_out: bool) -> str:
    status = _read_json(job / "out", f"{number}.exit.json")
    status = status if isinstance(status, dict) else {}
    name = exercise.function
    if status.get("timed_out"):
        limit = status.get("limit_s")
        seconds = float(limit) if isinstance(limit, int | float) else exercise.time_limit_s
        return timed_out(name, seconds).text  # check's words too
    if notebook_timed_out and not status:
        return tr("Not run: the whole notebook went over its time limit before this exercise.")
    if status.get("signal") in (signal.SIGKILL, signal.SIGSEGV, signal.SIGXCPU):
        return tr("The process running {name} was stopped (signal {signal}): it probably "
                  "used too much memory or CPU time.", name=name, signal=status["signal"])
    if status:
        return tr("Your code stopped the process before {name} returned a result (exit code "
                  "{code}); do not call exit() or os._exit().", name=name,
                  code=str(status.get("exit_code")))
    log = clean_text((read_text(job, "worker.log", MAX_LOG_BYTES) or "")[-1500:], 1500)
    return tr("The grading process failed before this exercise ran.") + (
        f"\n{log}" if log else "")


def _missing(exercise: Exercise, cell_errors: list) -> str:
    text = tr("No function or class named {name!r} was defined. Keep the name the exercise "
              "gives.", name=exercise.function)
    errors = [clean_text(e, 300) for e in cell_errors[:5]]
    return text + ("\n" + tr("Errors in your cells:") + "\n" + "\n".join(errors)
                   if errors else "")

