"""Lesson 03 (masked self-attention): a mutation suite.

For each bug a learner is likely to write, a buggy implementation and the check's
diagnosis naming it; for each valid way to write an exercise, that it passes.
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import pytest
import torch
from check_support import fails_with, learner, passes
from grading_support import make_submission

from gpt2course.check import run_check
from gpt2course.exercises import for_lesson
from gpt2course.grading.grade import grade_submission, load_lessons
from gpt2course.grading.sandbox import SandboxLimits

ROOT = Path(__file__).resolve().parents[1]
submission = partial(make_submission, lesson="03_attention")  # this lesson, solved
LESSON03 = for_lesson("03")
NEG_INF = float("-inf")


# The learner's correct pieces, which buggy versions below build on.
def scores_ok(q, k):
    return q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])


def mask_ok(T):
    return torch.ones(T, T, dtype=torch.bool).tril()


def attention_ok(q, k, v, *, scale=None, fill=NEG_INF, dim=-1):
    hs = q.shape[-1]
    s = q @ k.transpose(-2, -1) / (math.sqrt(hs) if scale is None else scale(hs))
    s = s.masked_fill(~mask_ok(s.shape[-1]), fill)
    return torch.softmax(s, dim=dim) @ v


def mha(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head, *,
        thirds=(0, 1, 2), split=None, merge=None, scale=None, transpose_proj=False):
    """A learner's multi-head attention with pluggable mistakes."""
    B, T, C = x.shape
    hs = C // n_head
    parts = (x @ c_attn_weight + c_attn_bias).split(C, dim=-1)
    q, k, v = (parts[i] for i in thirds)
    split = split or (lambda t: t.view(B, T, n_head, hs).transpose(1, 2))
    y = attention_ok(split(q), split(k), split(v),
                     scale=None if scale is None else (lambda _hs: scale(C, hs)))
    y = merge(y) if merge else y.transpose(1, 2).reshape(B, T, C)
    w = c_proj_weight.T if transpose_proj else c_proj_weight
    return y @ w + c_proj_bias


def test_lesson_03_exercises_in_notebook_order():
    assert [e.function for e in LESSON03] == [
        "attention_scores", "causal_mask", "apply_causal_mask", "attention",
        "multi_head_attention", "cached_attention"]


@pytest.mark.parametrize("exercise", LESSON03, ids=lambda e: e.id)
def test_each_diagnosis_variant_is_named(exercise):
    for diagnosis in exercise.diagnoses:
        fails_with(learner(exercise.function)(diagnosis.variant), diagnosis.message)


@pytest.mark.parametrize("exercise", LESSON03, ids=lambda e: e.id)
def test_hidden_cases_depend_on_the_seed(exercise):
    a, b = exercise.cases(1), exercise.cases(2)
    assert {c.name for c in exercise.cases(None)}.isdisjoint({c.name for c in a})
    first = next(iter(a[0].inputs.values()))
    if isinstance(first, torch.Tensor):
        assert not torch.equal(first, next(iter(b[0].inputs.values())))


# --- scores ---------------------------------------------------------------------------------


def test_scores_valid_variants_pass():
    einsum = learner("attention_scores")(
        lambda q, k: torch.einsum("...id,...jd->...ij", q, k) / q.shape[-1] ** 0.5)
    scale_first = learner("attention_scores")(
        lambda q, k: (q / math.sqrt(q.shape[-1])) @ k.mT)
    assert passes(learner("attention_scores")(scores_ok)) and passes(einsum)
    assert passes(scale_first)


def test_scores_bugs_are_named():
    fails_with(learner("attention_scores")(lambda q, k: q @ k.transpose(-2, -1)),
               "the scores are not divided by sqrt(hs)")
    fails_with(learner("attention_scores")(lambda q, k: q @ k.transpose(-2, -1) / q.shape[-1]),
               "the scores are divided by hs")
    fails_with(learner("attention_scores")(
        lambda q, k: k @ q.transpose(-2, -1) / math.sqrt(q.shape[-1])), "rows and columns")


# --- the causal mask --------------------------------------------------------------------------


def test_mask_valid_variants_pass():
    by_arange = learner("causal_mask")(
        lambda T: torch.arange(T)[None, :] <= torch.arange(T)[:, None])
    by_triu = learner("causal_mask")(
        lambda T: ~torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1))
    assert passes(learner("causal_mask")(mask_ok)) and passes(by_arange) and passes(by_triu)


