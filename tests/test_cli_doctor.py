"""Every suggestion of ``gpt2course doctor`` fits the state it sees: it never asks to set
a variable that is set (it says what is wrong with the value instead), never asks to
unset one that is not, and a download folder that cannot be written is reported only
where it matters."""

from __future__ import annotations

import io
import itertools
import re

import pytest

from gpt2course.doctor import run_doctor

VARIABLES = ("GPT2COURSE_CACHE_DIR", "GPT2COURSE_DATA_DIR", "GPT2COURSE_DATA_URL",
             "HF_ENDPOINT", "HF_HUB_OFFLINE")


def report(probe=lambda url: False) -> str:
    out = io.StringIO()
    run_doctor(out, probe=probe)
    return out.getvalue()


def line_about(text: str, what: str) -> str:
    [line] = [line for line in text.splitlines() if line[10:].startswith(what)]
    return line


@pytest.fixture
def bare(tmp_path, monkeypatch):
    """Nothing cached anywhere and every variable unset; tests set what they need."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tk"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GPT2COURSE_LANG", "en")
    return tmp_path


def _values(tmp_path) -> dict[str, str]:
    return {"GPT2COURSE_CACHE_DIR": str(tmp_path / "prepared"),
            "GPT2COURSE_DATA_DIR": str(tmp_path / "data"),
            "GPT2COURSE_DATA_URL": "https://data-mirror.example/files",
            "HF_ENDPOINT": "https://hf-mirror.example", "HF_HUB_OFFLINE": "1"}


def _asks_to_set(text: str, name: str) -> bool:
    return bool(re.search(rf"(?:\bset {name}\b|\bwith {name} set to\b|export {name}=)", text))


def _says_is_set(text: str, name: str) -> bool:
    return bool(re.search(rf"\b{name}(?:=\S+)? is set\b|\bunset {name}\b|\bset by {name}\b",
                          text))


@pytest.mark.parametrize("chosen", [c for n in range(len(VARIABLES) + 1)
                                    for c in itertools.combinations(VARIABLES, n)])
def test_no_advice_contradicts_the_variables(bare, monkeypatch, chosen):
    values = _values(bare)
    for name in chosen:
        monkeypatch.setenv(name, values[name])
    text = report()
    for name in VARIABLES:
        if name in chosen:
            assert not _asks_to_set(text, name), f"{name} is set, yet:\n{text}"
        else:
            assert not _says_is_set(text, name), f"{name} is not set, yet:\n{text}"


def test_a_set_cache_folder_is_named_with_what_to_put_in_it(bare, monkeypatch):
    monkeypatch.setenv("GPT2COURSE_CACHE_DIR", str(bare / "prepared"))
    weights = line_about(report(), "GPT-2 weights")
    assert f"fill GPT2COURSE_CACHE_DIR={bare / 'prepared'}" in weights
    assert "set GPT2COURSE_CACHE_DIR to" not in weights


def test_an_unset_cache_folder_is_suggested(bare):
    weights = line_about(report(), "GPT-2 weights")
    assert "set GPT2COURSE_CACHE_DIR to a folder prepared with" in weights


def test_data_variables_that_are_set_are_checked_not_suggested(bare, monkeypatch):
    monkeypatch.setenv("GPT2COURSE_DATA_DIR", str(bare / "data"))
    corpus = line_about(report(), "Tiny Shakespeare")
    assert f"GPT2COURSE_DATA_DIR={bare / 'data'} is set but does not hold" in corpus
    monkeypatch.delenv("GPT2COURSE_DATA_DIR")
    monkeypatch.setenv("GPT2COURSE_DATA_URL", "https://data-mirror.example/files")
    corpus = line_about(report(), "Tiny Shakespeare")
    assert "Check that GPT2COURSE_DATA_URL=https://data-mirror.example/files" in corpus


def test_the_download_folder_line(bare, monkeypatch):
    writable = line_about(report(), "download folder")
    assert writable.startswith("[  ok   ]") and "(the default), writable" in writable
    blocker = bare / "a file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("GPT2COURSE_CACHE_DIR", str(blocker / "cache"))
    text = report()
    line = line_about(text, "download folder")
    assert line.startswith("[missing]") and "cannot be written" in line
    assert "point GPT2COURSE_CACHE_DIR at a folder you can write" in line
    monkeypatch.delenv("GPT2COURSE_CACHE_DIR")
    monkeypatch.setenv("HOME", str(blocker))  # the default folder, under a file
    line = line_about(report(), "download folder")
    assert "set GPT2COURSE_CACHE_DIR to a folder you can write" in line


def test_a_read_only_folder_that_holds_everything_is_fine(monkeypatch, tmp_path):
    """The classroom case: a prepared folder on a read-only share (the checkout's
    offline data stand in for it; they hold the vocabulary and the corpus)."""
    from gpt2course.downloads import status

    pieces = [status.Line("ok", "x", "")]
    monkeypatch.setenv("GPT2COURSE_CACHE_DIR", str(tmp_path / "f" / "sub"))
    (tmp_path / "f").write_text("a file: nothing can be written below it")
    line = status._cache_line(pieces)
    assert line.status == "note" and "fine, as it holds everything" in line.detail


def test_the_last_line_points_at_the_lessons_found_from_here(monkeypatch, tmp_path):
    from gpt2course import course_folders, doctor

    monkeypatch.setattr(course_folders, "PACKAGE_CHECKOUT", tmp_path / "site-packages")
    (tmp_path / "course" / "lessons").mkdir(parents=True)
    (tmp_path / "course" / "lessons" / "01_tokenizer.ipynb").write_text("{}")
    monkeypatch.chdir(tmp_path / "course" / "lessons")
    assert doctor._all_set() == (f"All set: run `jupyter lab {tmp_path / 'course' / 'lessons'}` "
                                 "to open the lessons.")
    monkeypatch.chdir(tmp_path)
    assert "`jupyter lab path/to/lessons`" in doctor._all_set()


def test_an_unreachable_hub_is_not_a_problem_when_nothing_is_needed_from_it(monkeypatch):
    from gpt2course.downloads import status

    monkeypatch.setattr(status, "_vocabulary_line", lambda up: status.Line("ok", "v", ""))
    monkeypatch.setattr(status, "_weights_line", lambda up: status.Line("ok", "w", ""))
    hub = next(line for line in status.download_lines(lambda url: False)
               if line.what == "Hugging Face Hub")
    assert "not needed" in hub.detail and "HF_ENDPOINT to a mirror" not in hub.detail


def test_a_cache_variable_naming_a_file(bare, monkeypatch):
    target = bare / "notes.txt"
    target.write_text("a file")
    monkeypatch.setenv("GPT2COURSE_CACHE_DIR", str(target))
    line = line_about(report(), "download folder")
    assert line.startswith("[missing]") and "is a file, not a folder" in line
    assert line.endswith("point GPT2COURSE_CACHE_DIR at a folder")
