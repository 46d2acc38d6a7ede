"""Lesson 04, the MLP: GELU, the feed-forward function, and the MLP as a module.

The reference is imported inside functions only: this module is also loaded by the
registry in processes where ``gpt2course.model`` must stay unimported.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ..i18n import N_
from .core import Case, Diagnosis, Exercise, close
from .core import gen as _gen

# --- GELU -------------------------------------------------------------------------------


def _gelu_cases(seed: int | None) -> list[Case]:
    if seed is None:
        return [
            Case("9 numbers from -4 to 4", {"x": torch.linspace(-4, 4, 9)}),
            Case("a (2, 3, 8) batch", {"x": torch.randn(2, 3, 8, generator=_gen(1)) * 2}),
        ]
    gen = _gen(seed)
    return [
        Case("a hidden (4, 7, 24) batch", {"x": torch.randn(4, 7, 24, generator=gen) * 3}),
        Case("a hidden (1, 1, 5) batch", {"x": torch.randn(1, 1, 5, generator=gen) * 3}),
    ]


def _reference_gelu(x: Tensor) -> Tensor:
    from ..model import gelu

    return gelu(x)


def _relu(x: Tensor) -> Tensor:
    return torch.relu(x)


def _exact_gelu(x: Tensor) -> Tensor:
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))


def _gelu_without_cube(x: Tensor) -> Tensor:
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * x))


def _sigmoid_gelu(x: Tensor) -> Tensor:
    return x * torch.sigmoid(1.702 * x)


def _sigmoid_for_tanh(x: Tensor) -> Tensor:
    return 0.5 * x * (1 + torch.sigmoid(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def _gelu_with(*, half: float = 0.5, root: float = math.sqrt(2 / math.pi), power: int = 3,
               cube: float = 0.044715) -> Tensor:
    """The tanh GELU with one constant changed: how the diagnoses are built."""

    def gelu(x: Tensor) -> Tensor:
        return half * x * (1 + torch.tanh(root * (x + cube * x**power)))

    return gelu


def _cube_outside_tanh(x: Tensor) -> Tensor:
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * x) + 0.044715 * x**3)


def _cube_outside_root(x: Tensor) -> Tensor:
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * x + 0.044715 * x**3))


GELU_BRACKETS = N_("a bracket is misplaced: 0.044715 * x**3 is added to x, and that sum is "
                   "multiplied by sqrt(2 / pi), all inside tanh: "
                   "tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)).")


def _identity(x: Tensor) -> Tensor:
    return x


GELU = Exercise(
    id="04.gelu",
    function="gelu",
    points=1,
    reference=_reference_gelu,
    cases=_gelu_cases,
    compare=close(atol=1e-5, rtol=1e-4),
    diagnoses=(
        Diagnosis(N_("this is the exact (erf) GELU; GPT-2 uses the tanh approximation."),
                  _exact_gelu),
        Diagnosis(N_("this is ReLU (max(0, x)); GELU is smooth and lets small negatives through."),
                  _relu),
        Diagnosis(N_("the 0.044715 * x**3 term inside tanh is missing."), _gelu_without_cube),
        Diagnosis(N_("this is the sigmoid approximation x * sigmoid(1.702 x), not the tanh one."),
                  _sigmoid_gelu),
        Diagnosis(N_("the factor 0.5 in front is missing: GELU(x) = 0.5 x (1 + tanh(...))."),
                  _gelu_with(half=1.0)),
        Diagnosis(N_("the constant inside tanh is wrong: it is sqrt(2 / pi), about 0.798 "
                     "(math.sqrt(2 / math.pi))."), _gelu_with(root=math.sqrt(math.pi / 2))),
        Diagnosis(N_("the constant inside tanh is wrong: it is sqrt(2 / pi), about 0.798 "
                     "(math.sqrt(2 / math.pi))."), _gelu_with(root=2 / math.pi)),
        Diagnosis(N_("the constant inside tanh is wrong: it is sqrt(2 / pi), about 0.798 "
                     "(math.sqrt(2 / math.pi))."), _gelu_with(root=math.sqrt(2 * math.pi))),
        Diagnosis(N_("the cubic term uses x**2; it is 0.044715 * x**3."), _gelu_with(power=2)),
        Diagnosis(N_("this returns x unchanged: apply the GELU formula."), _identity),
        Diagnosis(N_("sigmoid is used where the formula has tanh: GELU(x) = 0.5 x (1 + "
                     "tanh(sqrt(2 / pi) (x + 0.044715 x**3)))."), _sigmoid_for_tanh),
        Diagnosis(GELU_BRACKETS, _cube_outside_tanh),
        Diagnosis(GELU_BRACKETS, _cube_outside_root),
    ),
    forbidden_functions=("torch.nn.functional.gelu", "torch._C._nn.gelu"),
)


# --- the MLP as a function -----------------------------------------------------------------


def _mlp_inputs(gen: torch.Generator, B: int, T: int, C: int) -> dict[str, Tensor]:
    # Weights of std 0.5 keep c_fc's outputs around -2..2, where the GELU variants differ.
    return {
        "x": torch.randn(B, T, C, generator=gen),
        "c_fc_weight": torch.randn(4 * C, C, generator=gen) * 0.5,
        "c_fc_bias": torch.randn(4 * C, generator=gen) * 0.5,
        "c_proj_weight": torch.randn(C, 4 * C, generator=gen) * 0.5,
        "c_proj_bias": torch.randn(C, generator=gen) * 0.5,
    }


def _mlp_cases(seed: int | None) -> list[Case]:
    if seed is None:
        return [
            Case("B=1, T=3, C=4", _mlp_inputs(_gen(2), 1, 3, 4)),
            Case("B=2, T=5, C=8", _mlp_inputs(_gen(3), 2, 5, 8)),
        ]
    gen = _gen(seed)
    return [
        Case("a hidden B=3, T=6, C=16", _mlp_inputs(gen, 3, 6, 16)),
        Case("a hidden B=1, T=1, C=12", _mlp_inputs(gen, 1, 1, 12)),
    ]


def _mlp_with(activation, *, second_projection: bool = True, biases: bool = True,
              gelu_at_end: bool = False, fc_bias: str = "inside"):
    """The MLP with one thing changed: how the diagnoses are built. fc_bias: where c_fc's
    bias goes: "inside" GELU (right), "after" it, or "none"."""

    def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):
        inside = biases and fc_bias == "inside"
        h = activation(F.linear(x, c_fc_weight, c_fc_bias if inside else None))
        h = h + c_fc_bias if fc_bias == "after" else h
        if not second_projection:
            return h
        out = F.linear(h, c_proj_weight, c_proj_bias if biases else None)
        return activation(out) if gelu_at_end else out

    return mlp


def _weights_swapped(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):
    # c_proj_weight (C, 4C) used as if it were c_fc's (and the other way round): it runs
    h = _reference_gelu(x @ c_proj_weight + c_fc_bias)
    return h @ c_fc_weight + c_proj_bias


def _gelu_last(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):
    h = F.linear(x, c_fc_weight, c_fc_bias)
    return _reference_gelu(F.linear(h, c_proj_weight, c_proj_bias))


LAYER_NAMES = N_("the layers must have the checkpoint's names: self.c_fc = nn.Linear(n_embd, "
                 "4 * n_embd) and self.c_proj = nn.Linear(4 * n_embd, n_embd) (not fc1/fc2 or "
                 "other names), so that GPT-2's weights load into them by name.")
MISSING_GELU = N_("there is no GELU between the two layers: without it the MLP is one linear "
                  "map. Compute c_proj(gelu(c_fc(x))).")
# Lesson 03 passed weights in the checkpoint's Conv1D layout, (in, out), used as x @ W.
# Here they are in nn.Linear's layout, (out, in): x @ W.T.
LAYOUT_HINT = N_("the weights are used in lesson 03's layout (x @ W). Here they are in "
                 "nn.Linear's layout, (out, in): c_fc_weight is (4C, C), so compute "
                 "x @ c_fc_weight.T + c_fc_bias (the same for c_proj).")


def _reference_mlp(**inputs: Tensor) -> Tensor:
    return _mlp_with(_reference_gelu)(**inputs)


MLP_FUNCTION = Exercise(
    id="04.mlp",
    function="mlp",
    points=2,
    reference=_reference_mlp,
    cases=_mlp_cases,
    compare=close(atol=1e-5, rtol=1e-4),
    diagnoses=(
        Diagnosis(N_("the MLP uses the exact (erf) GELU; GPT-2 uses the tanh approximation."),
                  _mlp_with(_exact_gelu)),
        Diagnosis(N_("the MLP uses ReLU; GPT-2 uses GELU."), _mlp_with(_relu)),
        Diagnosis(N_("the biases are not added (x @ W.T + b)."), _mlp_with(_reference_gelu,
                                                                       biases=False)),
        Diagnosis(N_("the second projection (c_proj, 4C -> C) is missing."),
                  _mlp_with(_reference_gelu, second_projection=False)),
        Diagnosis(N_("GELU is applied after c_proj too; it belongs only between the two layers."),
                  _mlp_with(_reference_gelu, gelu_at_end=True)),
        Diagnosis(MISSING_GELU, _mlp_with(_identity)),
        Diagnosis(N_("GELU comes after c_proj instead of between the layers: "
                     "c_proj(gelu(c_fc(x)))."), _gelu_last),
        Diagnosis(N_("c_fc_weight and c_proj_weight are swapped: the first layer is c_fc "
                     "(C -> 4C), x @ c_fc_weight.T; the second is c_proj (4C -> C)."),
                  _weights_swapped),
        Diagnosis(N_("c_fc_bias is not added: the first layer is x @ c_fc_weight.T + c_fc_bias, "
                     "and GELU comes after that sum."),
                  _mlp_with(_reference_gelu, fc_bias="none")),
        Diagnosis(N_("c_fc_bias is added after GELU; it belongs inside, before it: "
                     "gelu(x @ c_fc_weight.T + c_fc_bias)."),
                  _mlp_with(_reference_gelu, fc_bias="after")),
    ),
    error_hints=((("cannot be multiplied", LAYOUT_HINT),)),
)


# --- the MLP as a module ---------------------------------------------------------------------


def _module_cases(seed: int | None) -> list[Case]:
    def case(name: str, gen: torch.Generator, B: int, T: int, C: int) -> Case:
        w = _mlp_inputs(gen, B, T, C)
        state = {"c_fc.weight": w["c_fc_weight"], "c_fc.bias": w["c_fc_bias"],
                 "c_proj.weight": w["c_proj_weight"], "c_proj.bias": w["c_proj_bias"]}
        return Case(name, {"init": {"n_embd": C}, "state": state, "args": {"x": w["x"]}})

    if seed is None:
        return [case("n_embd=8, x of shape (2, 3, 8)", _gen(4), 2, 3, 8)]
    return [case("a hidden n_embd=12, x of shape (2, 4, 12)", _gen(seed + 1), 2, 4, 12)]


def _reference_module(init: dict, state: dict[str, Tensor], args: dict[str, Tensor]) -> Tensor:
    return _reference_mlp(x=args["x"], c_fc_weight=state["c_fc.weight"],
                          c_fc_bias=state["c_fc.bias"], c_proj_weight=state["c_proj.weight"],
                          c_proj_bias=state["c_proj.bias"])


def _module_with(activation):
    def variant(init: dict, state: dict[str, Tensor], args: dict[str, Tensor]) -> Tensor:
        return _mlp_with(activation)(
            x=args["x"], c_fc_weight=state["c_fc.weight"], c_fc_bias=state["c_fc.bias"],
            c_proj_weight=state["c_proj.weight"], c_proj_bias=state["c_proj.bias"])

    return variant


MLP_MODULE = Exercise(
    id="04.MLP",
    function="MLP",
    points=1,
    reference=_reference_module,
    cases=_module_cases,
    compare=close(atol=1e-5, rtol=1e-4),
    adapter="module",
    diagnoses=(
        Diagnosis(MISSING_GELU, _module_with(_identity)),
        Diagnosis(N_("the MLP uses ReLU; GPT-2 uses GELU."), _module_with(_relu)),
        Diagnosis(N_("the MLP uses the exact (erf) GELU; GPT-2 uses the tanh approximation."),
                  _module_with(_exact_gelu)),
    ),
    error_hints=(
        # Only unexpected keys (biases, a missing layer) are explained by error_kinds.
        ("Missing key(s) in state_dict", LAYER_NAMES),
        ("size mismatch for c_", N_(
            "a layer has the wrong shape: c_fc is nn.Linear(n_embd, 4 * n_embd), c_proj is "
            "nn.Linear(4 * n_embd, n_embd). nn.Linear stores its weight as (out, in).")),
    ),
)

EXERCISES = (GELU, MLP_FUNCTION, MLP_MODULE)