def test_mask_bugs_are_named():
    fails_with(learner("causal_mask")(lambda T: torch.ones(T, T, dtype=torch.bool).tril(-1)),
               "the mask hides the diagonal")
    fails_with(learner("causal_mask")(lambda T: torch.ones(T, T, dtype=torch.bool).triu(1)),
               "True and False are swapped")
    fails_with(learner("causal_mask")(lambda T: torch.ones(T, T, dtype=torch.bool).triu()),
               "this is the upper triangle")


def test_mask_as_floats_is_refused_with_a_hint():
    message = run_check(learner("causal_mask")(lambda T: torch.ones(T, T).tril())).message
    assert "wrong dtype: expected bool, got float32" in message and "torch.bool" in message


# --- applying the mask ------------------------------------------------------------------------


@pytest.mark.parametrize("fill", [NEG_INF, torch.finfo(torch.float32).min, -1e9])
def test_apply_mask_accepts_inf_finfo_min_and_huge_fills(fill):
    @learner("apply_causal_mask")
    def apply_causal_mask(scores):
        return scores.masked_fill(~mask_ok(scores.shape[-1]), fill)

    assert passes(apply_causal_mask)


def test_apply_mask_additive_inf_mask_passes():
    @learner("apply_causal_mask")
    def apply_causal_mask(scores):
        T = scores.shape[-1]
        return scores + torch.zeros(T, T).masked_fill(~mask_ok(T), NEG_INF)

    assert passes(apply_causal_mask)


def test_finite_mask_value_that_leaks_is_named():
    @learner("apply_causal_mask")
    def fill(scores):
        return scores.masked_fill(~mask_ok(scores.shape[-1]), -1e4)

    @learner("apply_causal_mask")
    def add(scores):
        return scores - 1e4 * (~mask_ok(scores.shape[-1])).float()

    message = fails_with(fill, "the hidden scores are set to a finite number")
    assert "very large scores" in message and "instead of 0" in message
    fails_with(add, "-10000 is added to the hidden scores")


def test_any_leaking_fill_value_is_explained_even_without_a_variant():
    @learner("apply_causal_mask")
    def fill(scores):
        return scores.masked_fill(~mask_ok(scores.shape[-1]), -1000.0)

    message = run_check(fill).message
    assert "not hidden well enough" in message and "Put -inf there" in message


def test_apply_mask_diagonal_and_direction_bugs_are_named():
    @learner("apply_causal_mask")
    def hides_diagonal(scores):
        T = scores.shape[-1]
        return scores.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(-1), NEG_INF)

    @learner("apply_causal_mask")
    def hides_past(scores):
        return scores.masked_fill(mask_ok(scores.shape[-1]), NEG_INF)

    fails_with(hides_diagonal, "the mask hides the diagonal")
    fails_with(hides_past, "hides the past")


def test_apply_mask_in_place_is_reported():
    """The exercise says not to change the input: masked_fill_ does."""
    @learner("apply_causal_mask")
    def in_place(scores):
        return scores.masked_fill_(~mask_ok(scores.shape[-1]), NEG_INF)

    result = run_check(in_place)
    assert not result.passed and "scores" in result.message, result.message


# --- one head -------------------------------------------------------------------------------


def test_attention_valid_variants_pass():
    @learner("attention")
    def with_einsum_and_finfo(q, k, v):
        s = torch.einsum("bhid,bhjd->bhij", q, k) / math.sqrt(q.shape[-1])
        s = s.masked_fill(~mask_ok(s.shape[-1]), torch.finfo(s.dtype).min)
        return torch.einsum("bhij,bhjd->bhid", s.softmax(dim=-1), v)

    @learner("attention")
    def with_manual_softmax(q, k, v):
        s = scores_ok(q, k).masked_fill(~mask_ok(q.shape[-2]), NEG_INF)
        e = torch.exp(s - s.amax(dim=-1, keepdim=True))
        return (e / e.sum(dim=-1, keepdim=True)) @ v

    assert passes(learner("attention")(attention_ok))
    assert passes(with_einsum_and_finfo) and passes(with_manual_softmax)


def test_attention_bugs_are_named():
    def bug(**kw):
        return learner("attention")(lambda q, k, v: attention_ok(q, k, v, **kw))

    fails_with(bug(scale=lambda hs: 1.0), "the scores are not divided by sqrt(hs)")
    fails_with(bug(dim=-2), "softmax runs over the wrong axis")
    fails_with(bug(fill=-1e4), "the mask uses a finite number")

    @learner("attention")
    def mask_after_softmax(q, k, v):
        w = torch.softmax(scores_ok(q, k), dim=-1)
        return w.masked_fill(~mask_ok(q.shape[-2]), 0.0) @ v

    @learner("attention")
    def diagonal_hidden(q, k, v):
        s = scores_ok(q, k)
        hidden = ~torch.ones(s.shape[-1], s.shape[-1], dtype=torch.bool).tril(-1)
        return torch.softmax(s.masked_fill(hidden, NEG_INF), dim=-1) @ v

    @learner("attention")
    def no_mask(q, k, v):
        return torch.softmax(scores_ok(q, k), dim=-1) @ v

    fails_with(mask_after_softmax, "the mask is applied after softmax")
    message = fails_with(diagonal_hidden, "the mask hides the diagonal")
    assert "NaN" in message
    fails_with(no_mask, "there is no causal mask")


