"""The confinement that stands in where bubblewrap or a cgroup cannot be had.

- Without bubblewrap, Linux's Landlock gives the learner's process the same allowlist of
  files (its job, Python, the allowed packages), no TCP, and no signal out of its job.
- Without a memory cgroup (a normal user), a watchdog holds the memory of all of a
  submission's processes together.
- The cgroup v2 path (delegated ``memory.max``) makes and removes its group as v1 does.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from attack_handins import MLP_OK
from attack_support import honest_and, reporting
from grading_support import FULL, LESSONS, SEED, make_submission, message, scores

from gpt2course.grading import cgroups, confine, jail, sandbox
from gpt2course.grading.cgroups import MemoryGroup
from gpt2course.grading.grade import grade_many, load_lessons
from gpt2course.grading.sandbox import SandboxLimits

LANDLOCK = pytest.mark.skipif(not confine.landlock_abi(), reason="no Landlock in this kernel")


@pytest.fixture
def no_bubblewrap(monkeypatch):
    monkeypatch.setattr(jail, "usable", lambda: (False, "turned off by this test"))
    sandbox.warn_if_weak.cache_clear()
    yield
    sandbox.warn_if_weak.cache_clear()


@LANDLOCK
def test_without_bubblewrap_landlock_keeps_the_learner_to_its_job(tmp_path, no_bubblewrap):
    public = tmp_path / "public.txt"  # readable and writable by anyone: only Landlock stops it
    public.write_text("PUBLIC-TEXT")
    public.chmod(0o666)
    open_dir = tmp_path / "open"
    open_dir.mkdir(mode=0o777)
    open_dir.chmod(0o777)
    os.chmod(tmp_path, 0o755)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    code = (
        "import os, socket\nfound = []\n"
        f"for path, mode in (({str(public)!r}, 'r'), ({str(public)!r}, 'a'), "
        f"({str(open_dir / 'planted')!r}, 'w'), ('/etc/hostname', 'r')):\n"
        "    try:\n        open(path, mode).close()\n        found.append(path + ' ' + mode)\n"
        "    except OSError:\n        pass\n"
        f"try:\n    os.kill({os.getpid()}, 0)\n    found.append('signal')\nexcept OSError:\n"
        "    pass\ntry:\n"
        f"    socket.create_connection(('127.0.0.1', {server.getsockname()[1]}), timeout=2)\n"
        "    found.append('tcp')\nexcept OSError:\n    pass")
    # other cells: an exit in a cell loses nothing; a daemon started in gelu's run is gone
    # by MLP's; an interrupt that hides its message loses only its exercise
    daemon = ("import os, time\nif not os.path.exists('d.pid'):\n    if os.fork() == 0:\n"
              "        os.setsid()\n        open('d.pid', 'w').write(str(os.getpid()))\n"
              "        while True:\n            time.sleep(1)\n    time.sleep(0.5)\n")
    cells = {**reporting(daemon + code), "04_mlp": MLP_OK + "import sys\nsys.exit(3)\n",
             "04_MLP": "class Out(KeyboardInterrupt):\n    def __str__(self):\n"
                       "        raise RecursionError('no')\n\n"
                       "class MLP(nn.Module):\n    def __init__(self, n_embd):\n"
                       "        pid = open('d.pid').read()\n        try:\n"
                       "            os.kill(int(pid), 0)\n        except OSError:\n"
                       "            raise Out()\n        try:  # zombie or out of view: dead\n"
                       "            stat = open(f'/proc/{pid}/stat').read()\n"
                       "        except OSError:\n            stat = ') Z'\n"
                       "        if stat.rsplit(')', 1)[1].split()[0] != 'Z':\n"
                       "            raise RuntimeError('the daemon is alive')\n"
                       "        raise Out()\n"}
    try:
        _, attacker = honest_and(tmp_path, cells)
    finally:
        server.close()
    assert attacker.sandbox["bubblewrap"] is False and attacker.sandbox["landlock"] >= 1
    assert "found: []" in message(attacker, "04.gelu")
    assert "the daemon is alive" not in message(attacker, "04.MLP")
    assert scores(attacker) == {**{k: 0.0 for k in FULL}, "04.mlp": 2.0}
    assert public.read_text() == "PUBLIC-TEXT" and not (open_dir / "planted").exists()


@pytest.mark.skipif(not Path("/proc/self/smaps_rollup").exists(), reason="Linux only")
def test_without_a_cgroup_the_watchdog_holds_memory_for_all_processes(tmp_path, monkeypatch):
    monkeypatch.setattr(MemoryGroup, "create", classmethod(lambda cls, limit: None))
    # Four children of 600 MB each: each under the 1.5 GB per-process limit, all together not.
    hog = ("import os, time\npids, once = [], not os.path.exists('hogged')\n"  # gelu's run
           "open('hogged', 'w').close()\n"
           "for _ in range(4 if once else 0):\n    pid = os.fork()\n"
           "    if pid == 0:\n        try:\n            block = bytearray(600_000_000)\n"
           "            block[::4096] = b'x' * len(block[::4096])\n            time.sleep(2)\n"
           "            os._exit(0)\n        except BaseException:\n            os._exit(1)\n"
           "    pids.append(pid)\n"
           "held = all(os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) == 0 for p in pids)\n")
    gelu = ("def gelu(x):\n    if not held:\n        raise MemoryError('a child was stopped')\n"
            "    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * "
            "(x + 0.044715 * x**3)))\n")
    limits = SandboxLimits(notebook_s=120, exercise_s=40, memory_mb=1536)
    rows = grade_many([make_submission(tmp_path / "honest.ipynb"),
                       make_submission(tmp_path / "hog.ipynb", **{"04_gelu": hog + gelu})],
                      load_lessons(LESSONS), seed=SEED, limits=limits, jobs=2)
    assert scores(rows[0]) == FULL
    assert rows[1].sandbox["memory_per_submission"] == "watchdog"
    assert scores(rows[1])["04.gelu"] == 0.0


def test_the_cgroup_v2_path_limits_and_cleans_up(tmp_path, monkeypatch):
    own = tmp_path / "user.slice" / "grader.scope"
    own.mkdir(parents=True)
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    monkeypatch.setattr(cgroups, "CGROUP_ROOT", tmp_path)
    assert cgroups._candidates(["0::/user.slice/grader.scope"]) == [
        (own, ("memory.max", "memory.swap.max"))]
    monkeypatch.setattr(cgroups, "_candidates", lambda: [(own, ("memory.max",
                                                                "memory.swap.max"))])
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    group = MemoryGroup.create(1 << 30)
    assert group is not None and group.path.parent == own
    assert (group.path / "memory.max").read_text() == str(1 << 30)
    assert (group.path / "memory.swap.max").read_text() == "0"
    command = group.joining(["python", "-c", "pass"])
    assert command[-3:] == ["python", "-c", "pass"] and str(group.path / "cgroup.procs") in command
    (group.path / "memory.peak").write_text("12345\n")
    assert group.peak_bytes() == 12345
    for name in ("memory.max", "memory.swap.max", "memory.peak"):
        (group.path / name).unlink()  # a real cgroup folder has no files to remove
    group.close()
    assert not group.path.exists()
