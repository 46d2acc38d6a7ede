"""A second held-out set, written at the end, in other coding styles, and run once to
measure (``bug_rates.py --set holdout2``): nothing was tuned on it."""

from . import Bug

_SAMPLE = '''def sample_token(logits, generator, temperature=1.0, top_k=None, top_p=None):
    logits = logits / temperature
    if top_k is not None:
        logits = top_k_logits(logits, top_k)
    if top_p is not None:
        logits = top_p_logits(logits, top_p)
    probs = F.softmax(logits, dim=-1)
'''
_GEN = '''def generate_tokens(model, idx, max_new_tokens, *, greedy=False, temperature=1.0,
                    top_k=None, top_p=None, generator=None, stop_token=None):
    n = model.config.n_positions
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -n:])
        last = logits[:, -1, :]
        nxt = greedy_next(last) if greedy else sample_token(last, generator, temperature,
                                                             top_k, top_p)
'''

BUGS = (
    Bug("01", "h2_rank_by_index", "01_encode_chunk", "encode_chunk", '''
def encode_chunk(ids, merges):
    ids = list(ids)
    while len(ids) > 1:
        pairs = set(zip(ids, ids[1:]))
        known = [p for p in pairs if list(p) in merges or p in merges]
        if not known:
            return ids
        best = min(known, key=lambda p: merges.index(p))
        ids = merge_pair(ids, best, 256 + merges.index(best))
    return ids
''', r"tuple|list"),
    Bug("01", "h2_special_dropped", "01_encode_text", "encode_text", '''
def encode_text(text, merges, special_tokens=None, byte_ids=None):
    special_tokens = special_tokens or {}
    byte_ids = byte_ids or list(range(256))
    pieces = [text]
    if special_tokens:
        pieces = regex.split("|".join(regex.escape(s) for s in special_tokens), text)
    out = []
    for piece in pieces:
        for chunk in split_chunks(piece):
            out += encode_chunk([byte_ids[b] for b in chunk.encode("utf-8")], merges)
    return out
''', r"special|bracket|capture|keep"),
    Bug("01", "h2_decode_bytes_of_ids", "01_decode_tokens", "decode_tokens", '''
def decode_tokens(ids, merges, special_tokens=None, byte_ids=None):
    return bytes(ids).decode("utf-8", errors="replace")
''', r"256|merge|table|vocab"),
    Bug("01", "h2_split_regex_split", "01_split_chunks", "split_chunks", '''
def split_chunks(text):
    return regex.split(GPT2_SPLIT_PATTERN, text)
''', r"findall"),
    Bug("01", "h2_pair_count_first", "01_most_common_pair", "most_common_pair", '''
def count_pairs(ids):
    out = {}
    for a, b in zip(ids, ids[1:]):
        out[(a, b)] = out.get((a, b), 0) + 1
    return out


def most_common_pair(ids):
    counts = count_pairs(ids)
    if not counts:
        return None
    best = max(counts, key=counts.get)
    return counts[best], best
''', r"order|first|pair, count|\(pair|swap"),
    Bug("01", "h2_merge_while_no_skip", "01_merge_pair", "merge_pair", '''
def merge_pair(ids, pair, new_id):
    out = []
    i = 0
    while i < len(ids):
        if i < len(ids) - 1 and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
        else:
            out.append(ids[i])
        i += 1
    return out
''', r"skip|by 2|second id"),
    Bug("02", "h2_single_position", "02_input_embedding", "input_embedding", '''
def input_embedding(idx, wte, wpe):
    T = idx.size(1)
    return token_embedding(idx, wte) + wpe[T]
''', r"position|arange|every"),
    Bug("02", "h2_index_select_dim1", "02_token_embedding", "token_embedding", '''
def token_embedding(idx, wte):
    return torch.index_select(wte, 1, idx.flatten()).reshape(*idx.shape, -1)
''', r"row|dim|axis|column"),
    Bug("02", "h2_tables_added_first", "02_input_embedding", "input_embedding", '''
def input_embedding(idx, wte, wpe):
    n = min(wte.shape[0], wpe.shape[0])
    table = wte[:n] + wpe[:n]
    return table[idx]
''', r"before|index|lookup|position"),
    Bug("03", "h2_einsum_unscaled", "03_attention", "attention", '''
def attention(q, k, v):
    T = q.size(-2)
    att = torch.einsum("bhqd,bhkd->bhqk", q, k)
    att = att.masked_fill(torch.tril(torch.ones(T, T)) == 0, float("-inf"))
    return torch.softmax(att, dim=-1) @ v
''', r"sqrt|scale|divide"),
    Bug("03", "h2_where_zero", "03_apply_causal_mask", "apply_causal_mask", '''
def apply_causal_mask(scores):
    T = scores.size(-1)
    return torch.where(causal_mask(T), scores, torch.zeros_like(scores))
''', r"-inf|zero|\\b0\\b"),
    Bug("03", "h2_mha_scale_C_chunk", "03_multi_head_attention", "multi_head_attention", '''
def multi_head_attention(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head):
    B, T, C = x.size()
    q, k, v = (x @ c_attn_weight + c_attn_bias).chunk(3, dim=-1)
    q = q.view(B, T, n_head, -1).transpose(1, 2)
    k = k.view(B, T, n_head, -1).transpose(1, 2)
    v = v.view(B, T, n_head, -1).transpose(1, 2)
    att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C))
    att = att.masked_fill(torch.tril(torch.ones(T, T)) == 0, float("-inf"))
    y = torch.softmax(att, dim=-1) @ v
    y = y.transpose(1, 2).contiguous().view(B, T, C)
    return y @ c_proj_weight + c_proj_bias
''', r"head size|hs|head_dim|sqrt\\(C\\)|d_model|scale"),
    Bug("03", "h2_cache_cat_last_dim", "03_cached_attention", "cached_attention", '''
def cached_attention(q, k, v, k_cache, v_cache):
    k_all = torch.cat((k_cache, k), dim=-1)
    v_all = torch.cat((v_cache, v), dim=-1)
    att = torch.softmax(q @ k_all.transpose(-2, -1) / math.sqrt(q.size(-1)), dim=-1)
    return att @ v_all, k_all, v_all
''', r"axis|dim|time"),
    Bug("03", "h2_mask_after_softmax_inf", "03_attention", "attention", '''
def attention(q, k, v):
    att = torch.softmax(attention_scores(q, k), dim=-1)
    att = apply_causal_mask(att)
    return torch.nan_to_num(att, neginf=0.0) @ v
''', r"after (the )?softmax|before|sum to 1|mask"),
    Bug("04", "h2_gelu_rounded_constant", "04_gelu", "gelu", '''
def gelu(x):
    return 0.5 * x * (1 + torch.tanh(0.8 * (x + 0.044715 * torch.pow(x, 3))))
''', r"constant|sqrt\\(2 ?/ ?pi\\)|0\\.79"),
    Bug("04", "h2_mlp_linear_transposed", "04_mlp", "mlp", '''
def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):
    h = gelu(F.linear(x, c_fc_weight.T, c_fc_bias))
    return F.linear(h, c_proj_weight.T, c_proj_bias)
''', r"layout|transpose|\\.T|\\(out, in\\)"),
    Bug("04", "h2_MLP_gelu_module_exact", "04_MLP", "MLP", '''
class MLP(nn.Module):
    def __init__(self, n_embd):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd)
        self.c_proj = nn.Linear(4 * n_embd, n_embd)
        self.act = nn.GELU()

    def forward(self, x):
        return self.c_proj(self.act(self.c_fc(x)))
''', r"tanh|exact|erf|approximat"),
    Bug("05", "h2_ln_std_unbiased", "05_layer_norm", "layer_norm", '''
def layer_norm(x, weight, bias, eps=1e-5):
    mu = x.mean(-1, keepdim=True)
    sigma = x.std(-1, keepdim=True)
    return weight * (x - mu) / (sigma + eps) + bias
''', r"unbiased|biased|eps|C - 1|N - 1"),
    Bug("05", "h2_block_normed_stream", "05_Block", "Block", '''
class Block(nn.Module):
    def __init__(self, n_embd, n_head):
        super().__init__()
        self.ln_1 = LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head)
        self.ln_2 = LayerNorm(n_embd)
        self.mlp = MLP(n_embd)

    def forward(self, x):
        x = self.ln_1(x)
        x = x + self.attn(x)
        x = self.ln_2(x)
        x = x + self.mlp(x)
        return x
''', r"residual|normali[sz]ed"),
    Bug("05", "h2_count_mlp_no_bias", "05_count_parameters", "count_parameters", '''
def count_parameters(vocab_size, n_positions, n_embd, n_layer, n_head):
    C = n_embd
    per_block = 2 * 2 * C + (3 * C * C + 3 * C) + (C * C + C) + 8 * C * C
    return (vocab_size + n_positions) * C + n_layer * per_block + 2 * C
''', r"bias"),
    Bug("05", "h2_gpt_no_positions_embedding_call", "05_MyGPT2", "MyGPT2", '''
class MyGPT2(nn.Module):
    def __init__(self, vocab_size, n_positions, n_embd, n_layer, n_head):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(n_positions, n_embd)
        self.h = nn.ModuleList([Block(n_embd, n_head) for _ in range(n_layer)])
        self.ln_f = LayerNorm(n_embd)

    def forward(self, idx):
        x = self.wte(idx) + self.wpe.weight[: idx.size(1)]
        for blk in self.h:
            x = blk(x)
        return F.linear(x, self.wte.weight)
''', r"ln_f|final"),
    Bug("06", "h2_temp_power_unnormalised", "06_temperature_probs", "temperature_probs", '''
def temperature_probs(logits, temperature):
    return F.softmax(logits, dim=-1) ** (1 / temperature)
''', r"normali|sum to 1|softmax|add up"),
    Bug("06", "h2_topk_batch_threshold", "06_top_k_logits", "top_k_logits", '''
def top_k_logits(logits, k):
    v = torch.topk(logits, k).values
    return logits.masked_fill(logits < v.min(), float("-inf"))
''', r"row|each row|per row|batch"),
    Bug("06", "h2_topk_in_place", "06_top_k_logits", "top_k_logits", '''
def top_k_logits(logits, k):
    v, _ = torch.topk(logits, k)
    logits[logits < v[:, [-1]]] = -float("Inf")
    return logits
''', r"in place|clone|copy"),
    Bug("06", "h2_sample_first_row", "06_sample_token", "sample_token", _SAMPLE + '''
    return torch.multinomial(probs, 1, generator=generator)[0]
''', r"row|shape|one id per row|squeeze"),
    Bug("06", "h2_sample_categorical", "06_sample_token", "sample_token", _SAMPLE + '''
    return torch.distributions.Categorical(probs=probs).sample()
''', r"generator|seed"),
    Bug("06", "h2_gen_cat_1d", "06_generate_tokens", "generate_tokens", _GEN + '''
        idx = torch.cat((idx, nxt), dim=1)
    return idx
''', r"\\[:, None\\]|column|axes|unsqueeze"),
    Bug("06", "h2_gen_crops_output", "06_generate_tokens", "generate_tokens", _GEN + '''
        idx = torch.cat((idx, nxt[:, None]), dim=1)[:, -n:]
    return idx
''', r"crop|n_positions|output|keep|whole"),
)
