"""Files for the fake Hub of the download tests: a tiny GPT-2 and GPT-2's real vocabulary
written as the Hub's ``vocab.json`` + ``merges.txt`` from tiktoken's ranks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import safetensors.torch
import tiktoken
import torch

from gpt2course import GPT2, GPT2Config
from gpt2course.weights import to_hf_state_dict

REPO = "openai-community/gpt2"
# The full vocabulary (so any text encodes), everything else tiny.
TINY = GPT2Config(n_positions=64, n_embd=16, n_layer=1, n_head=2)


def gpt2_unicode() -> dict[int, str]:
    """OpenAI's ``bytes_to_unicode`` (GPT-2's encoder.py), written out here on purpose so
    the test does not take the table from the code under test."""
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
          + list(range(ord("®"), ord("ÿ") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs), strict=True))


def hub_vocab_files(enc: tiktoken.Encoding) -> tuple[bytes, bytes]:
    """(vocab.json, merges.txt) holding ``enc``'s ranks, as the Hub stores GPT-2's."""
    ranks = {enc.decode_single_token_bytes(i): i for i in range(enc.n_vocab - 1)}
    table = gpt2_unicode()

    def spell(token: bytes) -> str:
        return "".join(table[b] for b in token)

    vocab = {spell(t): r for t, r in ranks.items()} | {"<|endoftext|>": enc.n_vocab - 1}
    merges = ["#version: 0.2"]
    for token, rank in sorted(ranks.items(), key=lambda item: item[1]):
        if rank >= 256:
            left, right = _last_merge(token, ranks, rank)
            merges.append(f"{spell(left)} {spell(right)}")
    return json.dumps(vocab, ensure_ascii=False).encode(), ("\n".join(merges) + "\n").encode()


def _last_merge(token: bytes, ranks: dict[bytes, int], rank: int) -> tuple[bytes, bytes]:
    """The pair whose merge made ``token``: BPE on its bytes with the merges before it."""
    parts = [bytes([b]) for b in token]
    while len(parts) > 2:
        pairs = [(ranks.get(parts[i] + parts[i + 1], rank), i) for i in range(len(parts) - 1)]
        best, i = min(pairs)
        assert best < rank, token
        parts[i:i + 2] = [parts[i] + parts[i + 1]]
    return parts[0], parts[1]


def tiny_checkpoint(seed: int = 0) -> tuple[bytes, bytes]:
    """(config.json, model.safetensors) of a tiny random GPT-2 with GPT-2's vocabulary."""
    torch.manual_seed(seed)
    weights = safetensors.torch.save(to_hf_state_dict(GPT2(TINY)))
    return json.dumps(TINY.to_hf_dict()).encode(), weights


def shakespeare_path() -> Path:
    """A checked copy of Tiny Shakespeare, wherever this machine keeps it (the course's
    own lookup: GPT2COURSE_DATA_DIR, the cache, or a download)."""
    from gpt2course.data import corpus_path

    return corpus_path("tinyshakespeare")


# Variables that would let a run find files elsewhere than where the test put them.
CLEARED = ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR", "GPT2COURSE_DATA_DIR",
           "GPT2COURSE_DATA_URL", "GPT2COURSE_NO_PRETRAINED", "GPT2COURSE_CACHE_DIR",
           "HF_ENDPOINT", "HF_HUB_OFFLINE", "HF_HOME", "HF_HUB_CACHE", "HTTP_PROXY",
           "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def course_env(tmp: Path, **extra: str) -> dict[str, str]:
    """A copy of this environment with empty caches under ``tmp`` and ``extra`` set."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(TIKTOKEN_CACHE_DIR=str(tmp / "tiktoken-empty"), HF_HUB_CACHE=str(tmp / "hf-empty"),
               GPT2COURSE_CACHE_DIR=str(tmp / "course-cache"), NO_PROXY="127.0.0.1,localhost",
               HF_HUB_DISABLE_TELEMETRY="1", GPT2COURSE_LANG="en")
    env.update(extra)
    return env


def run(*args: str, env: dict[str, str], timeout: int = 180) -> subprocess.CompletedProcess:
    """Run ``python *args`` in ``env``; output as text."""
    return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          env=env, timeout=timeout)
