"""``check`` in the notebook and the grader agree: on the same (public) cases they pass and
fail the same exercises, for learner bugs across the lessons, forbidden calls under other
spellings, an endless loop, and a bug in an earlier function (which costs one exercise)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from check_support import SolutionCells, limit_check_time
from grading_support import ROOT, make_submission

from gpt2course.check import run_check
from gpt2course.exercises import by_id, for_lesson
from gpt2course.exercises.forbidden import scan
from gpt2course.grading.grade import grade_submission, load_lessons
from gpt2course.grading.sandbox import SandboxLimits

LIMITS = SandboxLimits(notebook_s=240, exercise_s=60)
NOTEBOOKS = {n: SolutionCells(ROOT / "solutions" / f"{name}.ipynb") for n, name in (
    ("01", "01_tokenizer"), ("02", "02_embeddings"), ("03", "03_attention"), ("04", "04_mlp"),
    ("05", "05_blocks"), ("06", "06_sampling"))}
NAMES = {"01": "01_tokenizer", "02": "02_embeddings", "03": "03_attention", "04": "04_mlp",
         "05": "05_blocks", "06": "06_sampling"}

MERGE_NO_SKIP = '''def merge_pair(ids, pair, new_id):
    merged = []
    for i in range(len(ids)):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == tuple(pair):
            merged.append(new_id)
        else:
            merged.append(ids[i])
    return merged
'''
SCORES_TIMES_SQRT = '''def attention_scores(q, k):
    return q @ k.transpose(-2, -1) * math.sqrt(q.shape[-1])
'''
MASK_DISCARDED = '''def apply_causal_mask(scores):
    T = scores.shape[-1]
    scores.masked_fill(~causal_mask(T), float("-inf"))
    return scores
'''
GELU_RELU = "def gelu(x):\n    return torch.clamp(x, min=0)\n"
GELU_BY_ALIAS = ("from torch.nn.functional import gelu as g\n\n\n"
                 "def gelu(x):\n    return g(x, approximate='tanh')\n")
LN_UNBIASED = '''def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(-1, keepdim=True)
    var = x.var(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias
'''
LN_BY_GETATTR = '''def layer_norm(x, weight, bias, eps=1e-5):
    return getattr(F, "layer_" + "norm")(x, x.shape[-1:], weight, bias, eps)
'''
EMBEDDING_CONCAT = '''def input_embedding(idx, wte, wpe):
    T = idx.shape[1]
    return torch.cat([wte[idx], wpe[:T].expand(idx.shape[0], -1, -1)], dim=-1)
'''
TEMPERATURE_TIMES = ("def temperature_probs(logits, temperature):\n"
                     "    return torch.softmax(logits * temperature, dim=-1)\n")
TOP_K_IN_PLACE = '''def top_k_logits(logits, k):
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]
    logits[logits < kth] = float("-inf")
    return logits
'''
GELU_NUMPY = ("def gelu(x):\n    x = x.numpy()\n"
              "    return 0.5 * x * (1 + np.tanh(0.7978845608 * (x + 0.044715 * x**3)))\n")
LN_CLASS_NO_BIAS = '''class LayerNorm(nn.Module):
    def __init__(self, n_embd):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n_embd))
        self.bias = nn.Parameter(torch.zeros(n_embd))

    def forward(self, x):
        return layer_norm(x, self.weight, 0.0)
'''


@dataclasses.dataclass(frozen=True)
class Mutation:
    """One learner bug in one exercise of a solution notebook, and what its verdicts say."""

    lesson: str
    grade_id: str
    source: str
    # Later exercises that call the buggy function: they keep their points, and their
    # verdicts name it ("your {function} is what breaks it"), in check and grade alike.
    downstream: tuple[str, ...] = ()
    says: str = ""  # words the mutated exercise's verdict must hold (check and grade)


# Each hand-in is graded once (a whole lesson in the sandbox, seconds each); every
# assertion about it is made on that one grade.
MUTATIONS = [
    Mutation("01", "01_merge_pair", MERGE_NO_SKIP, downstream=("01.train_bpe",)),
    Mutation("02", "02_input_embedding", EMBEDDING_CONCAT),
    Mutation("03", "03_attention_scores", SCORES_TIMES_SQRT, downstream=("03.attention",)),
    Mutation("03", "03_apply_causal_mask", MASK_DISCARDED),
    Mutation("04", "04_gelu", GELU_RELU, downstream=("04.mlp",)),
    Mutation("04", "04_gelu", GELU_BY_ALIAS,  # a forbidden call, in the grader's words
             says="uses g (line 5), which exercise 04.gelu does not allow"),
    Mutation("05", "05_layer_norm", LN_UNBIASED, downstream=("05.Block",)),
    Mutation("05", "05_layer_norm", LN_BY_GETATTR),
    Mutation("06", "06_temperature_probs", TEMPERATURE_TIMES),
    Mutation("06", "06_top_k_logits", TOP_K_IN_PLACE),
    Mutation("04", "04_gelu", "import numpy as np\n\n\n" + GELU_NUMPY,  # the wrong kind
             says="returned a numpy array. Return a torch.Tensor"),
    Mutation("05", "05_LayerNorm", LN_CLASS_NO_BIAS,  # a class that later classes build on
             downstream=("05.Block", "05.MyGPT2")),
]


def check_verdicts(lesson: str, **replace: str) -> dict[str, tuple[bool, str]]:
    """exercise id -> (passed, message) from ``check`` on the learner's namespace; the source
    scanned for forbidden calls is the exercise's cell, as the grader scans it."""
    notebook = NOTEBOOKS[lesson]
    namespace = notebook.namespace(**replace)
    cells = dict(notebook.cells)
    found = {}
    for e in for_lesson(lesson):
        verdict = run_check(namespace[e.function], source=replace.get(e.grade_id,
                                                                      cells[e.grade_id]))
        found[e.id] = (verdict.passed, verdict.message)
    return found


