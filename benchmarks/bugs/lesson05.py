"""Lesson 05 (LayerNorm, the block, the model): normalisation, residual and head bugs."""

from . import Bug

L = "05"

_BLOCK_INIT = '''class Block(nn.Module):
    def __init__(self, n_embd, n_head):
        super().__init__()
        self.ln_1 = LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head)
        self.ln_2 = LayerNorm(n_embd)
        self.mlp = MLP(n_embd)

    def forward(self, x):
'''

_GPT_INIT = '''class MyGPT2(nn.Module):
    def __init__(self, vocab_size, n_positions, n_embd, n_layer, n_head):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(n_positions, n_embd)
        self.h = nn.ModuleList([Block(n_embd, n_head) for _ in range(n_layer)])
        self.ln_f = LayerNorm(n_embd)

    def forward(self, idx):
        B, T = idx.shape
'''


def _block(forward: str) -> str:
    return _BLOCK_INIT + forward


def _gpt(forward: str) -> str:
    return _GPT_INIT + forward


_COUNT = '''def count_parameters(vocab_size, n_positions, n_embd, n_layer, n_head):
    C = n_embd
    embeddings = vocab_size * C + n_positions * C
    norm = 2 * C
    attn = (C * 3 * C + 3 * C) + (C * C + C)
    mlp = (C * 4 * C + 4 * C) + (4 * C * C + C)
    block = 2 * norm + attn + mlp
'''

BUGS = (
    Bug(L, "ln_unbiased", "05_layer_norm", "layer_norm", '''
def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    std = x.std(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(std**2 + eps) * weight + bias
''', r"unbiased|biased|n ?- ?1|correction|divide by c"),
    Bug(L, "ln_eps_outside", "05_layer_norm", "layer_norm", '''
def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / (torch.sqrt(var) + eps) * weight + bias
''', r"eps|epsilon"),
    Bug(L, "ln_no_sqrt", "05_layer_norm", "layer_norm", '''
def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / (var + eps) * weight + bias
''', r"sqrt|square root|standard deviation"),
    Bug(L, "ln_wrong_dim", "05_layer_norm", "layer_norm", '''
def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=0, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=0, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias
''', r"dim|axis|last"),
    Bug(L, "ln_no_keepdim", "05_layer_norm", "layer_norm", '''
def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1)
    var = ((x - mean[..., None]) ** 2).mean(dim=-1)
    return (x - mean[..., None]) / torch.sqrt(var + eps) * weight + bias
''', r"keepdim|broadcast|shape|axis"),
    Bug(L, "ln_no_weight", "05_layer_norm", "layer_norm", '''
def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) + bias
''', r"weight|scale|gain|gamma"),
    Bug(L, "ln_bias_inside", "05_layer_norm", "layer_norm", '''
def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * (weight + bias)
''', r"bias|add|weight"),
    Bug(L, "LN_buffers", "05_LayerNorm", "LayerNorm", '''
class LayerNorm(nn.Module):
    def __init__(self, n_embd):
        super().__init__()
        self.register_buffer("weight", torch.ones(n_embd))
        self.register_buffer("bias", torch.zeros(n_embd))

    def forward(self, x):
        return layer_norm(x, self.weight, self.bias)
''', r"parameter|buffer|learn|train"),
    Bug(L, "block_post_ln", "05_Block", "Block", _block('''
        x = self.ln_1(x + self.attn(x))
        x = self.ln_2(x + self.mlp(x))
        return x
'''), r"post-?ln|pre-?ln|before|after|order|normal"),
    Bug(L, "block_no_mlp_residual", "05_Block", "Block", _block('''
        x = x + self.attn(self.ln_1(x))
        return self.mlp(self.ln_2(x))
'''), r"residual|x \+|skip"),
    Bug(L, "block_parallel", "05_Block", "Block", _block('''
        return x + self.attn(self.ln_1(x)) + self.mlp(self.ln_2(x))
'''), r"parallel|after|updated|order|x from|sequen"),
    Bug(L, "block_ln1_twice", "05_Block", "Block", _block('''
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_1(x))
        return x
'''), r"ln_2|ln_1|norm"),
    Bug(L, "block_residual_normed", "05_Block", "Block", _block('''
        h = self.ln_1(x)
        x = h + self.attn(h)
        h = self.ln_2(x)
        x = h + self.mlp(h)
        return x
'''), r"residual|normali[sz]ed|x \+|ln_1\(x\) \+|un-?normali"),
    Bug(L, "count_no_ln_f", "05_count_parameters", "count_parameters", _COUNT + '''
    return embeddings + n_layer * block
''', r"ln_f|final"),
    Bug(L, "count_untied", "05_count_parameters", "count_parameters", _COUNT + '''
    return embeddings + n_layer * block + norm + vocab_size * C
''', r"tied|head|lm_head"),
    Bug(L, "count_no_biases", "05_count_parameters", "count_parameters", '''
def count_parameters(vocab_size, n_positions, n_embd, n_layer, n_head):
    C = n_embd
    block = 2 * 2 * C + C * 3 * C + C * C + C * 4 * C + 4 * C * C
    return vocab_size * C + n_positions * C + n_layer * block + 2 * C
''', r"bias"),
    Bug(L, "count_one_ln_per_block", "05_count_parameters", "count_parameters", _COUNT.replace(
        "block = 2 * norm", "block = norm") + '''
    return embeddings + n_layer * block + norm
''', r"layernorm|ln_1|ln_2|norm"),
    Bug(L, "gpt_no_ln_f", "05_MyGPT2", "MyGPT2", _gpt('''
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for block in self.h:
            x = block(x)
        return x @ self.wte.weight.T
'''), r"ln_f|final"),
    Bug(L, "gpt_pos_from_one", "05_MyGPT2", "MyGPT2", _gpt('''
        x = self.wte(idx) + self.wpe(torch.arange(1, T + 1))
        for block in self.h:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.T
'''), r"position"),
    Bug(L, "gpt_untied_head", "05_MyGPT2", "MyGPT2", '''
class MyGPT2(nn.Module):
    def __init__(self, vocab_size, n_positions, n_embd, n_layer, n_head):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(n_positions, n_embd)
        self.h = nn.ModuleList([Block(n_embd, n_head) for _ in range(n_layer)])
        self.ln_f = LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)

    def forward(self, idx):
        B, T = idx.shape
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))
''', r"tied|lm_head|wte"),
    Bug(L, "gpt_ln_f_each_block", "05_MyGPT2", "MyGPT2", _gpt('''
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for block in self.h:
            x = self.ln_f(block(x))
        return x @ self.wte.weight.T
'''), r"ln_f|once|final|after the (last|loop)"),
    Bug(L, "gpt_no_head", "05_MyGPT2", "MyGPT2", _gpt('''
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for block in self.h:
            x = block(x)
        return self.ln_f(x)
'''), r"head|logits|wte"),
)
