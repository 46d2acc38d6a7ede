"""Fonts for plot labels in the learner's language.

Matplotlib's default font (DejaVu Sans) has no Chinese characters. In Chinese, the
labels are drawn with the first CJK font the machine has (Windows, macOS and the common
Linux packages are listed), DejaVu Sans still drawing Latin text and digits. A machine
with none of them draws empty boxes for the Chinese characters; the warning matplotlib
prints for each missing glyph is silenced so a notebook's output is the same on every
machine (nbval compares it).
"""

from __future__ import annotations

import warnings

from ..i18n import get_language

# Simplified Chinese fonts, most common first: Noto/Source Han (Linux, Google), WenQuanYi
# (Debian/Ubuntu fonts-wqy-*), Microsoft YaHei and SimHei (Windows), PingFang and Heiti
# (macOS), Arial Unicode MS (older macOS and Office).
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
             "WenQuanYi Zen Hei", "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC",
             "Hiragino Sans GB", "Arial Unicode MS")


def installed_cjk_fonts() -> list[str]:
    """The fonts of ``CJK_FONTS`` that matplotlib can find on this machine, in that order."""
    from matplotlib import font_manager

    have = {f.name for f in font_manager.fontManager.ttflist}
    return [name for name in CJK_FONTS if name in have]


def use_language_fonts() -> None:
    """Make plots drawn from now on able to show the current language's labels (Chinese:
    a CJK font after the default one: matplotlib >= 3.6 falls back from font to font for
    each character of a label)."""
    if get_language() != "zh":
        return
    import matplotlib as mpl

    found = installed_cjk_fonts()
    family = mpl.rcParams["font.family"]
    family = [family] if isinstance(family, str) else list(family)
    mpl.rcParams["font.family"] = family + [f for f in found if f not in family]
    mpl.rcParams["axes.unicode_minus"] = False  # some CJK fonts lack U+2212
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from (current )?font")
