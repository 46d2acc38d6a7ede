"""Lesson 05, blocks: var(unbiased=False), rsqrt, float64, nn.Sequential, F.linear head,
a nanoGPT-style tied lm_head, formulas written out ..."""

LN_MODULE_OWN = '''class LayerNorm(nn.Module):
    def __init__(self, n_embd, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(n_embd))
        self.bias = nn.Parameter(torch.zeros(n_embd))

    def forward(self, x):
        mu = x.mean(-1, keepdim=True)
        var = x.var(-1, keepdim=True, correction=0)
        return self.weight * (x - mu) * torch.rsqrt(var + self.eps) + self.bias
'''

LN_MODULE_EMPTY_INIT = '''class LayerNorm(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(dim).fill_(1.0))
        self.bias = nn.Parameter(torch.empty(dim).zero_())

    def forward(self, inp):
        return layer_norm(inp, self.weight, self.bias, eps=1e-5)
'''

BLOCK_TWO_STEPS = '''class Block(nn.Module):
    def __init__(self, n_embd, n_head):
        super().__init__()
        self.ln_1 = LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head)
        self.ln_2 = LayerNorm(n_embd)
        self.mlp = MLP(n_embd)

    def forward(self, x):
        h = x + self.attn(self.ln_1(x))
        out = h + self.mlp(self.ln_2(h))
        return out
'''

BLOCK_OWN_ATTENTION = '''class SelfAttention(nn.Module):
    def __init__(self, d_model, heads):
        super().__init__()
        self.heads = heads
        self.c_attn = nn.Linear(d_model, 3 * d_model)
        self.c_proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).chunk(3, dim=-1)
        q, k, v = (t.reshape(B, T, self.heads, -1).permute(0, 2, 1, 3) for t in (q, k, v))
        att = torch.einsum("bhqd,bhkd->bhqk", q, k) / math.sqrt(q.size(-1))
        att = att.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), -1e9)
        y = att.softmax(dim=-1) @ v
        return self.c_proj(y.permute(0, 2, 1, 3).reshape(B, T, C))


class Block(nn.Module):
    def __init__(self, d_model, heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d_model)
        self.attn = SelfAttention(d_model, heads)
        self.ln_2 = nn.LayerNorm(d_model)
        self.mlp = MLP(d_model)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))
'''

BLOCK_NANOGPT_MASK = '''class NanoAttention(nn.Module):
    def __init__(self, n_embd, n_head, block_size=1024):
        super().__init__()
        self.n_head = n_head
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        # nanoGPT's causal mask, a buffer (saved with the model, not learned)
        self.register_buffer("bias", torch.tril(torch.ones(block_size, block_size))
                             .view(1, 1, block_size, block_size))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class Block(nn.Module):
    def __init__(self, n_embd, n_head):
        super().__init__()
        self.ln_1 = LayerNorm(n_embd)
        self.attn = NanoAttention(n_embd, n_head)
        self.ln_2 = LayerNorm(n_embd)
        self.mlp = MLP(n_embd)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x
'''

COUNT_EXPANDED = '''def count_parameters(vocab_size, n_positions, n_embd, n_layer, n_head):
    C = n_embd
    return (vocab_size + n_positions) * C + n_layer * (12 * C**2 + 13 * C) + 2 * C
'''

COUNT_SHAPES = '''def count_parameters(vocab_size, n_positions, n_embd, n_layer, n_head):
    C = n_embd
    block = [(C,), (C,), (C, 3 * C), (3 * C,), (C, C), (C,), (C,), (C,),
             (C, 4 * C), (4 * C,), (4 * C, C), (C,)]
    shapes = [(vocab_size, C), (n_positions, C)] + block * n_layer + [(C,), (C,)]
    return sum(math.prod(s) for s in shapes)
'''

GPT2_SEQUENTIAL = '''class MyGPT2(nn.Module):
    def __init__(self, vocab_size, n_positions, n_embd, n_layer, n_head):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(n_positions, n_embd)
        self.h = nn.Sequential(*[Block(n_embd, n_head) for _ in range(n_layer)])
        self.ln_f = LayerNorm(n_embd)

    def forward(self, idx):
        T = idx.size(1)
        x = self.wte(idx) + self.wpe(torch.arange(T, device=idx.device))[None]
        return F.linear(self.ln_f(self.h(x)), self.wte.weight)
'''

GPT2_TIED_HEAD = '''class MyGPT2(nn.Module):
    def __init__(self, vocab_size, n_positions, n_embd, n_layer, n_head):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(n_positions, n_embd)
        self.h = nn.ModuleList(Block(n_embd, n_head) for _ in range(n_layer))
        self.ln_f = LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying, as nanoGPT does it

    def forward(self, idx):
        pos = torch.arange(0, idx.shape[1], dtype=torch.long)
        x = self.wte(idx) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))
'''

ALTERNATIVES = [
    ("05_layer_norm", "var(unbiased=False) and rsqrt",
     "def layer_norm(x, weight, bias, eps=1e-5):\n"
     "    mean = x.mean(-1, keepdim=True)\n"
     "    var = x.var(-1, keepdim=True, unbiased=False)\n"
     "    return (x - mean) * torch.rsqrt(var + eps) * weight + bias\n"),
    ("05_layer_norm", "float64 inside",
     "def layer_norm(x, weight, bias, eps=1e-5):\n    y = x.double()\n"
     "    y = (y - y.mean(-1, keepdim=True)) / (y.var(-1, correction=0, keepdim=True)\n"
     "                                          + eps).sqrt()\n"
     "    return (y * weight.double() + bias.double()).float()\n"),
    ("05_layer_norm", "centred first, pow(2)",
     "def layer_norm(x, weight, bias, eps=1e-5):\n    xc = x - x.mean(dim=-1, keepdim=True)\n"
     "    std = xc.pow(2).mean(dim=-1, keepdim=True).add(eps).sqrt()\n"
     "    return weight * xc / std + bias\n"),
    ("05_LayerNorm", "written out, correction=0, an eps attribute", LN_MODULE_OWN),
    ("05_LayerNorm", "empty().fill_, other argument names", LN_MODULE_EMPTY_INIT),
    ("05_Block", "the residual in two names", BLOCK_TWO_STEPS),
    ("05_Block", "nn.LayerNorm and own attention with einsum and -1e9", BLOCK_OWN_ATTENTION),
    ("05_Block", "nanoGPT's attention with a causal-mask buffer", BLOCK_NANOGPT_MASK),
    ("05_count_parameters", "12 C^2 + 13 C per layer", COUNT_EXPANDED),
    ("05_count_parameters", "a list of shapes", COUNT_SHAPES),
    ("05_MyGPT2", "nn.Sequential and F.linear", GPT2_SEQUENTIAL),
    ("05_MyGPT2", "a tied lm_head (nanoGPT)", GPT2_TIED_HEAD),
]
