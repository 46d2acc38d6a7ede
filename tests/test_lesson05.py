"""Lesson 05's checks, as a mutation suite.

Each buggy version below is code a learner could write: it runs in the lesson's own
namespace (the setup cell and the correct solutions, with one piece replaced), and its
check must fail with the diagnosis that names the bug. Valid variants must pass.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
import torch
from check_support import SolutionCells
from grading_support import make_submission

from gpt2course.exercises import by_id, exact, for_lesson
from gpt2course.exercises.lesson05_blocks import (
    BLOCK,
    COUNT,
    LAYER_NORM,
    MODEL,
    _block_variant,
    _gpt2_variant,
    _ln_with,
)
from gpt2course.exercises.plain import to_plain
from gpt2course.grading.grade import grade_submission, load_lessons
from gpt2course.grading.sandbox import SandboxLimits
from gpt2course.random_weights import random_gpt2

ROOT = Path(__file__).resolve().parents[1]
submission = partial(make_submission, lesson="05_blocks")  # this lesson, solved
SOLUTION = ROOT / "solutions" / "05_blocks.ipynb"


NOTEBOOK = SolutionCells(SOLUTION)
lesson, verdict, assert_diagnosed = NOTEBOOK.namespace, NOTEBOOK.verdict, NOTEBOOK.assert_diagnosed
assert_blames = NOTEBOOK.assert_blames


# --- the correct solution ---------------------------------------------------------------


@pytest.mark.parametrize("exercise", for_lesson("05"), ids=lambda e: e.id)
@pytest.mark.parametrize("seed", [None, 1, 2])
def test_solution_passes_public_and_hidden_cases(exercise, seed):
    result = verdict(exercise.function, seed)
    assert result.passed, result.message


def test_exercise_ids_names_and_points():
    assert [e.id for e in for_lesson("05")] == [
        "05.layer_norm", "05.LayerNorm", "05.Block", "05.count_parameters", "05.MyGPT2"]
    assert by_id("05.MyGPT2").points == 3


@pytest.mark.parametrize("exercise", for_lesson("05"), ids=lambda e: e.id)
def test_hidden_cases_differ_from_public_ones_and_repeat_with_the_seed(exercise):
    public, a, again, b = (exercise.cases(s) for s in (None, 5, 5, 6))
    assert {c.name for c in public}.isdisjoint(c.name for c in a)
    plain = [to_plain([c.inputs for c in cases]) for cases in (a, again, b)]
    assert exact(plain[0], plain[1]) is None  # same seed, same cases
    assert repr(plain[0]) != repr(plain[2])


@pytest.mark.parametrize("exercise, variant", [
    (LAYER_NORM, _ln_with()), (BLOCK, _block_variant()), (MODEL, _gpt2_variant())],
    ids=["layer_norm", "Block", "MyGPT2"])
def test_diagnosis_models_without_a_bug_equal_the_reference(exercise, variant):
    """The known-wrong versions are the reference with one switch on; with none, the reference."""
    for case in exercise.cases(None) + exercise.cases(3):
        assert exercise.compare(exercise.expected(case), to_plain(variant(**case.inputs))) is None


@pytest.mark.parametrize("exercise", for_lesson("05"), ids=lambda e: e.id)
def test_every_diagnosis_is_reachable(exercise):
    """Each known bug fails some public case, and that failure is named as that bug."""
    from gpt2course.exercises.core import diagnose

    for diagnosis in exercise.diagnoses:
        named = []
        for case in exercise.cases(None):
            wrong = to_plain(diagnosis.variant(**case.inputs))
            if exercise.compare(exercise.expected(case), wrong) is not None:
                named.append(diagnose(exercise, case, wrong))
                break
        assert named == [diagnosis.message], diagnosis.message


# --- layer_norm and LayerNorm ----------------------------------------------------------------

LN = "def layer_norm(x, weight, bias, eps=1e-5):\n    mean = x.mean(-1, keepdim=True)\n"


@pytest.mark.parametrize("body, diagnosis", [
    ("    var = x.var(-1, keepdim=True)\n"
     "    return (x - mean) / torch.sqrt(var + eps) * weight + bias\n", "the variance is unbiased"),
    ("    std = x.std(-1, unbiased=False, keepdim=True)\n"
     "    return (x - mean) / (std + eps) * weight + bias\n", "eps is added outside"),
    ("    var = x.var(-1, unbiased=False, keepdim=True)\n"
     "    return (x - mean) / torch.sqrt(var) * weight + bias\n", "eps is missing"),
    ("    var = x.var(-1, unbiased=False, keepdim=True)\n"
     "    return (x - mean) / torch.sqrt(var + 1e-6) * weight + bias\n", "eps is 1e-6"),
    ("    var = x.var(-1, unbiased=False, keepdim=True)\n"
     "    return x / torch.sqrt(var + eps) * weight + bias\n", "the mean is not subtracted"),
    ("    var = x.var(-1, unbiased=False, keepdim=True)\n"
     "    return (x - mean) / torch.sqrt(var + eps)\n", "weight and bias are not applied"),
    ("    var = x.var(-1, unbiased=False, keepdim=True)\n"
     "    return ((x - mean) / torch.sqrt(var + eps) + bias) * weight\n", "bias is added before"),
    ("    mean, var = x.mean(), x.var(unbiased=False)\n"
     "    return (x - mean) / torch.sqrt(var + eps) * weight + bias\n",
     "the mean and variance are"),
    ("    mean = x.mean(0, keepdim=True)\n    var = x.var(0, unbiased=False, keepdim=True)\n"
     "    return (x - mean) / torch.sqrt(var + eps) * weight + bias\n",
     "the mean and variance are taken along the wrong axis"),
    ("    mean = x.mean(1, keepdim=True)\n    var = ((x - mean) ** 2).mean(1, keepdim=True)\n"
     "    return (x - mean) / torch.sqrt(var + eps) * weight + bias\n",
     "the mean and variance are taken along the wrong axis"),
    ("    var = x.var(-1, unbiased=False, keepdim=True)\n"
     "    return (x - mean) / (var + eps) * weight + bias\n",
     "x - mean is divided by the variance"),
    ("    var = x.var(-1, unbiased=False, keepdim=True)\n"
     "    return (x - mean) / torch.sqrt(var + eps) + bias\n", "weight is not applied"),
    ("    var = x.var(-1, unbiased=False, keepdim=True)\n"
     "    return (x - mean) / torch.sqrt(var + eps) * (weight + bias)\n",
     "bias is added to weight"),
    ("    mean = x.mean(-1)\n    var = x.var(-1, unbiased=False)\n"
     "    return (x - mean) / torch.sqrt(var + eps) * weight + bias\n",
     "the mean or variance lost its last axis"),
])
def test_layer_norm_bugs_are_named(body, diagnosis):
    assert_diagnosed("layer_norm", diagnosis, **{"05_layer_norm": LN + body})
    # One bug costs one exercise: the LayerNorm module built on it keeps its points, and
    # its message names layer_norm.
    assert_blames("LayerNorm", "layer_norm", **{"05_layer_norm": LN + body})


@pytest.mark.parametrize("body", [
    "    var = torch.var(x, dim=-1, correction=0, keepdim=True)\n"
    "    return (x - mean) * torch.rsqrt(var + eps) * weight + bias\n",
    "    centred = x - mean\n"
    "    var = (centred * centred).sum(-1, keepdim=True) / x.shape[-1]\n"
    "    return torch.addcmul(bias, centred / (var + eps) ** 0.5, weight)\n",
    "    var, mean = torch.var_mean(x.double(), dim=-1, unbiased=False, keepdim=True)\n"
    "    return ((x.double() - mean) / (var + eps).sqrt() * weight + bias).float()\n",
])
def test_layer_norm_valid_variants_pass(body):
    assert verdict("layer_norm", **{"05_layer_norm": LN + body}).passed


def test_layer_norm_module_with_other_names_fails_on_loading():
    cell = ("class LayerNorm(nn.Module):\n    def __init__(self, n_embd):\n"
            "        super().__init__()\n"
            "        self.gamma = nn.Parameter(torch.ones(n_embd))\n"
            "        self.beta = nn.Parameter(torch.zeros(n_embd))\n\n"
            "    def forward(self, x):\n        return layer_norm(x, self.gamma, self.beta)\n")
    result = verdict("LayerNorm", **{"05_LayerNorm": cell})
    assert not result.passed and '"weight"' in result.message and "gamma" in result.message


def test_layer_norm_that_ignores_its_eps_argument_is_named():
    body = ("    var = x.var(-1, unbiased=False, keepdim=True)\n"
            "    return (x - mean) / torch.sqrt(var + 1e-5) * weight + bias\n")
    assert_diagnosed("layer_norm", "the eps argument is ignored", **{"05_layer_norm": LN + body})


@pytest.mark.parametrize("init", [
    "        self.register_buffer('weight', torch.ones(n_embd))\n"
    "        self.register_buffer('bias', torch.zeros(n_embd))\n",
    "        self.register_buffer('weight', torch.ones(n_embd))\n"
    "        self.bias = nn.Parameter(torch.zeros(n_embd))\n",
])
def test_layer_norm_module_with_buffers_instead_of_parameters_is_named(init):
    """Buffers load from the state dict and compute the same; only parameters() tells."""
    cell = ("class LayerNorm(nn.Module):\n    def __init__(self, n_embd):\n"
            "        super().__init__()\n" + init + "\n"
            "    def forward(self, x):\n        return layer_norm(x, self.weight, self.bias)\n")
    result = verdict("LayerNorm", **{"05_LayerNorm": cell})
    assert not result.passed and "are not parameters of your module" in result.message
    assert "weight" in result.message.split("are not parameters")[0]


def test_layer_norm_module_may_wrap_its_own_maths():
    cell = ("class LayerNorm(nn.Module):\n    def __init__(self, n_embd):\n"
            "        super().__init__()\n"
            "        self.weight = nn.Parameter(torch.ones(n_embd))\n"
            "        self.bias = nn.Parameter(torch.zeros(n_embd))\n\n"
            "    def forward(self, x):\n"
            "        z = (x - x.mean(-1, keepdim=True)) / (x.var(-1, unbiased=False, keepdim=True)"
            " + 1e-5).sqrt()\n        return self.weight * z + self.bias\n")
    assert verdict("LayerNorm", **{"05_LayerNorm": cell}).passed


# --- Block ----------------------------------------------------------------------------------

BLOCK_INIT = ("class Block(nn.Module):\n    def __init__(self, n_embd, n_head):\n"
              "        super().__init__()\n        self.ln_1 = LayerNorm(n_embd)\n"
              "        self.attn = CausalSelfAttention(n_embd, n_head)\n"
              "        self.ln_2 = LayerNorm(n_embd)\n        self.mlp = MLP(n_embd)\n\n"
              "    def forward(self, x):\n")

BLOCK_BUGS = {
    "post-LN": ("        x = self.ln_1(x + self.attn(x))\n"
                "        return self.ln_2(x + self.mlp(x))\n",
                "the block is post-LN"),
    "no attention residual": ("        x = self.attn(self.ln_1(x))\n"
                              "        return x + self.mlp(self.ln_2(x))\n",
                              "the residual around attention is missing"),
    "no MLP residual": ("        x = x + self.attn(self.ln_1(x))\n"
                        "        return self.mlp(self.ln_2(x))\n",
                        "the residual around the MLP is missing"),
    "swapped LayerNorms": ("        x = x + self.attn(self.ln_2(x))\n"
                           "        return x + self.mlp(self.ln_1(x))\n",
                           "ln_1 and ln_2 are swapped"),
    "MLP first": ("        x = x + self.mlp(self.ln_1(x))\n"
                  "        return x + self.attn(self.ln_2(x))\n",
                  "the MLP runs before attention"),
    "parallel": ("        return x + self.attn(self.ln_1(x)) + self.mlp(self.ln_2(x))\n",
                 "attention and the MLP both read the same x"),
    "ln_1 twice": ("        x = x + self.attn(self.ln_1(x))\n"
                   "        return x + self.mlp(self.ln_1(x))\n", "ln_1 is used twice"),
    "residual from the normalised x": ("        h = self.ln_1(x)\n        x = h + self.attn(h)\n"
                                       "        h = self.ln_2(x)\n        return h + self.mlp(h)\n",
                                       "the residual adds the normalised x"),
}


@pytest.mark.parametrize("bug", BLOCK_BUGS, ids=str)
def test_block_bugs_are_named(bug):
    body, diagnosis = BLOCK_BUGS[bug]
    assert_diagnosed("Block", diagnosis, **{"05_Block": BLOCK_INIT + body})
    # One bug costs one exercise, in check as in the grade: the model built on that block
    # is right with a correct Block, keeps its points, and names Block as what breaks it.
    assert_blames("MyGPT2", "Block", **{"05_Block": BLOCK_INIT + body})


def test_block_with_unbiased_layer_norm_is_named():
    cell = LN + ("    var = x.var(-1, keepdim=True)\n"
                 "    return (x - mean) / torch.sqrt(var + eps) * weight + bias\n")
    assert_blames("Block", "layer_norm", **{"05_layer_norm": cell})
    assert_blames("MyGPT2", "layer_norm", **{"05_layer_norm": cell})


def test_block_with_eps_outside_the_sqrt_is_named():
    cell = LN + ("    std = x.std(-1, unbiased=False, keepdim=True)\n"
                 "    return (x - mean) / (std + eps) * weight + bias\n")
    assert_blames("Block", "layer_norm", **{"05_layer_norm": cell})


SDPA_ATTENTION = """
class MyAttention(nn.Module):
    def __init__(self, n_embd, n_head):
        super().__init__()
        self.n_head = n_head
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).chunk(3, dim=-1)
        q, k, v = (t.reshape(B, T, self.n_head, -1).permute(0, 2, 1, 3) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.permute(0, 2, 1, 3).reshape(B, T, C))
