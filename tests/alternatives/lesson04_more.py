"""Lesson 04, a second batch: a typed-in constant, x(1 + a x^2), numpy, torch.mul chains,
nn.Linear with copied weights, float64, nn.GELU('tanh') by position, dropout at 0 ..."""

GELU_CONSTANT = '''SQRT_2_OVER_PI = 0.7978845608  # sqrt(2 / pi), typed in


def gelu(x: torch.Tensor) -> torch.Tensor:
    """GPT-2's GELU with x + 0.044715 x^3 written as x (1 + 0.044715 x^2)."""
    inner = SQRT_2_OVER_PI * x * (1.0 + 0.044715 * x * x)
    return 0.5 * x * (1.0 + torch.tanh(inner))
'''

GELU_NUMPY = '''import numpy as np


def gelu(x):
    a = x.detach().numpy()
    y = 0.5 * a * (1 + np.tanh(np.sqrt(2 / np.pi) * (a + 0.044715 * np.power(a, 3))))
    return torch.from_numpy(y.astype(a.dtype))
'''

GELU_MUL_CHAIN = '''def gelu(x):
    cube = x.pow(3).mul(0.044715)
    t = torch.tanh(x.add(cube).mul(math.sqrt(2.0 / math.pi)))
    return x.mul(0.5).mul(t.add(1.0))
'''

MLP_NN_LINEAR = '''def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):
    C, H = x.shape[-1], c_fc_weight.shape[0]
    fc, proj = nn.Linear(C, H), nn.Linear(H, C)
    with torch.no_grad():
        fc.weight.copy_(c_fc_weight)
        fc.bias.copy_(c_fc_bias)
        proj.weight.copy_(c_proj_weight)
        proj.bias.copy_(c_proj_bias)
        return proj(gelu(fc(x)))
'''

MLP_MATMUL_FLOAT64 = '''def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):
    h = torch.matmul(x.double(), c_fc_weight.double().T).add(c_fc_bias.double())
    out = torch.matmul(gelu(h), c_proj_weight.double().T) + c_proj_bias.double()
    return out.to(x.dtype)
'''

MLP_MODULE_POSITIONAL_GELU = '''class MLP(nn.Module):
    def __init__(self, n_embd: int, dropout: float = 0.0):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=True)
        self.gelu = nn.GELU("tanh")
        self.c_proj = nn.Linear(4 * n_embd, n_embd, bias=True)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.c_fc(x)
        x = self.gelu(x)
        x = self.c_proj(x)
        return self.dropout(x)
'''

MLP_MODULE_F_LINEAR = '''class MLP(nn.Module):
    """c_fc and c_proj as nn.Linear; forward reads their weights with F.linear."""

    def __init__(self, n_embd):
        super().__init__()
        hidden = 4 * n_embd
        self.c_fc = nn.Linear(n_embd, hidden)
        self.c_proj = nn.Linear(hidden, n_embd)

    def forward(self, x):
        h = gelu(F.linear(x, self.c_fc.weight, self.c_fc.bias))
        return F.linear(h, self.c_proj.weight, self.c_proj.bias)
'''

GELU_ALIAS = '''def _gelu_tanh(x):
    inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)
    return 0.5 * x * (1 + torch.tanh(inner))


gelu = _gelu_tanh  # the exercise's name for it
'''

GELU_LAMBDA = (
    "gelu = lambda x: 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi)"
    " * (x + 0.044715 * x ** 3)))\n")

ALTERNATIVES = [
    ("04_gelu", "a typed-in constant, x (1 + a x^2), type hints", GELU_CONSTANT),
    ("04_gelu", "numpy inside, from_numpy", GELU_NUMPY),
    ("04_gelu", "method chains", GELU_MUL_CHAIN),
    ("04_gelu", "a helper under another name, aliased", GELU_ALIAS),
    ("04_gelu", "a lambda", GELU_LAMBDA),
    ("04_mlp", "nn.Linear with copied weights under no_grad", MLP_NN_LINEAR),
    ("04_mlp", "matmul in float64", MLP_MATMUL_FLOAT64),
    ("04_MLP", "nn.GELU('tanh') by position, dropout 0", MLP_MODULE_POSITIONAL_GELU),
    ("04_MLP", "F.linear on the layers' weights", MLP_MODULE_F_LINEAR),
]
