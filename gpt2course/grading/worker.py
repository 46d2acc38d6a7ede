"""The sandbox worker: runs a learner's solution cells and calls their functions.

Started by ``sandbox.py`` as ``python -I worker.py JOB_DIR``, from a copy next to
``calling.py`` and ``confine.py``; it never imports the ``gpt2course`` package. It
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
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # calling.py, confine.py
from confine import confine, new_pid_namespace  # noqa: E402 - found through the line above

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
    for number, exercise in enumerate(job["exercises"]):
        exercise["own_pids"] = held["pid_namespace_per_exercise"]
        status = run_in_child(number, exercise, job["cells"], arrays, out, private)
        if sweep:
            _kill_the_rest()
        (out / f"{number}.exit.json").write_text(json.dumps(status))


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
    for cell in reference:
        run_cell(cell, correct)
    for name in exercise["upstream"]:
        if name in correct and name in namespace:
            namespace[name] = correct[name]
    reference.clear()


def run_exercise(number: int, exercise: dict, cells: list, arrays: dict, out: Path,
                 reference: list) -> None:
    import numpy as np
    from calling import InputChanged, LearnerError, NotPlain, pack, run_case, unpack

    block(exercise)
    namespace: dict = {"__name__": "__main__"}
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
        code = compile(plain_python(cell["source"]), f"<cell {cell['label']}>", "exec")
        exec(code, namespace)
    except BaseException as err:  # noqa: BLE001 - exit() in a cell must not stop grading
        last = traceback.format_exception_only(type(err), err)[-1].strip()
        return f"cell {cell['label']}: {last}"
    return None


def plain_python(source: str) -> str:
    """IPython-only lines (``%magic``, ``!shell``, ``%%cell magic``) become ``pass``."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        return ""
    out = []
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            line = line[: len(line) - len(stripped)] + "pass"
        out.append(line)
    return "\n".join(out)


def block(exercise: dict) -> None:
    """Make the exercise's forbidden modules unimportable and its forbidden functions raise."""
    import importlib
    import importlib.abc

    modules = tuple(exercise["forbidden_modules"])
    what = f"exercise {exercise['id']}"

    class Forbidden(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in modules or name in modules:
                raise ImportError(f"'{name}' cannot be used in {what}: write the code yourself.")
            return None

    for name in list(sys.modules):
        if name.split(".")[0] in modules:
            del sys.modules[name]
    sys.meta_path.insert(0, Forbidden())
    ops = set()
    for dotted in exercise["forbidden_functions"]:  # every spelling (exercises/forbidden.py)
        parts = dotted.split(".")
        if parts[-1][:1].islower():
            ops.add(parts[-1].rstrip("_"))
        try:
            owner = _owner(parts[:-1])
            setattr(owner, parts[-1], _refuse(dotted, what))
        except (ImportError, AttributeError, TypeError, RuntimeError):
            continue  # not in this torch, or read-only: the grader's source scan finds it
    _refuse_kernels(ops, what)


def _owner(parts: list[str]):
    """The object ``a.b.c`` names: the longest importable module, then attributes."""
    import importlib

    for n in range(len(parts), 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:n]))
        except ImportError:
            continue
        for part in parts[n:]:
            owner = getattr(owner, part)
        return owner
    raise ImportError(".".join(parts))


_KERNELS: list = []  # the registrations below last as long as this list holds them


def _refuse_kernels(ops: set, what: str) -> None:
    """Refuse the forbidden operations where torch runs them: their ATen kernels.

    A Python name can be reached many ways (``torch.ops.aten.gelu_``,
    ``torch._C._jit_get_operation("aten::gelu")``, in-place and ``out=`` variants,
    ``nn.GELU``); every one ends in the operator's kernel, which a CPU registration of
    ``torch.library`` replaces for this process. Variants (``_scaled_dot_product_flash_
    attention_for_cpu``, ``native_layer_norm``) are matched by the op's leading words.
    """
    if not ops:
        return
    import warnings

    import torch

    keys = {op.rsplit("_", 1)[0] if op.count("_") >= 2 else op for op in ops}
    lib = torch.library.Library("aten", "IMPL")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "overriding a previously registered kernel"
        for schema in torch._C._jit_get_all_schemas():
            name = schema.name.partition("::")[2]
            if not schema.name.startswith("aten::") or not any(k in name for k in keys):
                continue
            overload = f"{name}.{schema.overload_name}" if schema.overload_name else name
            for key in ("CPU", "AutogradCPU"):
                try:
                    lib.impl(overload, _refuse(schema.name, what), key)
                except (RuntimeError, ValueError, TypeError):
                    continue
    _KERNELS.append(lib)


def _refuse(dotted: str, what: str):
    def refused(*args, **kwargs):
        raise RuntimeError(f"{dotted} is not allowed in {what}: write it yourself.")

    return refused


if __name__ == "__main__":
    try:
        main(Path(sys.argv[1]))
    except Exception:  # noqa: BLE001 - the grader reads this log when results are missing
        traceback.print_exc()
        sys.exit(1)
