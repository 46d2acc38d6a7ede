"""The sandbox: each attack graded next to an honest classmate. Other jobs, the grader,
the machine's files, sockets and processes stay out of reach; nothing outlives grading;
the batch always finishes with one row per hand-in.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import nbformat
import pytest
from attack_support import BWRAP, ZERO, gelu_that, honest_and, reporting, unfilled_gelu_with
from grading_support import (
    FAST,
    FULL,
    LESSONS,
    ROOT,
    SEED,
    make_submission,
    message,
    scores,
    solution_sources,
)

from gpt2course.cli import main
from gpt2course.errors import CourseError
from gpt2course.grading import grade as grade_module
from gpt2course.grading import jail, uids
from gpt2course.grading.cgroups import MemoryGroup
from gpt2course.grading.grade import grade_many, grade_submission, load_lessons
from gpt2course.grading.notebooks import nbgrader_meta
from gpt2course.grading.sandbox import SandboxLimits


@BWRAP
def test_answers_on_disk_are_out_of_view(tmp_path):
    home = Path.home()  # only the folders leading to Python may show (e.g. pyenv's)
    places = [ROOT, ROOT / ".git", ROOT / "solutions", ROOT / "gpt2course", tmp_path,
              Path("/autograder/source"), Path(jail.__file__).parent, *[
                  home / e for e in os.listdir(home) if not str(jail.interpreter()).startswith(
                      str(home / e) + "/")]]
    code = f"import os\nfound = [p for p in {[str(p) for p in places]!r} if os.path.exists(p)]"
    _, attacker = honest_and(tmp_path, reporting(code))
    assert scores(attacker) == ZERO
    assert "found: []" in message(attacker, "04.gelu")
    assert attacker.sandbox["bubblewrap"] is True


@BWRAP
@pytest.mark.slow
def test_side_by_side_jobs_cannot_see_or_signal_each_other(tmp_path):
    code = ("import glob, os, signal, time\nfound = []\nend = time.time() + 4\n"
            "while time.time() < end:\n"
            "    found += glob.glob('/tmp/gpt2course-grade-*/out/*')\n"
            "    for pid in [int(p) for p in os.listdir('/proc') if p.isdigit()]:\n"
            "        if pid not in (os.getpid(), os.getppid(), 1):\n"
            "            try:\n                os.kill(pid, signal.SIGKILL)\n"
            "            except OSError:\n                pass\n"
            "found = sorted(set(found))")
    _, attacker = honest_and(tmp_path, reporting(code))
    assert "found: []" in message(attacker, "04.gelu")


def test_two_grade_runs_at_once_share_no_user_and_lose_nothing(tmp_path):
    lessons = load_lessons(LESSONS)
    subs = [make_submission(tmp_path / f"{n}.ipynb", filled=n == "a") for n in "ab"]
    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(lambda s: grade_many([s], lessons, seed=SEED, limits=FAST,
                                             store=tmp_path / f"store-{s.stem}")[0], subs)
    assert scores(a) == FULL and scores(b) == ZERO
    if os.geteuid() == 0:
        assert a.sandbox["uid"] != b.sandbox["uid"]


def test_links_and_special_files_are_not_graded_and_say_so(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-TEXT")
    secret.chmod(0o600)
    subs = tmp_path / "subs"
    subs.mkdir()
    make_submission(subs / "honest.ipynb")
    (subs / "copy.ipynb").symlink_to(subs / "honest.ipynb")
    (subs / "leak.ipynb").symlink_to(secret)
    (subs / "folder").symlink_to(tmp_path)
    os.mkfifo(subs / "fifo.ipynb")
    out, js = tmp_path / "g.csv", tmp_path / "g.json"
    assert main(["grade", str(subs), "--lessons", str(LESSONS), "--out", str(out), "--json",
                 str(js), "--seed", str(SEED)]) == 1  # error rows, reports written
    rows = {Path(r["submission"]).name: r for r in csv.DictReader(out.open())}
    assert set(rows) == {"honest.ipynb", "copy.ipynb", "leak.ipynb", "folder", "fifo.ipynb"}
    assert rows["honest.ipynb"]["total"] == "4"
    for name in ("copy.ipynb", "leak.ipynb", "folder"):
        assert "symbolic link" in rows[name]["error"] and rows[name]["total"] == "0"
    assert "not a regular file" in rows["fifo.ipynb"]["error"]
    assert "TOP-SECRET" not in out.read_text() + js.read_text()


def test_planted_links_fifos_devices_and_deep_folders_in_the_output_are_not_trusted(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-TEXT")
    secret.chmod(0o600)
    plant = ("import os\nos.chdir('../out')\n"
             f"os.symlink({str(secret)!r}, '0.json')\nos.symlink('/proc/self/environ', "
             "'0.exit.json')\nos.mkdir('0.npz')\nos.mkfifo('1.json')\nos.mkfifo('1.exit.json')\n"
             "os.symlink('/dev/zero', '2.json')\nos.symlink('/dev/zero', '2.npz')\n"
             "for _ in range(3000):\n    os.mkdir('d')\n    os.chdir('d')\nos._exit(0)\n")
    honest, attacker = honest_and(tmp_path, unfilled_gelu_with(plant))
    assert scores(attacker) == ZERO
    shown = json.dumps([asdict(honest), asdict(attacker)])
    assert "TOP-SECRET" not in shown and "PATH=" not in shown


def test_the_seed_is_not_in_reach_of_the_learner(tmp_path):
    seed = "987654321"
    code = ("import glob\nfound = []\nfor f in glob.glob('/proc/*/cmdline') + "
            "glob.glob('/proc/*/environ'):\n    try:\n"
            "        found.append(open(f, 'rb').read().decode('latin-1'))\n"
            "    except OSError:\n        pass\n"
            "import re\nfound = sorted(set(re.findall(r'[0-9]{9}', ' '.join(found))))")
    sub = make_submission(tmp_path / "s.ipynb", filled=False, **reporting(code))
    env = {**os.environ, "GPT2COURSE_GRADING_SEED": seed}
    out = tmp_path / "g.json"
    done = subprocess.run([sys.executable, "-m", "gpt2course.cli", "grade", str(sub),
                           "--lessons", str(LESSONS), "--seed", seed, "--json", str(out)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "found: " in text and seed not in text


def test_nothing_outlives_grading(tmp_path):
    token = f"gpt2course-daemon-{os.getpid()}-{time.monotonic_ns()}"
    daemon = ("import os, sys\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
              "        os.execv(sys.executable, [sys.executable, '-c', "
              f"'import time; time.sleep(120)', {token!r}])\n"
              "    os._exit(0)\n")
    _, attacker = honest_and(tmp_path, unfilled_gelu_with(daemon))
    assert scores(attacker) == ZERO
    alive = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            alive += [cmdline] if token.encode() in cmdline.read_bytes() else []
        except OSError:
            continue
    assert not alive


@pytest.mark.skipif(os.geteuid() != 0, reason="sandbox user ids are used only as root")
def test_a_sandbox_uid_is_never_reused_while_its_process_lives():
    first = uids.SANDBOX_UIDS[0]
    sleeper = subprocess.Popen(["sleep", "120"], user=first, group=65534, extra_groups=[])
    try:
        with uids.sandbox_uid() as uid:
            assert not uids.processes_of(uid)
            assert uid != first or sleeper.wait(timeout=10) == -9
    finally:
        sleeper.kill()
        sleeper.wait()


@BWRAP
def test_no_unix_socket_of_the_host_is_reachable(tmp_path):
    name = f"gpt2course-{os.getpid()}-{time.monotonic_ns()}"
    path = Path(tempfile.gettempdir()) / f"{name}.sock"
    servers = [socket.socket(socket.AF_UNIX), socket.socket(socket.AF_UNIX)]
    servers[0].bind(str(path))
    servers[1].bind("\0" + name)
    for s in servers:
        s.listen(5)
        s.settimeout(0)
    os.chmod(path, 0o777)
    code = ("import socket\nfound = []\n"
            f"for addr in ({str(path)!r}, '\\0' + {name!r}):\n"
            "    try:\n        socket.socket(socket.AF_UNIX).connect(addr)\n"
            "        found.append(addr)\n    except OSError:\n        pass")
    try:
        _, attacker = honest_and(tmp_path, reporting(code))
        for s in servers:
            with pytest.raises(BlockingIOError):
                s.accept()
    finally:
        for s in servers:
            s.close()
        path.unlink()
    assert "found: []" in message(attacker, "04.gelu")


@BWRAP
def test_files_written_anywhere_are_gone_after_grading(tmp_path):
    token = f"gpt2course-junk-{os.getpid()}-{time.monotonic_ns()}"
    junk = (f"import os\nfor d in ('/tmp', '/var/tmp', '/dev/shm', os.path.expanduser('~'), "
            f"'.'):\n    try:\n        open(os.path.join(d, {token!r}), 'wb').write(b'x' * 10**6)\n"
            "    except OSError:\n        pass\n")
    honest_and(tmp_path, unfilled_gelu_with(junk))
    left = [p for d in ("/tmp", "/var/tmp", "/dev/shm", str(Path.home()))
            if os.path.isdir(d) for p in Path(d).glob(token)]
    assert not left


def test_a_submission_that_breaks_the_grader_gets_an_error_row_and_the_rest_go_on(
        tmp_path, monkeypatch, capsys):
    subs = tmp_path / "subs"
    subs.mkdir()
    make_submission(subs / "a_bad.ipynb")
    make_submission(subs / "b_honest.ipynb")
    real = grade_module.grade_submission

    def fragile(path, *args, **kwargs):
        if path.name == "a_bad.ipynb":
            raise RecursionError("maximum recursion depth exceeded")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(grade_module, "grade_submission", fragile)
    out = tmp_path / "g.csv"
    args = ["grade", str(subs), "--lessons", str(LESSONS), "--out", str(out), "--seed",
            str(SEED)]
    for extra in ([], ["--resume"]):  # resuming does not crash on the same file either
        assert main([*args, *extra]) == 1  # one error row
        rows = {Path(r["submission"]).name: r for r in csv.DictReader(out.open())}
        assert "the grader failed on this file" in rows["a_bad.ipynb"]["error"]
        assert rows["b_honest.ipynb"]["total"] == "4"


def test_resume_keeps_one_record_per_submission(tmp_path):
    long = "x" * 200
    names = ["a b.ipynb", "a_b.ipynb", f"{long}/s.ipynb", f"y{long[1:]}/s.ipynb"]
    assert len({grade_module.record_name(tmp_path / n) for n in names}) == len(names)
    subs = tmp_path / "subs"
    subs.mkdir()
    make_submission(subs / "a b.ipynb")
    make_submission(subs / "a_b.ipynb", filled=False)
    out = tmp_path / "g.csv"
    args = ["grade", str(subs), "--lessons", str(LESSONS), "--out", str(out), "--seed",
            str(SEED)]
    for extra in ([], ["--resume"]):
        assert main([*args, *extra]) == 0
        rows = [(Path(r["submission"]).name, r["total"]) for r in csv.DictReader(out.open())]
        assert sorted(rows) == [("a b.ipynb", "4"), ("a_b.ipynb", "0")]


def test_the_instructor_decides_the_lesson(tmp_path):
    lesson01 = nbformat.read(LESSONS / "01_tokenizer.ipynb", as_version=4)
    solved01 = solution_sources("01_tokenizer")

    def append_lesson01(nb):
        for cell in lesson01.cells:
            gid = nbgrader_meta(cell).get("grade_id")
            if gid in solved01:
                cell.source = solved01[gid]
                nb.cells.append(cell)

    sub = make_submission(tmp_path / "s.ipynb", edit=append_lesson01)
    lessons = load_lessons(LESSONS)
    guessed = grade_submission(sub, lessons, seed=SEED, limits=FAST)
    assert guessed.error and "several lessons" in guessed.error and not guessed.exercises
    chosen = grade_submission(sub, lessons, seed=SEED, limits=FAST, lesson="04")
    assert chosen.lesson == "04_mlp.ipynb" and scores(chosen) == FULL
    with pytest.raises(CourseError, match="no such lesson"):
        grade_module.lesson_number("09", lessons)


@pytest.mark.slow
def test_memory_is_limited_per_submission_not_per_process(tmp_path):
    if MemoryGroup.create(1 << 30) is None:
        pytest.skip("no memory cgroup can be made here (needs root and a writable cgroup fs)")
    # Four children of 600 MB each: every one is under the 1.5 GB per-process limit, all
    # together are not. gelu is right only if all four held their memory.
    hog = ("import os, time\npids, once = [], not os.path.exists('hogged')\n"  # gelu's run
           "open('hogged', 'w').close()\n"
           "for _ in range(4 if once else 0):\n    pid = os.fork()\n"
           "    if pid == 0:\n        try:\n            block = bytearray(600_000_000)\n"
           "            block[::4096] = b'x' * len(block[::4096])\n            time.sleep(2)\n"
           "            os._exit(0)\n        except BaseException:\n            os._exit(1)\n"
           "    pids.append(pid)\n"
           "held = all(os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) == 0 for p in pids)\n")
    cell = hog + "\n" + gelu_that("if not held:\n    raise MemoryError('a child was stopped')")[
        "04_gelu"]
    limits = SandboxLimits(notebook_s=120, exercise_s=40, memory_mb=1536)
    rows = grade_many([make_submission(tmp_path / "honest.ipynb"),
                       make_submission(tmp_path / "hog.ipynb", **{"04_gelu": cell})],
                      load_lessons(LESSONS), seed=SEED, limits=limits)
    assert scores(rows[0]) == FULL
    assert rows[1].sandbox["memory_per_submission"] == "cgroup"
    assert scores(rows[1])["04.gelu"] == 0.0  # 2.4 GB in four children over 1.5 GB in all
