"""Lesson 04's checks, as a mutation suite.

Each buggy version is code a learner could write, run in the lesson's own namespace
(setup cell and correct solutions, one cell replaced). Its check must fail with the
diagnosis that names the bug; valid variants must pass, on public and hidden cases.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from check_support import SolutionCells

from gpt2course.exercises import for_lesson

SOLUTION = Path(__file__).resolve().parents[1] / "solutions" / "04_mlp.ipynb"


NOTEBOOK = SolutionCells(SOLUTION)
verdict, assert_diagnosed = NOTEBOOK.verdict, NOTEBOOK.assert_diagnosed


@pytest.mark.parametrize("exercise", for_lesson("04"), ids=lambda e: e.id)
@pytest.mark.parametrize("seed", [None, 1, 2])
def test_solution_passes_public_and_hidden_cases(exercise, seed):
    result = verdict(exercise.function, seed)
    assert result.passed, result.message


# --- gelu -----------------------------------------------------------------------------------


@pytest.mark.parametrize("body, diagnosis", [
    ("return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))", "this is the exact (erf) GELU"),
    ("return x * 0.5 * (1 + torch.erf(x / math.sqrt(2)))", "this is the exact (erf) GELU"),
    ("return torch.clamp(x, min=0)", "this is ReLU"),
    ("return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * x))", "the 0.044715"),
    ("return x * torch.sigmoid(1.702 * x)", "this is the sigmoid approximation"),
    ("return x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))",
     "the factor 0.5 in front is missing"),
    ("return 0.5 * x * (1 + torch.tanh(math.sqrt(math.pi / 2) * (x + 0.044715 * x**3)))",
     "the constant inside tanh is wrong"),
    ("return 0.5 * x * (1 + torch.tanh(2 / math.pi * (x + 0.044715 * x**3)))",
     "the constant inside tanh is wrong"),
    ("return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**2)))",
     "the cubic term uses x**2"),
    ("return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * x) + 0.044715 * x**3)",
     "a bracket is misplaced"),
    ("return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * x + 0.044715 * x**3))",
     "a bracket is misplaced"),
])
def test_gelu_bugs_are_named(body, diagnosis):
    cell = f"def gelu(x):\n    {body}\n"
    assert_diagnosed("gelu", diagnosis, **{"04_gelu": cell})
    # One bug costs one exercise: the MLP built on that gelu keeps its points, and its
    # message names gelu as what breaks it.
    downstream = verdict("mlp", **{"04_gelu": cell})
    assert downstream.passed and "your gelu is what breaks it" in downstream.message


@pytest.mark.parametrize("body", [
    # 0.5 * (1 + tanh(z)) is sigmoid(2z): the same function
    "return x * torch.sigmoid(2 * math.sqrt(2 / math.pi) * (x + 0.044715 * x.pow(3)))",
    "inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)\n"
    "    return 0.5 * x * (1 + torch.tanh(inner))",
    "y = x.double()\n"
    "    return (0.5 * y * (1 + torch.tanh((2 / math.pi) ** 0.5 * (y + 0.044715 * y**3)))).float()",
])
def test_gelu_valid_variants_pass(body):
    cell = f"def gelu(x):\n    {body}\n"
    assert verdict("gelu", **{"04_gelu": cell}).passed
    assert verdict("gelu", 3, **{"04_gelu": cell}).passed


# --- mlp -------------------------------------------------------------------------------------

MLP_HEAD = "def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):\n"


@pytest.mark.parametrize("body, diagnosis", [
    ("    return torch.relu(x @ c_fc_weight.T + c_fc_bias) @ c_proj_weight.T + c_proj_bias\n",
     "the MLP uses ReLU"),
    ("    h = F.gelu(x @ c_fc_weight.T + c_fc_bias)\n"
     "    return h @ c_proj_weight.T + c_proj_bias\n",
     "the MLP uses the exact (erf) GELU"),
    ("    return gelu(x @ c_fc_weight.T) @ c_proj_weight.T\n", "the biases are not added"),
    ("    return gelu(x @ c_fc_weight.T + c_fc_bias)\n", "the second projection"),
    ("    return gelu(gelu(x @ c_fc_weight.T + c_fc_bias) @ c_proj_weight.T + c_proj_bias)\n",
     "GELU is applied after c_proj too"),
    ("    return (x @ c_fc_weight.T + c_fc_bias) @ c_proj_weight.T + c_proj_bias\n",
     "there is no GELU between the two layers"),
    ("    return gelu((x @ c_fc_weight.T + c_fc_bias) @ c_proj_weight.T + c_proj_bias)\n",
     "GELU comes after c_proj instead of between the layers"),
    ("    return gelu(x @ c_fc_weight.T) @ c_proj_weight.T + c_proj_bias\n",
     "c_fc_bias is not added"),
    ("    return (gelu(x @ c_fc_weight.T) + c_fc_bias) @ c_proj_weight.T + c_proj_bias\n",
     "c_fc_bias is added after GELU"),
])
def test_mlp_bugs_are_named(body, diagnosis):
    assert_diagnosed("mlp", diagnosis, **{"04_mlp": MLP_HEAD + body})


def test_mlp_with_weights_not_transposed_says_what_went_wrong():
    result = verdict("mlp", **{"04_mlp": MLP_HEAD + "    return gelu(x @ c_fc_weight + c_fc_bias)"
                                                      " @ c_proj_weight + c_proj_bias\n"})
    assert not result.passed and "Your code raised an error" in result.message
    assert "mat1 and mat2 shapes cannot be multiplied" in result.message
    assert "the weights are used in lesson 03's layout (x @ W)" in result.message


@pytest.mark.parametrize("body", [
    "    return F.linear(gelu(F.linear(x, c_fc_weight, c_fc_bias)), c_proj_weight, c_proj_bias)\n",
    "    h = gelu(torch.einsum('btc,hc->bth', x, c_fc_weight) + c_fc_bias)\n"
    "    return torch.einsum('bth,ch->btc', h, c_proj_weight) + c_proj_bias\n",
    "    flat = x.reshape(-1, x.shape[-1])\n"
    "    h = gelu(torch.addmm(c_fc_bias, flat, c_fc_weight.t()))\n"
    "    return torch.addmm(c_proj_bias, h, c_proj_weight.t()).reshape(x.shape)\n",
])
def test_mlp_valid_variants_pass(body):
    assert verdict("mlp", **{"04_mlp": MLP_HEAD + body}).passed
    assert verdict("mlp", 5, **{"04_mlp": MLP_HEAD + body}).passed


# --- MLP -------------------------------------------------------------------------------------

MLP_CLASS = ("class MLP(nn.Module):\n    def __init__(self, n_embd):\n        super().__init__()\n"
             "        self.c_fc = nn.Linear(n_embd, {width} * n_embd)\n"
             "        self.c_proj = nn.Linear({width} * n_embd, n_embd)\n\n"
             "    def forward(self, x):\n        return {body}\n")


def test_mlp_module_with_the_wrong_width_fails_on_loading():
    cell = MLP_CLASS.format(width=1, body="self.c_proj(gelu(self.c_fc(x)))")
    result = verdict("MLP", **{"04_MLP": cell})
    assert not result.passed and "size mismatch for c_fc.weight" in result.message
    assert "a layer has the wrong shape" in result.message


def test_mlp_module_with_other_names_fails_on_loading():
    cell = MLP_CLASS.format(width=4, body="self.proj(gelu(self.fc(x)))").replace(
        "self.c_fc =", "self.fc =").replace("self.c_proj =", "self.proj =")
    result = verdict("MLP", **{"04_MLP": cell})
    assert not result.passed and '"c_fc.weight"' in result.message
    assert "the layers must have the checkpoint's names" in result.message


@pytest.mark.parametrize("first, second", [("fc1", "fc2"), ("fc", "proj"), ("c_fc", "out")])
def test_mlp_module_with_other_layer_names_is_told_the_checkpoint_names(first, second):
    cell = MLP_CLASS.format(width=4, body=f"self.{second}(gelu(self.{first}(x)))").replace(
        "self.c_fc =", f"self.{first} =").replace("self.c_proj =", f"self.{second} =")
    assert_diagnosed("MLP", "the layers must have the checkpoint's names", **{"04_MLP": cell})


def test_mlp_module_in_the_conv1d_layout_is_told_the_shape():
    cell = ("class MLP(nn.Module):\n    def __init__(self, n_embd):\n        super().__init__()\n"
            "        self.c_fc = nn.Linear(4 * n_embd, n_embd)\n"
            "        self.c_proj = nn.Linear(n_embd, 4 * n_embd)\n\n"
            "    def forward(self, x):\n        return self.c_proj(gelu(self.c_fc(x)))\n")
    assert_diagnosed("MLP", "a layer has the wrong shape", **{"04_MLP": cell})


@pytest.mark.parametrize("body, diagnosis", [
    ("self.c_proj(F.gelu(self.c_fc(x)))", "the MLP uses the exact (erf) GELU"),
    ("self.c_proj(self.c_fc(x))", "there is no GELU between the two layers"),
    ("self.c_proj(torch.relu(self.c_fc(x)))", "the MLP uses ReLU"),
])
def test_mlp_module_bugs_are_named(body, diagnosis):
    assert_diagnosed("MLP", diagnosis, **{"04_MLP": MLP_CLASS.format(width=4, body=body)})


def test_mlp_module_valid_variant_passes():
    cell = MLP_CLASS.format(width=4, body="mlp(x, self.c_fc.weight, self.c_fc.bias, "
                                          "self.c_proj.weight, self.c_proj.bias)")
    assert verdict("MLP", **{"04_MLP": cell}).passed
    assert verdict("MLP", 8, **{"04_MLP": cell}).passed
