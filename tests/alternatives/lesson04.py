"""Lesson 04, the MLP: pow, sigmoid form, float64, F.linear, einsum, own parameter names,
nn.GELU in the module ..."""

MLP_MODULE_GELU = '''class MLP(nn.Module):
    def __init__(self, n_embd):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd)
        self.act = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(4 * n_embd, n_embd)

    def forward(self, x):
        return self.c_proj(self.act(self.c_fc(x)))
'''

MLP_MODULE_OWN_LINEAR = '''class Affine(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in) * 0.02)
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return x @ self.weight.T + self.bias


class MLP(nn.Module):
    def __init__(self, d_model):
        super().__init__()
        self.c_fc = Affine(d_model, 4 * d_model)
        self.c_proj = Affine(4 * d_model, d_model)

    def forward(self, hidden):
        return mlp(hidden, self.c_fc.weight, self.c_fc.bias, self.c_proj.weight,
                   self.c_proj.bias)
'''

ALTERNATIVES = [
    ("04_gelu", "torch.pow and (2/pi) ** 0.5",
     "def gelu(x):\n    return 0.5 * x * (1 + torch.tanh((2 / math.pi) ** 0.5\n"
     "                                     * (x + 0.044715 * torch.pow(x, 3))))\n"),
    ("04_gelu", "the sigmoid form",
     "def gelu(x):\n"
     "    return x * torch.sigmoid(2 * math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x))\n"),
    ("04_gelu", "float64 inside",
     "def gelu(x):\n    y = x.double()\n"
     "    out = 0.5 * y * (1 + torch.tanh(math.sqrt(2 / math.pi) * (y + 0.044715 * y**3)))\n"
     "    return out.to(x.dtype)\n"),
    ("04_mlp", "F.linear",
     "def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):\n"
     "    h = F.linear(x, c_fc_weight, c_fc_bias)\n"
     "    return F.linear(gelu(h), c_proj_weight, c_proj_bias)\n"),
    ("04_mlp", "einsum, own parameter names",
     "def mlp(x, w1, b1, w2, b2):\n"
     "    h = gelu(torch.einsum('btc,hc->bth', x, w1) + b1)\n"
     "    return torch.einsum('bth,ch->btc', h, w2) + b2\n"),
    ("04_mlp", "addmm on flattened rows",
     "def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):\n"
     "    rows = x.reshape(-1, x.shape[-1])\n"
     "    h = gelu(torch.addmm(c_fc_bias, rows, c_fc_weight.t()))\n"
     "    return torch.addmm(c_proj_bias, h, c_proj_weight.t()).reshape(x.shape)\n"),
    ("04_MLP", "nn.GELU(approximate='tanh')", MLP_MODULE_GELU),
    ("04_MLP", "own linear layers, other argument names", MLP_MODULE_OWN_LINEAR),
]
