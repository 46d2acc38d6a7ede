"""Lesson 04 (GELU and the MLP): formula, layout and module-naming bugs."""

from . import Bug

L = "04"

BUGS = (
    Bug(L, "gelu_erf", "04_gelu", "gelu", '''
def gelu(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
''', r"tanh|erf|exact|approximat"),
    Bug(L, "gelu_no_cube", "04_gelu", "gelu", '''
def gelu(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * x))
''', r"0\.044715|cube|x\*\*3|x³|cubic"),
    Bug(L, "gelu_sqrt_2pi", "04_gelu", "gelu", '''
def gelu(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 * math.pi) * (x + 0.044715 * x**3)))
''', r"sqrt\(2 ?/ ?(pi|π)\)|2/pi|2/π|constant"),
    Bug(L, "gelu_square", "04_gelu", "gelu", '''
def gelu(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**2)))
''', r"cube|x\*\*3|x³|power|square"),
    Bug(L, "gelu_no_half", "04_gelu", "gelu", '''
def gelu(x):
    return x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
''', r"0\.5|half|times 2|factor"),
    Bug(L, "gelu_sigmoid", "04_gelu", "gelu", '''
def gelu(x):
    return x * torch.sigmoid(1.702 * x)
''', r"sigmoid|tanh|approximation"),
    Bug(L, "gelu_cube_outside", "04_gelu", "gelu", '''
def gelu(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * x) + 0.044715 * x**3)
''', r"bracket|parenthes|inside|tanh"),
    Bug(L, "mlp_no_transpose", "04_mlp", "mlp", '''
def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):
    hidden = gelu(x @ c_fc_weight + c_fc_bias)
    return hidden @ c_proj_weight + c_proj_bias
''', r"transpose|\.T|layout|\(out, in\)"),
    Bug(L, "mlp_relu", "04_mlp", "mlp", '''
def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):
    hidden = torch.relu(x @ c_fc_weight.T + c_fc_bias)
    return hidden @ c_proj_weight.T + c_proj_bias
''', r"gelu|relu|activation"),
    Bug(L, "mlp_gelu_twice", "04_mlp", "mlp", '''
def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):
    hidden = gelu(x @ c_fc_weight.T + c_fc_bias)
    return gelu(hidden @ c_proj_weight.T + c_proj_bias)
''', r"gelu|activation|twice|after c_proj"),
    Bug(L, "mlp_no_gelu", "04_mlp", "mlp", '''
def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):
    hidden = x @ c_fc_weight.T + c_fc_bias
    return hidden @ c_proj_weight.T + c_proj_bias
''', r"gelu|activation|linear"),
    Bug(L, "mlp_gelu_before_bias", "04_mlp", "mlp", '''
def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):
    hidden = gelu(x @ c_fc_weight.T) + c_fc_bias
    return hidden @ c_proj_weight.T + c_proj_bias
''', r"bias|before|order"),
    Bug(L, "mlp_no_fc_bias", "04_mlp", "mlp", '''
def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):
    hidden = gelu(x @ c_fc_weight.T)
    return hidden @ c_proj_weight.T + c_proj_bias
''', r"bias|c_fc"),
    Bug(L, "MLP_hidden_C", "04_MLP", "MLP", '''
class MLP(nn.Module):
    def __init__(self, n_embd):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)

    def forward(self, x):
        return self.c_proj(gelu(self.c_fc(x)))
''', r"4 ?\* ?n_embd|4C|four|hidden|size|shape"),
    Bug(L, "MLP_other_names", "04_MLP", "MLP", '''
class MLP(nn.Module):
    def __init__(self, n_embd):
        super().__init__()
        self.fc = nn.Linear(n_embd, 4 * n_embd)
        self.proj = nn.Linear(4 * n_embd, n_embd)

    def forward(self, x):
        return self.proj(gelu(self.fc(x)))
''', r"name|c_fc|c_proj|attribute"),
    Bug(L, "MLP_no_gelu", "04_MLP", "MLP", '''
class MLP(nn.Module):
    def __init__(self, n_embd):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd)
        self.c_proj = nn.Linear(4 * n_embd, n_embd)

    def forward(self, x):
        return self.c_proj(self.c_fc(x))
''', r"gelu|activation"),
    Bug(L, "MLP_exact_gelu", "04_MLP", "MLP", '''
class MLP(nn.Module):
    def __init__(self, n_embd):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * n_embd, n_embd)

    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))
''', r"tanh|approximat|exact|erf"),
)
