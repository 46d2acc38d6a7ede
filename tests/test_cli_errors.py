"""A user's mistake on the command line is one line saying what to do, exit code 2.

Every subcommand is given bad values (NaN, negatives, out-of-range probabilities,
missing or unreadable files, an empty model folder, a prompt longer than the
context, unknown options, ...). Nothing may print a traceback. A bug (an exception
that is not a ``CourseError``) is one line asking for a report, exit code 1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gpt2course import GPT2, GPT2Config
from gpt2course.cli import main
from gpt2course.train import save_checkpoint

LESSONS = Path(__file__).resolve().parents[1] / "lessons"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("ckpt") / "tiny"
    save_checkpoint(GPT2(GPT2Config(n_positions=8, n_embd=8, n_layer=1, n_head=1)), folder)
    return folder


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("files")
    (root / "empty").mkdir()
    (root / "damaged.safetensors").write_bytes(b"not safetensors at all")
    (root / "badconfig").mkdir()
    (root / "badconfig" / "model.safetensors").write_bytes(b"\x00" * 16)
    (root / "badconfig" / "config.json").write_text("{ nope")
    (root / "notebook.ipynb").write_text("{ not json")
    (root / "text.txt").write_text("hello")
    return {path.name: path for path in root.iterdir()} | {"root": root}


def _run(argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.err


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


GENERATE_CASES = [
    (["--temperature", "nan"], "argument --temperature: must be a number in [0, 100]"),
    (["--temperature", "inf"], "argument --temperature: must be a number in [0, 100]"),
    (["--temperature", "-0.5"], "argument --temperature: must be a number in [0, 100]"),
    (["--temperature", "1e9"], "argument --temperature: must be a number in [0, 100]"),
    (["--temperature", "warm"], "argument --temperature: must be a number in [0, 100]"),
    (["--top-k", "0"], "argument --top-k: must be a whole number from 1 to 50257"),
    (["--top-k", "-4"], "argument --top-k: must be a whole number from 1 to 50257"),
    (["--top-k", "2.5"], "argument --top-k: must be a whole number from 1 to 50257"),
    (["--top-p", "0"], "argument --top-p: must be a number in (0, 1]"),
    (["--top-p", "1.5"], "argument --top-p: must be a number in (0, 1]"),
    (["--top-p", "nan"], "argument --top-p: must be a number in (0, 1]"),
    (["--top-p", "-0.1"], "argument --top-p: must be a number in (0, 1]"),
    (["--max-new-tokens", "-3"], "argument --max-new-tokens: must be a whole number from 0 to"),
    (["--max-new-tokens", "100000000"], "argument --max-new-tokens: must be a whole number"),
    (["--seed", "-1"], "argument --seed: must be a whole number from 0 to 18446744073709551615"),
    (["--seed", str(2**64)], "argument --seed: must be a whole number from 0 to"),
    (["--prompt", "word " * 20], "tokens long, but this model sees at most 8 at once"),
    (["--prompt", "<|endoftext|>" * 9], "the prompt is 9 tokens long"),
    (["--no-such-option"], "unrecognized arguments: --no-such-option"),
]


@pytest.mark.parametrize("args, message", GENERATE_CASES)
def test_generate_bad_values(model_dir, capsys, args, message):
    code, err = _run(["generate", "--model", str(model_dir), *args], capsys)
    assert code == 2
    assert message in _one_line(err)


@pytest.mark.parametrize("model, message", [
    ("empty", "has no model.safetensors (it holds: nothing)"),
    ("damaged.safetensors", "as safetensors"),
    ("badconfig", "is not valid JSON"),
    ("text.txt", "is not a .safetensors file"),
    ("missing/folder/x", "No such file or folder"),
])
def test_generate_bad_models(files, capsys, model, message):
    path = files[model] if model in files else files["root"] / model
    code, err = _run(["generate", "--model", str(path), "--prompt", "Hi"], capsys)
    assert code == 2
    assert message in _one_line(err)


def test_generate_good_values_still_work(model_dir, capsys):
    args = ["generate", "--model", str(model_dir), "--prompt", "Hi", "--max-new-tokens", "3",
            "--temperature", "-0.0", "--top-p", "1", "--top-k", "1", "--seed", "0"]
    assert main(args) == 0
    assert capsys.readouterr().out.startswith("Hi")
    assert main([*args[:-4], "--temperature", "1e-40"]) == 0  # overflows: greedy


def _lesson_copy(tmp_path: Path) -> Path:
    target = tmp_path / "01_tokenizer.ipynb"
    target.write_bytes((LESSONS / "01_tokenizer.ipynb").read_bytes())
    return target


@pytest.mark.parametrize("argv, message", [
    (["doctor", "--fix-everything"], "unrecognized arguments"),
    (["assign", "{root}/nothing", "{root}/out"], "is not a folder of solution notebooks"),
    (["assign", "{root}/empty", "{root}/out", "--check"], "holds no .ipynb files"),
    (["check", "{root}/nothing.ipynb", "--lessons", LESSONS], "cannot be graded"),
    (["check", "{root}/notebook.ipynb", "--lessons", LESSONS], "not a Jupyter notebook"),
    (["check", "{root}/notebook.ipynb", "--lessons", "{root}/empty"], "no lesson notebooks"),
    (["grade", "{root}/nothing", "--lessons", LESSONS], "does not exist"),
    (["grade", "{root}/empty", "--lessons", LESSONS], "holds no notebooks (*.ipynb) to grade"),
    (["grade", "{lesson}", "--lessons", LESSONS, "--jobs", "0"], "--jobs: must be a whole number"),
    (["grade", "{lesson}", "--lessons", LESSONS, "--time-limit", "nan"],
     "--time-limit: must be a number in (0, 3600]"),
    (["grade", "{lesson}", "--lessons", LESSONS, "--time-limit", "-1"],
     "--time-limit: must be a number in (0, 3600]"),
    (["grade", "{lesson}", "--lessons", LESSONS, "--memory-mb", "-5"],
     "--memory-mb: must be a whole number from 256"),
    (["grade", "{lesson}", "--lessons", LESSONS, "--out", "{root}/no/dir/x.csv"],
     "does not exist; create it first"),
    (["grade", "{lesson}", "--lessons", LESSONS, "--json", "{root}/empty"], "is a folder"),
    (["grade", "{lesson}", "--lessons", LESSONS, "--resume"], "--resume needs --out"),
    (["gradescope-bundle", "{root}/out.zip", "--lessons", "{root}/empty"], "no lesson notebooks"),
    (["gradescope-bundle", "{root}/no/dir/out.zip", "--lessons", LESSONS], "does not exist"),
    (["grade", "--seed", "many", "{lesson}"], "argument --seed: must be a whole number"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["download", "--to", "{root}/text.txt"], "is a file, not a folder"),
    (["download", "--weights", "../x", "--to", "{root}/dl"], "is not a Hub model id"),
])
def test_grading_and_course_commands_bad_values(files, tmp_path, capsys, argv, message):
    fill = {"root": str(files["root"]), "lesson": str(_lesson_copy(tmp_path))}
    code, err = _run([str(a).format(**fill) for a in argv], capsys)
    assert code == 2
    assert message in _one_line(err)  # (download prints progress to stdout, errors to stderr)


TRAIN_CASES = [
    (["--steps", "-5"], "argument --steps: must be a whole number from 1 to"),
    (["--steps", "ten"], "argument --steps: must be a whole number from 1 to"),
    (["--lr", "nan"], "argument --lr: must be a number in (0, 1]"),
    (["--lr=-1e-3"], "argument --lr: must be a number in (0, 1]"),
    (["--val-fraction", "1.5"], "argument --val-fraction: must be a number in (0, 1)"),
    (["--dropout", "nan"], "argument --dropout: must be a number in [0, 1)"),
    (["--grad-clip", "inf"], "argument --grad-clip: must be a number in [0, 1e+06]"),
    (["--n-embd", "30"], "--n-embd (30) must be a multiple of --n-head (4)"),
    (["--device", "tpu"], "argument --device: must be auto, cpu, cuda or cuda:N"),
    (["--block-size", "400000"], "argument --block-size: must be a whole number from 1 to 1024"),
    (["--out", "{root}/text.txt"], "is a file, not a folder"),
    (["--seed", "-3"], "argument --seed: must be a whole number from 0 to"),
]


@pytest.mark.parametrize("args, message", TRAIN_CASES)
def test_train_script_bad_values(files, capsys, args, message):
    from gpt2course.train_cli import main as train_main

    argv = [a.format(root=files["root"]) for a in args]
    try:
        code = train_main([*argv, "--steps", "1", "--no-progress"] if "--steps" not in argv
                          else [*argv, "--no-progress"])
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("python -m gpt2course.train: ") and message in line
    assert "TrainConfig" not in line and "_" not in line.split(": ", 1)[1].split(",")[0]


def test_a_bug_is_one_line_with_a_report_hint(monkeypatch, capsys):
    import gpt2course.generate_cli as generate_cli

    def broken(**kwargs):
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(generate_cli, "stream_generate", broken)
    code, err = _run(["generate", "--prompt", "x"], capsys)
    assert code == 1
    line = _one_line(err)
    assert "unexpected error ZeroDivisionError: oops" in line and "please report" in line
    saved = Path(line.split("saved in ")[1].split(" (or run")[0])
    assert "ZeroDivisionError" in saved.read_text()
    saved.unlink()
    monkeypatch.setenv("GPT2COURSE_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["generate", "--prompt", "x"])


def test_no_traceback_through_the_real_entry_point(model_dir):
    """The installed command, as a user runs it, for one bad value of each kind."""
    for args in (["generate", "--model", str(model_dir), "--temperature", "nan"],
                 ["generate", "--model", str(model_dir / "nope")]):
        out = subprocess.run([sys.executable, "-m", "gpt2course.cli", *args], capture_output=True,
                             text=True, timeout=300, env={**os.environ, "GPT2COURSE_DEBUG": ""})
        assert out.returncode == 2, out.stderr
        assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
