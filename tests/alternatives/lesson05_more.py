"""Lesson 05, a second batch: var_mean, numpy, addcmul, register_parameter, a keyword eps,
dropout at 0, a count from real modules, numpy integers, a non-persistent position buffer,
an einsum head ..."""

LN_VAR_MEAN = '''def layer_norm(x, weight, bias, eps=1e-5):
    var, mean = torch.var_mean(x, dim=-1, keepdim=True, unbiased=False)
    return torch.addcmul(bias, (x - mean) / torch.sqrt(var + eps), weight)
'''

LN_NUMPY = '''import numpy as np


def layer_norm(x, weight, bias, eps=1e-5):
    a = x.detach().numpy().astype(np.float64)
    mu = a.mean(axis=-1, keepdims=True)
    var = ((a - mu) ** 2).mean(axis=-1, keepdims=True)
    y = (a - mu) / np.sqrt(var + eps) * weight.detach().numpy() + bias.detach().numpy()
    return torch.from_numpy(y.astype(np.float32))
'''

LN_KEYWORD_DIM = '''def layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
               eps: float = 1e-5, *, dim: int = -1) -> torch.Tensor:
    """LayerNorm over `dim` (the last one by default)."""
    centred = x - x.mean(dim=dim, keepdim=True)
    std = x.std(dim=dim, keepdim=True, unbiased=False)
    return centred / torch.sqrt(std ** 2 + eps) * weight + bias
'''

LN_MODULE_REGISTER = '''class LayerNorm(nn.Module):
    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.register_parameter("weight", nn.Parameter(torch.ones(normalized_shape)))
        self.register_parameter("bias", nn.Parameter(torch.zeros(normalized_shape)))

    def forward(self, x):
        return layer_norm(x, self.weight, self.bias, self.eps)
'''

LN_MODULE_VAR_MEAN = '''class LayerNorm(nn.Module):
    """Own formula with var_mean, typed."""

    def __init__(self, n_embd: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n_embd))
        self.bias = nn.Parameter(torch.zeros(n_embd))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        var, mean = torch.var_mean(x, -1, keepdim=True, correction=0)
        return (x - mean) / (var + 1e-5).sqrt() * self.weight + self.bias
'''

BLOCK_DROPOUT = '''class Block(nn.Module):
    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0):
        super().__init__()
        self.ln_1 = LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head)
        self.ln_2 = LayerNorm(n_embd)
        self.mlp = MLP(n_embd)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attn(self.ln_1(x)))
        x = x + self.drop(self.mlp(self.ln_2(x)))
        return x
'''

BLOCK_NN_LAYERNORM_EPS = '''class Block(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d_model, eps=1e-5)
        self.attn = CausalSelfAttention(d_model, n_heads)
        self.ln_2 = nn.LayerNorm(d_model, eps=1e-5)
        self.mlp = MLP(d_model)

    def forward(self, x):
        attn_out = self.attn(self.ln_1(x))
        x = torch.add(x, attn_out)
        return torch.add(x, self.mlp(self.ln_2(x)))
'''

COUNT_FROM_MODULES = '''def count_parameters(vocab_size, n_positions, n_embd, n_layer, n_head):
    """Count by building one block and counting its tensors."""
    block = Block(n_embd, n_head)
    per_block = sum(p.numel() for p in block.parameters())
    return vocab_size * n_embd + n_positions * n_embd + n_layer * per_block + 2 * n_embd
'''

COUNT_NUMPY = '''import numpy as np


def count_parameters(vocab_size: int, n_positions: int, n_embd: int, n_layer: int,
                     n_head: int) -> int:
    C = n_embd
    pieces = {
        "wte": (vocab_size, C), "wpe": (n_positions, C),
        "ln": (2, 2, C), "c_attn": (C + 1, 3 * C), "attn_proj": (C + 1, C),
        "c_fc": (C + 1, 4 * C), "mlp_proj": (4 * C + 1, C),
    }
    sizes = {name: int(np.prod(shape, dtype=np.int64)) for name, shape in pieces.items()}
    block = sum(v for k, v in sizes.items() if k not in ("wte", "wpe"))
    return np.int64(sizes["wte"] + sizes["wpe"] + n_layer * block + 2 * C)
'''

GPT2_BUFFER_EINSUM = '''class MyGPT2(nn.Module):
    def __init__(self, vocab_size, n_positions, n_embd, n_layer, n_head):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(n_positions, n_embd)
        self.h = nn.ModuleList([Block(n_embd, n_head) for _ in range(n_layer)])
        self.ln_f = LayerNorm(n_embd)
        # not saved with the weights, so strict loading still matches
        self.register_buffer("positions", torch.arange(n_positions), persistent=False)

    def forward(self, idx):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(self.positions[:T]).unsqueeze(0)
        for block in self.h:
            x = block(x)
        x = self.ln_f(x)
        return torch.einsum("btc,vc->btv", x, self.wte.weight)
'''

GPT2_TARGETS_KWARG = '''class MyGPT2(nn.Module):
    """GPT-2 with typed, renamed arguments and an optional extra argument."""

    def __init__(self, vocab_size: int, n_positions: int, n_embd: int, n_layer: int,
                 n_head: int) -> None:
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(n_positions, n_embd)
        self.h = nn.ModuleList()
        for _ in range(n_layer):
            self.h.append(Block(n_embd, n_head))
        self.ln_f = LayerNorm(n_embd)

    def forward(self, tokens: torch.Tensor, past=None) -> torch.Tensor:
        B, T = tokens.size()
        pos = torch.arange(T, device=tokens.device).unsqueeze(0).expand(B, T)
        hidden = self.wte(tokens) + self.wpe(pos)
        for layer in self.h:
            hidden = layer(hidden)
        return torch.matmul(self.ln_f(hidden), self.wte.weight.transpose(0, 1))
'''

ALTERNATIVES = [
    ("05_layer_norm", "var_mean and addcmul", LN_VAR_MEAN),
    ("05_layer_norm", "numpy in float64", LN_NUMPY),
    ("05_layer_norm", "std squared, a keyword-only dim", LN_KEYWORD_DIM),
    ("05_LayerNorm", "register_parameter, an eps argument", LN_MODULE_REGISTER),
    ("05_LayerNorm", "var_mean with correction=0, typed", LN_MODULE_VAR_MEAN),
    ("05_Block", "dropout 0 on both branches", BLOCK_DROPOUT),
    ("05_Block", "nn.LayerNorm(eps=1e-5), torch.add, own names", BLOCK_NN_LAYERNORM_EPS),
    ("05_count_parameters", "one real Block counted", COUNT_FROM_MODULES),
    ("05_count_parameters", "a dict of shapes, a numpy integer", COUNT_NUMPY),
    ("05_MyGPT2", "a non-persistent position buffer, an einsum head", GPT2_BUFFER_EINSUM),
    ("05_MyGPT2", "typed, renamed, an optional past argument", GPT2_TARGETS_KWARG),
]
