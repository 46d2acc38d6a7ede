"""Pictures for lesson 02: the input matrix of a prompt, and how position vectors relate."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import Tensor

from ..i18n import tr
from .fonts import use_language_fonts


def show_input_matrix(x: Tensor, tokens: Sequence[str], *, columns: int = 48,
                      title: str | None = None) -> Figure:
    """Heatmap of a ``(T, C)`` input matrix, one row per token; only the first ``columns``.

    ``title`` defaults to "block input: one row per token" in the learner's language."""
    if x.dim() != 2 or x.shape[0] != len(tokens):
        raise ValueError(tr("x must be (T, C) with T = len(tokens) = {T}; got shape {shape}. "
                            "For a batch, pass x[0].", T=len(tokens), shape=tuple(x.shape)))
    shown = x[:, :columns].detach().float()
    limit = float(shown.abs().max()) or 1.0
    use_language_fonts()
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(tokens) + 1.2))
    image = ax.imshow(shown, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_yticks(range(len(tokens)), [repr(t) for t in tokens])
    ax.set_xlabel(tr("the first {shown} of C = {C} numbers", shown=shown.shape[1], C=x.shape[1]))
    ax.set_title(tr("block input: one row per token") if title is None else title)
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    return fig


def cosine_similarity_matrix(vectors: Tensor) -> Tensor:
    """``(N, C)`` -> ``(N, N)``: entry [i, j] is the cosine of the angle between rows i and j."""
    unit = vectors / vectors.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return unit @ unit.T


def sinusoidal_positions(n_positions: int, n_embd: int) -> Tensor:
    """The fixed position vectors of the original Transformer (sines and cosines).

    GPT-2 learns its position vectors instead; this is a picture to compare with.
    """
    position = torch.arange(n_positions, dtype=torch.float32)[:, None]
    rate = 10000 ** (-torch.arange(0, n_embd, 2, dtype=torch.float32) / n_embd)
    out = torch.zeros(n_positions, n_embd)
    out[:, 0::2] = torch.sin(position * rate)
    out[:, 1::2] = torch.cos(position * rate)[:, : n_embd // 2]
    return out


def show_position_similarity(wpe: Tensor, *, first: int = 64, title: str = "",
                             ax: plt.Axes | None = None) -> Figure:
    """Heatmap of the cosine similarity between the first ``first`` position vectors."""
    sim = cosine_similarity_matrix(wpe[:first].detach().float())
    use_language_fonts()
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 4))
    else:
        fig = ax.figure
    image = ax.imshow(sim, cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xlabel(tr("position j"))
    ax.set_ylabel(tr("position i"))
    ax.set_title(title or tr("cosine similarity of positions 0..{last}", last=sim.shape[0] - 1))
    fig.colorbar(image, ax=ax, fraction=0.046)
    return fig
