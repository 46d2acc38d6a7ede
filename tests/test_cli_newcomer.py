"""A newcomer's session: wrong, empty and odd input to every command. Each answer is
one line saying what to do (exit 2), never a traceback, and nothing is lost."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
from grading_support import LESSONS

from gpt2course import cli

ROOT = Path(__file__).resolve().parents[1]


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = cli.main(argv)
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("argv, words", [
    (["check", ""], "argument notebook: give a path, not an empty text"),
    (["grade", ""], "argument submissions: give a path, not an empty text"),
    (["grade", "x.ipynb", "--lessons", ""], "argument --lessons: give a path"),
    (["assign", ""], "argument solutions: give a path"),
    (["generate", "--model", " "], "argument --model: must not be empty"),
    (["grade", "x.ipynb", "--out", ""], "argument --out: give a file name"),
    (["download", "--to", ""], "argument --to: give a folder name"),
    (["check", "{tmp}"], "it is a folder. Give the notebook file (.ipynb) itself."),
    (["grade", "{tmp}/x.ipynb", "--lesson", ""], "--lesson : no such lesson"),
    (["--lang", "xx", "doctor"], "argument --lang: invalid choice: 'xx'"),
    (["doctor", "--lang"], "argument --lang: expected one argument"),
    (["grade", "{tmp}/nothing here/", "--lessons", str(LESSONS)], "does not exist"),
])
def test_empty_and_odd_input_is_one_line(argv, words, tmp_path, capsys):
    (tmp_path / "x.ipynb").write_text("{}")
    code, _, err = _run([a.replace("{tmp}", str(tmp_path)) for a in argv], capsys)
    assert code == 2
    assert words in _line(err)


def test_a_misspelt_model_name_fails_before_anything_is_downloaded(tmp_path, capsys):
    code, out, err = _run(["download", "--weights", "gpt2", "../x", "--to",
                           str(tmp_path / "files")], capsys)
    assert code == 2 and out == ""
    assert _line(err).startswith("gpt2course download: argument --weights: '../x' is not a Hub")
    assert not (tmp_path / "files").exists()


def test_gradescope_with_a_folder_is_refused_before_grading(tmp_path, capsys):
    for name in ("a.ipynb", "b.ipynb"):
        (tmp_path / name).write_text("{}")
    out = tmp_path / "out" / "results.json"
    out.parent.mkdir()
    code, _, err = _run(["grade", str(tmp_path), "--lessons", str(LESSONS), "--gradescope",
                         str(out)], capsys)
    assert code == 2 and "grade one notebook at a time for Gradescope" in _line(err)
    assert not out.exists() and not out.with_name("results.json.parts").exists()


def test_a_file_name_that_is_not_utf8_is_written_to_the_csv(tmp_path, capsys):
    folder = tmp_path / "subs"
    folder.mkdir()
    odd = os.fsdecode(b"caf\xe9.ipynb")
    (folder / odd).write_text("{ broken")
    csv_path = tmp_path / "grades.csv"
    code, out, err = _run(["grade", str(folder), "--lessons", str(LESSONS), "--out",
                           str(csv_path)], capsys)
    assert code == 1, err  # an error row, reports written
    assert "caf\\udce9.ipynb" in csv_path.read_text(encoding="utf-8")


@pytest.mark.parametrize("number, words", [
    (errno.ENOSPC, "the system refused: No space left on device."),
    (errno.EROFS, "the system refused: Read-only file system."),
])
def test_the_machine_refusing_is_one_line_not_a_bug(monkeypatch, capsys, number, words):
    def refuse(args):
        raise OSError(number, os.strerror(number))

    monkeypatch.setattr(cli, "_run_doctor", refuse)
    code, _, err = _run(["doctor"], capsys)
    assert code == 2 and _line(err) == f"gpt2course doctor: {words}"


def _command(*args: str, **env: str) -> subprocess.CompletedProcess:
    script = "import sys; from gpt2course.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                          timeout=300, env={**os.environ, "GPT2COURSE_DEBUG": "", **env})


def test_a_terminal_that_cannot_show_chinese_gets_escapes_not_an_error():
    shown = _command("--lang", "zh", "grade", "--help", PYTHONIOENCODING="ascii")
    assert shown.returncode == 0, shown.stderr
    assert b"\\u7528\\u6cd5" in shown.stdout  # 用法
    refused = _command("--lang", "zh", "grade", PYTHONIOENCODING="ascii")
    assert refused.returncode == 2 and b"Traceback" not in refused.stderr


def test_help_needs_no_torch():
    shown = subprocess.run([sys.executable, "-c", "import sys; from gpt2course.cli import main\n"
                            "try:\n    main(['grade', '--help'])\nexcept SystemExit:\n    pass\n"
                            "print('torch' in sys.modules)"], capture_output=True, text=True,
                           timeout=300)
    assert shown.stdout.strip().endswith("False"), shown.stdout + shown.stderr


def test_the_translation_tool_finds_the_solutions_from_a_subfolder():
    shown = subprocess.run([sys.executable, "-m", "gpt2course.translations", "status", "04",
                            "--brief"], capture_output=True, text=True, timeout=300,
                           cwd=ROOT / "lessons")
    assert shown.returncode in (0, 1) and shown.stdout.startswith("04_mlp.ipynb: "), shown


def test_the_command_line_reads_notebooks_without_jsonschemas_iri_parsers(tmp_path):
    """Every grade or assign reads notebooks with nbformat, whose jsonschema would import
    rfc3987_syntax (1-2 s of Lark parsers, for a string format no notebook schema has).
    In the command's process it stays out, and notebooks still validate and read."""
    code = (
        "import sys\n"
        "from gpt2course.cli import main\n"
        "assert main(['assign', '--check', sys.argv[1], sys.argv[2]]) == 0\n"
        "import nbformat\n"
        "nb = nbformat.read(sys.argv[3], as_version=4)\n"
        "nbformat.validate(nb)\n"
        "print('loaded' if sys.modules.get('rfc3987_syntax') else 'kept out', len(nb.cells))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(ROOT / "solutions"), str(LESSONS),
                           str(LESSONS / "04_mlp.ipynb")], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("kept out "), done.stdout
    assert int(last.split()[-1]) > 5
