"""GPT-2 as plain functions on a state dict, with switches that each add one known bug.

Lesson 05's diagnoses are built from these (``lesson05_blocks``): with no switch set each
equals the reference (a test checks it), and each switch is one mistake learners make in
LayerNorm, the block, the parameter count or the whole model.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

EPS = 1e-5  # GPT-2's layer_norm_epsilon


def _ln(x: Tensor, weight: Tensor, bias: Tensor, eps: float = EPS, *, unbiased: bool = False,
        eps_outside: bool = False, centre: bool = True, affine: bool = True,
        bias_first: bool = False, whole_tensor: bool = False, sqrt: bool = True,
        dim: int = -1, scale: bool = True, bias_into_weight: bool = False,
        spread: str = "variance") -> Tensor:
    """LayerNorm over the last dimension, with switches that each add one known bug.
    spread: "variance" (right), "abs" (mean absolute deviation), "uncentred" (mean of x**2)."""
    dims = tuple(range(x.dim())) if whole_tensor else (dim,)
    mean = x.mean(dims, keepdim=True)
    var = x.var(dims, keepdim=True, correction=1 if unbiased else 0)
    if spread == "uncentred":
        var = (x * x).mean(dims, keepdim=True)
    top = x - mean if centre else x
    if spread == "abs":  # as a learner writes it: (x - mean) / (mad + eps)
        y = top / ((x - mean).abs().mean(dims, keepdim=True) + eps)
    elif eps_outside:
        y = top / ((var.sqrt() if sqrt else var) + eps)
    else:
        y = top / (torch.sqrt(var + eps) if sqrt else var + eps)
    if not affine:
        return y
    if bias_into_weight:
        return y * (weight + bias)
    if not scale:
        return y + bias
    return (y + bias) * weight if bias_first else y * weight + bias


def _gelu(x: Tensor) -> Tensor:
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def _attn(x: Tensor, s: dict[str, Tensor], p: str, n_head: int) -> Tensor:
    B, T, C = x.shape
    q, k, v = F.linear(x, s[p + "c_attn.weight"], s[p + "c_attn.bias"]).split(C, dim=2)
    q, k, v = (t.view(B, T, n_head, C // n_head).transpose(1, 2) for t in (q, k, v))
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    y = y.transpose(1, 2).reshape(B, T, C)
    return F.linear(y, s[p + "c_proj.weight"], s[p + "c_proj.bias"])


def _mlp(x: Tensor, s: dict[str, Tensor], p: str) -> Tensor:
    h = _gelu(F.linear(x, s[p + "c_fc.weight"], s[p + "c_fc.bias"]))
    return F.linear(h, s[p + "c_proj.weight"], s[p + "c_proj.bias"])


def _block(x: Tensor, s: dict[str, Tensor], p: str, n_head: int, *, ln: dict | None = None,
           post_ln: bool = False, attn_residual: bool = True, mlp_residual: bool = True,
           swap_ln: bool = False, mlp_first: bool = False, parallel: bool = False,
           one_ln: bool = False, residual_from_norm: bool = False,
           double_residual: bool = False) -> Tensor:
    """One GPT-2 block on the weights ``s[p + name]``; each switch adds one known bug."""
    ln = ln or {}
    n1, n2 = ("ln_2.", "ln_1.") if swap_ln else ("ln_1.", "ln_2.")
    n2 = n1 if one_ln else n2

    def norm(h: Tensor, name: str) -> Tensor:
        return _ln(h, s[p + name + "weight"], s[p + name + "bias"], **ln)

    def attn(h: Tensor) -> Tensor:
        return _attn(h, s, p + "attn.", n_head)

    def mlp(h: Tensor) -> Tensor:
        return _mlp(h, s, p + "mlp.")

    if parallel:
        return x + attn(norm(x, n1)) + mlp(norm(x, n2))
    if post_ln:
        x = norm(x + attn(x), n1)
        return norm(x + mlp(x), n2)
    if residual_from_norm:
        h = norm(x, n1)
        x = h + attn(h)
        h = norm(x, n2)
        return h + mlp(h)
    if double_residual:
        x = x + x + attn(norm(x, n1))
        return x + mlp(norm(x, n2))
    first, second = (mlp, attn) if mlp_first else (attn, mlp)
    x = x + first(norm(x, n1)) if attn_residual else first(norm(x, n1))
    return x + second(norm(x, n2)) if mlp_residual else second(norm(x, n2))


def _count(vocab_size: int, n_positions: int, n_embd: int, n_layer: int, n_head: int, *,
           untied: bool = False, biases: bool = True, layer_norms: bool = True,
           ln_f: bool = True, wpe: bool = True, mlp_width: int = 4,
           norms_per_block: int = 2, attn_proj: bool = True) -> int:
    """GPT-2's parameter count by formula; each switch adds one known counting bug."""
    V, P, C = vocab_size, n_positions, n_embd
    b = 1 if biases else 0
    ln = 2 * C if layer_norms else 0
    attn = C * 3 * C + b * 3 * C + (C * C + b * C if attn_proj else 0)
    mlp = C * mlp_width * C + b * mlp_width * C + mlp_width * C * C + b * C
    total = V * C + (P * C if wpe else 0) + n_layer * (norms_per_block * ln + attn + mlp)
    total += ln if ln_f else 0
    return total + (V * C if untied else 0)


def _gpt2(idx: Tensor, s: dict[str, Tensor], n_layer: int, n_head: int, *,
          block: dict | None = None, positions: bool = True, final_ln: bool = True,
          shared_block: int | None = None, probabilities: bool = False, first_position: int = 0,
          ln_f_each_block: bool = False, head: bool = True) -> Tensor:
    """GPT-2's logits from a state dict; each switch adds one known bug."""
    block = block or {}
    T = idx.shape[1]
    x = s["wte.weight"][idx]
    if positions:
        x = x + s["wpe.weight"][first_position:first_position + T]

    def ln_f(h: Tensor) -> Tensor:
        return _ln(h, s["ln_f.weight"], s["ln_f.bias"], **block.get("ln", {}))

    for i in range(n_layer):
        j = i if shared_block is None else shared_block % n_layer  # -1: the last block
        x = _block(x, s, f"h.{j}.", n_head, **block)
        x = ln_f(x) if ln_f_each_block else x
    if final_ln and not ln_f_each_block:
        x = ln_f(x)
    if not head:
        return x
    logits = x @ s["wte.weight"].T
    return logits.softmax(-1) if probabilities else logits
