"""Widget and plot labels follow the learner's language; Chinese plots get a CJK font
when the machine has one, and never print glyph warnings into a notebook's output."""

from __future__ import annotations

import warnings

import matplotlib
import pytest
import torch

from gpt2course import i18n

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _restore():
    family = matplotlib.rcParams["font.family"]
    yield
    i18n.set_language(None)
    matplotlib.rcParams["font.family"] = family


def _viewer_labels():
    from gpt2course.viz.attention import attention_viewer

    box = attention_viewer(torch.full((2, 3, 4, 4), 0.25), list("abcd"))
    layer, head = box.children[0].children
    return layer.description, head.description


def test_attention_viewer_labels_in_both_languages():
    assert _viewer_labels() == ("layer", "head")
    i18n.set_language("zh")
    assert _viewer_labels() == ("层", "头")


def test_grid_axes_and_errors_in_chinese():
    import matplotlib.pyplot as plt

    from gpt2course.viz.attention import show_grid

    i18n.set_language("zh")
    ax = show_grid(torch.eye(3), ["a", "b", "c"], title="掩码")
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("键（被关注）", "查询（关注者）")
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="矩阵的形状必须是"):
        show_grid(torch.eye(3), ["a", "b"])


def test_explorer_labels_in_chinese():
    from gpt2course.config import GPT2Config
    from gpt2course.model import GPT2
    from gpt2course.viz.explorer import NextTokenExplorer
    from gpt2course.vocab import gpt2_encoding

    torch.manual_seed(0)
    model = GPT2(GPT2Config(n_layer=1, n_head=2, n_embd=16, n_positions=8)).eval()
    i18n.set_language("zh")
    explorer = NextTokenExplorer(model, gpt2_encoding(), "Hi")
    assert (explorer.prompt.description, explorer.temperature.description,
            explorer.sample.description) == ("提示词", "温度", "采样一个词元")
    assert explorer.status.value.startswith("显示的 10 个词元占总概率的")
    assert explorer.top_k.description == "top-k"  # kept in English, as the glossary says


def test_chinese_plots_use_a_cjk_font_and_stay_quiet():
    import matplotlib.pyplot as plt

    from gpt2course.viz.fonts import installed_cjk_fonts

    i18n.set_language("zh")  # sets the fonts for the notebook's own plots too
    family = matplotlib.rcParams["font.family"]
    assert all(name in family for name in installed_cjk_fonts())
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        i18n.set_language("zh")  # re-installs the filter after simplefilter above
        fig, ax = plt.subplots()
        ax.set_title("词元的嵌入")
        fig.canvas.draw()
        plt.close(fig)
    assert not [w for w in seen if "missing from" in str(w.message)]
