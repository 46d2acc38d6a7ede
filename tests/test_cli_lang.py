"""``--lang`` on every command: messages and errors in the chosen language, English by
default, and the caller's language unchanged after ``main`` returns."""

from __future__ import annotations

import os

import pytest

from gpt2course import cli, i18n


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    monkeypatch.delenv("GPT2COURSE_LANG", raising=False)
    i18n.set_language(None)
    yield
    i18n.set_language(None)


def test_every_command_takes_lang():
    parser = cli.build_parser()
    commands = parser._subparsers._group_actions[0].choices  # argparse keeps them here
    assert commands, "no subcommands"
    for name, sub in commands.items():
        options = {o for a in sub._actions for o in a.option_strings}
        assert "--lang" in options, f"`gpt2course {name}` has no --lang"


@pytest.mark.parametrize("argv", [
    ["--lang", "zh", "assign", "no-such-folder", "out"],
    ["assign", "no-such-folder", "out", "--lang", "zh_CN"],
])
def test_error_line_in_chinese(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("gpt2course assign："), err  # the Chinese colon of the zh catalog
    assert "Traceback" not in err
    assert i18n.get_language() == "en" and "GPT2COURSE_LANG" not in os.environ


@pytest.mark.parametrize("argv", [
    ["--lang", "zh", "generate", "--top-k", "x"],
    ["generate", "--top-k", "x", "--lang=zh"],
])
def test_option_error_line_in_chinese(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    assert capsys.readouterr().err.startswith("gpt2course generate："), argv
    assert i18n.get_language() == "en"


def test_english_by_default_and_from_environment(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["assign", "no-such-folder", "out"]) == 2
    assert capsys.readouterr().err.startswith("gpt2course assign: ")
    monkeypatch.setenv("GPT2COURSE_LANG", "zh")
    assert cli.main(["assign", "no-such-folder", "out"]) == 2
    assert capsys.readouterr().err.startswith("gpt2course assign：")


def test_unknown_language_is_one_clear_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["assign", "--lang", "fr"])
    assert exit_.value.code == 2
    assert "invalid choice: 'fr'" in capsys.readouterr().err
