"""Lesson 05, the block stack: LayerNorm, one pre-LN block, the parameter count, the whole GPT-2.

The reference is imported inside functions only: this module is also loaded by the
registry in processes where ``gpt2course.model`` must stay unimported.

Diagnoses are small functional versions of GPT-2 with one bug each (``_ln``, ``_block``,
``_count``, ``_gpt2`` of ``lesson05_variants`` take switches). A test checks that with no
switch set they equal the reference.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ..i18n import N_, tr
from .core import Case, Diagnosis, Exercise, Mismatch, close, exact
from .core import gen as _gen
from .lesson05_variants import EPS, _block, _count, _gpt2, _ln

if TYPE_CHECKING:
    from ..config import GPT2Config

NO_LAYER_NORM = ("torch.nn.functional.layer_norm", "torch.layer_norm", "torch.native_layer_norm")



# --- LayerNorm as a function ------------------------------------------------------------------


def _ln_with(**bug: Any) -> Callable[..., Tensor]:
    def variant(x: Tensor, weight: Tensor, bias: Tensor, eps: float = EPS) -> Tensor:
        return _ln(x, weight, bias, **{"eps": eps, **bug})

    return variant


def _reference_layer_norm(x: Tensor, weight: Tensor, bias: Tensor, eps: float = EPS) -> Tensor:
    return F.layer_norm(x, (x.shape[-1],), weight, bias, eps=eps)  # what nn.LayerNorm runs


def _ln_inputs(gen: torch.Generator, shape: tuple[int, ...], spread: float,
               offset: float) -> dict[str, Tensor]:
    C = shape[-1]
    return {
        "x": torch.randn(*shape, generator=gen) * spread + offset,
        "weight": 1.0 + 0.5 * torch.randn(C, generator=gen),
        "bias": 0.5 * torch.randn(C, generator=gen),
    }


def _layer_norm_cases(seed: int | None) -> list[Case]:
    # The small-spread cases make eps matter: their variance (about 1e-4) is only ten
    # times eps, so eps outside the sqrt, or no eps, changes the answer visibly. Their
    # mean stays near 0: a large mean would cost float32 precision in any implementation.
    if seed is None:
        return [
            Case("x of shape (2, 3, 8), mean about 1", _ln_inputs(_gen(51), (2, 3, 8), 2.0, 1.0)),
            Case("x of shape (1, 4, 16) with a small spread (eps matters)",
                 _ln_inputs(_gen(52), (1, 4, 16), 0.01, 0.0)),
            Case("eps=1e-3 passed in: use the argument",
                 {**_ln_inputs(_gen(55), (2, 2, 8), 0.03, 0.0), "eps": 1e-3}),
        ]
    gen = _gen(seed)
    return [
        Case("a hidden x of shape (3, 5, 32)", _ln_inputs(gen, (3, 5, 32), 3.0, -2.0)),
        Case("a hidden x of shape (2, 2, 64) with a small spread",
             _ln_inputs(gen, (2, 2, 64), 0.01, 0.05)),
        Case("a hidden eps=1e-4", {**_ln_inputs(gen, (1, 3, 16), 0.01, 0.0), "eps": 1e-4}),
    ]


LN_EPS_IGNORED = N_("the eps argument is ignored: a fixed 1e-5 is used. Use the eps the "
                    "function is given (1e-5 is only its default).")
LN_WRONG_DIM = N_("the mean and variance are taken along the wrong axis: LayerNorm normalises "
                  "each token's C numbers, the last axis: dim=-1, keepdim=True.")
LN_BUGS = (
    Diagnosis(N_("the variance is unbiased (divided by C - 1). LayerNorm divides by C: use "
              "x.var(dim=-1, unbiased=False, keepdim=True)."), _ln_with(unbiased=True)),
    Diagnosis(N_("eps is added outside the square root. It belongs inside: "
              "(x - mean) / sqrt(var + eps)."), _ln_with(eps_outside=True)),
    Diagnosis(N_("eps is missing (or far too small). GPT-2 adds eps = 1e-5 to the variance, "
              "inside the sqrt."), _ln_with(eps=0.0)),
    Diagnosis(N_("eps is 1e-6; GPT-2 uses eps = 1e-5."), _ln_with(eps=1e-6)),
    Diagnosis(LN_EPS_IGNORED, _ln_with(eps=EPS)),
    Diagnosis(N_("the mean is not subtracted from x before dividing: "
                 "(x - mean) / sqrt(var + eps)."),
              _ln_with(centre=False)),
    Diagnosis(N_("weight and bias are not applied: after normalising, multiply by weight and "
              "add bias."), _ln_with(affine=False)),
    Diagnosis(N_("bias is added before multiplying by weight; the order is y * weight + bias."),
              _ln_with(bias_first=True)),
    Diagnosis(N_("the mean and variance are taken over the whole tensor. Take them over the last "
              "dimension (C) only, one token at a time: dim=-1, keepdim=True."),
              _ln_with(whole_tensor=True)),
    *(Diagnosis(LN_WRONG_DIM, _ln_with(dim=d)) for d in (0, 1, -2)),
    Diagnosis(N_("the spread is the mean absolute deviation, mean(|x - mean|); LayerNorm "
                 "divides by the standard deviation: sqrt(mean((x - mean)**2) + eps)."),
              _ln_with(spread="abs")),
    Diagnosis(N_("the variance is taken of x itself, mean(x**2), not of x - mean: "
                 "var = ((x - mean)**2).mean(dim=-1, keepdim=True)."),
              _ln_with(spread="uncentred")),
    Diagnosis(N_("x - mean is divided by the variance; divide by the standard deviation, its "
                 "square root: (x - mean) / sqrt(var + eps)."), _ln_with(sqrt=False)),
    Diagnosis(N_("weight is not applied: after normalising, multiply by weight, then add bias "
                 "(y * weight + bias)."), _ln_with(scale=False)),
    Diagnosis(N_("bias is added to weight before multiplying (y * (weight + bias)); multiply "
                 "by weight, then add bias: y * weight + bias."), _ln_with(bias_into_weight=True)),
)
# Without keepdim the mean is (B, T), which does not line up with x's (B, T, C).
LN_KEEPDIM = N_("the mean or variance lost its last axis: with keepdim=True it stays (B, T, 1) "
                "and lines up with x (B, T, C). Use x.mean(dim=-1, keepdim=True).")

LAYER_NORM = Exercise(
    id="05.layer_norm",
    function="layer_norm",
    points=2,
    reference=_reference_layer_norm,
    cases=_layer_norm_cases,
    compare=close(atol=1e-5, rtol=1e-4),
    diagnoses=LN_BUGS,
    error_hints=(("must match the size of tensor b", LN_KEEPDIM),),
    forbidden_functions=NO_LAYER_NORM,
)


# --- LayerNorm as a module --------------------------------------------------------------------


def _ln_module_cases(seed: int | None) -> list[Case]:
    def case(name: str, inputs: dict[str, Tensor]) -> Case:
        C = inputs["x"].shape[-1]
        return Case(name, {"init": {"n_embd": C},
                           "state": {"weight": inputs["weight"], "bias": inputs["bias"]},
                           "args": {"x": inputs["x"]}})

    if seed is None:
        return [case("n_embd=16, x of shape (2, 3, 16) with a small spread",
                     _ln_inputs(_gen(53), (2, 3, 16), 0.01, 0.03))]
    return [case("a hidden n_embd=24, x of shape (2, 4, 24)",
                 _ln_inputs(_gen(seed + 1), (2, 4, 24), 0.01, -0.03))]


def _module_variant(fn: Callable[..., Tensor]) -> Callable[..., dict[str, Any]]:
    def variant(init: dict, state: dict[str, Tensor], args: dict[str, Tensor]) -> dict[str, Any]:
        return {"output": fn(args["x"], state["weight"], state["bias"]),
                "parameters": ["bias", "weight"]}

    return variant


def _learned_and_close(expected: Any, got: Any) -> Mismatch | None:
    """``{"output", "parameters"}``: the parameter names first (a buffer is not learned),
    then the output within tolerance."""
    if isinstance(got, dict) and set(got) == {"output", "parameters"}:
        missing = sorted(set(expected["parameters"]) - set(got["parameters"]))
        if missing:
            return Mismatch(tr(
                "{names} are not parameters of your module (parameters() does not list "
                "them), so training would never change them. They load and compute the same "
                "when they are buffers or plain tensors; make them nn.Parameter: "
                "self.weight = nn.Parameter(torch.ones(n_embd)).", names=", ".join(missing)))
        extra = sorted(set(got["parameters"]) - set(expected["parameters"]))
        if extra:
            return Mismatch(tr("your module has parameters GPT-2 does not have: {names}.",
                               names=", ".join(extra)))
        got = got["output"]
    return close(atol=1e-5, rtol=1e-4)(expected["output"], got)


LAYER_NORM_MODULE = Exercise(
    id="05.LayerNorm",
    function="LayerNorm",
    points=1,
    reference=_module_variant(_reference_layer_norm),
    cases=_ln_module_cases,
    compare=_learned_and_close,
    diagnoses=tuple(Diagnosis(d.message, _module_variant(d.variant)) for d in LN_BUGS
                    if d.message != LN_EPS_IGNORED),
    adapter="module_parameters",
    forbidden_functions=NO_LAYER_NORM,
)


# --- one block -------------------------------------------------------------------------------


BLOCK_BUGS: tuple[tuple[str, dict[str, Any]], ...] = (
    (N_("the block is post-LN (LayerNorm after each residual addition). GPT-2 is pre-LN: "
     "x = x + attn(ln_1(x)), then x = x + mlp(ln_2(x))."), {"post_ln": True}),
    (N_("the residual around attention is missing: x = x + attn(ln_1(x)), not x = attn(ln_1(x))."),
     {"attn_residual": False}),
    (N_("the residual around the MLP is missing: x = x + mlp(ln_2(x)), not x = mlp(ln_2(x))."),
     {"mlp_residual": False}),
    (N_("ln_1 and ln_2 are swapped: ln_1 goes before attention, ln_2 before the MLP."),
     {"swap_ln": True}),
    (N_("the MLP runs before attention; GPT-2 runs attention first, then the MLP."),
     {"mlp_first": True}),
    (N_("attention and the MLP both read the same x (in parallel). In GPT-2 the MLP reads x "
     "after the attention residual was added."), {"parallel": True}),
    (N_("ln_1 is used twice: the MLP must read ln_2(x), its own LayerNorm with its own "
        "weights."), {"one_ln": True}),
    (N_("the residual adds the normalised x: x = x + attn(ln_1(x)) adds attention to x itself, "
        "not to ln_1(x) (the same for the MLP with ln_2)."), {"residual_from_norm": True}),
    (N_("the residual is added twice (x + x + attn(...)): x = x + attn(ln_1(x)) adds x "
        "once."), {"double_residual": True}),
    (N_("LayerNorm uses the unbiased variance (C - 1); it should divide by C."),
     {"ln": {"unbiased": True}}),
    (N_("LayerNorm adds eps outside the square root; it belongs inside: sqrt(var + eps)."),
     {"ln": {"eps_outside": True}}),
)


# --- the Block module ----------------------------------------------------------------------


def _reference_config(**shape: int) -> GPT2Config:
    from ..config import GPT2Config

    return GPT2Config(**shape)


def _block_state(full: dict[str, Tensor]) -> dict[str, Tensor]:
    return {k.removeprefix("h.0."): v for k, v in full.items() if k.startswith("h.0.")}


def _block_case(name: str, gen: torch.Generator, B: int, T: int, C: int, nh: int) -> Case:
    from ..random_weights import random_state

    config = _reference_config(vocab_size=1, n_positions=T, n_embd=C, n_layer=1, n_head=nh)
    state = _block_state(random_state(config, gen))
    # A small x (like GPT-2's embeddings) makes LayerNorm's eps matter in ln_1.
    x = torch.randn(B, T, C, generator=gen) * 0.02
    return Case(name, {"init": {"n_embd": C, "n_head": nh}, "state": state, "args": {"x": x}})


def _block_cases(seed: int | None) -> list[Case]:
    if seed is None:
        return [_block_case("n_embd=16, n_head=2, x of shape (2, 5, 16)", _gen(54), 2, 5, 16, 2)]
    gen = _gen(seed + 2)
    return [_block_case("a hidden n_embd=24, n_head=3, x of shape (2, 7, 24)", gen, 2, 7, 24, 3),
            _block_case("a hidden n_embd=32, n_head=4, x of shape (1, 1, 32)", gen, 1, 1, 32, 4)]


def _reference_block(init: dict, state: dict[str, Tensor], args: dict[str, Tensor]) -> Tensor:
    from ..model import Block

    T = args["x"].shape[1]
    block = Block(_reference_config(vocab_size=1, n_positions=T, n_layer=1, **init))
    block.load_state_dict(state, strict=True)
    return block.eval()(args["x"])


def _block_variant(**bug: Any) -> Callable[..., Tensor]:
    def variant(init: dict, state: dict[str, Tensor], args: dict[str, Tensor]) -> Tensor:
        return _block(args["x"], state, "", init["n_head"], **bug)

    return variant


BLOCK = Exercise(
    id="05.Block",
    function="Block",
    points=2,
    reference=_reference_block,
    cases=_block_cases,
    compare=close(atol=1e-5, rtol=1e-4),
    diagnoses=tuple(Diagnosis(message, _block_variant(**bug)) for message, bug in BLOCK_BUGS),
    adapter="module",
)


# --- counting the parameters --------------------------------------------------------------


SHAPE_KEYS = ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head")


def _count_variant(**bug: Any) -> Callable[..., int]:
    def variant(**shape: int) -> int:
        return _count(**shape, **bug)

    return variant


def _reference_count(**shape: int) -> int:
    from ..model import GPT2

    with torch.device("meta"):
        return GPT2(_reference_config(**shape)).num_parameters()


def _count_cases(seed: int | None) -> list[Case]:
    def case(name: str, V: int, P: int, C: int, L: int, nh: int) -> Case:
        return Case(name, dict(zip(SHAPE_KEYS, (V, P, C, L, nh), strict=True)))

    if seed is None:
        # P=5: then no two counting bugs miss the same number (with P=4, a missing wpe
        # and a missing LayerNorm per block would both miss 24).
        return [case("a tiny GPT-2: V=10, P=5, C=6, 2 layers, 2 heads", 10, 5, 6, 2, 2),
                case("GPT-2 small (124M)", 50257, 1024, 768, 12, 12)]
    gen = _gen(seed + 3)
    C = 8 * int(torch.randint(1, 9, (1,), generator=gen))
    L = int(torch.randint(1, 7, (1,), generator=gen))
    V = int(torch.randint(50, 5000, (1,), generator=gen))
    return [case(f"a hidden shape: C={C}, {L} layers", V, 64, C, L, 4),
            case("GPT-2 medium (350M)", 50257, 1024, 1024, 24, 16)]


COUNT = Exercise(
    id="05.count_parameters",
    function="count_parameters",
    points=1,
    reference=_reference_count,
    cases=_count_cases,
    compare=exact,
    diagnoses=(
        Diagnosis(N_("you counted a separate output head (vocab_size x n_embd). GPT-2's head is "
                  "tied: it reuses wte, so it adds no parameters."), _count_variant(untied=True)),
        Diagnosis(N_("the biases are not counted (every Linear in GPT-2 has one)."),
                  _count_variant(biases=False)),
        Diagnosis(N_("the LayerNorm weights and biases are not counted (2 x n_embd for each of "
                  "ln_1, ln_2 and ln_f)."), _count_variant(layer_norms=False)),
        Diagnosis(N_("the final LayerNorm ln_f is not counted."), _count_variant(ln_f=False)),
        Diagnosis(N_("the position embeddings wpe (n_positions x n_embd) are not counted."),
                  _count_variant(wpe=False)),
        Diagnosis(N_("the MLP's hidden layer has n_embd units here; it has 4 x n_embd."),
                  _count_variant(mlp_width=1)),
        Diagnosis(N_("attention's output projection c_proj (n_embd x n_embd + n_embd) is not "
                     "counted: each block's attention has c_attn and c_proj."),
                  _count_variant(attn_proj=False)),
        Diagnosis(N_("each block has one LayerNorm here; it has two, ln_1 and ln_2 "
                     "(2 x n_embd numbers each)."), _count_variant(norms_per_block=1)),
    ),
)


# --- the whole model ------------------------------------------------------------------------


GPT2_BUGS: tuple[tuple[str, dict[str, Any]], ...] = (
    (N_("the position embeddings are not added: x = wte(idx) + wpe(positions), with positions "
     "0, 1, ..., T - 1."), {"positions": False}),
    (N_("the final LayerNorm ln_f is missing: apply it after the last block, before the head."),
     {"final_ln": False}),
    (N_("every block runs with the weights of block 0 (h[0] used n_layer times?). Each of the "
     "n_layer blocks has its own weights: run h[0], then h[1], and so on."), {"shared_block": 0}),
    (N_("all blocks share one set of weights (nn.ModuleList([block] * n_layer) repeats the same "
     "block). Make a new Block for each layer: [Block(...) for _ in range(n_layer)]."),
     {"shared_block": -1}),
    (N_("the model returns probabilities (softmax). Return the logits: softmax comes later, "
     "when sampling."), {"probabilities": True}),
    (N_("the positions start at 1; the first token is position 0: wpe(torch.arange(T))."),
     {"first_position": 1}),
    (N_("ln_f runs after every block; it runs once, after the last block, before the head."),
     {"ln_f_each_block": True}),
    (N_("the head is missing: the model returns the last hidden states (B, T, n_embd). The "
        "logits are x @ self.wte.weight.T, (B, T, vocab_size)."), {"head": False}),
    # The block bugs, in every block of the model: the same messages name them.
    *((message, {"block": bug}) for message, bug in BLOCK_BUGS),
)


def _gpt2_cases(seed: int | None) -> list[Case]:
    def case(name: str, gen: torch.Generator, B: int, T: int, V: int, P: int, C: int, L: int,
             nh: int) -> Case:
        from ..random_weights import random_state

        shape = dict(zip(SHAPE_KEYS, (V, P, C, L, nh), strict=True))
        state = random_state(_reference_config(**shape), gen)
        idx = torch.randint(0, V, (B, T), generator=gen)
        return Case(name, {"init": shape, "state": state, "args": {"idx": idx}})

    if seed is None:
        return [case("vocab 50, 3 layers, n_embd=16, 2 heads; idx of shape (2, 6)",
                     _gen(55), 2, 6, 50, 8, 16, 3, 2)]
    gen = _gen(seed + 4)
    return [case("a hidden shape: vocab 97, 2 layers, n_embd=24, 3 heads; idx (3, 5)",
                 gen, 3, 5, 97, 16, 24, 2, 3),
            case("a hidden shape: vocab 64, 4 layers, n_embd=32, 4 heads; idx (1, 9)",
                 gen, 1, 9, 64, 9, 32, 4, 4)]


def _reference_gpt2(init: dict, state: dict[str, Tensor], args: dict[str, Tensor]) -> Tensor:
    from ..model import GPT2

    model = GPT2(_reference_config(**init))
    model.load_state_dict(state, strict=True)
    return model.eval()(args["idx"])[0]


def _gpt2_variant(**bug: Any) -> Callable[..., Tensor]:
    def variant(init: dict, state: dict[str, Tensor], args: dict[str, Tensor]) -> Tensor:
        return _gpt2(args["idx"], state, init["n_layer"], init["n_head"], **bug)

    return variant


MODEL = Exercise(
    id="05.MyGPT2",
    function="MyGPT2",
    points=3,
    reference=_reference_gpt2,
    cases=_gpt2_cases,
    compare=close(atol=1e-4, rtol=1e-4),
    diagnoses=tuple(Diagnosis(message, _gpt2_variant(**bug)) for message, bug in GPT2_BUGS),
    adapter="module",
    time_limit_s=30.0,
    error_hints=(('"lm_head.weight"', N_("the head is not tied: GPT-2 has no lm_head weight. "
                  "Compute the logits with the token embeddings: x @ self.wte.weight.T.")),),
)

EXERCISES = (LAYER_NORM, LAYER_NORM_MODULE, BLOCK, COUNT, MODEL)
