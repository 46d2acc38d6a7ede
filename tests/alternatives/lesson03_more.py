"""Lesson 03, a second batch: bmm, permute, numpy einsum, np.tri, loops, an additive mask,
logsumexp, nn.Softmax, nn.Linear with copied weights, a Conv1D weight viewed per head,
preallocated caches ..."""

SCORES_BMM = '''def attention_scores(q, k):
    B, nh, Tq, hs = q.shape
    Tk = k.shape[-2]
    prod = torch.bmm(q.reshape(B * nh, Tq, hs), k.reshape(B * nh, Tk, hs).permute(0, 2, 1))
    return prod.view(B, nh, Tq, Tk) / math.sqrt(hs)
'''

SCORES_FLOAT64 = '''def attention_scores(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Computed in float64, handed back in q's dtype."""
    hs = q.shape[-1]
    s = torch.matmul(q.double(), k.double().transpose(-1, -2)) / math.sqrt(hs)
    return s.to(q.dtype)
'''

MASK_NUMPY_TRI = '''import numpy as np


def causal_mask(T):
    return torch.from_numpy(np.tri(T, T, dtype=bool))
'''

MASK_LOOP = '''def causal_mask(T):
    mask = torch.zeros((T, T), dtype=torch.bool)
    for i in range(T):
        mask[i, : i + 1] = True
    return mask
'''

APPLY_ADDITIVE = '''def apply_causal_mask(scores):
    # an additive mask, as in nn.Transformer: 0 where allowed, -inf in the future
    T = scores.size(-1)
    bias = torch.full((T, T), float("-inf")).triu(diagonal=1)
    return scores + bias
'''

APPLY_WHERE_SCALAR = '''def apply_causal_mask(scores):
    allowed = causal_mask(scores.shape[-1])
    return torch.where(allowed, scores, -math.inf)
'''

ATTENTION_LOGSUMEXP = '''def attention(q, k, v):
    s = apply_causal_mask(attention_scores(q, k))
    weights = torch.exp(s - torch.logsumexp(s, dim=-1, keepdim=True))
    return torch.matmul(weights, v)
'''

ATTENTION_MODULE_SOFTMAX = '''softmax = torch.nn.Softmax(dim=-1)


def attention(q, k, v):
    T = q.size(-2)
    scores = (q @ k.transpose(2, 3)) / math.sqrt(k.size(-1))
    scores = torch.where(torch.tril(torch.ones(T, T)) == 1, scores, float("-inf"))
    return softmax(scores) @ v
'''

MHA_NN_LINEAR = '''import torch.nn as nn


def multi_head_attention(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head):
    B, T, C = x.shape
    qkv_layer, proj_layer = nn.Linear(C, 3 * C), nn.Linear(C, C)
    with torch.no_grad():
        # the checkpoint stores (in, out); nn.Linear wants (out, in)
        qkv_layer.weight.copy_(c_attn_weight.t())
        qkv_layer.bias.copy_(c_attn_bias)
        proj_layer.weight.copy_(c_proj_weight.t())
        proj_layer.bias.copy_(c_proj_bias)
    q, k, v = qkv_layer(x).split(C, dim=2)
    q, k, v = [t.view(B, T, n_head, C // n_head).transpose(1, 2) for t in (q, k, v)]
    y = attention(q, k, v).transpose(1, 2).contiguous().view(B, T, C)
    return proj_layer(y)
'''

MHA_WEIGHT_PER_HEAD = '''def multi_head_attention(x, w_attn, b_attn, w_proj, b_proj, n_head):
    B, T, C = x.shape
    hs = C // n_head
    w = w_attn.view(C, 3, n_head, hs)
    b = b_attn.view(3, 1, n_head, 1, hs)
    q, k, v = torch.einsum("btc,cshd->sbhtd", x, w) + b
    y = attention(q, k, v)                                  # (B, nh, T, hs)
    y = y.permute(0, 2, 1, 3).reshape(B, T, C)
    return torch.addmm(b_proj, y.reshape(B * T, C), w_proj).view(B, T, C)
'''

