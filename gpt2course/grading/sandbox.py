"""The grader's side of the sandbox: prepare a job, run the worker with limits, read results.

The learner's code runs only in the worker (``worker.py``), a separate OS process that
confines itself (``confine.py``). This module never imports the learner's code and never
unpickles anything: it reads back JSON and ``.npz`` arrays (``allow_pickle=False``) and
checks their size and types before handing them to the judge.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pwd
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..exercises import Case, Exercise
from ..exercises.calling import NUMERIC_KINDS, LearnerError, pack, to_plain, unpack
from ..exercises.core import ALWAYS_FORBIDDEN, Problem

HERE = Path(__file__).resolve().parent
RUNNER_FILES = (HERE / "worker.py", HERE / "confine.py", HERE.parent / "exercises" / "calling.py")
MAX_RESULT_BYTES = 64 * 1024 * 1024
MAX_TEXT = 4000  # characters of a learner's traceback or output shown back

# When the grader runs as root, each running sandbox gets its own unprivileged user id, one
# no account uses: the process limit counts per user, so a fork bomb in one submission
# cannot starve another graded at the same time, and nothing of one can touch the other.
SANDBOX_UIDS = range(190_000, 190_064)
NOGROUP = 65534
_free_uids: queue.Queue[int] = queue.Queue()
for _uid in SANDBOX_UIDS:
    try:
        pwd.getpwuid(_uid)
    except KeyError:
        _free_uids.put(_uid)


@dataclass(frozen=True)
class SandboxLimits:
    """What the learner's process may use. Times are wall-clock seconds."""

    notebook_s: float = 180.0
    exercise_s: float | None = None  # caps each exercise's own time limit (tests use it)
    memory_mb: int = 3072
    max_processes: int = 64
    max_file_mb: int = 32


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
) -> tuple[dict[str, list[Any] | Problem], dict]:
    """Run the learner's cells and call each exercise's function on its cases.

    Returns, per exercise id, either one output per case (plain data, ``LearnerError``
    or ``Problem``) or one ``Problem`` for the whole exercise; and what the sandbox
    managed to enforce on this machine.
    """
    uid = _free_uids.get() if os.geteuid() == 0 else None
    try:
        with tempfile.TemporaryDirectory(prefix="gpt2course-grade-") as tmp:
            return _run_job(Path(tmp), uid, cells, exercises, cases, limits, hide)
    finally:
        if uid is not None:
            _free_uids.put(uid)


def _run_job(job: Path, uid: int | None, cells: list[Cell], exercises: list[Exercise],
             cases: dict[str, list[Case]], limits: SandboxLimits,
             hide: tuple[str, ...]) -> tuple[dict[str, list[Any] | Problem], dict]:
    _prepare(job, uid, cells, exercises, cases, limits, hide)
    timed_out = _run_worker(job, limits)
    held = _read_json(job / "out" / "confinement.json") or {}
    outputs = {
        e.id: _read_outputs(job / "out", n, len(cases[e.id]), e, timed_out)
        for n, e in enumerate(exercises)
    }
    return outputs, held


def _prepare(job: Path, uid: int | None, cells: list[Cell], exercises: list[Exercise],
             cases: dict[str, list[Case]], limits: SandboxLimits, hide: tuple[str, ...]) -> None:
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
                "forbidden_functions": list(e.forbidden_functions),
                "cases": [pack(to_plain(c.inputs), arrays, f"e{n}c{k}_")
                          for k, c in enumerate(cases[e.id])],
            }
            for n, e in enumerate(exercises)
        ],
    }
    (job / "job.json").write_text(json.dumps(spec))
    np.savez(job / "inputs.npz", **arrays)
    total = sum(_time_limit(e, limits) for e in exercises)
    settings = {
        "memory_mb": limits.memory_mb,
        "max_processes": limits.max_processes,
        "max_file_mb": limits.max_file_mb,
        "cpu_seconds": total + 30,
        "hide": [*hidden_paths(), *hide],
        "empty_dir": str(job / "empty"),
        "uid": uid,
        "gid": NOGROUP,
    }
    (job / "settings.json").write_text(json.dumps(settings))
    os.chmod(job, 0o755)
    if uid is not None:  # the worker drops to this user: it may write only out/ and work/
        for d in (job / "out", job / "work"):
            os.chown(d, uid, NOGROUP)


