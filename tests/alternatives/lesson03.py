"""Lesson 03, attention: einsum, mT, triu/tril/arange masks, -1e9 and finfo.min, softmax by
hand, head loops, float64 ..."""

ATTENTION_BY_HAND = '''def attention(q, k, v):
    scores = apply_causal_mask(attention_scores(q, k))
    scores = scores - scores.amax(dim=-1, keepdim=True)
    weights = scores.exp()
    weights = weights / weights.sum(dim=-1, keepdim=True)
    return weights @ v
'''

ATTENTION_EINSUM_FLOAT64 = '''def attention(q, k, v):
    T, hs = q.shape[-2], q.shape[-1]
    scores = torch.einsum("bhid,bhjd->bhij", q.double(), k.double()) / math.sqrt(hs)
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    scores = scores.masked_fill(~mask, -1e9)
    weights = torch.nn.functional.softmax(scores, dim=-1)
    return torch.einsum("bhij,bhjd->bhid", weights, v.double()).to(q.dtype)
'''

MHA_HEAD_LOOP = '''def multi_head_attention(x, c_attn_weight, c_attn_bias, c_proj_weight,
                         c_proj_bias, n_head):
    B, T, C = x.shape
    hs = C // n_head
    qkv = torch.addmm(c_attn_bias, x.reshape(B * T, C), c_attn_weight).view(B, T, 3 * C)
    q, k, v = qkv.chunk(3, dim=-1)
    heads = []
    for h in range(n_head):
        cols = slice(h * hs, (h + 1) * hs)
        qh, kh, vh = q[..., cols], k[..., cols], v[..., cols]   # (B, T, hs)
        scores = qh @ kh.transpose(1, 2) * hs ** -0.5
        future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        weights = torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
        heads.append(weights @ vh)
    y = torch.cat(heads, dim=-1)
    return y @ c_proj_weight + c_proj_bias
'''

MHA_LINEAR_EINSUM = '''import torch.nn.functional as F


def multi_head_attention(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head):
    B, T, C = x.shape
    qkv = F.linear(x, c_attn_weight.T, c_attn_bias)                  # Conv1D weights: (C, 3C)
    q, k, v = qkv.view(B, T, 3, n_head, C // n_head).permute(2, 0, 3, 1, 4)
    scores = torch.einsum("bhqd,bhkd->bhqk", q, k) / math.sqrt(C // n_head)
    mask = torch.arange(T)[:, None] >= torch.arange(T)[None, :]
    scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    y = torch.einsum("bhqk,bhkd->bqhd", scores.softmax(-1), v).reshape(B, T, C)
    return F.linear(y, c_proj_weight.T, c_proj_bias)
'''

CACHED_CONCAT = '''def cached_attention(q, k, v, k_cache, v_cache):
    keys = torch.concat((k_cache, k), dim=-2)
    values = torch.concat((v_cache, v), dim=-2)
    scores = torch.einsum("bhqd,bhkd->bhqk", q, keys) / q.size(-1) ** 0.5
    weights = (scores - scores.max(dim=-1, keepdim=True).values).exp()
    out = (weights / weights.sum(-1, keepdim=True)) @ values
    return out, keys, values
'''

CACHED_LIST = '''def cached_attention(q, k, v, k_cache, v_cache):
    k_all = torch.cat([k_cache, k], dim=2)
    v_all = torch.cat([v_cache, v], dim=2)
    scores = attention_scores(q, k_all)      # one new query: it may see every key
    out = torch.softmax(scores.double(), dim=-1).float() @ v_all
    return [out, k_all, v_all]
'''

ALTERNATIVES = [
    ("03_attention_scores", "einsum",
     "def attention_scores(q, k):\n"
     "    return torch.einsum('bhqd,bhkd->bhqk', q, k) / math.sqrt(q.size(-1))\n"),
    ("03_attention_scores", "** -0.5 on the product",
     "def attention_scores(q, k):\n    return q @ k.transpose(-2, -1) * q.shape[-1] ** -0.5\n"),
    ("03_attention_scores", "q scaled first, .mT",
     "def attention_scores(q, k):\n    return (q / q.shape[-1] ** 0.5) @ k.mT\n"),
    ("03_causal_mask", "not triu",
     "def causal_mask(T):\n"
     "    return ~torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)\n"),
    ("03_causal_mask", "arange comparison",
     "def causal_mask(T):\n    return torch.arange(T)[:, None] >= torch.arange(T)[None, :]\n"),
    ("03_causal_mask", "tril of floats, .bool()",
     "def causal_mask(T):\n    return torch.tril(torch.ones(T, T)).bool()\n"),
    ("03_apply_causal_mask", "triu and masked_fill",
     "def apply_causal_mask(scores):\n    T = scores.size(-1)\n"
     "    future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)\n"
     "    return scores.masked_fill(future, float('-inf'))\n"),
    ("03_apply_causal_mask", "torch.where",
     "def apply_causal_mask(scores):\n"
     "    return torch.where(causal_mask(scores.shape[-1]), scores,\n"
     "                       torch.tensor(float('-inf')))\n"),
    ("03_apply_causal_mask", "finfo.min (Hugging Face)",
     "def apply_causal_mask(scores):\n"
     "    return scores.masked_fill(~causal_mask(scores.shape[-1]),\n"
     "                              torch.finfo(scores.dtype).min)\n"),
    ("03_apply_causal_mask", "in place on a clone",
     "def apply_causal_mask(scores):\n    out = scores.clone()\n"
     "    out[..., ~causal_mask(scores.shape[-1])] = float('-inf')\n    return out\n"),
    ("03_attention", "softmax by hand", ATTENTION_BY_HAND),
    ("03_attention", "einsum in float64, -1e9", ATTENTION_EINSUM_FLOAT64),
    ("03_multi_head_attention", "a loop over heads, addmm", MHA_HEAD_LOOP),
    ("03_multi_head_attention", "F.linear, einsum, finfo.min", MHA_LINEAR_EINSUM),
    ("03_cached_attention", "concat, einsum, softmax by hand", CACHED_CONCAT),
    ("03_cached_attention", "a list, softmax in float64", CACHED_LIST),
]
