"""A fourth held-out set (``bug_rates.py --set holdout4``), written after holdout3's fixes to
probe for kinds still unnamed; measured once before any fix."""

from . import Bug

BUGS = (
    Bug("01", "h4_utf16", "01_text_to_bytes", "text_to_bytes", '''
def text_to_bytes(text):
    return list(text.encode("utf-16-le"))
''', r"utf-?8"),
    Bug("01", "h4_train_least_common", "01_train_bpe", "train_bpe", '''
def train_bpe(chunks, num_merges):
    seqs = [text_to_bytes(c) for c in chunks]
    merges = []
    for k in range(num_merges):
        counts = {}
        for ids in seqs:
            for p, n in count_pairs(ids).items():
                counts[p] = counts.get(p, 0) + n
        if not counts:
            break
        best = min(counts, key=counts.get)
        merges.append(best)
        seqs = [merge_pair(ids, best, 256 + k) for ids in seqs]
    return merges
''', r"most (common|frequent)|least|min|max"),
    Bug("01", "h4_decode_strict", "01_decode_tokens", "decode_tokens", '''
def decode_tokens(ids, merges, special_tokens=None, byte_ids=None):
    byte_ids = byte_ids or list(range(256))
    table = {byte_ids[b]: bytes([b]) for b in range(256)}
    for i, (a, b) in enumerate(merges):
        table[256 + i] = table[a] + table[b]
    for name, i in (special_tokens or {}).items():
        table[i] = name.encode()
    return b"".join(table[i] for i in ids).decode("utf-8")
''', r"errors|replace|invalid"),
    Bug("01", "h4_split_lower", "01_split_chunks", "split_chunks", '''
def split_chunks(text):
    return regex.findall(GPT2_SPLIT_PATTERN, text.lower())
''', r"lower|case|unchanged|change"),
    Bug("02", "h4_token_flat", "02_token_embedding", "token_embedding", '''
def token_embedding(idx, wte):
    return wte[idx.flatten()]
''', r"reshape|flat|\(B, T, C\)|view"),
    Bug("02", "h4_wpe_unsqueeze_wrong", "02_input_embedding", "input_embedding", '''
def input_embedding(idx, wte, wpe):
    T = idx.shape[1]
    return wte[idx] + wpe[:T].unsqueeze(1)
''', r"broadcast|unsqueeze|None"),
    Bug("03", "h4_mask_big_negative", "03_apply_causal_mask", "apply_causal_mask", '''
def apply_causal_mask(scores):
    T = scores.size(-1)
    return scores.masked_fill(~causal_mask(T), -1e4)
''', r"-inf|infinity"),
    Bug("03", "h4_attention_no_mask", "03_attention", "attention", '''
def attention(q, k, v):
    return torch.softmax(attention_scores(q, k), dim=-1) @ v
''', r"mask|future|causal"),
    Bug("03", "h4_mha_no_proj", "03_multi_head_attention", "multi_head_attention", '''
def multi_head_attention(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head):
    B, T, C = x.shape
    q, k, v = (x @ c_attn_weight + c_attn_bias).split(C, dim=-1)
    q, k, v = (t.view(B, T, n_head, C // n_head).transpose(1, 2) for t in (q, k, v))
    return attention(q, k, v).transpose(1, 2).reshape(B, T, C)
''', r"c_proj|projection|output layer"),
    Bug("03", "h4_cache_softmax_dim2", "03_cached_attention", "cached_attention", '''
def cached_attention(q, k, v, k_cache, v_cache):
    k_all = torch.cat([k_cache, k], dim=2)
    v_all = torch.cat([v_cache, v], dim=2)
    w = torch.softmax(attention_scores(q, k_all), dim=2)
    return w @ v_all, k_all, v_all
''', r"dim|axis|last"),
    Bug("04", "h4_gelu_sigmoid_approx", "04_gelu", "gelu", '''
def gelu(x):
    return x * torch.sigmoid(1.702 * x)
''', r"tanh|approximat|sigmoid|formula"),
    Bug("04", "h4_MLP_relu", "04_MLP", "MLP", '''
class MLP(nn.Module):
    def __init__(self, n_embd):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd)
        self.c_proj = nn.Linear(4 * n_embd, n_embd)

    def forward(self, x):
        return self.c_proj(F.relu(self.c_fc(x)))
''', r"gelu|relu"),
    Bug("05", "h4_ln_no_weight", "05_layer_norm", "layer_norm", '''
def layer_norm(x, weight, bias, eps=1e-5):
    m = x.mean(-1, keepdim=True)
    v = x.var(-1, keepdim=True, unbiased=False)
    return (x - m) / torch.sqrt(v + eps) + bias
''', r"weight|scale|gain"),
    Bug("05", "h4_block_mlp_no_residual", "05_Block", "Block", '''
class Block(nn.Module):
    def __init__(self, n_embd, n_head):
        super().__init__()
        self.ln_1 = LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head)
        self.ln_2 = LayerNorm(n_embd)
        self.mlp = MLP(n_embd)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return self.mlp(self.ln_2(x))
''', r"residual|x \+|add"),
    Bug("05", "h4_count_no_wpe", "05_count_parameters", "count_parameters", '''
def count_parameters(vocab_size, n_positions, n_embd, n_layer, n_head):
    C = n_embd
    block = 4 * C + 3 * C * C + 3 * C + C * C + C + 8 * C * C + 5 * C
    return vocab_size * C + n_layer * block + 2 * C
''', r"wpe|position"),
    Bug("05", "h4_gpt_untied_head", "05_MyGPT2", "MyGPT2", '''
class MyGPT2(nn.Module):
    def __init__(self, vocab_size, n_positions, n_embd, n_layer, n_head):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(n_positions, n_embd)
        self.h = nn.ModuleList([Block(n_embd, n_head) for _ in range(n_layer)])
        self.ln_f = LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)

    def forward(self, idx):
        T = idx.size(1)
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))
''', r"tied|wte|lm_head|head"),
    Bug("06", "h4_greedy_max_tuple", "06_greedy_next", "greedy_next", '''
def greedy_next(logits):
    return torch.max(logits, dim=-1)
''', r"indices|argmax|\[1\]"),
    Bug("06", "h4_temp_in_place", "06_temperature_probs", "temperature_probs", '''
def temperature_probs(logits, temperature):
    logits /= temperature
    return torch.softmax(logits, dim=-1)
''', r"in.place|modif|chang|/=|copy"),
    Bug("06", "h4_sample_topk_on_probs", "06_sample_token", "sample_token", '''
def sample_token(logits, generator, temperature=1.0, top_k=None, top_p=None):
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_k is not None:
        probs = torch.softmax(top_k_logits(probs, top_k), dim=-1)
    if top_p is not None:
        probs = torch.softmax(top_p_logits(torch.log(probs), top_p), dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
''', r"probabilit|logits|softmax|twice|before"),
    Bug("06", "h4_gen_overwrites", "06_generate_tokens", "generate_tokens", '''
def generate_tokens(model, idx, max_new_tokens, *, greedy=False, temperature=1.0, top_k=None,
                    top_p=None, generator=None, stop_token=None):
    out = idx
    finished = torch.zeros(idx.size(0), dtype=torch.bool)
    for _ in range(max_new_tokens):
        logits, _ = model(out[:, -model.config.n_positions:])
        last = logits[:, -1, :]
        nxt = greedy_next(last) if greedy else sample_token(last, generator, temperature,
                                                             top_k, top_p)
        if stop_token is not None:
            nxt = nxt.masked_fill(finished, stop_token)
            finished = finished | (nxt == stop_token)
        out = torch.cat([idx, nxt[:, None]], dim=1)
        if stop_token is not None and bool(finished.all()):
            break
    return out
''', r"append|keep|previous|grow|overwrit|each step"),
)