def _time_limit(exercise: Exercise, limits: SandboxLimits) -> float:
    return min(exercise.time_limit_s, limits.exercise_s or exercise.time_limit_s)


def hidden_paths() -> list[str]:
    """Folders to hide from the learner: this package and libraries that would do the work."""
    paths = []
    for name in ALWAYS_FORBIDDEN:
        spec = importlib.util.find_spec(name)
        if spec and spec.submodule_search_locations:
            # str(): an imported lazy package (transformers) lists Path objects here
            paths += [str(p) for p in spec.submodule_search_locations]
    return paths


def _run_worker(job: Path, limits: SandboxLimits) -> bool:
    """Run the worker in its own session; kill everything in it at the end. True if timed out."""
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
    with open(job / "out" / "worker.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-I", str(job / "runner" / "worker.py"), str(job)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, cwd=job / "work",
            start_new_session=True,
        )
        try:
            proc.wait(timeout=limits.notebook_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        _kill_session(proc.pid)
        proc.wait()
    return timed_out


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


def _read_outputs(out: Path, number: int, n_cases: int, exercise: Exercise,
                  notebook_timed_out: bool) -> list[Any] | Problem:
    result = _read_json(out / f"{number}.json")
    if result is None:
        return Problem(_why_no_result(out, number, exercise, notebook_timed_out))
    try:
        arrays = _read_arrays(out / f"{number}.npz")
        if result.get("missing"):
            return Problem(_missing(exercise, result.get("cell_errors", [])))
        records = result["cases"]
        if len(records) != n_cases:
            raise ValueError("wrong number of cases")
        return [_output(r, arrays) for r in records]
    except (KeyError, TypeError, ValueError, AttributeError, zipfile.BadZipFile, OSError):
        return Problem("The grader could not read what your code returned. Return a "
                       "torch.Tensor, a number, a string, or a list of these.")


def _output(record: dict, arrays: dict[str, np.ndarray]) -> Any:
    if "error" in record:
        return LearnerError(str(record["error"])[:MAX_TEXT])
    if "problem" in record:
        return Problem(str(record["problem"])[:MAX_TEXT])
    return unpack(record["value"], arrays)


def _read_json(path: Path) -> Any:
    try:
        if path.stat().st_size > MAX_RESULT_BYTES:
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Arrays of numbers only; the declared sizes are checked before anything is unpacked."""
    with zipfile.ZipFile(path) as z:
        if sum(i.file_size for i in z.infolist()) > MAX_RESULT_BYTES:
            raise ValueError("results too large")
    with np.load(path, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    if any(a.dtype.kind not in NUMERIC_KINDS for a in arrays.values()):
        raise ValueError("non-numeric array")
    return arrays


def _why_no_result(out: Path, number: int, exercise: Exercise, notebook_timed_out: bool) -> str:
    status = _read_json(out / f"{number}.exit.json") or {}
    name = exercise.function
    if status.get("timed_out"):
        return (f"{name} took longer than {status.get('limit_s', '?')} s, the time limit; "
                "look for an endless loop or a very slow step.")
    if notebook_timed_out and not status:
        return "Not run: the whole notebook went over its time limit before this exercise."
    if status.get("signal") in (signal.SIGKILL, signal.SIGSEGV, signal.SIGXCPU):
        return (f"The process running {name} was stopped (signal {status['signal']}): it "
                "probably used too much memory or CPU time.")
    if status:
        return (f"Your code stopped the process before {name} returned a result "
                f"(exit code {status.get('exit_code')}); do not call exit() or os._exit().")
    log = (out / "worker.log").read_text(errors="replace")[-1500:] if (
        out / "worker.log").exists() else ""
    return "The grading process failed before this exercise ran." + (
        f"\n{log}" if log else "")


def _missing(exercise: Exercise, cell_errors: list) -> str:
    text = (f"No function or class named {exercise.function!r} was defined. Keep the name "
            "the exercise gives.")
    errors = [str(e)[:300] for e in cell_errors[:5]]
    return text + ("\nErrors in your cells:\n" + "\n".join(errors) if errors else "")

