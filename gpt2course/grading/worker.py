"""The sandbox worker: runs a learner's solution cells and calls their functions.

Started by ``sandbox.py`` as ``python -I worker.py JOB_DIR``, from a copy next to
``calling.py``, ``plain.py`` and ``confine.py``; it never imports the ``gpt2course`` package. It
confines itself, imports torch once, then forks one child per exercise, so a crash,
an endless loop or an exit in one exercise loses only that exercise. Each child
installs the exercise's import and function blocks, runs every solution cell (each on
its own: one broken cell does not stop the others), calls the learner's function on
the cases and writes plain results: ``N.npz`` (arrays) and then ``N.json``.

One bug costs one exercise: when the grader asks for it (an exercise that failed and
calls the learner's earlier functions), correct versions of those earlier functions
replace the learner's before the cases run. They come from the instructor's solution
cells, which the grader hands over on stdin, never through the job folder the learner's
code can read; each child keeps only the cells of the exercises before its own, and
drops the rest before any learner code runs.

Nothing here decides a score. Whatever the learner's code does in this process can only
change the outputs it hands back, which the grader checks in its own process.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # calling, plain, confine, refusals
from confine import confine, new_pid_namespace  # noqa: E402 - found through the line above
from refusals import block  # noqa: E402

# Imported before the worker drops to an unprivileged user: where Python is installed in a
# folder only root may read (e.g. pyenv under /root), these could not be loaded after.
PRELOAD = ("math", "cmath", "random", "itertools", "functools", "collections", "heapq",
           "bisect", "re", "struct", "array", "unicodedata", "datetime", "decimal", "fractions",
           "statistics", "dataclasses", "typing", "string", "copy", "operator", "hashlib",
           "zipfile", "zlib", "encodings.cp437", "encodings.idna", "numpy", "torch", "torch.nn",
           "torch.nn.functional", "regex")


def main(job_dir: Path) -> None:
    import importlib

    settings = json.loads((job_dir / "settings.json").read_text())
    sys.path.extend(settings.get("python_path", []))  # the allowed packages (bubblewrap)
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # optional ones (regex) may be absent
    import numpy as np
    import torch

    torch.set_num_threads(1)  # one core per exercise; also keeps forking safe for OpenMP
    job = json.loads((job_dir / "job.json").read_text())
    private = read_private()
    with np.load(job_dir / "inputs.npz", allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    held = confine(settings)
    # Where it can (the fallback without bubblewrap, as a user), each exercise's process is
    # the init of its own pid namespace, so nothing it starts outlives it.
    held["pid_namespace_per_exercise"] = not settings.get("bubblewrap") and _can_unshare_pids()
    out = job_dir / "out"
    (out / "confinement.json").write_text(json.dumps(held))
    os.chdir(job_dir / "work")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over the file limit: an error, not death
    # Under bubblewrap (a pid namespace per job) or as a sandbox user of its own, every
    # other process this worker can see is the learner's: none outlives its exercise.
    sweep = bool(settings.get("bubblewrap") or settings.get("uid") is not None)
    _not_dumpable()
    kept = {}
    for number, exercise in enumerate(job["exercises"]):
        exercise["own_pids"] = held["pid_namespace_per_exercise"]
        _discard(out, number)  # results planted by an earlier exercise's code are not its
        status = run_in_child(number, exercise, job["cells"], arrays, out, private)
        if sweep:
            _kill_the_rest()
        kept[number] = {**_take(out, number), f"{number}.exit.json": json.dumps(status).encode()}
        _restore(out, kept)


def _restore(out: Path, kept: dict) -> None:
    """Each finished exercise's results as its own process left them: the code of the
    exercises after it, the same user, may have rewritten them since."""
    for number, files in kept.items():
        _discard(out, number)
        for name, data in files.items():
            try:
                _write_new(out / name, data)
            except OSError:
                pass  # a folder planted under its name: that exercise has no result


RESULT_FILES = ("{}.json", "{}.npz", "{}.exit.json")
MAX_KEPT = 64 * 1024 * 1024  # the grader reads no more of one file (sandbox.MAX_RESULT_BYTES)


def _discard(out: Path, number: int) -> None:
    for pattern in RESULT_FILES:
        try:
            os.unlink(out / pattern.format(number))
        except OSError:
            pass


def _take(out: Path, number: int) -> dict:
    """The results exercise ``number``'s process left: kept here, in this process, because
    the code of every later exercise runs as the same user and could rewrite the files."""
    taken = {}
    for name in (p.format(number) for p in RESULT_FILES[:2]):
        try:
            if stat.S_ISREG(os.lstat(out / name).st_mode):
                os.chmod(out / name, 0o600)  # a learner's umask may have left it unreadable
            fd = os.open(out / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        with os.fdopen(fd, "rb") as f:
            if stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                taken[name] = f.read(MAX_KEPT + 1)
    return taken


def _write_new(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _not_dumpable() -> None:
    """Keep the learner's processes (the same user) from tracing this one or reading its
    memory and descriptors through /proc; each exercise's process undoes it for itself
    (the memory watchdog reads its /proc)."""
    _set_dumpable(0)


def _set_dumpable(value: int) -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, value, 0, 0, 0)  # PR_SET_DUMPABLE
    except (OSError, AttributeError):
        pass  # not Linux


def _kill_the_rest() -> None:
    """SIGKILL every process in sight but this one and the namespace's init (pid 1), until
    none is left (a fork bomb makes more while we kill)."""
    for _ in range(100):
        try:
            listed = os.listdir("/proc")
        except OSError:
            return  # not in view here: the grader kills them when the job ends
        others = [int(p) for p in listed if p.isdigit()
                  and int(p) not in (1, os.getpid()) and not _zombie(p)]
        if not others:
            return
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in others:  # reap our own children; others are bwrap's to reap
            try:
                os.waitpid(pid, os.WNOHANG)
            except OSError:
                pass
        time.sleep(0.01)


def _zombie(pid: str) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True  # gone already


def _can_unshare_pids() -> bool:
    pid = os.fork()
    if pid == 0:
        os._exit(0 if new_pid_namespace() else 1)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


def _in_own_pid_namespace() -> None:
    """Go on as the first process of a new pid namespace; this process only waits for it and
    ends as it ends. When it ends, the kernel kills every process it left behind."""
    if not new_pid_namespace():
        return
    pid = os.fork()
    if pid == 0:
        return
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    code = os.waitpid(pid, 0)[1]
    if os.WIFSIGNALED(code):  # the same end for the worker to read
        signal.signal(os.WTERMSIG(code), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(code))
    os._exit(os.waitstatus_to_exitcode(code) if os.WIFEXITED(code) else 1)


def read_private() -> dict:
    """What the grader hands over on stdin: ``{"reference_cells": [{"label", "source"}]}``
    (the instructor's setup and solution cells), or nothing."""
    try:
        text = sys.stdin.read() if not sys.stdin.isatty() else ""
    except (OSError, ValueError, AttributeError):
        return {}
    try:
        private = json.loads(text) if text.strip() else {}
    except ValueError:
        return {}
    return private if isinstance(private, dict) else {}


def run_in_child(number: int, exercise: dict, cells: list, arrays: dict, out: Path,
                 private: dict) -> dict:
    """Fork, run one exercise in the child, wait at most its time limit, clean up."""
    log = os.open(out / f"{number}.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    pid = os.fork()
    if pid == 0:
        try:
            _set_dumpable(1)
            os.setpgid(0, 0)
            os.dup2(log, 1)
            os.dup2(log, 2)
            import resource

            seconds = int(exercise["time_limit_s"]) + 1
            resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds))
            if exercise.get("own_pids"):
                _in_own_pid_namespace()
            reference = reference_cells(exercise, private)
            private.clear()  # the other exercises' solutions leave this process's reach
            run_exercise(number, exercise, cells, arrays, out, reference)
        finally:
            os._exit(0)
    os.close(log)
    deadline = time.monotonic() + exercise["time_limit_s"]
    status = {"timed_out": False, "limit_s": exercise["time_limit_s"]}
    while True:
        done, code = os.waitpid(pid, os.WNOHANG)
        if done:
            status["signal" if os.WIFSIGNALED(code) else "exit_code"] = (
                os.WTERMSIG(code) if os.WIFSIGNALED(code) else os.WEXITSTATUS(code))
            break
        if time.monotonic() > deadline:
            status["timed_out"] = True
            _kill_group(pid)
            os.waitpid(pid, 0)
            break
        time.sleep(0.005)
    _kill_group(pid)  # anything the learner's code started in the background
    return status


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def reference_cells(exercise: dict, private: dict) -> list:
    """The instructor's setup cells and the solution cells of the exercises before this one."""
    allowed = set(exercise.get("upstream_cells", ()))
    return [cell for cell in private.get("reference_cells", ())
            if cell.get("label", "").startswith("setup") or cell.get("label") in allowed]


