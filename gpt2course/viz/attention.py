"""Pictures for lesson 03: masks, scores and weights as heatmaps, and an attention viewer."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from ..i18n import tr
from .fonts import use_language_fonts


def show_grid(matrix: Tensor, tokens: Sequence[str], *, title: str = "", ax: plt.Axes | None = None,
              numbers: bool = True, cmap: str = "viridis") -> plt.Axes:
    """One ``(T, T)`` grid: rows are queries, columns are keys. -inf cells are drawn grey."""
    grid = matrix.detach().float().clone()
    if grid.dim() != 2 or grid.shape != (len(tokens), len(tokens)):
        raise ValueError(tr("matrix must be (T, T) with T = len(tokens) = {T}; got shape "
                            "{shape}.", T=len(tokens), shape=tuple(grid.shape)))
    hidden = torch.isinf(grid) & (grid < 0)
    grid[hidden] = float("nan")  # drawn with the "bad" colour below
    use_language_fonts()
    if ax is None:
        _, ax = plt.subplots(figsize=(3.6, 3.2))
    colours = plt.get_cmap(cmap).copy()
    colours.set_bad("lightgrey")
    ax.imshow(grid, cmap=colours)
    labels = [repr(t) for t in tokens]
    ax.set_xticks(range(len(tokens)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(tokens)), labels)
    ax.set_xlabel(tr("key (looked at)"))
    ax.set_ylabel(tr("query (looking)"))
    ax.set_title(title)
    if numbers and len(tokens) <= 8:
        for i in range(len(tokens)):
            for j in range(len(tokens)):
                text = "-inf" if hidden[i, j] else f"{float(matrix[i, j]):.2f}"
                ax.text(j, i, text, ha="center", va="center", fontsize=8, color="black",
                        bbox={"facecolor": "white", "alpha": 0.6, "linewidth": 0, "pad": 1})
    return ax


def show_mask_steps(scores: Tensor, masked: Tensor, weights: Tensor,
                    tokens: Sequence[str]) -> Figure:
    """Three grids side by side: raw scores, masked scores, softmax weights."""
    use_language_fonts()
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    show_grid(scores, tokens, title=tr("1. scores q.k / sqrt(hs)"), ax=axes[0])
    show_grid(masked, tokens, title=tr("2. future hidden (-inf)"), ax=axes[1])
    show_grid(weights, tokens, title=tr("3. softmax: rows add up to 1"), ax=axes[2])
    fig.tight_layout()
    return fig


def attention_maps(model: nn.Module, idx: Tensor) -> Tensor:
    """Attention weights of every layer and head of a reference ``GPT2`` for ``idx`` (1, T).

    Returns ``(n_layer, n_head, T, T)``. The model itself uses a fused kernel that does not
    return its weights, so each layer's input is caught on the way and the weights are
    computed again from it.
    """
    if idx.dim() != 2 or idx.shape[0] != 1:
        raise ValueError(tr("idx must be one sequence of shape (1, T); got {shape}.",
                            shape=tuple(idx.shape)))
    inputs: list[Tensor] = []
    hooks = [block.attn.register_forward_pre_hook(lambda _m, args: inputs.append(args[0]))
             for block in model.h]
    try:
        with torch.no_grad():
            model(idx)
    finally:
        for hook in hooks:
            hook.remove()
    maps = []
    T = idx.shape[1]
    allowed = torch.ones(T, T, dtype=torch.bool).tril()
    with torch.no_grad():
        for block, x in zip(model.h, inputs, strict=True):
            n_head, C = block.attn.n_head, x.shape[-1]
            q, k, _ = block.attn.c_attn(x).split(C, dim=-1)
            q, k = (t.view(1, T, n_head, C // n_head).transpose(1, 2) for t in (q, k))
            scores = q @ k.transpose(-2, -1) / math.sqrt(C // n_head)
            maps.append(torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)[0])
    return torch.stack(maps)


def attention_viewer(weights: Tensor, tokens: Sequence[str]):
    """A widget: pick a layer and a head, see that head's ``(T, T)`` attention weights.

    ``weights`` is ``(n_layer, n_head, T, T)``, e.g. from ``attention_maps``. Returns an
    ``ipywidgets.VBox``; display it as the last line of a cell.
    """
    import ipywidgets as widgets
    from IPython.display import display

    if weights.dim() != 4 or weights.shape[-1] != len(tokens):
        raise ValueError(tr("weights must be (n_layer, n_head, T, T) with T = {T}; got shape "
                            "{shape}.", T=len(tokens), shape=tuple(weights.shape)))
    n_layer, n_head = weights.shape[:2]
    layer = widgets.Dropdown(options=list(range(n_layer)), value=0, description=tr("layer"))
    head = widgets.IntSlider(value=0, min=0, max=n_head - 1, description=tr("head"))
    picture = widgets.Output()

    def draw(_change=None) -> None:
        with picture:
            picture.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(4.5, 4))
            show_grid(weights[layer.value, head.value], tokens, ax=ax,
                      title=tr("layer {layer}, head {head}", layer=layer.value,
                               head=head.value))
            fig.tight_layout()
            display(fig)
            plt.close(fig)

    layer.observe(draw, names="value")
    head.observe(draw, names="value")
    draw()
    return widgets.VBox([widgets.HBox([layer, head]), picture])
