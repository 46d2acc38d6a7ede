"""Hugging Face GPT-2 checkpoints with random weights, for the tests that compare with HF."""

from __future__ import annotations

import torch


def randomize_(model: torch.nn.Module, seed: int) -> None:
    """Give every parameter random values, biases and LayerNorm included.

    Fresh models have zero biases and LayerNorm weights of one, which would hide
    bugs in how those are loaded or used.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen) * 0.02
            p.copy_(1.0 + noise * 5 if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight"))
                    else noise)


def write_hf_checkpoint(config, folder, seed: int = 0):
    """(folder written by GPT2LMHeadModel.save_pretrained, the HF model) for ``config``,
    with random weights of a realistic spread (``randomize_``)."""
    from transformers import GPT2Config as HFConfig
    from transformers import GPT2LMHeadModel
    from transformers.utils import logging

    logging.set_verbosity_error()
    torch.manual_seed(seed)
    hf = GPT2LMHeadModel(HFConfig(**config.to_hf_dict(), bos_token_id=0, eos_token_id=0))
    randomize_(hf, seed)
    hf.eval()
    hf.save_pretrained(folder)
    return folder, hf