def with_correct_upstream(namespace: dict, exercise: dict, reference: list) -> None:
    """Put correct versions of the earlier exercises' functions in place of the learner's."""
    if not reference or not exercise.get("upstream"):
        return
    correct: dict = {"__name__": "__main__"}
    correct["get_ipython"] = lambda: Shell(correct)
    for cell in reference:
        run_cell(cell, correct)
    for name in exercise["upstream"]:
        if name in correct and name in namespace:
            namespace[name] = correct[name]
    reference.clear()


def run_exercise(number: int, exercise: dict, cells: list, arrays: dict, out: Path,
                 reference: list) -> None:
    import numpy as np
    from calling import InputChanged, LearnerError, run_case
    from plain import NotPlain, pack, unpack

    block(exercise)
    namespace: dict = {"__name__": "__main__"}
    namespace["get_ipython"] = lambda: shell
    shell = Shell(namespace)
    cell_errors = [err for cell in cells if (err := run_cell(cell, namespace))]
    with_correct_upstream(namespace, exercise, reference)
    obj = namespace.get(exercise["function"])
    result: dict = {"cell_errors": cell_errors, "cases": []}
    produced: dict = {}
    if obj is None:
        result["missing"] = True
    else:
        for k, case in enumerate(exercise["cases"]):
            try:
                returns = exercise.get("returns") or [None] * len(exercise["cases"])
                value = run_case(obj, unpack(case, arrays), exercise["adapter"],
                                 exercise.get("must_not_modify", ()), returns[k])
                result["cases"].append({"value": pack(value, produced, f"c{k}_")})
            except InputChanged as err:
                result["cases"].append({"changed": err.names})
            except LearnerError as err:
                result["cases"].append({"error": err.text})
            except NotPlain as err:
                result["cases"].append({"problem": str(err), "returned": err.record})
            except SystemExit:
                result["cases"].append({"problem": "Your code called exit(); a function "
                                                   "must return its result instead."})
    np.savez(out / f"{number}.npz", **produced)
    (out / f"{number}.json").write_text(json.dumps(result))