"""


@pytest.mark.parametrize("cell", [
    # PyTorch's LayerNorm (eps 1e-5 by default) and a residual written in two steps
    BLOCK_INIT.replace("LayerNorm(n_embd)", "nn.LayerNorm(n_embd, eps=1e-5)")
    + "        h = self.attn(self.ln_1(x))\n        x = x + h\n"
    "        h = self.mlp(self.ln_2(x))\n        return x + h\n",
    # the learner's own attention, written with scaled_dot_product_attention
    SDPA_ATTENTION + BLOCK_INIT.replace("CausalSelfAttention", "MyAttention")
    + "        x = x + self.attn(self.ln_1(x))\n        return x + self.mlp(self.ln_2(x))\n",
])
def test_block_valid_variants_pass(cell):
    assert verdict("Block", **{"05_Block": cell}).passed
    assert verdict("MyGPT2", **{"05_Block": cell}).passed


# --- count_parameters ----------------------------------------------------------------------

COUNT_HEAD = ("def count_parameters(vocab_size, n_positions, n_embd, n_layer, n_head):\n"
              "    C, V, P = n_embd, vocab_size, n_positions\n")


@pytest.mark.parametrize("body, diagnosis", [
    ("    block = 4 * C + 4 * C * C + 4 * C + 8 * C * C + 5 * C\n"
     "    return V * C + P * C + n_layer * block + 2 * C + V * C\n",
     "you counted a separate output"),
    ("    return V * C + P * C + n_layer * (4 * C + 12 * C * C) + 2 * C\n", "the biases are not"),
    ("    return V * C + P * C + n_layer * (12 * C * C + 9 * C)\n", "the LayerNorm weights"),
    ("    return V * C + P * C + n_layer * (4 * C + 12 * C * C + 9 * C)\n", "the final LayerNorm"),
    ("    return V * C + n_layer * (4 * C + 12 * C * C + 9 * C) + 2 * C\n",
     "the position embeddings"),
    ("    return V * C + P * C + n_layer * (4 * C + 6 * C * C + 6 * C) + 2 * C\n",
     "the MLP's hidden layer"),
    ("    return V * C + P * C + n_layer * (2 * C + 12 * C * C + 9 * C) + 2 * C\n",
     "each block has one LayerNorm"),
])
def test_counting_bugs_are_named(body, diagnosis):
    assert_diagnosed("count_parameters", diagnosis, **{"05_count_parameters": COUNT_HEAD + body})


def test_counting_with_the_learners_own_model_is_valid():
    body = ("    with torch.device('meta'):\n"
            "        model = MyGPT2(vocab_size, n_positions, n_embd, n_layer, n_head)\n"
            "    return sum(p.numel() for p in model.parameters())\n")
    assert verdict("count_parameters", **{"05_count_parameters": COUNT_HEAD + body}).passed
    assert verdict("count_parameters", 4, **{"05_count_parameters": COUNT_HEAD + body}).passed


def test_count_of_gpt2_small_and_a_tensor_answer_is_explained():
    assert COUNT.expected(COUNT.cases(None)[1]) == 124_439_808
    body = "    return torch.tensor(124_439_808)\n"
    result = verdict("count_parameters", **{"05_count_parameters": COUNT_HEAD + body})
    assert not result.passed and "returned a torch.Tensor. Return a Python int" in result.message
    assert ".item()" in result.message


# --- MyGPT2 ----------------------------------------------------------------------------------

MODEL_INIT = ("class MyGPT2(nn.Module):\n"
              "    def __init__(self, vocab_size, n_positions, n_embd, n_layer, n_head):\n"
              "        super().__init__()\n"
              "        self.wte = nn.Embedding(vocab_size, n_embd)\n"
              "        self.wpe = nn.Embedding(n_positions, n_embd)\n"
              "        self.h = nn.ModuleList([Block(n_embd, n_head) for _ in range(n_layer)])\n"
              "        self.ln_f = LayerNorm(n_embd)\n\n"
              "    def forward(self, idx):\n"
              "        T = idx.shape[1]\n")
STACK = "        for block in self.h:\n            x = block(x)\n"
EMBED = "        x = self.wte(idx) + self.wpe(torch.arange(T))\n"
HEAD = "        return self.ln_f(x) @ self.wte.weight.T\n"

MODEL_BUGS = {
    "no positions": (MODEL_INIT + "        x = self.wte(idx)\n" + STACK + HEAD,
                     "the position embeddings are not added"),
    "no ln_f": (MODEL_INIT + EMBED + STACK + "        return x @ self.wte.weight.T\n",
                "the final LayerNorm ln_f is missing"),
    "h[0] repeated": (MODEL_INIT + EMBED + "        for _ in self.h:\n"
                      "            x = self.h[0](x)\n" + HEAD,
                      "every block runs with the weights of block 0"),
    "one block shared": (MODEL_INIT.replace(
        "nn.ModuleList([Block(n_embd, n_head) for _ in range(n_layer)])",
        "nn.ModuleList([Block(n_embd, n_head)] * n_layer)") + EMBED + STACK + HEAD,
        "all blocks share one set of weights"),
    "probabilities": (MODEL_INIT + EMBED + STACK
                      + "        return (self.ln_f(x) @ self.wte.weight.T).softmax(-1)\n",
                      "the model returns probabilities"),
    "positions from 1": (MODEL_INIT
                         + "        x = self.wte(idx) + self.wpe(torch.arange(1, T + 1))\n"
                         + STACK + HEAD, "the positions start at 1"),
    "ln_f after every block": (MODEL_INIT + EMBED + "        for block in self.h:\n"
                               "            x = self.ln_f(block(x))\n"
                               "        return x @ self.wte.weight.T\n",
                               "ln_f runs after every block"),
    "no head": (MODEL_INIT + EMBED + STACK + "        return self.ln_f(x)\n",
                "the head is missing"),
}


@pytest.mark.parametrize("bug", MODEL_BUGS, ids=str)
def test_model_bugs_are_named(bug):
    cell, diagnosis = MODEL_BUGS[bug]
    assert_diagnosed("MyGPT2", diagnosis, **{"05_MyGPT2": cell})


def test_untied_head_fails_and_names_the_extra_weight():
    cell = (MODEL_INIT.replace("        self.ln_f = LayerNorm(n_embd)\n",
                               "        self.ln_f = LayerNorm(n_embd)\n"
                               "        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)\n")
            + EMBED + STACK + "        return self.lm_head(self.ln_f(x))\n")
    result = verdict("MyGPT2", **{"05_MyGPT2": cell})
    assert not result.passed
    assert 'Missing key(s) in state_dict: "lm_head.weight"' in result.message
    assert "Likely bug: the head is not tied" in result.message


def test_misnamed_parameters_fail_on_strict_loading():
    cell = MODEL_INIT.replace("self.h =", "self.blocks =").replace("self.h:", "self.blocks:")
    result = verdict("MyGPT2", **{"05_MyGPT2": cell + EMBED + STACK.replace("self.h", "self.blocks")
                                  + HEAD})
    assert not result.passed and "blocks.0.ln_1.weight" in result.message


@pytest.mark.parametrize("cell", [
    # nn.Sequential gives the same names h.0, h.1, ...; the head through F.linear
    MODEL_INIT.replace("nn.ModuleList([Block(n_embd, n_head) for _ in range(n_layer)])",
                       "nn.Sequential(*(Block(n_embd, n_head) for _ in range(n_layer)))")
    + "        x = self.h(self.wte(idx) + self.wpe.weight[:T])\n"
    "        return F.linear(self.ln_f(x), self.wte.weight)\n",
    # PyTorch's LayerNorm for ln_f, and positions made for the batch explicitly
    MODEL_INIT.replace("self.ln_f = LayerNorm(n_embd)", "self.ln_f = nn.LayerNorm(n_embd)")
    + "        pos = torch.arange(T).unsqueeze(0).expand_as(idx)\n"
    "        x = self.wte(idx) + self.wpe(pos)\n" + STACK + HEAD,
])
def test_model_valid_variants_pass(cell):
    assert verdict("MyGPT2", **{"05_MyGPT2": cell}).passed
    assert verdict("MyGPT2", 9, **{"05_MyGPT2": cell}).passed


def test_random_gpt2_is_the_124m_shape_and_repeats_with_its_seed():
    a, b = random_gpt2(seed=3), random_gpt2(seed=3)
    assert a.num_parameters() == 124_439_808
    assert torch.equal(a.h[5].mlp.c_fc.bias, b.h[5].mlp.c_fc.bias)
    assert not torch.equal(a.h[5].ln_1.weight, torch.ones(768))  # not a fresh model
    idx = torch.tensor([[1, 2, 3]])
    mine = lesson()["MyGPT2"](50257, 1024, 768, 12, 12)
    mine.load_state_dict(a.state_dict(), strict=True)
    with torch.no_grad():
        assert torch.allclose(mine(idx), a(idx)[0], atol=1e-4, rtol=1e-4)


# --- graded in the sandbox --------------------------------------------------------------------


def _grade(path: Path) -> dict[str, float]:
    result = grade_submission(path, load_lessons(ROOT / "lessons"), seed=11,
                              limits=SandboxLimits(notebook_s=120, exercise_s=30),
                              hide=(str(ROOT / "solutions"),))
    assert result.error is None and result.lesson == "05_blocks.ipynb"
    return {e.id: (e.score, e.message) for e in result.exercises}


@pytest.mark.slow
def test_grader_scores_lesson_05(tmp_path):
    full = _grade(submission(tmp_path / "full.ipynb", filled=True))
    assert {k: s for k, (s, _) in full.items()} == {e.id: e.points for e in for_lesson("05")}
    empty = _grade(submission(tmp_path / "empty.ipynb", filled=False))
    assert all(s == 0 for s, _ in empty.values())
    post_ln = _grade(submission(tmp_path / "post.ipynb", filled=True, **{
        "05_Block": BLOCK_INIT + BLOCK_BUGS["post-LN"][0]}))
    # One bug costs one exercise: MyGPT2 is right with a correct Block, keeps its points,
    # and its feedback names Block as what breaks it.
    assert post_ln["05.Block"][0] == 0
    assert post_ln["05.MyGPT2"][0] == by_id("05.MyGPT2").points
    assert "your Block is what breaks it" in post_ln["05.MyGPT2"][1]
    assert post_ln["05.layer_norm"][0] == 2
    assert "Likely bug: the block is post-LN" in post_ln["05.Block"][1]