MHA_FLOAT64 = '''def multi_head_attention(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias,
                         n_head: int) -> torch.Tensor:
    dt = x.dtype
    x, wa, ba, wp, bp = (t.double() for t in (x, c_attn_weight, c_attn_bias, c_proj_weight,
                                              c_proj_bias))
    B, T, C = x.shape
    qkv = (x @ wa + ba).unflatten(-1, (3, n_head, C // n_head))   # (B, T, 3, nh, hs)
    q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
    y = attention(q, k, v).transpose(1, 2).flatten(2)
    return (y @ wp + bp).to(dt)
'''

CACHED_PREALLOCATED = '''def cached_attention(q, k, v, k_cache, v_cache):
    B, nh, t, hs = k_cache.shape
    k_all = torch.empty(B, nh, t + 1, hs, dtype=k.dtype)
    v_all = torch.empty(B, nh, t + 1, hs, dtype=v.dtype)
    k_all[:, :, :t], k_all[:, :, t:] = k_cache, k
    v_all[:, :, :t], v_all[:, :, t:] = v_cache, v
    w = torch.softmax(q @ k_all.transpose(-2, -1) / math.sqrt(hs), dim=-1)
    return w @ v_all, k_all, v_all
'''

CACHED_NO_GRAD_KWARG = '''@torch.no_grad()
def cached_attention(q, k, v, k_cache, v_cache, scale=None):
    """One new token against the cache; `scale` defaults to 1 / sqrt(hs)."""
    scale = scale if scale is not None else 1.0 / math.sqrt(q.shape[-1])
    k_all = torch.cat((k_cache, k), dim=-2)
    v_all = torch.cat((v_cache, v), dim=-2)
    att = torch.einsum("bhqd,bhkd->bhqk", q, k_all) * scale
    att = torch.nn.functional.softmax(att, dim=-1)
    return (torch.einsum("bhqk,bhkd->bhqd", att, v_all), k_all, v_all)
'''

CACHED_NAMEDTUPLE = '''from typing import NamedTuple


class Step(NamedTuple):
    output: torch.Tensor
    k_all: torch.Tensor
    v_all: torch.Tensor


def cached_attention(q, k, v, k_cache, v_cache):
    k_all = torch.cat([k_cache, k], dim=2)
    v_all = torch.cat([v_cache, v], dim=2)
    weights = torch.softmax(attention_scores(q, k_all), dim=-1)
    return Step(weights @ v_all, k_all, v_all)
'''

ALTERNATIVES = [
    ("03_attention_scores", "bmm on flattened heads, permute", SCORES_BMM),
    ("03_attention_scores", "float64 matmul, type hints", SCORES_FLOAT64),
    ("03_causal_mask", "numpy tri", MASK_NUMPY_TRI),
    ("03_causal_mask", "a loop over rows", MASK_LOOP),
    ("03_apply_causal_mask", "an additive -inf triu mask", APPLY_ADDITIVE),
    ("03_apply_causal_mask", "torch.where with a scalar -math.inf", APPLY_WHERE_SCALAR),
    ("03_attention", "exp minus logsumexp", ATTENTION_LOGSUMEXP),
    ("03_attention", "nn.Softmax, tril == 1 and torch.where", ATTENTION_MODULE_SOFTMAX),
    ("03_multi_head_attention", "nn.Linear with copied weights", MHA_NN_LINEAR),
    ("03_multi_head_attention", "the Conv1D weight viewed per head, addmm",
     MHA_WEIGHT_PER_HEAD),
    ("03_multi_head_attention", "float64, unflatten and unbind", MHA_FLOAT64),
    ("03_cached_attention", "preallocated caches", CACHED_PREALLOCATED),
    ("03_cached_attention", "no_grad, an extra scale keyword", CACHED_NO_GRAD_KWARG),
    ("03_cached_attention", "a typing.NamedTuple", CACHED_NAMEDTUPLE),
]
