"""Lesson 04, the MLP: GELU, the feed-forward function, and the MLP as a module.

The reference is imported inside functions only: this module is also loaded by the
registry in processes where ``gpt2course.model`` must stay unimported.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .core import Case, Diagnosis, Exercise, close

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


GELU = Exercise(
    id="04.gelu",
    function="gelu",
    points=1,
    reference=_reference_gelu,
    cases=_gelu_cases,
    compare=close(atol=1e-5, rtol=1e-4),
    diagnoses=(
        Diagnosis("this is the exact (erf) GELU; GPT-2 uses the tanh approximation.",
                  _exact_gelu),
        Diagnosis("this is ReLU (max(0, x)); GELU is smooth and lets small negatives through.",
                  _relu),
        Diagnosis("the 0.044715 * x**3 term inside tanh is missing.", _gelu_without_cube),
        Diagnosis("this is the sigmoid approximation x * sigmoid(1.702 x), not the tanh one.",
                  _sigmoid_gelu),
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
              gelu_at_end: bool = False):
    """The MLP with one thing changed: how the diagnoses are built."""

    def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):
        h = activation(F.linear(x, c_fc_weight, c_fc_bias if biases else None))
        if not second_projection:
            return h
        out = F.linear(h, c_proj_weight, c_proj_bias if biases else None)
        return activation(out) if gelu_at_end else out

    return mlp


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
        Diagnosis("the MLP uses the exact (erf) GELU; GPT-2 uses the tanh approximation.",
                  _mlp_with(_exact_gelu)),
        Diagnosis("the MLP uses ReLU; GPT-2 uses GELU.", _mlp_with(_relu)),
        Diagnosis("the biases are not added (x @ W.T + b).", _mlp_with(_reference_gelu,
                                                                       biases=False)),
        Diagnosis("the second projection (c_proj, 4C -> C) is missing.",
                  _mlp_with(_reference_gelu, second_projection=False)),
        Diagnosis("GELU is applied after c_proj too; it belongs only between the two layers.",
                  _mlp_with(_reference_gelu, gelu_at_end=True)),
    ),
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


MLP_MODULE = Exercise(
    id="04.MLP",
    function="MLP",
    points=1,
    reference=_reference_module,
    cases=_module_cases,
    compare=close(atol=1e-5, rtol=1e-4),
    adapter="module",
)

EXERCISES = (GELU, MLP_FUNCTION, MLP_MODULE)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)
