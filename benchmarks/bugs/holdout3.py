"""A third held-out set (``bug_rates.py --set holdout3``): 43 bugs written before reading the
diagnoses, in the coding styles learners use (loops, one-liners, torch and plain Python), of
the kinds they make: off by one, wrong axis, transposes, scales, masks, sort order, in place,
dtypes. Measured once before any fix to give the honest "unseen" rate."""

from . import Bug

BUGS = (
    # ---- 01 tokenizer
    Bug("01", "h3_code_points", "01_text_to_bytes", "text_to_bytes", '''
def text_to_bytes(text):
    return list(map(ord, text))
''', r"utf-?8|code ?point|ord\(|encode"),
    Bug("01", "h3_tie_last_seen", "01_most_common_pair", "most_common_pair", '''
def count_pairs(ids):
    counts = {}
    for i in range(len(ids) - 1):
        counts[(ids[i], ids[i + 1])] = counts.get((ids[i], ids[i + 1]), 0) + 1
    return counts


def most_common_pair(ids):
    counts = count_pairs(ids)
    if not counts:
        return None
    ranked = sorted(counts.items(), key=lambda kv: kv[1])
    return ranked[-1]
''', r"\btie|first (seen|one|pair)|appears first"),
    Bug("01", "h3_pairs_skip_one", "01_most_common_pair", "most_common_pair", '''
def count_pairs(ids):
    counts = {}
    for pair in zip(ids, ids[2:]):
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def most_common_pair(ids):
    counts = count_pairs(ids)
    if not counts:
        return None
    pair = max(counts, key=counts.get)
    return pair, counts[pair]
''', r"neighbo|adjacent|next to|ids\[1:\]|one apart|skip"),
    Bug("01", "h3_merge_pops_input", "01_merge_pair", "merge_pair", '''
def merge_pair(ids, pair, new_id):
    i = 0
    while i < len(ids) - 1:
        if (ids[i], ids[i + 1]) == tuple(pair):
            ids[i] = new_id
            ids.pop(i + 1)
        i += 1
    return ids
''', r"in.place|modif|mutat|chang\w* (the|your|its) (input|argument|list)|copy|new list"),
    Bug("01", "h3_train_id_after_append", "01_train_bpe", "train_bpe", '''
def train_bpe(chunks, num_merges):
    seqs = [text_to_bytes(c) for c in chunks]
    merges = []
    for _ in range(num_merges):
        counts = Counter()
        for ids in seqs:
            counts.update(count_pairs(ids))
        if not counts:
            break
        best = max(counts, key=counts.get)
        merges.append(best)
        seqs = [merge_pair(ids, best, 256 + len(merges)) for ids in seqs]
    return merges
''', r"off by one|256 \+|new id|numbered|token id|\bid\b.*(merge|256)"),
    Bug("01", "h3_train_chunks_joined", "01_train_bpe", "train_bpe", '''
def train_bpe(chunks, num_merges):
    ids = text_to_bytes("".join(chunks))
    merges = []
    for k in range(num_merges):
        found = most_common_pair(ids)
        if found is None:
            break
        pair, _ = found
        merges.append(pair)
        ids = merge_pair(ids, pair, 256 + k)
    return merges
''', r"chunk|boundar|join|across|separately"),
    Bug("01", "h3_encode_by_count", "01_encode_chunk", "encode_chunk", '''
def encode_chunk(ids, merges):
    ranks = {tuple(p): i for i, p in enumerate(merges)}
    ids = list(ids)
    while len(ids) > 1:
        counts = count_pairs(ids)
        known = [p for p in counts if p in ranks]
        if not known:
            break
        best = max(known, key=lambda p: counts[p])
        ids = merge_pair(ids, best, 256 + ranks[best])
    return ids
''', r"rank|lowest|learn\w* first|most (common|frequent)|count"),
    Bug("01", "h3_decode_ignore", "01_decode_tokens", "decode_tokens", '''
def decode_tokens(ids, merges, special_tokens=None, byte_ids=None):
    byte_ids = list(range(256)) if byte_ids is None else byte_ids
    table = {byte_ids[b]: bytes([b]) for b in range(256)}
    for i, (a, b) in enumerate(merges):
        table[256 + i] = table[a] + table[b]
    for name, i in (special_tokens or {}).items():
        table[i] = name.encode()
    return b"".join(table[i] for i in ids).decode("utf-8", errors="ignore")
''', r"replace|ignore|\\ufffd|\ufffd|invalid"),
    Bug("01", "h3_decode_each_token", "01_decode_tokens", "decode_tokens", '''
def decode_tokens(ids, merges, special_tokens=None, byte_ids=None):
    byte_ids = list(range(256)) if byte_ids is None else byte_ids
    table = {byte_ids[b]: bytes([b]) for b in range(256)}
    for i, (a, b) in enumerate(merges):
        table[256 + i] = table[a] + table[b]
    for name, i in (special_tokens or {}).items():
        table[i] = name.encode()
    return "".join(table[i].decode("utf-8", errors="replace") for i in ids)
''', r"each token|one token at a time|separately|join\w* the bytes|bytes first|"
        r"across tokens|split over|before decod"),
    # ---- 02 embeddings
    Bug("02", "h3_one_hot_bool", "02_one_hot_ids", "one_hot_ids", '''
def one_hot_ids(idx, vocab_size):
    return idx.unsqueeze(-1) == torch.arange(vocab_size).view(1, 1, -1)
''', r"float|dtype|bool"),
    Bug("02", "h3_one_hot_transposed", "02_one_hot_ids", "one_hot_ids", '''
def one_hot_ids(idx, vocab_size):
    return torch.eye(vocab_size)[idx.T]
''', r"transpos|\(T, B|swap|order of (the )?(axes|dims)|\.T"),
    Bug("02", "h3_wpe_by_batch", "02_input_embedding", "input_embedding", '''
def input_embedding(idx, wte, wpe):
    B, T = idx.shape
    return wte[idx] + wpe[:B]
''', r"shape\[1\]|batch|\bB\b|sequence length|number of (tokens|positions)"),
    Bug("02", "h3_positions_from_one", "02_input_embedding", "input_embedding", '''
def input_embedding(idx, wte, wpe):
    T = idx.shape[-1]
    pos = torch.arange(1, T + 1)
    return token_embedding(idx, wte) + wpe[pos]
''', r"position 0|start\w* at (0|zero)|off by one|shift|from 1"),
    # ---- 03 attention
    Bug("03", "h3_scale_by_T", "03_attention_scores", "attention_scores", '''
def attention_scores(q, k):
    T = k.shape[-2]
    return (q @ k.transpose(-2, -1)) / math.sqrt(T)
''', r"head size|\bhs\b|sequence length|number of (keys|tokens)|q\.shape\[-1\]|last dim"),
    Bug("03", "h3_scale_no_sqrt", "03_attention_scores", "attention_scores", '''
def attention_scores(q, k):
    d = q.size(-1)
    return torch.matmul(q, k.transpose(2, 3)) / d
''', r"sqrt|square root"),
    Bug("03", "h3_mask_triu", "03_causal_mask", "causal_mask", '''
def causal_mask(T):
    return torch.triu(torch.ones(T, T)).bool()
''', r"upper|lower|tril|triu|future|invert|transpos|opposite"),
    Bug("03", "h3_mask_no_diagonal", "03_causal_mask", "causal_mask", '''
def causal_mask(T):
    return torch.tril(torch.ones(T, T, dtype=torch.bool), diagonal=-1)
''', r"diagonal|itself|own (position|token)|j <= i|j == i"),
    Bug("03", "h3_mask_multiply", "03_apply_causal_mask", "apply_causal_mask", '''
def apply_causal_mask(scores):
    T = scores.shape[-1]
    return scores * causal_mask(T)
''', r"-inf|infinity|zero|multipl"),
    Bug("03", "h3_mask_in_place", "03_apply_causal_mask", "apply_causal_mask", '''
def apply_causal_mask(scores):
    T = scores.shape[-1]
    scores.masked_fill_(~causal_mask(T), float("-inf"))
    return scores
''', r"in.place|modif|mutat|masked_fill_|chang\w* (the|your|its) (input|argument)|copy"),
    Bug("03", "h3_softmax_over_queries", "03_attention", "attention", '''
def attention(q, k, v):
    s = apply_causal_mask(attention_scores(q, k))
    w = s.softmax(dim=-2)
    return w @ v
''', r"dim=-1|last (dim|axis)|over the keys|wrong (dim|axis)|queries|column"),
    Bug("03", "h3_mha_view_no_transpose", "03_multi_head_attention", "multi_head_attention", '''
def multi_head_attention(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head):
    B, T, C = x.shape
    qkv = x @ c_attn_weight + c_attn_bias
    q, k, v = qkv.split(C, dim=2)
    q = q.reshape(B, n_head, T, C // n_head)
    k = k.reshape(B, n_head, T, C // n_head)
    v = v.reshape(B, n_head, T, C // n_head)
    y = attention(q, k, v).permute(0, 2, 1, 3).reshape(B, T, C)
    return y @ c_proj_weight + c_proj_bias
''', r"transpos|view|reshape|heads|layout|interleav"),
    Bug("03", "h3_mha_kqv_order", "03_multi_head_attention", "multi_head_attention", '''
def multi_head_attention(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head):
    B, T, C = x.shape
    hs = C // n_head
    k, q, v = (x @ c_attn_weight + c_attn_bias).split(C, dim=-1)
    q, k, v = (t.view(B, T, n_head, hs).transpose(1, 2) for t in (q, k, v))
    y = attention(q, k, v).transpose(1, 2).reshape(B, T, C)
    return y @ c_proj_weight + c_proj_bias
''', r"order|q, k,? (and )?v|swap|thirds?|query|key"),
    Bug("03", "h3_cache_new_first", "03_cached_attention", "cached_attention", '''
def cached_attention(q, k, v, k_cache, v_cache):
    k_all = torch.cat([k, k_cache], dim=2)
    v_all = torch.cat([v, v_cache], dim=2)
    weights = torch.softmax(attention_scores(q, k_all), dim=-1)
    return weights @ v_all, k_all, v_all
''', r"order|end|after|append|before|front|first"),
    # ---- 04 MLP
    Bug("04", "h3_gelu_erf", "04_gelu", "gelu", '''
def gelu(x):
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
''', r"tanh|erf|approximat|exact"),
    Bug("04", "h3_gelu_square", "04_gelu", "gelu", '''
def gelu(x):
    inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x * x)
    return 0.5 * x * (1 + torch.tanh(inner))
''', r"x\*\*3|x³|cube|power|third"),
    Bug("04", "h3_mlp_no_gelu", "04_mlp", "mlp", '''
def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):
    h = F.linear(x, c_fc_weight, c_fc_bias)
    return F.linear(h, c_proj_weight, c_proj_bias)
''', r"gelu|activation|non.?linear"),
    Bug("04", "h3_MLP_no_widening", "04_MLP", "MLP", '''
class MLP(nn.Module):
    def __init__(self, n_embd):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)

    def forward(self, x):
        return self.c_proj(gelu(self.c_fc(x)))
''', r"4 ?\*|four|4C|3072|hidden|wid"),
    # ---- 05 blocks
    Bug("05", "h3_ln_eps_outside", "05_layer_norm", "layer_norm", '''
def layer_norm(x, weight, bias, eps=1e-5):
    mu = x.mean(-1, keepdim=True)
    sigma = (x - mu).pow(2).mean(-1, keepdim=True).sqrt()
    return weight * (x - mu) / (sigma + eps) + bias
''', r"eps|epsilon|inside"),
    Bug("05", "h3_ln_over_time", "05_layer_norm", "layer_norm", '''
def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=1, keepdim=True)
    var = x.var(dim=1, keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias
''', r"last (dim|axis)|dim=-1|wrong (dim|axis)|over (the )?(tokens|positions|T)\b|each vector"),
    Bug("05", "h3_block_post_ln", "05_Block", "Block", '''
class Block(nn.Module):
    def __init__(self, n_embd, n_head):
        super().__init__()
        self.ln_1 = LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head)
        self.ln_2 = LayerNorm(n_embd)
        self.mlp = MLP(n_embd)

    def forward(self, x):
        x = self.ln_1(x + self.attn(x))
        x = self.ln_2(x + self.mlp(x))
        return x
''', r"pre.?LN|post.?LN|before|after the (residual|sum|add)"),
    Bug("05", "h3_block_ln1_twice", "05_Block", "Block", '''
class Block(nn.Module):
    def __init__(self, n_embd, n_head):
        super().__init__()
        self.ln_1 = LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head)
        self.ln_2 = LayerNorm(n_embd)
        self.mlp = MLP(n_embd)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_1(x))
''', r"ln_2|ln_1 (twice|again)|same (layer ?norm|norm)|second (layer ?)?norm"),
    Bug("05", "h3_count_no_ln_f", "05_count_parameters", "count_parameters", '''
def count_parameters(vocab_size, n_positions, n_embd, n_layer, n_head):
    C = n_embd
    per_block = 4 * C + (3 * C * C + 3 * C) + (C * C + C) + (4 * C * C + 4 * C) + (4 * C * C + C)
    return vocab_size * C + n_positions * C + n_layer * per_block
''', r"ln_f|final (layer ?)?norm|last (layer ?)?norm"),
    Bug("05", "h3_gpt_forward_no_ln_f", "05_MyGPT2", "MyGPT2", '''
class MyGPT2(nn.Module):
    def __init__(self, vocab_size, n_positions, n_embd, n_layer, n_head):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(n_positions, n_embd)
        self.h = nn.ModuleList([Block(n_embd, n_head) for _ in range(n_layer)])
        self.ln_f = LayerNorm(n_embd)

    def forward(self, idx):
        T = idx.size(1)
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for block in self.h:
            x = block(x)
        return x @ self.wte.weight.T
''', r"ln_f|final (layer ?)?norm|last (layer ?)?norm"),
    Bug("05", "h3_gpt_positions_from_one", "05_MyGPT2", "MyGPT2", '''
class MyGPT2(nn.Module):
    def __init__(self, vocab_size, n_positions, n_embd, n_layer, n_head):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(n_positions, n_embd)
        self.h = nn.ModuleList([Block(n_embd, n_head) for _ in range(n_layer)])
        self.ln_f = LayerNorm(n_embd)

    def forward(self, idx):
        T = idx.size(1)
        x = self.wte(idx) + self.wpe(torch.arange(1, T + 1))
        for block in self.h:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.T
''', r"position 0|start\w* at (0|zero)|off by one|shift|from 1"),
    # ---- 06 sampling
    Bug("06", "h3_greedy_argmin", "06_greedy_next", "greedy_next", '''
def greedy_next(logits):
    return torch.argmin(logits, dim=1)
''', r"argmin|smallest|least|lowest|min\b"),
    Bug("06", "h3_temp_multiplied", "06_temperature_probs", "temperature_probs", '''
def temperature_probs(logits, temperature):
    return F.softmax(logits * temperature, dim=-1)
''', r"divid|multipl|1 ?/ ?temperature|invert"),
    Bug("06", "h3_topk_ascending", "06_top_k_logits", "top_k_logits", '''
def top_k_logits(logits, k):
    ordered, _ = torch.sort(logits, dim=-1)
    cutoff = ordered[:, k - 1:k]
    return torch.where(logits < cutoff, torch.full_like(logits, float("-inf")), logits)
''', r"descending|largest|smallest|ascending|sort\w* (order|the wrong)|wrong (end|order)"),
    Bug("06", "h3_topk_zero_fill", "06_top_k_logits", "top_k_logits", '''
def top_k_logits(logits, k):
    vals, idx = logits.topk(k)
    out = torch.zeros_like(logits)
    out.scatter_(1, idx, vals)
    return out
''', r"-inf|infinity|zero|\b0\b"),
    Bug("06", "h3_topp_ascending", "06_top_p_logits", "top_p_logits", '''
def top_p_logits(logits, p):
    sorted_logits, order = torch.sort(logits, dim=-1)
    probs = torch.softmax(sorted_logits, dim=-1)
    mass_above = probs.cumsum(dim=-1) - probs
    sorted_logits = sorted_logits.masked_fill(mass_above >= p, float("-inf"))
    return torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
''', r"descending|most likely first|ascending|sort\w* (order|the wrong)|wrong (end|order)|"
        r"least likely"),
    Bug("06", "h3_topp_drops_crossing", "06_top_p_logits", "top_p_logits", '''
def top_p_logits(logits, p):
    sorted_logits, order = logits.sort(dim=-1, descending=True)
    cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    remove = cum > p
    sorted_logits[remove] = float("-inf")
    return torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
''', r"cross|at least|reach|the token that|mass above|one (token )?(more|too few)|"
        r"shift|fewest|before it"),
    Bug("06", "h3_sample_not_squeezed", "06_sample_token", "sample_token", '''
def sample_token(logits, generator, temperature=1.0, top_k=None, top_p=None):
    logits = logits / temperature
    if top_k is not None:
        logits = top_k_logits(logits, top_k)
    if top_p is not None:
        logits = top_p_logits(logits, top_p)
    probs = F.softmax(logits, dim=-1)
    return torch.multinomial(probs, 1, generator=generator)
''', r"squeeze|\(B,\)|one id per row|extra (dim|axis)|\(B, 1\)"),
    Bug("06", "h3_gen_last_token_only", "06_generate_tokens", "generate_tokens", '''
def generate_tokens(model, idx, max_new_tokens, *, greedy=False, temperature=1.0, top_k=None,
                    top_p=None, generator=None, stop_token=None):
    done = torch.zeros(idx.shape[0], dtype=torch.bool)
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -1:])
        last = logits[:, -1]
        if greedy:
            nxt = greedy_next(last)
        else:
            nxt = sample_token(last, generator, temperature, top_k, top_p)
        if stop_token is not None:
            nxt = torch.where(done, torch.full_like(nxt, stop_token), nxt)
            done = done | (nxt == stop_token)
        idx = torch.cat((idx, nxt.unsqueeze(1)), dim=1)
        if stop_token is not None and done.all():
            break
    return idx
''', r"whole (sequence|context)|context|all (the )?tokens|only the last|idx\[:, -1:\]"),
    Bug("06", "h3_gen_stops_on_any", "06_generate_tokens", "generate_tokens", '''
def generate_tokens(model, idx, max_new_tokens, *, greedy=False, temperature=1.0, top_k=None,
                    top_p=None, generator=None, stop_token=None):
    n = model.config.n_positions
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -n:])
        last = logits[:, -1, :]
        nxt = greedy_next(last) if greedy else sample_token(last, generator, temperature,
                                                             top_k, top_p)
        idx = torch.cat([idx, nxt[:, None]], dim=1)
        if stop_token is not None and (nxt == stop_token).any():
            break
    return idx
''', r"all rows|every row|any\b|each row|other rows|finished"),
)
