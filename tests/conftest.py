"""Shared fixtures. (Offline data locations are set in the checkout's root conftest.py.)"""

from __future__ import annotations

import pytest
import tiktoken
import torch

from gpt2course.data import tiny_shakespeare
from gpt2course.errors import DownloadError
from gpt2course.tokenizer import BPETokenizer
from gpt2course.vocab import gpt2_encoding


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


@pytest.fixture
def hf_checkpoint(tmp_path):
    """Factory: (config) -> (folder written by GPT2LMHeadModel.save_pretrained, the HF model)."""
    from transformers import GPT2Config as HFConfig
    from transformers import GPT2LMHeadModel
    from transformers.utils import logging

    logging.set_verbosity_error()

    def make(config, seed: int = 0, name: str = "ckpt"):
        torch.manual_seed(seed)
        hf = GPT2LMHeadModel(HFConfig(**config.to_hf_dict(), bos_token_id=0, eos_token_id=0))
        randomize_(hf, seed)
        hf.eval()
        path = tmp_path / name
        hf.save_pretrained(path)
        return path, hf

    return make


# --- the tokenizer tests' data (test_tokenizer*.py): skipped where it cannot be had -----------


@pytest.fixture(scope="session")
def tik() -> tiktoken.Encoding:
    """tiktoken's GPT-2 encoding."""
    try:
        return gpt2_encoding()
    except DownloadError as err:
        pytest.skip(f"GPT-2's BPE files are not available offline: {err}")


@pytest.fixture(scope="session")
def gpt2(tik: tiktoken.Encoding) -> BPETokenizer:
    """The reference BPE tokenizer with GPT-2's table."""
    return BPETokenizer.from_tiktoken("gpt2")


@pytest.fixture(scope="session")
def shakespeare() -> str:
    """Tiny Shakespeare's text."""
    try:
        return tiny_shakespeare()
    except DownloadError as err:
        pytest.skip(f"Tiny Shakespeare is not on this machine and cannot be downloaded: {err}")
