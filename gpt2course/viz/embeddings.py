"""Pictures for lesson 02: the input matrix of a prompt, and how position vectors relate."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import Tensor


def show_input_matrix(x: Tensor, tokens: Sequence[str], *, columns: int = 48,
                      title: str = "block input: one row per token") -> Figure:
    """Heatmap of a ``(T, C)`` input matrix, one row per token; only the first ``columns``."""
    if x.dim() != 2 or x.shape[0] != len(tokens):
        raise ValueError(f"x must be (T, C) with T = len(tokens) = {len(tokens)}; "
                         f"got shape {tuple(x.shape)}. For a batch, pass x[0].")
    shown = x[:, :columns].detach().float()
    limit = float(shown.abs().max()) or 1.0
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(tokens) + 1.2))
    image = ax.imshow(shown, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_yticks(range(len(tokens)), [repr(t) for t in tokens])
    ax.set_xlabel(f"the first {shown.shape[1]} of C = {x.shape[1]} numbers")
    ax.set_title(title)
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
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 4))
    else:
        fig = ax.figure
    image = ax.imshow(sim, cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xlabel("position j")
    ax.set_ylabel("position i")
    ax.set_title(title or f"cosine similarity of positions 0..{sim.shape[0] - 1}")
    fig.colorbar(image, ax=ax, fraction=0.046)
    return fig
