"""Lesson 03 (attention): scaling, masking, head layout and KV-cache bugs."""

from . import Bug

L = "03"

BUGS = (
    Bug(L, "scores_scale_by_heads", "03_attention_scores", "attention_scores", '''
def attention_scores(q, k):
    return q @ k.transpose(-2, -1) / math.sqrt(q.shape[1])
''', r"head size|hs|head_dim|last dim|sqrt|scale"),
    Bug(L, "scores_no_sqrt", "03_attention_scores", "attention_scores", '''
def attention_scores(q, k):
    return q @ k.transpose(-2, -1) / q.shape[-1]
''', r"sqrt|square root"),
    Bug(L, "scores_unscaled", "03_attention_scores", "attention_scores", '''
def attention_scores(q, k):
    return q @ k.transpose(-2, -1)
''', r"sqrt|scale|divide"),
    Bug(L, "scores_k_dot_q", "03_attention_scores", "attention_scores", '''
def attention_scores(q, k):
    return k @ q.transpose(-2, -1) / math.sqrt(q.shape[-1])
''', r"transpose|swap|k @ q|q @ k|axes|order"),
    Bug(L, "scores_dot_over_seq", "03_attention_scores", "attention_scores", '''
def attention_scores(q, k):
    return q.transpose(-2, -1) @ k / math.sqrt(q.shape[-1])
''', r"transpose|shape|k\.transpose|q @ k"),
    Bug(L, "mask_upper", "03_causal_mask", "causal_mask", '''
def causal_mask(T):
    return torch.ones(T, T, dtype=torch.bool).triu()
''', r"upper|lower|tril|triu|future|transpose"),
    Bug(L, "mask_strict", "03_causal_mask", "causal_mask", '''
def causal_mask(T):
    return torch.ones(T, T, dtype=torch.bool).tril(diagonal=-1)
''', r"diagonal|itself"),
    Bug(L, "mask_float", "03_causal_mask", "causal_mask", '''
def causal_mask(T):
    return torch.tril(torch.ones(T, T))
''', r"dtype|bool"),
    Bug(L, "masked_with_zero", "03_apply_causal_mask", "apply_causal_mask", '''
def apply_causal_mask(scores):
    T = scores.shape[-1]
    return scores.masked_fill(~causal_mask(T), 0.0)
''', r"-inf|zero|\b0\b"),
    Bug(L, "masked_in_place", "03_apply_causal_mask", "apply_causal_mask", '''
def apply_causal_mask(scores):
    T = scores.shape[-1]
    return scores.masked_fill_(~causal_mask(T), float("-inf"))
''', r"in place|masked_fill_|copy"),
    Bug(L, "masked_inverted", "03_apply_causal_mask", "apply_causal_mask", '''
def apply_causal_mask(scores):
    T = scores.shape[-1]
    return scores.masked_fill(causal_mask(T), float("-inf"))
''', r"invert|~|future|past|allowed|opposite|where .* may"),
    Bug(L, "masked_multiplied", "03_apply_causal_mask", "apply_causal_mask", '''
def apply_causal_mask(scores):
    T = scores.shape[-1]
    return scores * causal_mask(T)
''', r"-inf|zero|\b0\b|multipl"),
    Bug(L, "attn_mask_after_softmax", "03_attention", "attention", '''
def attention(q, k, v):
    weights = torch.softmax(attention_scores(q, k), dim=-1)
    weights = weights.masked_fill(~causal_mask(q.shape[-2]), 0.0)
    return weights @ v
''', r"after (the )?softmax|before (the )?softmax|mask.*softmax|sum to 1"),
    Bug(L, "attn_softmax_dim", "03_attention", "attention", '''
def attention(q, k, v):
    weights = torch.softmax(apply_causal_mask(attention_scores(q, k)), dim=-2)
    return weights @ v
''', r"dim|axis"),
    Bug(L, "attn_no_mask", "03_attention", "attention", '''
def attention(q, k, v):
    weights = torch.softmax(attention_scores(q, k), dim=-1)
    return weights @ v
''', r"mask|future|causal"),
    Bug(L, "attn_weights_returned", "03_attention", "attention", '''
def attention(q, k, v):
    return torch.softmax(apply_causal_mask(attention_scores(q, k)), dim=-1)
''', r"@ v|times v|values|\bv\b|weights"),
    Bug(L, "mha_view_no_transpose", "03_multi_head_attention", "multi_head_attention", '''
def multi_head_attention(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head):
    B, T, C = x.shape
    hs = C // n_head
    q, k, v = (x @ c_attn_weight + c_attn_bias).split(C, dim=-1)
    q, k, v = (t.reshape(B, n_head, T, hs) for t in (q, k, v))
    y = attention(q, k, v).transpose(1, 2).reshape(B, T, C)
    return y @ c_proj_weight + c_proj_bias
''', r"transpose|view|reshape|layout|heads"),
    Bug(L, "mha_merge_no_transpose", "03_multi_head_attention", "multi_head_attention", '''
def multi_head_attention(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head):
    B, T, C = x.shape
    hs = C // n_head
    q, k, v = (x @ c_attn_weight + c_attn_bias).split(C, dim=-1)
    q, k, v = (t.view(B, T, n_head, hs).transpose(1, 2) for t in (q, k, v))
    y = attention(q, k, v).reshape(B, T, C)
    return y @ c_proj_weight + c_proj_bias
''', r"transpose|view|reshape|layout|heads"),
    Bug(L, "mha_kqv_order", "03_multi_head_attention", "multi_head_attention", '''
def multi_head_attention(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head):
    B, T, C = x.shape
    hs = C // n_head
    k, q, v = (x @ c_attn_weight + c_attn_bias).split(C, dim=-1)
    q, k, v = (t.view(B, T, n_head, hs).transpose(1, 2) for t in (q, k, v))
    y = attention(q, k, v).transpose(1, 2).reshape(B, T, C)
    return y @ c_proj_weight + c_proj_bias
''', r"order|q, k,? (and )?v|thirds|query|swap"),
    Bug(L, "mha_linear_layout", "03_multi_head_attention", "multi_head_attention", '''
def multi_head_attention(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head):
    B, T, C = x.shape
    hs = C // n_head
    q, k, v = (x @ c_attn_weight.T + c_attn_bias).split(C, dim=-1)
    q, k, v = (t.view(B, T, n_head, hs).transpose(1, 2) for t in (q, k, v))
    y = attention(q, k, v).transpose(1, 2).reshape(B, T, C)
    return y @ c_proj_weight.T + c_proj_bias
''', r"layout|\(in, out\)|transpose|\.T"),
    Bug(L, "mha_no_proj", "03_multi_head_attention", "multi_head_attention", '''
def multi_head_attention(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head):
    B, T, C = x.shape
    hs = C // n_head
    q, k, v = (x @ c_attn_weight + c_attn_bias).split(C, dim=-1)
    q, k, v = (t.view(B, T, n_head, hs).transpose(1, 2) for t in (q, k, v))
    return attention(q, k, v).transpose(1, 2).reshape(B, T, C)
''', r"c_proj|projection"),
    Bug(L, "mha_scale_by_C", "03_multi_head_attention", "multi_head_attention", '''
def multi_head_attention(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head):
    B, T, C = x.shape
    hs = C // n_head
    q, k, v = (x @ c_attn_weight + c_attn_bias).split(C, dim=-1)
    q, k, v = (t.view(B, T, n_head, hs).transpose(1, 2) for t in (q, k, v))
    scores = q @ k.transpose(-2, -1) / math.sqrt(C)
    scores = scores.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf"))
    y = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(B, T, C)
    return y @ c_proj_weight + c_proj_bias
''', r"head size|hs|head_dim|n_embd|sqrt|scale"),
    Bug(L, "cache_cat_heads_dim", "03_cached_attention", "cached_attention", '''
def cached_attention(q, k, v, k_cache, v_cache):
    k_all = torch.cat([k_cache, k], dim=1)
    v_all = torch.cat([v_cache, v], dim=1)
    weights = torch.softmax(attention_scores(q, k_all), dim=-1)
    return weights @ v_all, k_all, v_all
''', r"dim|axis|time|sequence"),
    Bug(L, "cache_prepended", "03_cached_attention", "cached_attention", '''
def cached_attention(q, k, v, k_cache, v_cache):
    k_all = torch.cat([k, k_cache], dim=2)
    v_all = torch.cat([v, v_cache], dim=2)
    weights = torch.softmax(attention_scores(q, k_all), dim=-1)
    return weights @ v_all, k_all, v_all
''', r"order|end|append|after|front|start"),
    Bug(L, "cache_masked", "03_cached_attention", "cached_attention", '''
def cached_attention(q, k, v, k_cache, v_cache):
    k_all = torch.cat([k_cache, k], dim=2)
    v_all = torch.cat([v_cache, v], dim=2)
    weights = torch.softmax(apply_causal_mask(attention_scores(q, k_all)), dim=-1)
    return weights @ v_all, k_all, v_all
''', r"mask"),
    Bug(L, "cache_not_returned", "03_cached_attention", "cached_attention", '''
def cached_attention(q, k, v, k_cache, v_cache):
    k_all = torch.cat([k_cache, k], dim=2)
    v_all = torch.cat([v_cache, v], dim=2)
    weights = torch.softmax(attention_scores(q, k_all), dim=-1)
    return weights @ v_all, k_cache, v_cache
''', r"cache|k_all|new (key|token)|updated"),
    Bug(L, "cache_only_new", "03_cached_attention", "cached_attention", '''
def cached_attention(q, k, v, k_cache, v_cache):
    k_all = torch.cat([k_cache, k], dim=2)
    v_all = torch.cat([v_cache, v], dim=2)
    weights = torch.softmax(attention_scores(q, k), dim=-1)
    return weights @ v, k_all, v_all
''', r"cache|all (the )?keys|earlier|past|only the new"),
)