# --- multi-head ----------------------------------------------------------------------------


def test_multi_head_valid_variants_pass():
    @learner("multi_head_attention")
    def with_linear_and_permute(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias,
                                n_head):
        B, T, C = x.shape
        qkv = torch.nn.functional.linear(x, c_attn_weight.T, c_attn_bias)
        q, k, v = qkv.view(B, T, 3, n_head, C // n_head).permute(2, 0, 3, 1, 4)
        y = attention_ok(q, k, v).permute(0, 2, 1, 3).contiguous().view(B, T, C)
        return torch.addmm(c_proj_bias, y.view(B * T, C), c_proj_weight).view(B, T, C)

    @learner("multi_head_attention")
    def head_by_head_with_einsum(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias,
                                 n_head):
        C = x.shape[-1]
        hs = C // n_head
        q, k, v = torch.einsum("btc,cd->btd", x, c_attn_weight).add(c_attn_bias).chunk(3, -1)
        heads = [attention_ok(*(t[..., h * hs:(h + 1) * hs].unsqueeze(1) for t in (q, k, v)))
                 for h in range(n_head)]
        y = torch.cat([h.squeeze(1) for h in heads], dim=-1)
        return y @ c_proj_weight + c_proj_bias

    assert passes(learner("multi_head_attention")(mha))
    assert passes(with_linear_and_permute) and passes(head_by_head_with_einsum)


def test_multi_head_bugs_are_named():
    def bug(**kw):
        @learner("multi_head_attention")
        def buggy(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head):
            return mha(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head, **kw)

        return buggy

    fails_with(bug(scale=lambda C, hs: 1.0), "the scores are not divided by sqrt(hs)")
    fails_with(bug(scale=lambda C, hs: math.sqrt(C)), "divided by sqrt(C), the model width")
    fails_with(bug(thirds=(1, 0, 2)), "wrong thirds of c_attn")
    fails_with(bug(thirds=(2, 1, 0)), "wrong thirds of c_attn")
    fails_with(bug(transpose_proj=True), "c_proj_weight is used transposed")

    def interleaved(t):  # head h gets channels h, h + n_head, ...
        B, T, C = t.shape
        return t.view(B, T, C // 2 if C == 8 else C // 3, -1).permute(0, 3, 1, 2)

    fails_with(bug(split=interleaved), "the heads are split in the wrong order")

    def straight(t):
        B, T, C = t.shape
        n_head = 2 if C == 8 else 3
        return t.reshape(B, n_head, T, C // n_head)

    fails_with(bug(split=straight), "reshaped straight to (B, n_head, T, hs)")
    fails_with(bug(merge=lambda y: y.reshape(y.shape[0], y.shape[2], -1)),
               "the heads are merged in the wrong order")


def test_linear_habit_on_c_attn_reshape_and_transpose_are_both_named():
    @learner("multi_head_attention")
    def reshaped(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head):
        C = x.shape[-1]
        w = c_attn_weight.reshape(3 * C, C)  # "make it (out, in)" by reshaping: wrong
        return mha(x, w.T, c_attn_bias, c_proj_weight, c_proj_bias, n_head)

    fails_with(reshaped, "c_attn_weight was reshaped to (3C, C) instead of transposed")

    @learner("multi_head_attention")
    def linear_layout(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head):
        return mha(x, c_attn_weight.T, c_attn_bias, c_proj_weight, c_proj_bias, n_head)

    message = fails_with(linear_layout, "a weight is used transposed (x @ W.T or F.linear")
    assert "Your code raised an error" in message and "cannot be multiplied" in message

    @learner("multi_head_attention")
    def functional_linear(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head):
        import torch.nn.functional as F

        qkv = F.linear(x, c_attn_weight, c_attn_bias)  # expects (out, in): a shape error
        return qkv[..., : x.shape[-1]]

    fails_with(functional_linear, "Conv1D, (in, out) = (C, 3C)")


# --- KV cache ------------------------------------------------------------------------------


def cached_ok(q, k, v, k_cache, v_cache):
    k_all, v_all = torch.cat([k_cache, k], dim=2), torch.cat([v_cache, v], dim=2)
    return torch.softmax(scores_ok(q, k_all), dim=-1) @ v_all, k_all, v_all


def test_cached_attention_valid_variants_pass():
    @learner("cached_attention")
    def via_full_attention_last_row(q, k, v, k_cache, v_cache):
        k_all, v_all = torch.cat([k_cache, k], dim=2), torch.cat([v_cache, v], dim=2)
        # pad the queries so the square mask fits, then keep the last row
        t = k_cache.shape[2]
        q_all = torch.cat([torch.zeros_like(k_cache), q], dim=2)
        return attention_ok(q_all, k_all, v_all)[:, :, t:], k_all, v_all

    assert passes(learner("cached_attention")(cached_ok))
    assert passes(via_full_attention_last_row)


def test_cached_attention_bugs_are_named():
    @learner("cached_attention")
    def forgets_new_token(q, k, v, k_cache, v_cache):
        out = torch.softmax(scores_ok(q, k_cache), dim=-1) @ v_cache
        return out, torch.cat([k_cache, k], 2), torch.cat([v_cache, v], 2)

    @learner("cached_attention")
    def prepends(q, k, v, k_cache, v_cache):
        return cached_ok(q, k_cache, v_cache, k, v)

    @learner("cached_attention")
    def square_mask(q, k, v, k_cache, v_cache):
        k_all, v_all = torch.cat([k_cache, k], dim=2), torch.cat([v_cache, v], dim=2)
        s = scores_ok(q, k_all)
        s = s.masked_fill(~torch.ones(1, s.shape[-1], dtype=torch.bool).tril(), NEG_INF)
        return torch.softmax(s, dim=-1) @ v_all, k_all, v_all

    fails_with(forgets_new_token, "the new token's own key and value are left out")
    fails_with(prepends, "put in front of the cache")
    fails_with(square_mask, "the new token sees only the first key")


def test_cached_attention_returning_only_the_output_gets_a_hint():
    @learner("cached_attention")
    def output_only(q, k, v, k_cache, v_cache):
        return cached_ok(q, k, v, k_cache, v_cache)[0]

    message = run_check(output_only).message
    assert "Return three tensors" in message


# --- the grader on the real lesson ----------------------------------------------------------


def _grade(path: Path) -> dict[str, tuple[float, str]]:
    result = grade_submission(path, load_lessons(ROOT / "lessons"), seed=5,
                              limits=SandboxLimits(notebook_s=120, exercise_s=20),
                              hide=(str(ROOT / "solutions"),))
    return {e.id: (e.score, e.message) for e in result.exercises}


# --- the kinds of bug named in issue 15, as a learner writes them ---------------------------


def _scores_bug(kind):
    def attention_scores(q, k):
        hs = q.shape[-1]
        if kind == "times sqrt":
            return q @ k.transpose(-2, -1) * math.sqrt(hs)
        return q @ k.T / math.sqrt(hs)  # ".T on 4-D"

    return learner("attention_scores")(attention_scores)


def _attention_bug(kind):
    def attention(q, k, v):
        T, hs = q.shape[-2], q.shape[-1]
        s = q @ k.transpose(-2, -1) / math.sqrt(hs)
        mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
        if kind == "shifted":
            s = s.masked_fill(~torch.tril(torch.ones(T, T, dtype=torch.bool), 1), NEG_INF)
        elif kind == "inverted":
            s = s.masked_fill(mask, NEG_INF)
        elif kind == "bool added":
            s = s + mask
        else:
            s = s.masked_fill(~mask, NEG_INF)
        if kind == "times sqrt":
            s = s * hs
        w = torch.softmax(s, dim=1 if kind == "heads axis" else -1)
        if kind == "weights transposed":
            w = w.transpose(-2, -1)
        return w @ v

    return learner("attention")(attention)


@pytest.mark.parametrize("fn, bug", [
    (_scores_bug("times sqrt"), "the scores are multiplied by sqrt(hs)"),
    (_scores_bug(".T"), ".T on a 4-D tensor reverses all four axes"),
    (_attention_bug("times sqrt"), "the scores are multiplied by sqrt(hs)"),
    (_attention_bug("shifted"), "the mask is shifted by one diagonal"),
    (_attention_bug("inverted"), "the mask is inverted"),
    (_attention_bug("bool added"), "the bool mask is added to the scores"),
    (_attention_bug("heads axis"), "softmax runs over the heads axis"),
    (_attention_bug("weights transposed"), "the attention weights are transposed before @ v"),
    (learner("causal_mask")(lambda T: torch.ones(T, T, dtype=torch.bool).tril(1)),
     "the mask is shifted by one diagonal"),
    (learner("apply_causal_mask")(
        lambda scores: scores + torch.ones(scores.shape[-1], scores.shape[-1]).tril().bool()),
     "the bool mask is added to the scores"),
    (learner("apply_causal_mask")(lambda scores: scores.masked_fill(
        torch.ones(scores.shape[-1], scores.shape[-1]).triu(2).bool(), NEG_INF)),
     "the mask is shifted by one diagonal"),
    (learner("multi_head_attention")(partial(
        mha, split=None, scale=lambda C, hs: 1 / math.sqrt(hs))),
     "the scores are multiplied by sqrt(hs)"),
])
def test_issue_15_attention_kinds_are_caught_and_named(fn, bug):
    fails_with(fn, bug)


@learner("multi_head_attention")
def mha_split_per_head(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head):
    B, T, C = x.shape
    hs = C // n_head
    qkv = (x @ c_attn_weight + c_attn_bias).view(B, T, n_head, 3 * hs).transpose(1, 2)
    q, k, v = qkv.split(hs, dim=-1)  # q|k|v per head: not GPT-2's layout
    y = attention_ok(q, k, v).transpose(1, 2).reshape(B, T, C)
    return y @ c_proj_weight + c_proj_bias


@pytest.mark.parametrize("dim", [-1, 1, 0])
def test_cache_appended_on_the_wrong_axis_is_named(dim):
    @learner("cached_attention")
    def cached_attention(q, k, v, k_cache, v_cache):
        k_all, v_all = torch.cat([k_cache, k], dim=dim), torch.cat([v_cache, v], dim=dim)
        w = torch.softmax(q @ k_all.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
        return w @ v_all, k_all, v_all

    fails_with(cached_attention, "the new key and value are appended on the wrong axis")


def test_qkv_split_per_head_is_named():
    fails_with(mha_split_per_head, "q, k and v are split per head")


def test_attention_with_torch_where_and_a_loop_passes():
    @learner("attention")
    def attention(q, k, v):
        T = q.shape[-2]
        out = torch.empty_like(q)
        for i in range(T):  # one query at a time, only the keys up to it
            s = q[..., i : i + 1, :] @ k[..., : i + 1, :].mT / math.sqrt(q.shape[-1])
            out[..., i : i + 1, :] = torch.softmax(s, dim=-1) @ v[..., : i + 1, :]
        return out

    @learner("apply_causal_mask")
    def apply_causal_mask(scores):
        T = scores.shape[-1]
        keep = torch.arange(T)[:, None] >= torch.arange(T)[None, :]
        return torch.where(keep, scores, torch.tensor(float("-inf")))

    assert passes(attention) and passes(apply_causal_mask)


def test_grader_gives_full_marks_to_the_solutions(tmp_path):
    got = _grade(submission(tmp_path / "03.ipynb"))
    assert {k: v[0] for k, v in got.items()} == {e.id: float(e.points) for e in LESSON03}


def test_grader_refuses_fused_attention(tmp_path):
    cheat = ("def attention(q, k, v):\n"
             "    import torch.nn.functional as F\n"
             "    return F.scaled_dot_product_attention(q, k, v, is_causal=True)\n")
    got = _grade(submission(tmp_path / "03.ipynb", **{"03_attention": cheat}))
    assert got["03.attention"][0] == 0.0 and "does not allow" in got["03.attention"][1]
    assert got["03.causal_mask"][0] == 1.0


# --- the pictures -----------------------------------------------------------------------------


def test_attention_maps_and_viewer_on_a_small_model():
    import matplotlib

    matplotlib.use("Agg")
    from gpt2course.config import GPT2Config
    from gpt2course.model import GPT2
    from gpt2course.viz.attention import attention_maps, attention_viewer

    torch.manual_seed(0)
    model = GPT2(GPT2Config(vocab_size=50, n_positions=16, n_embd=16, n_layer=2, n_head=4))
    maps = attention_maps(model.eval(), torch.tensor([[1, 2, 3, 4]]))
    assert maps.shape == (2, 4, 4, 4)
    assert torch.allclose(maps.sum(-1), torch.ones(2, 4, 4))
    assert (maps.triu(1) == 0).all()
    box = attention_viewer(maps, ["a", "b", "c", "d"])
    layer, head = box.children[0].children
    assert (layer.description, head.description) == ("layer", "head")
    layer.value, head.value = 1, 3  # redraws without error
    with pytest.raises(ValueError, match="n_layer, n_head, T, T"):
        attention_viewer(maps[0], ["a", "b", "c", "d"])
