"""A held-out set of learner bugs, written after the first fixes (``bug_rates.py --set
holdout``). It was measured before anything was tuned on it (36 bugs: 100% caught, 36%
named); the misses were then fixed as kinds, so it no longer measures unseen bugs:
``holdout2.py`` does."""

from . import Bug

_SAMPLE = '''def sample_token(logits, generator, temperature=1.0, top_k=None, top_p=None):
'''
_GEN = '''def generate_tokens(model, idx, max_new_tokens, *, greedy=False, temperature=1.0,
                    top_k=None, top_p=None, generator=None, stop_token=None):
'''
_BLOCK = '''class Block(nn.Module):
    def __init__(self, n_embd, n_head):
        super().__init__()
        self.ln_1 = LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head)
        self.ln_2 = LayerNorm(n_embd)
        self.mlp = MLP(n_embd)

    def forward(self, x):
'''
_GPT = '''class MyGPT2(nn.Module):
    def __init__(self, vocab_size, n_positions, n_embd, n_layer, n_head):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(n_positions, n_embd)
        self.h = nn.ModuleList([Block(n_embd, n_head) for _ in range(n_layer)])
        self.ln_f = LayerNorm(n_embd)

    def forward(self, idx):
        B, T = idx.shape
'''
_MHA = '''def multi_head_attention(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias,
                         n_head):
    B, T, C = x.shape
    hs = C // n_head
'''

