"""Terminology does not wander: every Chinese text of the course uses the glossary's terms
(gpt2course/locale/glossary.yaml) and never a forbidden variant (令牌 or 标记 for token, ...).

Checked: the lesson translations (solutions/*.zh.yaml), the generated Chinese notebooks
(solutions/zh, lessons/zh) and every message catalog (locale/zh/*.po)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml
from babel.messages.pofile import read_po

from gpt2course.i18n import LOCALE_DIR

ROOT = Path(__file__).resolve().parents[1]
TERMS = yaml.safe_load((LOCALE_DIR / "glossary.yaml").read_text(encoding="utf-8"))["terms"]
# Code in English text is not prose: `spans`, and calls such as len(tokens).
CODE = re.compile(r"`[^`]*`|\b\w+\([^()]*\)|\{[^{}]*\}")


def _mentions(term: str, english: str) -> bool:
    word = r"(?<![\w-])" + re.escape(term) + r"(e?s)?(?![\w-])"
    return re.search(word, CODE.sub(" ", english), re.IGNORECASE) is not None


def forbidden(chinese: str, english: str | None = None) -> list[str]:
    """The forbidden variants in a Chinese text, as 'variant (for term)': of every term, or
    with ``english`` (the text translated) of the terms it uses (标记 for "marker" is fine)."""
    return [f"{bad} (for {t['en']})" for t in TERMS for bad in t["not"]
            if bad in chinese and (english is None or _mentions(t["en"], english))]


def missing_terms(english: str, chinese: str) -> list[str]:
    """Glossary terms the English text uses whose Chinese (or kept English) is absent."""
    out = []
    for t in TERMS:
        want = t["en"] if t.get("keep") else t["zh"]
        if (not t.get("loose") and _mentions(t["en"], english)
                and want.lower() not in chinese.lower()):
            out.append(f"{t['en']} -> {want}")
    return out


def _translations():
    for path in sorted((ROOT / "solutions").glob("*.zh.yaml")):
        english = {c.id: c for c in nbformat.read(path.with_name(
            path.name.replace(".zh.yaml", ".ipynb")), as_version=4).cells}
        for cell_id, entry in yaml.safe_load(path.read_text(encoding="utf-8"))["cells"].items():
            if entry.get("zh") and cell_id in english:
                yield f"{path.name}:{cell_id}", english[cell_id], entry["zh"]


def _catalog():
    for path in sorted((LOCALE_DIR / "zh").glob("*.po")):
        with path.open("rb") as f:
            for m in read_po(f):
                if m.id and m.string:
                    yield f"{path.name}: {str(m.id)[:60]!r}", str(m.id), str(m.string)


def test_glossary_is_well_formed():
    names = [t["en"] for t in TERMS]
    assert len(names) == len(set(names))
    for t in TERMS:
        assert bool(t.get("keep")) != bool(t.get("zh")), t
        assert t["zh" if not t.get("keep") else "en"] not in t["not"], t
    by_en = {t["en"]: t for t in TERMS}
    assert by_en["token"]["zh"] == "词元" and {"令牌", "标记"} <= set(by_en["token"]["not"])
    assert "注意力机制" not in str(TERMS)  # a fine phrase, not forbidden


def test_the_checks_can_fail():
    assert forbidden("每个令牌都有一个 id") == ["令牌 (for token)"]
    assert forbidden("注意力机制让每个词元看到前面的词元") == []
    assert forbidden("答案标记", "solution markers") == []  # 标记 for "marker" is fine
    assert forbidden("特殊标记", "special tokens") == ["标记 (for token)"]
    assert missing_terms("Each token has an id.", "每个标记都有一个 id。") == ["token -> 词元"]
    assert missing_terms("The logits of len(tokens)", "logits 的值") == []
    assert missing_terms("Use the KV cache.", "使用键值缓存。") == ["KV cache -> KV cache"]
    assert missing_terms("the largest value", "最大的数") == []  # "value" is loose


def test_lesson_translations_use_the_glossary():
    bad = {}
    for where, english, chinese in _translations():
        problems = forbidden(chinese, english.source)
        if english.cell_type == "markdown":
            problems += missing_terms(english.source, chinese)
        if problems:
            bad[where] = problems
    assert not bad, bad


def test_message_catalogs_use_the_glossary():
    bad = {where: forbidden(text, msgid) + missing_terms(msgid, text)
           for where, msgid, text in _catalog()}
    bad = {k: v for k, v in bad.items() if v}
    assert not bad, bad


@pytest.mark.parametrize("folder", ["solutions/zh", "lessons/zh"])
def test_generated_chinese_notebooks_use_the_glossary(folder):
    paths = sorted((ROOT / folder).glob("*.ipynb"))
    if not paths:
        pytest.skip(f"{folder} not built yet")
    bad = {}
    for path in paths:
        for cell in nbformat.read(path, as_version=4).cells:
            texts = [cell.source] + [o.get("text", "") for o in cell.get("outputs", [])]
            found = forbidden("\n".join(texts))
            if found:
                bad[f"{path.name}:{cell.id}"] = found
    assert not bad, bad