def grade_verdicts(tmp_path: Path, lesson: str, **replace: str) -> dict[str, tuple[bool, str]]:
    path = make_submission(tmp_path / f"{lesson}.ipynb", lesson=NAMES[lesson], **replace)
    result = grade_submission(path, load_lessons(ROOT / "lessons"), seed=None, limits=LIMITS,
                              hide=(str(ROOT / "solutions"),))
    assert result.error is None, result.error
    return {e.id: (e.score > 0, e.message) for e in result.exercises}


@pytest.mark.parametrize("m", MUTATIONS, ids=[f"{m.grade_id}-{n}" for n, m in
                                              enumerate(MUTATIONS)])
def test_check_and_grade_agree_on_every_exercise(tmp_path, m):
    checked = check_verdicts(m.lesson, **{m.grade_id: m.source})
    graded = grade_verdicts(tmp_path, m.lesson, **{m.grade_id: m.source})
    assert {k: v[0] for k, v in checked.items()} == {k: v[0] for k, v in graded.items()}, (
        checked, graded)
    mutated = m.grade_id.replace("_", ".", 1)
    assert not checked[mutated][0], "the mutation is a bug: it must fail"
    # The learner reads the same words in the notebook and in the grader's feedback.
    assert checked[mutated][1] == graded[mutated][1]
    assert m.says in checked[mutated][1], checked[mutated][1]
    # One bug costs one exercise: every other exercise of the lesson keeps its points.
    assert all(passed for eid, (passed, _) in graded.items() if eid != mutated), graded
    upstream = by_id(mutated).function
    for verdicts in (checked, graded):
        for exercise_id in m.downstream:
            passed, message = verdicts[exercise_id]
            assert passed and f"your {upstream} is what breaks it" in message, message


FORBIDDEN_SPELLINGS = [
    ("04.gelu", "F.gelu(x)"),
    ("04.gelu", "torch.nn.functional.gelu(x)"),
    ("04.gelu", "torch._C._nn.gelu(x)"),
    ("04.gelu", "torch.ops.aten.gelu.default(x)"),
    ("04.gelu", "getattr(F, 'gelu')(x)"),
    ("04.gelu", "nn.GELU(approximate='tanh')(x)"),
    ("04.gelu", "F.__dict__['gelu'](x)"),
    ("04.gelu", "importlib.import_module('torch.nn.functional').gelu(x)"),
    ("04.gelu", "eval('F.gelu')(x)"),
    ("02.token_embedding", "F.embedding(idx, wte)"),
    ("02.token_embedding", "nn.Embedding.from_pretrained(wte)(idx)"),
    ("02.token_embedding", "torch.embedding(wte, idx)"),
    ("03.attention", "F.scaled_dot_product_attention(q, k, v, is_causal=True)"),
    ("05.layer_norm", "F.layer_norm(x, x.shape[-1:], weight, bias)"),
    ("05.layer_norm", "nn.LayerNorm(x.shape[-1])(x)"),
    ("05.layer_norm", "torch.native_layer_norm(x, x.shape[-1:], weight, bias, 1e-5)[0]"),
]


@pytest.mark.parametrize("exercise_id, call", FORBIDDEN_SPELLINGS,
                         ids=[s[1] for s in FORBIDDEN_SPELLINGS])
def test_forbidden_calls_are_found_under_every_spelling(exercise_id, call):
    source = ("import importlib\n\n\ndef f(x, idx, wte, q, k, v, weight, bias):\n"
              f"    return {call}\n")
    found = scan(source, by_id(exercise_id))
    assert found and found[0].line == 5, found


@pytest.mark.parametrize("source", [
    "def gelu(x):\n    return 0.5 * x * (1 + torch.tanh(0.79788456 * (x + 0.044715 * x**3)))\n",
    "def gelu(x):\n    y = torch.tanh(x)\n    return y.gelu_like if y is None else x * y\n",
    "import torch.nn.functional as F\n\n\ndef gelu(x):\n    return F.relu(x)\n",
])
def test_the_scan_does_not_flag_allowed_code(source):
    assert scan(source, by_id("04.gelu")) == []


ENDLESS = "def merge_pair(ids, pair, new_id):\n    while True:\n        pass\n"


@pytest.mark.slow
def test_an_endless_loop_returns_within_the_time_limit(tmp_path, monkeypatch):
    limit_check_time(monkeypatch, 2.0, "merge_pair")
    namespace = NOTEBOOKS["01"].namespace(**{"01_merge_pair": ENDLESS})
    start = time.monotonic()
    verdict = run_check(namespace["merge_pair"], source=ENDLESS)
    assert time.monotonic() - start < 10
    assert not verdict.passed
    assert verdict.message.startswith("merge_pair took longer than 2 s"), verdict.message

    path = make_submission(tmp_path / "loop.ipynb", lesson="01_tokenizer",
                           **{"01_merge_pair": ENDLESS})
    result = grade_submission(path, load_lessons(ROOT / "lessons"), seed=None,
                              limits=SandboxLimits(notebook_s=240, exercise_s=2),
                              hide=(str(ROOT / "solutions"),))
    messages = {e.id: e.message for e in result.exercises}
    assert messages["01.merge_pair"] == verdict.message
    assert "took longer" not in messages["01.text_to_bytes"]
