"""GPT-2's vocabulary access and the ``gpt2course`` command line."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from gpt2course import GPT2Config, generate, gpt2_encoding, load_pretrained
from gpt2course.cli import main

# Full GPT-2 vocabulary (so any prompt encodes), everything else tiny.
CLI_CONFIG = GPT2Config(n_positions=64, n_embd=16, n_layer=1, n_head=2)


def test_gpt2_encoding_is_tiktokens():
    enc = gpt2_encoding()
    assert enc.n_vocab == 50257
    assert enc.encode("Hello world") == [15496, 995]
    assert enc.encode("<|endoftext|>", allowed_special="all") == [50256]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gpt2course.cli", *args],
                          capture_output=True, text=True, timeout=120)


def test_help_lists_generate():
    out = cli("--help")
    assert out.returncode == 0
    assert "generate" in out.stdout
    assert main([]) == 0  # no command: prints help


@pytest.fixture
def model_dir(hf_checkpoint):
    path, _ = hf_checkpoint(CLI_CONFIG)
    return path


@pytest.mark.slow
def test_generate_streams_reproducible_text(model_dir):
    args = ["generate", "--model", str(model_dir), "--prompt", "The robot", "--max-new-tokens",
            "12", "--seed", "3", "--top-k", "40"]
    first, second = cli(*args), cli(*args)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("The robot")
    assert first.stdout == second.stdout
    assert len(first.stdout) > len("The robot\n")


def test_greedy_cli_text_is_the_greedy_tokens(model_dir):
    out = cli("generate", "--model", str(model_dir), "--prompt", "Hello", "--greedy",
              "--max-new-tokens", "8")
    enc = gpt2_encoding()
    tokens = generate(load_pretrained(model_dir), torch.tensor([enc.encode("Hello")]), 8,
                      greedy=True)[0].tolist()
    if 50256 in tokens:
        tokens = tokens[: tokens.index(50256)]
    assert out.stdout == enc.decode(tokens) + "\n"


@pytest.mark.parametrize("args, message", [
    (["--model", "no/such/dir"], "No such file or folder"),
    (["--top-k", "0"], "argument --top-k: must be a whole number from 1 to"),
    (["--top-p", "2"], "argument --top-p: must be a number in (0, 1]"),
    (["--max-new-tokens", "-3"], "argument --max-new-tokens: must be a whole number from 0"),
])
def test_generate_bad_input_is_one_clear_line(model_dir, args, message, capsys):
    model = [] if "--model" in args else ["--model", str(model_dir)]
    try:
        code = main(["generate", "--prompt", "Hi", *model, *args])
    except SystemExit as exit_:  # argparse refuses the value before anything runs
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("gpt2course generate: ")
    assert message in err


def test_prompt_outside_a_small_vocabulary_is_explained(hf_checkpoint, capsys):
    path, _ = hf_checkpoint(GPT2Config(vocab_size=100, n_positions=16, n_embd=8, n_layer=1,
                                       n_head=1), name="small-vocab")
    assert main(["generate", "--model", str(path), "--prompt", "Hello"]) == 2
    assert "this model knows 100 tokens" in capsys.readouterr().err


def test_errors_from_the_command_line_show_no_traceback(model_dir):
    out = cli("generate", "--model", str(model_dir / "missing"), "--prompt", "Hi")
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "Traceback" not in out.stderr
