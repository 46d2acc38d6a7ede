"""Every path out of ``main()`` is covered: a failure while the parser is built, while
the language is set, while the catalog is read, while a command runs; Ctrl-C anywhere;
a closed pipe. A bug is one line + "please report" + a saved traceback, exit 1; Ctrl-C
is one line, exit 130. Failures are injected where they would really happen."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gpt2course import cli, i18n, train_cli
from gpt2course.grading import commands


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    monkeypatch.delenv("GPT2COURSE_DEBUG", raising=False)
    monkeypatch.delenv("GPT2COURSE_LANG", raising=False)
    reset = i18n.set_language  # a test may replace it
    yield
    reset(None)


def _bug_line(err: str, kind: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    line = lines[0]
    assert "please report" in line or "请报告" in line, line
    saved = Path(line.split("saved in ")[1].split(" (or run")[0]) if "saved in " in line \
        else Path(line.split("保存在 ")[1].split(" 的 traceback")[0])
    assert kind in saved.read_text(encoding="utf-8")
    saved.unlink()
    return line


def _boom(*args, **kwargs):
    raise RuntimeError("injected")


@pytest.mark.parametrize("where", [
    (cli, "_subcommands"),            # building the parser
    (commands, "add_grade"),          # one subcommand's options
    (cli, "_add_language_option"),    # the shared --lang option
    (i18n, "set_language"),           # choosing the language (--lang zh)
    (i18n, "catalog"),                # reading the Chinese catalog
    (cli, "_language_given"),         # reading --lang before the parse
])
def test_a_failure_before_any_command_runs_is_reported_as_a_bug(where, monkeypatch, capsys):
    monkeypatch.setattr(*where, _boom)
    assert cli.main(["--lang", "zh", "grade", "--help"]) == 1
    line = _bug_line(capsys.readouterr().err, "RuntimeError")
    assert "RuntimeError" in line and "injected" in line


def test_a_failure_inside_a_command_is_a_bug_in_the_chosen_language(monkeypatch, capsys):
    monkeypatch.setattr(cli, "_run_doctor", lambda args: _boom())
    monkeypatch.setattr(cli, "_add_doctor", lambda sub: sub.add_parser("doctor").set_defaults(
        run=cli._run_doctor))
    assert cli.main(["--lang", "zh", "doctor"]) == 1
    assert "意外错误 RuntimeError" in _bug_line(capsys.readouterr().err, "RuntimeError")


def test_debug_variable_shows_the_traceback_instead(monkeypatch):
    monkeypatch.setattr(cli, "_subcommands", _boom)
    monkeypatch.setenv("GPT2COURSE_DEBUG", "1")
    with pytest.raises(RuntimeError, match="injected"):
        cli.main(["doctor"])


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("where", [(cli, "_subcommands"), (i18n, "set_language"),
                                   (cli, "_run_doctor")])
def test_ctrl_c_anywhere_is_one_line_and_130(where, monkeypatch, capsys):
    monkeypatch.setattr(*where, _interrupt)
    assert cli.main(["--lang", "zh", "doctor"]) == 130
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if line.strip()] in (["interrupted"], ["已中断"])


def test_a_closed_pipe_ends_quietly(monkeypatch, capsys):
    def closed(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(cli, "_run_doctor", closed)
    assert cli.main(["doctor"]) == 141
    assert capsys.readouterr().err == ""


def test_a_file_the_system_refuses_is_one_line_naming_it(monkeypatch, capsys):
    def refused(args):
        raise PermissionError(13, "Permission denied", "/srv/grades.csv")

    monkeypatch.setattr(cli, "_run_doctor", refused)
    assert cli.main(["doctor"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line == "gpt2course doctor: cannot use /srv/grades.csv: Permission denied."


def test_the_report_of_a_bug_survives_a_broken_catalog(monkeypatch, capsys):
    monkeypatch.setattr(i18n, "tr", _boom)
    monkeypatch.setattr(cli, "tr", _boom)
    assert cli.main(["doctor"]) == 1
    assert "unexpected error RuntimeError" in _bug_line(capsys.readouterr().err, "RuntimeError")


def test_the_training_script_covers_its_parser_too(monkeypatch, capsys):
    monkeypatch.setattr(train_cli, "_parser", _boom)
    assert train_cli.main(["--steps", "1"]) == 1
    assert "python -m gpt2course.train: unexpected error RuntimeError" in _bug_line(
        capsys.readouterr().err, "RuntimeError")


def test_argparse_is_left_as_it_was(monkeypatch):
    before = argparse._, argparse.ngettext
    monkeypatch.setattr(cli, "_subcommands", _boom)
    cli.main(["--lang", "zh", "doctor"])
    monkeypatch.undo()
    with pytest.raises(SystemExit):
        cli.main(["--lang", "zh", "doctor", "--nope"])
    assert (argparse._, argparse.ngettext) == before


def test_ctrl_c_while_the_real_command_starts_or_runs():
    """The command in its own process, interrupted as a terminal does (SIGINT to the
    process group) while it loads PyTorch and while it works: the one line, exit 130,
    never a traceback. The command says "ready" once inside main(), so the signal
    always lands inside it. PyTorch's import can swallow a Ctrl-C (or turn it into an
    ImportError); then a second Ctrl-C must end it at once, still with the one line."""
    env = {**os.environ, "GPT2COURSE_DEBUG": "", "GPT2COURSE_LANG": "en"}
    script = ("import sys, time\n"
              "from gpt2course import cli\n"
              "def work(args):\n"
              "    print('ready', flush=True)\n"
              "    import torch  # seconds of importing: a Ctrl-C may come now\n"
              "    time.sleep(120)\n"
              "cli._run_doctor = work\n"
              "sys.exit(cli.main(['doctor']))\n")
    for delay in (0.0, 0.3, 0.6, 0.8, 0.9, 1.0, 4.0):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env,
                                start_new_session=True)
        assert proc.stdout.readline() == "ready\n"
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:  # the library being imported swallowed it:
            os.killpg(proc.pid, signal.SIGINT)  # the second Ctrl-C ends the command at once
            _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, (delay, err)
        assert [line for line in err.splitlines() if line.strip()] == ["interrupted"], err