def run_cell(cell: dict, namespace: dict) -> str | None:
    """Run one solution cell as plain Python; return a short error line if it failed."""
    try:
        code = compile(cell["source"], f"<cell {cell['label']}>", "exec")
        exec(code, namespace)
    except BaseException as err:  # noqa: BLE001 - exit() in a cell must not stop grading
        last = traceback.format_exception_only(type(err), err)[-1].strip()
        return f"cell {cell['label']}: {last}"
    return None


class Shell:
    """``get_ipython()`` for cells the grader turned from IPython syntax into Python
    (``ipython_syntax.py``): ``%time stmt`` and ``%timeit stmt`` run the statement; shell
    escapes, other magics and help requests do nothing."""

    def __init__(self, namespace: dict) -> None:
        self.namespace = namespace

    def run_line_magic(self, name: str, line: str, *args, **kwargs):
        if name in ("time", "timeit", "prun") and line.strip():
            exec(compile(line, f"<%{name}>", "exec"), self.namespace)

    def getoutput(self, *args, **kwargs) -> list:
        return []

    def __getattr__(self, name: str):  # system, run_cell_magic, ...: nothing to do here
        return lambda *args, **kwargs: None


if __name__ == "__main__":
    code = 0
    try:
        main(Path(sys.argv[1]))
    except Exception:  # noqa: BLE001 - the grader reads this log when results are missing
        traceback.print_exc()
        code = 1
    # Every result is written and closed by now. Python's own shutdown, with torch loaded,
    # takes half a second or more (tearing down its modules) and would change nothing.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
