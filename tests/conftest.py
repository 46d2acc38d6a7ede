"""Shared fixtures. (Offline data locations are set in the checkout's root conftest.py.)"""

from __future__ import annotations

import pytest
import tiktoken
from hf_support import write_hf_checkpoint

from gpt2course.data import tiny_shakespeare
from gpt2course.errors import DownloadError
from gpt2course.tokenizer import BPETokenizer
from gpt2course.vocab import gpt2_encoding


@pytest.fixture
def hf_checkpoint(tmp_path):
    """Factory: (config) -> (folder written by GPT2LMHeadModel.save_pretrained, the HF model)."""

    def make(config, seed: int = 0, name: str = "ckpt"):
        return write_hf_checkpoint(config, tmp_path / name, seed)

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
