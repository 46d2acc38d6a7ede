"""``--lang`` on every command: messages and errors in the chosen language, English by
default, and the caller's language unchanged after ``main`` returns."""

from __future__ import annotations

import argparse
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


def _english_helps(name: str | None) -> list[str]:
    """The English help texts of a command's options (or of the top level's)."""
    parser = cli.build_parser()
    if name is not None:
        parser = parser._subparsers._group_actions[0].choices[name]
    texts = [a.help for a in parser._actions if a.help and a.help != argparse.SUPPRESS]
    return [t for t in texts + [parser.description or ""] if len(t) > 12]


def _commands() -> list[str]:
    return list(cli.build_parser()._subparsers._group_actions[0].choices)


@pytest.mark.parametrize("how", ["option", "environment"])
def test_help_of_every_command_in_chinese(how, capsys, monkeypatch):
    names = [None, *_commands()]
    english = {name: _english_helps(name) for name in names}
    if how == "environment":
        monkeypatch.setenv("GPT2COURSE_LANG", "zh")
    for name in names:
        argv = ([] if name is None else [name]) + ["--help"]
        with pytest.raises(SystemExit) as exit_:
            cli.main(["--lang", "zh", *argv] if how == "option" else argv)
        assert exit_.value.code == 0
        text = capsys.readouterr().out
        assert text.startswith("用法：") and "选项" in text and "显示此帮助信息并退出" in text, text
        left = [t for t in english[name] if t.split("(")[0].strip() in text]
        assert not left, f"`{name} --help` still in English: {left}"
    assert argparse._("usage: ") == "usage: "  # argparse is left as it was


@pytest.mark.parametrize("argv, chinese", [
    (["grade"], "缺少必需的参数：submissions"),
    (["frobnicate"], "无效的选择：'frobnicate'"),
    (["doctor", "--nope"], "无法识别的参数：--nope"),
    (["grade", "x.ipynb", "--jobs"], "参数 --jobs：需要一个值"),
    (["generate", "--top-p", "2"], "参数 --top-p：必须是区间 (0, 1] 内的数"),
    (["check", ""], "参数 notebook：请给出路径"),
])
def test_argparse_errors_in_chinese(argv, chinese, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--lang", "zh", *argv])
    assert exit_.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert chinese in line and "（见 gpt2course" in line, line


def test_an_unknown_language_in_the_environment_says_so_once(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("GPT2COURSE_LANG", "klingon")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["assign", "no-such-folder", "out"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == ("gpt2course: GPT2COURSE_LANG='klingon' is not a language of the course; "
                      "using English (the languages: en, zh).")
    assert err[1].startswith("gpt2course assign: ") and len(err) == 2


def test_training_command_help_in_chinese(capsys, monkeypatch):
    """`python -m gpt2course.train --help`: every setting's help (its TrainConfig comment)
    and the defaults' wording come out in Chinese."""
    from gpt2course import train_cli

    comments = train_cli.field_comments()
    assert len(comments) >= 15  # every field has its comment, read from the source
    monkeypatch.setenv("GPT2COURSE_LANG", "zh")
    with pytest.raises(SystemExit) as exit_:
        train_cli.main(["--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps the help lines
    left = [c for c in comments.values() if c.split("(")[0].strip() in text]
    assert not left, f"train --help still in English: {left}"
    assert "（默认：200）" in text and "（默认：" in text.split("--n-layer")[-1]
