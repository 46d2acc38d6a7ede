"""Every numeric option of every command is bounded on both sides, and every error the
command line prints names the option the user typed (``--top-p``), never a Python
parameter (``top_p``). Found by walking the parsers, so a new option is covered too."""

from __future__ import annotations

import argparse

import pytest

from gpt2course import cli, train_cli

HUGE = "1" + "0" * 30
NUMERIC = ("whole number", "number")  # cli_types' bounded types


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {**sub.choices, "<train>": train_cli._parser()}


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.option_strings and a.type is not None]


def test_no_option_takes_an_unbounded_number():
    loose = [(name, a.option_strings[0]) for name, p in _commands().items()
             for a in _options(p) if a.type in (int, float)]
    assert not loose, f"options with a plain int/float type (no bounds): {loose}"
    numeric = [a for p in _commands().values() for a in _options(p)
               if getattr(a.type, "__name__", "") in NUMERIC]
    assert len(numeric) >= 20  # generate, grade, gradescope-bundle and every training setting


def _run(name: str, argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = train_cli.main(argv) if name == "<train>" else cli.main([name, *argv])
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("value", [HUGE, "-" + HUGE, "nan", "inf", "1e400", "", "ten"])
def test_every_numeric_option_refuses_out_of_range_values_naming_itself(value, capsys):
    for name, parser in _commands().items():
        for action in _options(parser):
            if getattr(action.type, "__name__", "") not in NUMERIC:
                continue
            flag = action.option_strings[-1]
            code, err = _run(name, [f"{flag}={value}"], capsys)
            assert code == 2, (name, flag, value, err)
            lines = err.strip().splitlines()
            assert len(lines) == 1 and "Traceback" not in err, err
            assert f"argument {flag}: must be" in lines[0], lines[0]


@pytest.mark.parametrize("argv, flag", [
    (["generate", "--max-new-tokens", "4097"], "--max-new-tokens"),
    (["generate", "--temperature", "101"], "--temperature"),
    (["generate", "--top-k", "50258"], "--top-k"),
    (["grade", "x.ipynb", "--jobs", "65"], "--jobs"),
    (["grade", "x.ipynb", "--time-limit", "3601"], "--time-limit"),
    (["grade", "x.ipynb", "--memory-mb", "65537"], "--memory-mb"),
    (["grade", "x.ipynb", "--seed", str(2**63)], "--seed"),
    (["gradescope-bundle", "b.zip", "--seed", "-1"], "--seed"),
])
def test_bounds_that_protect_memory_and_time(argv, flag, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    assert f"argument {flag}: must be a" in capsys.readouterr().err


@pytest.mark.parametrize("argv, words", [
    (["--batch-size", "1024", "--block-size", "1024"], "--batch-size x --block-size"),
    (["--min-lr", "0.5", "--lr", "0.1"], "--min-lr (0.5) must not be above --lr (0.1)"),
    (["--n-layer", "49"], "argument --n-layer"),
    (["--n-embd", "1601"], "argument --n-embd"),
    (["--eval-batches", "1001"], "argument --eval-batches"),
])
def test_training_limits_name_the_options(argv, words, capsys):
    code, err = _run("<train>", argv, capsys)
    assert code == 2 and words in err and "Traceback" not in err


def test_the_seed_variable_is_checked_by_name(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("GPT2COURSE_GRADING_SEED", "secret-word")
    (tmp_path / "x.ipynb").write_text("{}")
    assert cli.main(["grade", str(tmp_path / "x.ipynb")]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "GPT2COURSE_GRADING_SEED must be a whole number from 0 to" in line


def test_messages_from_the_training_code_speak_of_options():
    said = train_cli._with_flags(
        "TrainConfig.steps must be a whole number >= 1, not 0. The validation data has 9 "
        "tokens; one window needs block_size + 1 = 65. Use a smaller block_size. The 200 "
        "steps took 3 s; seed must be >= 0; device='cuda' was asked for.")
    assert said == ("--steps must be a whole number >= 1, not 0. The validation data has 9 "
                    "tokens; one window needs --block-size + 1 = 65. Use a smaller --block-size. "
                    "The 200 steps took 3 s; --seed must be >= 0; --device='cuda' was asked for.")