BUGS = (
    # --- 01 ---
    Bug("01", "h_bytes_latin1", "01_text_to_bytes", "text_to_bytes", '''
def text_to_bytes(text):
    return list(text.encode("latin-1", errors="replace"))
''', r"utf-?8"),
    Bug("01", "h_pairs_max_of_keys", "01_most_common_pair", "most_common_pair", '''
def count_pairs(ids):
    counts = {}
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def most_common_pair(ids):
    counts = count_pairs(ids)
    if not counts:
        return None
    pair = max(counts)
    return pair, counts[pair]
''', r"count|frequen|key"),
    Bug("01", "h_merge_tuple_vs_list", "01_merge_pair", "merge_pair", '''
def merge_pair(ids, pair, new_id):
    merged, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            merged.append(new_id)
            i += 2
        else:
            merged.append(ids[i])
            i += 1
    return merged
''', r"tuple|list|never|no (pair|merge)|nothing"),
    Bug("01", "h_train_not_applied", "01_train_bpe", "train_bpe", '''
def train_bpe(chunks, num_merges):
    times = Counter(chunks)
    seqs = [text_to_bytes(chunk) for chunk in times]
    weights = list(times.values())
    merges = []
    for k in range(num_merges):
        counts = {}
        for ids, weight in zip(seqs, weights):
            for pair, n in count_pairs(ids).items():
                counts[pair] = counts.get(pair, 0) + n * weight
        if not counts:
            break
        best = max(counts, key=counts.get)
        merges.append(best)
        [merge_pair(ids, best, 256 + k) for ids in seqs]
    return merges
''', r"merge_pair|appl|update|replace|same pair|thrown away"),
    Bug("01", "h_encode_no_break", "01_encode_chunk", "encode_chunk", '''
def encode_chunk(ids, merges):
    ranks = {tuple(pair): i for i, pair in enumerate(merges)}
    ids = list(ids)
    while len(ids) >= 2:
        known = [pair for pair in zip(ids, ids[1:]) if pair in ranks]
        if known:
            best = min(known, key=ranks.get)
            ids = merge_pair(ids, best, 256 + ranks[best])
    return ids
''', r"endless|loop|time limit|break"),
    Bug("01", "h_special_not_escaped", "01_encode_text", "encode_text", '''
def encode_text(text, merges, special_tokens=None, byte_ids=None):
    special_tokens = special_tokens or {}
    if byte_ids is None:
        byte_ids = list(range(256))
    pieces = [text]
    if special_tokens:
        pieces = regex.split("(" + "|".join(special_tokens) + ")", text)
    ids = []
    for piece in pieces:
        if not piece:
            continue
        if piece in special_tokens:
            ids.append(special_tokens[piece])
            continue
        for chunk in split_chunks(piece):
            ids.extend(encode_chunk([byte_ids[b] for b in text_to_bytes(chunk)], merges))
    return ids
''', r"escape|special"),
    Bug("01", "h_decode_no_special", "01_decode_tokens", "decode_tokens", '''
def decode_tokens(ids, merges, special_tokens=None, byte_ids=None):
    if byte_ids is None:
        byte_ids = list(range(256))
    vocab = {byte_ids[b]: bytes([b]) for b in range(256)}
    for i, (a, b) in enumerate(merges):
        vocab[256 + i] = vocab[a] + vocab[b]
    return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")
''', r"special"),
    Bug("01", "h_split_with_re", "01_split_chunks", "split_chunks", r'''
def split_chunks(text):
    import re
    return re.findall(GPT2_SPLIT_PATTERN, text)
''', r"\bregex\b"),
    # --- 02 ---
    Bug("02", "h_wpe_unsliced", "02_input_embedding", "input_embedding", '''
def input_embedding(idx, wte, wpe):
    return wte[idx] + wpe
''', r"slice|first T|:T|arange|position"),
    Bug("02", "h_one_hot_permuted", "02_one_hot_ids", "one_hot_ids", '''
def one_hot_ids(idx, vocab_size):
    return (idx[..., None] == torch.arange(vocab_size)).float().transpose(-1, -2)
''', r"axis|last|transpose|swap"),
    Bug("02", "h_positions_reversed", "02_input_embedding", "input_embedding", '''
def input_embedding(idx, wte, wpe):
    T = idx.shape[1]
    return wte[idx] + wpe[torch.arange(T - 1, -1, -1)]
''', r"revers|order|position"),
    Bug("02", "h_token_emb_sum", "02_token_embedding", "token_embedding", '''
def token_embedding(idx, wte):
    return wte[idx].sum(dim=1)
''', r"sum|shape|axis|T"),
    # --- 03 ---
    Bug("03", "h_scores_scale_by_T", "03_attention_scores", "attention_scores", '''
def attention_scores(q, k):
    return q @ k.transpose(-1, -2) / math.sqrt(q.size(-2))
''', r"head size|hs|sqrt|scale|last"),
    Bug("03", "h_mask_inverted_bool", "03_causal_mask", "causal_mask", '''
def causal_mask(T):
    return torch.tril(torch.ones(T, T)) == 0
''', r"invert|opposite|future|~|True where|upper|triu|swap"),
    Bug("03", "h_attention_scaled_twice", "03_attention", "attention", '''
def attention(q, k, v):
    scores = attention_scores(q, k) / math.sqrt(q.shape[-1])
    weights = torch.softmax(apply_causal_mask(scores), dim=-1)
    return weights @ v
''', r"scale|twice|sqrt"),
    Bug("03", "h_mha_interleaved_heads", "03_multi_head_attention", "multi_head_attention",
        _MHA + '''    q, k, v = (x @ c_attn_weight + c_attn_bias).split(C, dim=-1)
    q, k, v = (t.view(B, T, hs, n_head).permute(0, 3, 1, 2) for t in (q, k, v))
    y = attention(q, k, v).permute(0, 2, 3, 1).reshape(B, T, C)
    return y @ c_proj_weight + c_proj_bias
''', r"head|layout|interleav|view|block"),
    Bug("03", "h_mha_no_attn_bias", "03_multi_head_attention", "multi_head_attention",
        _MHA + '''    q, k, v = (x @ c_attn_weight).split(C, dim=-1)
    q, k, v = (t.view(B, T, n_head, hs).transpose(1, 2) for t in (q, k, v))
    y = attention(q, k, v).transpose(1, 2).reshape(B, T, C)
    return y @ c_proj_weight + c_proj_bias
''', r"bias|c_attn_bias"),
    Bug("03", "h_cache_returns_weights", "03_cached_attention", "cached_attention", '''
def cached_attention(q, k, v, k_cache, v_cache):
    k_all = torch.cat([k_cache, k], dim=2)
    v_all = torch.cat([v_cache, v], dim=2)
    weights = torch.softmax(attention_scores(q, k_all), dim=-1)
    return weights, k_all, v_all
''', r"@ v|v_all|value|weighted"),
    # --- 04 ---
    Bug("04", "h_gelu_no_x", "04_gelu", "gelu", '''
def gelu(x):
    return 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
''', r"times x|x \*|multipl|factor|0\.5 x"),
    Bug("04", "h_gelu_tanh_sigmoid", "04_gelu", "gelu", '''
def gelu(x):
    return 0.5 * x * (1.0 + torch.sigmoid(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
''', r"tanh|sigmoid"),
    Bug("04", "h_mlp_weights_swapped", "04_mlp", "mlp", '''
def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):
    hidden = gelu(x @ c_proj_weight + c_fc_bias)
    return hidden @ c_fc_weight + c_proj_bias
''', r"c_fc|c_proj|swap|layout|transpose|\.T"),
    Bug("04", "h_MLP_no_bias", "04_MLP", "MLP", '''
class MLP(nn.Module):
    def __init__(self, n_embd):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=False)
        self.c_proj = nn.Linear(4 * n_embd, n_embd, bias=False)

    def forward(self, x):
        return self.c_proj(gelu(self.c_fc(x)))
''', r"bias"),
    # --- 05 ---
    Bug("05", "h_ln_abs_deviation", "05_layer_norm", "layer_norm", '''
def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    spread = (x - mean).abs().mean(dim=-1, keepdim=True)
    return (x - mean) / (spread + eps) * weight + bias
''', r"varian|square|standard deviation"),
    Bug("05", "h_ln_var_not_centred", "05_layer_norm", "layer_norm", '''
def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    var = (x**2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias
''', r"mean|centr|subtract|variance"),
    Bug("05", "h_block_double_residual", "05_Block", "Block", _BLOCK + '''
        x = x + x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))
''', r"residual|twice|x \+ x"),
    Bug("05", "h_count_no_attn_proj", "05_count_parameters", "count_parameters", '''
def count_parameters(vocab_size, n_positions, n_embd, n_layer, n_head):
    C = n_embd
    block = 4 * C + (3 * C * C + 3 * C) + (8 * C * C + 5 * C)
    return vocab_size * C + n_positions * C + n_layer * block + 2 * C
''', r"c_proj|projection|attention"),
    Bug("05", "h_gpt_wpe_by_ids", "05_MyGPT2", "MyGPT2", _GPT + '''
        x = self.wte(idx) + self.wpe(idx)
        for block in self.h:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.T
''', r"position"),
    Bug("05", "h_gpt_head_wpe", "05_MyGPT2", "MyGPT2", _GPT + '''
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for block in self.h:
            x = block(x)
        return self.ln_f(x) @ self.wpe.weight.T
''', r"wte|head|tied|vocab"),
    # --- 06 ---
    Bug("06", "h_greedy_softmax_dim0", "06_greedy_next", "greedy_next", '''
def greedy_next(logits):
    return torch.softmax(logits, dim=0).argmax(dim=-1)
''', r"dim|axis|softmax"),
    Bug("06", "h_temp_exp_unnormalised", "06_temperature_probs", "temperature_probs", '''
def temperature_probs(logits, temperature):
    return torch.exp(logits / temperature)
''', r"normali|sum to 1|softmax|divide"),
    Bug("06", "h_topk_min_fill", "06_top_k_logits", "top_k_logits", '''
def top_k_logits(logits, k):
    values, indices = torch.topk(logits, k, dim=-1)
    return torch.full_like(logits, float(logits.min())).scatter(-1, indices, values)
''', r"-inf"),
    Bug("06", "h_topp_per_token", "06_top_p_logits", "top_p_logits", '''
def top_p_logits(logits, p):
    probs = torch.softmax(logits, dim=-1)
    return logits.masked_fill(probs < 1 - p, float("-inf"))
''', r"cumul|cumsum|mass|add up|sort"),
    Bug("06", "h_sample_softmax_twice", "06_sample_token", "sample_token", _SAMPLE + '''
    logits = logits / temperature
    if top_k is not None:
        logits = top_k_logits(logits, top_k)
    if top_p is not None:
        logits = top_p_logits(logits, top_p)
    probs = torch.softmax(torch.softmax(logits, dim=-1), dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)
''', r"softmax|twice|probabilit"),
    Bug("06", "h_gen_argmax_dim0", "06_generate_tokens", "generate_tokens", _GEN + '''
    finished = torch.zeros(idx.size(0), dtype=torch.bool)
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -model.config.n_positions:])
        last = logits[:, -1, :]
        nxt = last.argmax(0) if greedy else sample_token(last, generator, temperature, top_k,
                                                          top_p)
        if stop_token is not None:
            nxt = nxt.masked_fill(finished, stop_token)
            finished = finished | (nxt == stop_token)
        idx = torch.cat([idx, nxt[:, None]], dim=1)
        if stop_token is not None and bool(finished.all()):
            break
    return idx
''', r"dim|axis|row"),
    Bug("06", "h_gen_drops_generator", "06_generate_tokens", "generate_tokens", _GEN + '''
    finished = torch.zeros(idx.size(0), dtype=torch.bool)
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -model.config.n_positions:])
        last = logits[:, -1, :]
        nxt = greedy_next(last) if greedy else sample_token(last, None, temperature, top_k,
                                                             top_p)
        if stop_token is not None:
            nxt = nxt.masked_fill(finished, stop_token)
            finished = finished | (nxt == stop_token)
        idx = torch.cat([idx, nxt[:, None]], dim=1)
        if stop_token is not None and bool(finished.all()):
            break
    return idx
''', r"generator|seed"),
    Bug("06", "h_gen_never_stops_early", "06_generate_tokens", "generate_tokens", _GEN + '''
    finished = torch.zeros(idx.size(0), dtype=torch.bool)
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -model.config.n_positions:])
        last = logits[:, -1, :]
        nxt = greedy_next(last) if greedy else sample_token(last, generator, temperature,
                                                             top_k, top_p)
        if stop_token is not None:
            nxt = nxt.masked_fill(finished, stop_token)
            finished = finished | (nxt == stop_token)
        idx = torch.cat([idx, nxt[:, None]], dim=1)
    return idx
''', r"stop|finished|break|early|all rows"),
)
