"""GPT-2-shaped weights with every value random, the same on every machine for a seed.

A fresh model has zero biases and LayerNorm weights of one, which would hide a bias
or a LayerNorm weight that a learner never uses. These weights have neither. The
lessons run the learner's pieces on such a model of GPT-2's real shape, and the
checks draw their cases from them.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .config import GPT2Config
from .model import GPT2


def random_state(
    config: GPT2Config,
    generator: torch.Generator,
    *,
    embedding_std: float = 0.02,
    weight_std: float | None = None,
    bias_std: float = 0.1,
) -> dict[str, Tensor]:
    """A state dict with the reference GPT-2's names and shapes, every value random.

    Linear weights have std ``weight_std``, or ``1 / sqrt(in)`` when it is None so
    that every layer's output is of size about 1. LayerNorm weights are near 1.
    """
    with torch.device("meta"):  # only the names and shapes: no memory, no time
        shapes = {k: v.shape for k, v in GPT2(config).state_dict().items()}
    state = {}
    for name, shape in shapes.items():
        noise = torch.randn(shape, generator=generator)
        if name in ("wte.weight", "wpe.weight"):
            state[name] = noise * embedding_std
        elif ".ln_" in name or name.startswith("ln_"):
            state[name] = 1.0 + 0.2 * noise if name.endswith("weight") else 0.2 * noise
        elif name.endswith("bias"):
            state[name] = bias_std * noise
        else:  # a Linear weight (out, in)
            state[name] = noise * (weight_std or 1 / math.sqrt(shape[1]))
    return state


def random_gpt2(config: GPT2Config | None = None, seed: int = 0) -> GPT2:
    """The reference GPT-2 (124M shape unless ``config`` says otherwise), every weight random.

    Weights, embeddings and biases are N(0, 0.02), GPT-2's own scale; the same
    ``seed`` gives the same model everywhere.
    """
    config = config or GPT2Config.from_preset("gpt2")
    state = random_state(config, torch.Generator().manual_seed(seed),
                         weight_std=0.02, bias_std=0.02)
    with torch.device("meta"):
        model = GPT2(config)
    model = model.to_empty(device="cpu")  # keeps each weight's memory layout
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(state[name])
    return model.eval()
