"""With nothing reachable and nothing cached, each command and entry point says in one
line what to do (exit code 2 on the command line), and leaves no half files behind."""

from __future__ import annotations

import socket
import textwrap

import pytest
from download_support import course_env, run


@pytest.fixture(scope="module")
def dead_url() -> str:
    """An address on 127.0.0.1 where nothing listens (connection refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def env(tmp_path, dead_url):
    return course_env(tmp_path, HF_ENDPOINT=dead_url, GPT2COURSE_DATA_URL=f"{dead_url}/data")


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("args", [
    ["download"],
    ["download", "--weights", "gpt2-medium", "--to", "ROOM"],
    ["generate", "--model", "gpt2", "--prompt", "Hi"],
    ["generate", "--model", "gpt2-medium", "--prompt", "Hi"],
])
def test_each_command_gives_one_line_with_the_fix(env, dead_url, args, tmp_path):
    args = [str(tmp_path / "room") if a == "ROOM" else a for a in args]
    out = run("-m", "gpt2course.cli", *args, env=env)
    assert out.returncode == 2, out.stdout + out.stderr
    line = one_line(out.stderr)
    assert line.startswith(f"gpt2course {args[0]}: ")
    assert f"HF_ENDPOINT={dead_url} is a working Hugging Face mirror" in line
    # The vocabulary is missing first: the fix is plain `gpt2course download`.
    assert "`gpt2course download`" in line and "GPT2COURSE_CACHE_DIR" in line
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert leftovers == [], leftovers


def test_without_a_mirror_the_advice_is_to_set_one(env, dead_url):
    """huggingface.co unreachable (here: HF_HUB_OFFLINE keeps the test off the network)."""
    del env["HF_ENDPOINT"]
    out = run("-m", "gpt2course.cli", "generate", "--model", "gpt2", "--prompt", "Hi",
              env={**env, "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 2
    line = one_line(out.stderr)
    assert "HF_HUB_OFFLINE is set" in line and "`gpt2course download`" in line


def test_library_calls_raise_one_line_download_errors(env, dead_url):
    code = textwrap.dedent("""
        from gpt2course import gpt2_encoding
        from gpt2course.data import tiny_shakespeare
        from gpt2course.errors import DownloadError
        for load in (gpt2_encoding, tiny_shakespeare):
            try:
                load()
            except DownloadError as err:
                print(err)
    """)
    out = run("-c", code, env=env)
    assert out.returncode == 0, out.stderr
    vocab_line, data_line = out.stdout.splitlines()
    assert f"Could not reach the Hugging Face Hub at {dead_url}" in vocab_line
    assert "`gpt2course download`" in vocab_line
    assert f"Could not download tinyshakespeare.txt from {dead_url}/data/" in data_line
    assert "GPT2COURSE_DATA_URL" in data_line and "GPT2COURSE_DATA_DIR" in data_line


def test_doctor_names_each_fix(env, dead_url):
    out = run("-m", "gpt2course.cli", "doctor", env=env)
    assert out.returncode == 1, out.stderr
    missing = [line for line in out.stdout.splitlines() if line.startswith("[missing]")]
    assert [line.split(":")[0] for line in missing] == ["[missing] GPT-2 vocabulary",
                                                         "[missing] Tiny Shakespeare"]
    assert all("gpt2course download" in line for line in missing)


def test_weights_already_in_hugging_faces_cache_are_copied_not_downloaded(env, tmp_path):
    """An instructor with GPT-2 in ~/.cache/huggingface fills a classroom folder offline."""
    import hashlib
    import os

    from download_support import shakespeare_path, tiny_checkpoint

    from gpt2course.vocab import tiktoken_cache_dir

    config, weights = tiny_checkpoint()
    repo = tmp_path / "hf-empty" / "models--openai-community--gpt2"
    commit = "c" * 40
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "blobs").mkdir()
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    for name, body, etag in (
        ("model.safetensors", weights, hashlib.sha256(weights).hexdigest()),
        ("config.json", config, hashlib.sha1(b"blob %d\0" % len(config) + config).hexdigest()),
    ):
        (repo / "blobs" / etag).write_bytes(body)
        os.symlink(f"../../blobs/{etag}", repo / "snapshots" / commit / name)
    # The vocabulary and the data from wherever this machine has them (not under test here).
    env = {**env, "TIKTOKEN_CACHE_DIR": str(tiktoken_cache_dir() or ""),
           "GPT2COURSE_DATA_DIR": str(shakespeare_path().parent)}
    room = tmp_path / "room"
    out = run("-m", "gpt2course.cli", "download", "--to", str(room), env=env)
    assert out.returncode == 0, out.stderr
    copied = room / "hub" / "openai-community" / "gpt2"
    assert (copied / "model.safetensors").read_bytes() == weights
    assert not (copied / "model.safetensors").is_symlink()
    assert (copied / "config.json").read_bytes() == config
