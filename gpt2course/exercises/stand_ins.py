"""Correct versions of the classes learners write (lessons 04-05), for ``Exercise.stand_in``.

When a later exercise fails, ``check`` runs it again with these in place of the learner's
earlier classes, as the grader does with the instructor's solution cells: one bug costs
one exercise. Each has the notebook's constructor (``LayerNorm(n_embd)``, ``Block(n_embd,
n_head)`` ...) and GPT-2's parameter names, and is written with basic tensor operations
only, so an exercise that forbids a library call (``F.layer_norm``) can still use it. They
use each other, never the learner's classes, as the solution cells do in their own
namespace. The formulas are GPT-2's (Radford et al., 2019; Hugging Face ``GPT2Model``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

EPS = 1e-5  # GPT-2's layer_norm_epsilon


def _gelu(x: Tensor) -> Tensor:
    """GPT-2's GELU, the tanh approximation (Hendrycks and Gimpel, 2016)."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


class LayerNorm(nn.Module):
    """(..., C) -> (..., C): normalised over C (biased variance), scaled and shifted."""

    def __init__(self, n_embd: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n_embd))
        self.bias = nn.Parameter(torch.zeros(n_embd))

    def forward(self, x: Tensor) -> Tensor:
        mean = x.mean(dim=-1, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
        return (x - mean) / torch.sqrt(var + EPS) * self.weight + self.bias


class MLP(nn.Module):
    """(B, T, C) -> (B, T, C): c_fc (C -> 4C), GELU, c_proj (4C -> C)."""

    def __init__(self, n_embd: int) -> None:
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd)
        self.c_proj = nn.Linear(4 * n_embd, n_embd)

    def forward(self, x: Tensor) -> Tensor:
        return self.c_proj(_gelu(self.c_fc(x)))


class CausalSelfAttention(nn.Module):
    """(B, T, C) -> (B, T, C): masked multi-head self-attention, c_attn then c_proj."""

    def __init__(self, n_embd: int, n_head: int) -> None:
        super().__init__()
        self.n_head = n_head
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)

    def forward(self, x: Tensor) -> Tensor:
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = (t.view(B, T, self.n_head, hs).transpose(1, 2)
                   for t in self.c_attn(x).split(C, dim=2))
        scores = q @ k.transpose(-2, -1) / math.sqrt(hs)
        future = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(diagonal=1)
        scores = scores.masked_fill(future, float("-inf"))
        weights = (scores - scores.amax(dim=-1, keepdim=True)).exp()
        y = (weights / weights.sum(dim=-1, keepdim=True)) @ v
        return self.c_proj(y.transpose(1, 2).reshape(B, T, C))


class Block(nn.Module):
    """One pre-LN block: x + attn(ln_1(x)), then x + mlp(ln_2(x))."""

    def __init__(self, n_embd: int, n_head: int) -> None:
        super().__init__()
        self.ln_1 = LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head)
        self.ln_2 = LayerNorm(n_embd)
        self.mlp = MLP(n_embd)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class MyGPT2(nn.Module):
    """Token ids (B, T) -> logits (B, T, vocab_size), the head tied to wte."""

    def __init__(self, vocab_size: int, n_positions: int, n_embd: int, n_layer: int,
                 n_head: int) -> None:
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(n_positions, n_embd)
        self.h = nn.ModuleList([Block(n_embd, n_head) for _ in range(n_layer)])
        self.ln_f = LayerNorm(n_embd)

    def forward(self, idx: Tensor) -> Tensor:
        x = self.wte.weight[idx] + self.wpe.weight[torch.arange(idx.size(1), device=idx.device)]
        for block in self.h:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.T
