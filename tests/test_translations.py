"""The Chinese edition cannot drift: a changed English cell (stale), an untranslated cell
(missing), an entry for a cell that is gone (orphan) and Chinese code that is not the
English code each fail the check; the repository's own translations pass it."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import yaml

from gpt2course.errors import CourseError
from gpt2course.translations import (
    Entry,
    code_tokens,
    en_hash,
    find_lessons,
    load_translations,
    problems,
    same_code,
    translated_notebook,
)
from gpt2course.translations_build import assign_translations, build, stale_translations
from gpt2course.translations_cli import status

ROOT = Path(__file__).resolve().parents[1]

MARKDOWN = "# Lesson 99\n\nA token is a piece of text."
CODE = ('def double(x):\n    """Twice x."""\n    ### BEGIN SOLUTION\n    return 2 * x  # add it\n'
        '    ### END SOLUTION\n\nprint(f"double of 3: {double(3):.1f}")')
IMPORTS = 'from gpt2course.i18n import set_language\n\nset_language("en")'
ZH_CODE = ('def double(x):\n    """x 的两倍。"""\n    ### BEGIN SOLUTION\n'
           '    return 2 * x  # 加上它\n    ### END SOLUTION\n\n'
           'print(f"3 的两倍：{double(3):.1f}")')


def _english() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(MARKDOWN, id="aaaa0001"),
                nbformat.v4.new_code_cell(IMPORTS, id="aaaa0002"),
                nbformat.v4.new_code_cell(CODE, id="aaaa0003")]
    nb.cells[2].metadata["nbgrader"] = {"grade_id": "99_double", "solution": True,
                                        "grade": False, "locked": False, "schema_version": 3}
    return nb


def _entries(**changes: dict) -> dict:
    cells = {
        "aaaa0001": {"en_hash": en_hash(MARKDOWN), "zh": "# 第 99 课\n\n词元是一段文本。"},
        "aaaa0002": {"en_hash": en_hash(IMPORTS), "zh": IMPORTS.replace('"en"', '"zh"')},
        "aaaa0003": {"en_hash": en_hash(CODE), "zh": ZH_CODE},
    }
    for key, value in changes.items():
        if value is None:
            cells.pop(key)
        else:
            cells[key] = value
    return cells


def _write(folder: Path, cells: dict) -> Path:
    nbformat.write(_english(), folder / "99_double.ipynb")
    path = folder / "99_double.zh.yaml"
    path.write_text(yaml.safe_dump({"cells": cells}, allow_unicode=True), encoding="utf-8")
    return path


def _kinds(tmp_path: Path, cells: dict) -> list[tuple[str, str]]:
    entries = load_translations(_write(tmp_path, cells))
    return [(p.kind, p.cell_id) for p in problems(_english(), entries)]


def test_complete_translation_has_no_problem(tmp_path):
    assert _kinds(tmp_path, _entries()) == []


def test_changed_english_cell_is_stale(tmp_path):
    old = {"en_hash": en_hash(MARKDOWN + " old"), "zh": "# 第 99 课"}
    assert _kinds(tmp_path, _entries(aaaa0001=old)) == [("stale", "aaaa0001")]


def test_cell_without_translation_is_missing(tmp_path):
    assert _kinds(tmp_path, _entries(aaaa0003=None)) == [("missing", "aaaa0003")]


def test_entry_of_a_removed_cell_is_orphan(tmp_path):
    gone = {"en_hash": "0123456789ab", "keep": True}
    assert _kinds(tmp_path, _entries(deadbeef=gone)) == [("orphan", "deadbeef")]


@pytest.mark.parametrize("chinese", [
    ZH_CODE.replace("2 * x", "x * 2"),                    # other code
    ZH_CODE.replace(":.1f}", ":.2f}"),                    # a format spec is code
    ZH_CODE.replace("{double(3)", "{double(4)"),          # an f-string's expression
    ZH_CODE.replace("    ### END SOLUTION\n", ""),        # a marker lost
    ZH_CODE + "\nprint(1)",                               # a statement added
])
def test_code_differing_beyond_comments_and_strings_fails(tmp_path, chinese):
    wrong = {"en_hash": en_hash(CODE), "zh": chinese}
    assert _kinds(tmp_path, _entries(aaaa0003=wrong)) == [("code", "aaaa0003")]


def test_import_cell_must_switch_to_chinese(tmp_path):
    english_still = {"en_hash": en_hash(IMPORTS), "zh": IMPORTS}
    assert _kinds(tmp_path, _entries(aaaa0002=english_still)) == [("code", "aaaa0002")]


def test_comments_docstrings_and_labels_may_differ():
    assert same_code(CODE, ZH_CODE) is None
    assert code_tokens("x = 1  # one\n\n\ny = 'a'") == code_tokens("x = 1\ny = '甲'  # 乙")
    assert same_code("x = 1", "x = (1") is not None  # unreadable Chinese code is reported
    # a translated label may put its fields in another order, but not change them
    assert same_code('print(f"{a} of {b:.2f}")', 'print(f"{b:.2f} 的 {a}")') is None
    assert same_code('print(f"{a} of {b:.2f}")', 'print(f"{b:.3f} 的 {a}")') is not None


@pytest.mark.parametrize("entry", [
    {"en_hash": "12345", "zh": "x"},                   # not 12 hex digits
    {"en_hash": "0123456789ab"},                       # neither zh nor keep
    {"en_hash": "0123456789ab", "zh": "x", "keep": True},  # both
    {"en_hash": "0123456789ab", "text": "x"},          # unknown key
])
def test_malformed_entry_is_one_clear_error(tmp_path, entry):
    with pytest.raises(CourseError, match="aaaa0001"):
        load_translations(_write(tmp_path, _entries(aaaa0001=entry)))


def test_status_prints_the_english_to_translate(tmp_path, capsys):
    _write(tmp_path, _entries(aaaa0001=None))
    assert status(str(tmp_path), None, brief=False) == 1
    out = capsys.readouterr().out
    assert "1 missing" in out and "| A token is a piece of text." in out
    _write(tmp_path, _entries())
    assert status(str(tmp_path), "99", brief=False) == 0


def test_lesson_without_translation_is_reported_not_crashed(tmp_path):
    nbformat.write(_english(), tmp_path / "98_other.ipynb")
    _write(tmp_path, _entries())
    report = build(tmp_path, run=False)
    assert report.written == ["99_double.ipynb"]
    assert [name for name, _ in report.skipped] == ["98_other.ipynb"]


def test_built_notebook_keeps_ids_metadata_and_is_checked_by_assign(tmp_path):
    solutions, lessons = tmp_path / "solutions", tmp_path / "lessons"
    solutions.mkdir()
    _write(solutions, _entries())
    build(solutions, run=False)
    built = nbformat.read(solutions / "zh" / "99_double.ipynb", as_version=4)
    english = _english()
    assert [c.id for c in built.cells] == [c.id for c in english.cells]
    assert built.cells[2].metadata == english.cells[2].metadata
    assert built.metadata["language"] == "zh" and "x 的两倍" in built.cells[2].source
    assert stale_translations(solutions) == []
    # assign writes lessons/zh with the same function as lessons/ (here a stand-in without
    # the validation of a real lesson's exercises)
    plain = _copy_assign
    written = assign_translations(solutions, lessons, check=False, assign=plain)
    assert written == ["zh/99_double.ipynb"]
    assert assign_translations(solutions, lessons, check=True, assign=plain) == []
    # the English changes: --check reports the Chinese notebook
    english.cells[0].source += "\n\nMore."
    nbformat.write(english, solutions / "99_double.ipynb")
    assert stale_translations(solutions)[0].startswith("zh/99_double.ipynb")
    assert assign_translations(solutions, lessons, check=True, assign=plain)


def _copy_assign(src: Path, dst: Path, *, check: bool) -> list[str]:
    from gpt2course.grading.assign import lesson_from_solution

    stale = []
    for path in sorted(src.glob("*.ipynb")):
        text = lesson_from_solution(nbformat.read(path, as_version=4), path.name)
        target = dst / path.name
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            stale.append(path.name)
            if not check:
                dst.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
    return stale


def test_translated_notebook_refuses_an_incomplete_translation():
    with pytest.raises(CourseError, match="status"):
        translated_notebook(_english(), {"aaaa0001": Entry(en_hash(MARKDOWN), None)})


def test_the_repository_translations_are_clean():
    # Every translation file the course has matches its English notebook.
    # The Chinese edition is complete: every lesson has its translation and its notebook.
    lessons = find_lessons(ROOT / "solutions")
    assert all(x.translation.exists() for x in lessons), "a lesson has no .zh.yaml"
    assert all((ROOT / "solutions" / "zh" / x.name).exists() for x in lessons)
    wrong = {x.name: [(p.kind, p.cell_id, p.detail) for p in x.status()] for x in lessons}
    assert not any(wrong.values()), wrong
    assert stale_translations(ROOT / "solutions") == []
