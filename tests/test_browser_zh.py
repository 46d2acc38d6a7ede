"""The Chinese edition in a real browser: JupyterLab with its interface in Chinese (the
language pack jupyterlab-language-pack-zh-CN), a Chinese lesson, a check that fails, and
the verdict in Chinese on the page. A screenshot goes to artifacts/browser/.

Reuses tests/test_browser.py's server, browser and page reader. The lesson is cut after
its first exercises' checks so the test stays fast.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import nbformat
import pytest
from test_browser import (  # noqa: F401 - fixtures used by name
    CHROMEDRIVER,
    CHROMIUM,
    TOKEN,
    Notebook,
    browser,
    lab,
    prepared,
)

from gpt2course.grading.notebooks import nbgrader_meta
from gpt2course.translations import find_lessons, load_translations, translated_notebook

ROOT = Path(__file__).resolve().parents[1]
PACK = "jupyterlab-language-pack-zh-CN"
CHINESE = re.compile(r"[\u4e00-\u9fff]")
WRONG_MASK = "def causal_mask(T):\n    return torch.ones(T, T, dtype=torch.bool).triu()\n"

pytestmark = [
    pytest.mark.slow,
    # make test runs these in a step of their own, one at a time (`-m browser`): two
    # JupyterLabs and two Chromiums at once would starve each other on a 2-core machine.
    pytest.mark.browser,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                       reason="no browser: install Debian's chromium and chromium-driver"),
]


class ChineseNotebook(Notebook):
    run_menu = "运行"  # "Run" in JupyterLab's Chinese interface


@pytest.fixture(scope="module")
def language_pack() -> None:
    """The Chinese language pack (the dev extra has it), installed here if missing: before
    JupyterLab starts, which looks for language packs once."""
    if importlib.util.find_spec("jupyterlab_language_pack_zh_CN") is None:
        done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", PACK],
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            pytest.skip(f"cannot install {PACK}: {done.stderr.strip()[-300:]}")


@pytest.fixture(scope="module")
def chinese_lab(language_pack, lab):  # noqa: F811 - the fixture imported above
    """The same JupyterLab, its interface switched to Chinese as a learner does it
    (Settings > Language)."""
    url, folder = lab
    request = urllib.request.Request(
        f"{url}/lab/api/settings/@jupyterlab/translation-extension:plugin",
        data=json.dumps({"raw": json.dumps({"locale": "zh_CN"})}).encode(), method="PUT",
        headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status in (200, 204)
    return url, folder


def _short_chinese_lesson(folder: Path) -> Path:
    """Lesson 03 in Chinese up to the causal mask's check, with a wrong causal_mask."""
    lesson = find_lessons(ROOT / "solutions", "03")[0]
    notebook = translated_notebook(nbformat.read(lesson.notebook, as_version=4),
                                   load_translations(lesson.translation))
    ids = [nbgrader_meta(c).get("grade_id") for c in notebook.cells]
    notebook.cells = notebook.cells[: ids.index("03_causal_mask_check") + 1]
    notebook.cells[ids.index("03_causal_mask")].source = WRONG_MASK
    path = folder / "03_attention_zh.ipynb"
    nbformat.write(notebook, path)
    return path


def test_chinese_lesson_in_chinese_jupyterlab_shows_a_chinese_verdict(browser, chinese_lab,  # noqa: F811
                                                                       tmp_path):
    notebook = ChineseNotebook(browser, chinese_lab, _short_chinese_lesson(tmp_path))
    menus = [m.text for m in notebook.find(".lm-MenuBar-item")]
    assert "文件" in menus and "运行" in menus, f"the interface is not in Chinese: {menus}"
    notebook.run_all()
    assert notebook.screenshot("zh_03_attention_verdict").stat().st_size > 10_000
    assert notebook.errors() == []
    printed = notebook.printed()
    verdicts = [line for line in printed.splitlines() if CHINESE.search(line)]
    assert "attention_scores" in printed and "causal_mask" in printed, printed
    assert any("上三角" in line for line in verdicts), printed  # the wrong mask, named
    assert not re.search(r"\b(failed|passed|expected|Likely bug)\b", printed), printed
