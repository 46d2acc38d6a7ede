"""The message catalog: every message the package shows has Chinese, with the same
placeholders; the language switch works; no entry is orphaned or defined twice."""

from __future__ import annotations

import pytest
from babel.messages.pofile import read_po

from gpt2course import i18n
from gpt2course.i18n_extract import extract_messages, missing


@pytest.fixture(autouse=True)
def _english_after():
    yield
    i18n.set_language(None)


def _entries(lang: str = "zh") -> list[tuple[str, str, str]]:
    rows = []
    for path in sorted((i18n.LOCALE_DIR / lang).glob("*.po")):
        with path.open("rb") as f:
            rows += [(path.name, str(m.id), str(m.string)) for m in read_po(f) if m.id]
    return rows


def test_every_message_has_chinese():
    todo = missing("zh")
    assert not todo, "no Chinese for:\n" + "\n".join(
        f"  {m!r} ({', '.join(w)})" for m, w in sorted(todo.items()))


def test_translations_keep_the_placeholders():
    wrong = [(name, mid, text) for name, mid, text in _entries()
             if text and i18n.placeholders(mid) != i18n.placeholders(text)]
    assert not wrong, f"placeholders differ: {wrong}"


def test_no_empty_duplicate_or_orphaned_entry():
    rows = _entries()
    ids = [mid for _, mid, _ in rows]
    assert not [mid for mid in set(ids) if ids.count(mid) > 1], "an id is in two .po files"
    assert not [mid for _, mid, text in rows if not text], "an entry has no Chinese"
    used = extract_messages()
    orphans = [(name, mid) for name, mid, _ in rows if mid not in used]
    assert not orphans, f"entries no code uses any more (remove them): {orphans}"


def test_language_switch(monkeypatch):
    message = "unknown language {lang!r}; use one of: {languages}"
    assert i18n.tr(message, lang="x", languages="en") == "unknown language 'x'; use one of: en"
    i18n.set_language("zh_CN")
    assert i18n.get_language() == "zh"
    assert i18n.tr(message, lang="x", languages="en").startswith("未知语言")
    i18n.set_language(None)
    monkeypatch.setenv("GPT2COURSE_LANG", "zh")
    assert i18n.get_language() == "zh"
    monkeypatch.setenv("GPT2COURSE_LANG", "klingon")
    assert i18n.get_language() == "en"
    with pytest.raises(ValueError, match="unknown language"):
        i18n.set_language("fr")


def test_extractor_sees_only_literals():
    # A message built in place (an f-string, "+", "%", .format) would escape the catalog.
    # N_ marks a literal; tr takes a literal, or a variable holding an N_-marked constant
    # (a diagnosis defined at import time and shown later).
    import ast
    from pathlib import Path

    built = (ast.JoinedStr, ast.BinOp, ast.Call)
    bad = []
    for path in Path(i18n.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in i18n.KEYWORDS and node.args):
                continue
            first = node.args[0]
            literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
            if (node.func.id == "N_" and not literal) or isinstance(first, built):
                bad.append(f"{path.name}:{node.lineno}")
    assert not bad, f"tr()/N_() need a string literal (use {{fields}}): {bad}"
