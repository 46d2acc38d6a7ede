"""``gpt2course download`` against a fake Hub on 127.0.0.1: everything comes through
``HF_ENDPOINT``, the Hub-built vocabulary is tiktoken's, and afterwards the course runs
from the cache alone."""

from __future__ import annotations

import hashlib
import json
import textwrap

import pytest
import tiktoken
from download_support import (
    REPO,
    course_env,
    hub_vocab_files,
    run,
    shakespeare_path,
    tiny_checkpoint,
)
from hub_server import FakeHub

from gpt2course import vocab
from gpt2course.cli import main
from gpt2course.data import CORPORA
from gpt2course.downloads import hub_vocab
from gpt2course.downloads.fetch import part_path

MIXED = [
    "Hello world! The robot must obey orders.",
    "def f(x):\n    return x ** 2  # square\n\n\tif x: pass",
    "机器学习是人工智能的一个分支。GPT-2 用字节级 BPE。",
    "emoji 🤖🎉👍🏽 and a flag 🇫🇷, café, naïve, Ωmega",
    "   leading spaces,    runs   of   spaces\n\n\n\r\n trailing   ",
    "numbers 1234567 3.14159 and 's 't 're 've 'll 'd contractions",
    "<|endoftext|> is text here, not the special token",
]


@pytest.fixture(scope="module")
def tiktoken_gpt2() -> tiktoken.Encoding:
    """tiktoken's own encoding, from ../shared (set by the root conftest.py)."""
    return tiktoken.get_encoding("gpt2")


@pytest.fixture(scope="module")
def hub_files(tiktoken_gpt2) -> dict[str, bytes]:
    vocab_json, merges_txt = hub_vocab_files(tiktoken_gpt2)
    config, weights = tiny_checkpoint()
    return {f"{REPO}/vocab.json": vocab_json, f"{REPO}/merges.txt": merges_txt,
            f"{REPO}/config.json": config, f"{REPO}/model.safetensors": weights,
            "/data/tinyshakespeare.txt": shakespeare_path().read_bytes()}


@pytest.fixture
def hub(hub_files):
    server = FakeHub(hub_files)
    yield server
    server.stop()


@pytest.fixture
def env(hub, tmp_path, monkeypatch):
    """This process and its children see only the fake Hub and empty caches."""
    values = course_env(tmp_path, HF_ENDPOINT=hub.url, GPT2COURSE_DATA_URL=f"{hub.url}/data")
    for name in list(__import__("os").environ):
        if name not in values:
            monkeypatch.delenv(name)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    vocab.gpt2_encoding.cache_clear()
    yield values
    vocab.gpt2_encoding.cache_clear()


def test_written_hub_files_are_gpt2s(hub_files):
    """The test's own writer gives the Hub's spelling (checked on known entries)."""
    entries = json.loads(hub_files[f"{REPO}/vocab.json"])
    assert entries["Ġthe"] == 262 and entries["Ċ"] == 198 and entries["Ġ"] == 220
    assert entries["<|endoftext|>"] == 50256 and len(entries) == 50257
    assert hub_files[f"{REPO}/merges.txt"].startswith(b"#version: 0.2\n\xc4\xa0 t\n")


def test_vocabulary_built_from_the_hub_equals_tiktoken(env, hub, tiktoken_gpt2):
    enc = vocab.gpt2_encoding()
    assert hub.gets("merges.txt") == [None] and hub.gets("vocab.json") == [None]
    for text in MIXED:
        assert enc.encode_ordinary(text) == tiktoken_gpt2.encode_ordinary(text), text
        assert enc.encode(text, allowed_special="all") == tiktoken_gpt2.encode(
            text, allowed_special="all")
        assert enc.decode(enc.encode_ordinary(text)) == text
    assert enc.encode("<|endoftext|>", allowed_special="all") == [50256]
    assert enc.n_vocab == 50257
    # Saved in the course's cache: the next process needs no network.
    saved = hub_vocab.vocab_path()
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == hub_vocab.RANKS_SHA256
    hub.stop()
    vocab.gpt2_encoding.cache_clear()
    again = vocab.gpt2_encoding()
    assert [again.encode_ordinary(t) for t in MIXED] == [enc.encode_ordinary(t) for t in MIXED]


@pytest.mark.slow
def test_download_then_everything_runs_without_network(env, hub, tmp_path):
    room = tmp_path / "classroom"
    out = run("-m", "gpt2course.cli", "download", "--to", str(room), env=env)
    assert out.returncode == 0, out.stderr
    assert f"Hub: {hub.url}" in out.stdout and str(room) in out.stdout
    for name in ("vocab/gpt2.tiktoken", "tinyshakespeare.txt",
                 f"hub/{REPO}/model.safetensors", f"hub/{REPO}/config.json"):
        assert (room / name).is_file(), name
    assert len(hub.gets("model.safetensors")) == 1
    hub.stop()  # from here on, nothing answers

    lab = {**env, "GPT2COURSE_CACHE_DIR": str(room)}
    gen = run("-m", "gpt2course.cli", "generate", "--model", "gpt2", "--prompt", "To be",
              "--max-new-tokens", "5", "--seed", "0", env=lab)
    assert gen.returncode == 0, gen.stderr
    assert gen.stdout.startswith("To be") and len(gen.stdout) > len("To be\n")

    notebook = textwrap.dedent("""
        import torch
        from gpt2course import generate, gpt2_encoding, load_pretrained
        from gpt2course.data import tiny_shakespeare
        from gpt2course.pretrained import course_model
        enc = gpt2_encoding()
        text = tiny_shakespeare()
        model, line = course_model(verbose=False)
        ids = torch.tensor([enc.encode(text[:40])])
        out = generate(model, ids, 3, greedy=True)
        print(len(text), out.shape[1] - ids.shape[1], line)
        print(load_pretrained("gpt2").config.n_embd)
    """)
    nb = run("-c", notebook, env=lab)
    assert nb.returncode == 0, nb.stderr
    first, second = nb.stdout.splitlines()
    assert first.startswith("1115394 3 Using OpenAI's GPT-2") and second == "16"


def test_cut_connection_resumes_with_a_range_request(env, hub, hub_files, monkeypatch):
    # http_get keeps what it has in whole chunks (10 MB); the test's file is 3 MB.
    monkeypatch.setattr("huggingface_hub.constants.DOWNLOAD_CHUNK_SIZE", 1 << 16)
    hub.cut_once.add(f"{REPO}/model.safetensors")
    assert main(["download"]) == 0
    size = len(hub_files[f"{REPO}/model.safetensors"])
    first, second = hub.gets("model.safetensors")  # exactly one retry
    start = int(second.removeprefix("bytes=").removesuffix("-"))  # whole chunks kept
    assert first is None and 0 < start <= size // 2
    got = (hub_vocab.cache_dir() / "hub" / REPO / "model.safetensors").read_bytes()
    assert got == hub_files[f"{REPO}/model.safetensors"]


def test_download_left_by_an_earlier_run_is_continued(env, hub, hub_files):
    body = hub_files[f"{REPO}/model.safetensors"]
    dest = hub_vocab.cache_dir() / "hub" / REPO / "model.safetensors"
    part = part_path(dest, hashlib.sha256(body).hexdigest())
    part.parent.mkdir(parents=True)
    part.write_bytes(body[:1000])  # as a Ctrl-C would leave it
    stale = part_path(dest, "0" * 64)
    stale.write_bytes(b"x" * 999)  # from an older version of the file: not continued
    assert main(["download"]) == 0
    assert hub.gets("model.safetensors") == ["bytes=1000-"]
    assert dest.read_bytes() == body and not part.exists() and not stale.exists()


def test_damaged_files_are_found_by_hash_and_fetched_again(env, hub, hub_files, capsys):
    assert main(["download"]) == 0
    cache = hub_vocab.cache_dir()
    weights = cache / "hub" / REPO / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte, same size
    weights.write_bytes(bytes(data))
    (cache / "tinyshakespeare.txt").write_text("First Citizen:\n")
    before = len(hub.log)
    assert main(["download"]) == 0
    fetched = [path for method, path, _ in hub.log[before:] if method == "GET"]
    assert sorted(fetched) == sorted([f"/{REPO}/resolve/main/model.safetensors",
                                      "/data/tinyshakespeare.txt"])
    assert weights.read_bytes() == hub_files[f"{REPO}/model.safetensors"]
    assert hashlib.sha256((cache / "tinyshakespeare.txt").read_bytes()).hexdigest() == \
        CORPORA["tinyshakespeare"].sha256


def test_a_mirror_serving_wrong_bytes_is_refused(env, hub, hub_files, capsys):
    hub.files[f"{REPO}/model.safetensors"] = b"x" * 100
    hub.files["/data/tinyshakespeare.txt"] = b"<html>rate limited</html>"
    assert main(["download", "--weights"]) == 2
    err = capsys.readouterr().err
    assert "tinyshakespeare.txt" in err and "wrong hash" in err and err.count("\n") == 1
    assert not (hub_vocab.cache_dir() / "tinyshakespeare.txt").exists()


def test_course_model_is_trained_once_into_the_folder(env, hub, tmp_path, monkeypatch):
    from functools import partial

    from gpt2course import pretrained
    from gpt2course.train import TrainConfig

    small = partial(TrainConfig, n_layer=1, n_head=2, n_embd=32, block_size=16, batch_size=4,
                    eval_batches=1, eval_interval=2, steps=2)
    monkeypatch.setattr(pretrained, "TrainConfig", small)
    room = tmp_path / "room"
    assert main(["download", "--weights", "--course-model", "--to", str(room)]) == 0
    weights = room / pretrained.SHAKESPEARE_FOLDER / "model.safetensors"
    stamp = weights.stat().st_mtime_ns
    assert main(["download", "--weights", "--course-model", "--to", str(room)]) == 0
    assert weights.stat().st_mtime_ns == stamp  # found, not trained again
    monkeypatch.setenv("GPT2COURSE_CACHE_DIR", str(room))
    monkeypatch.setenv("GPT2COURSE_NO_PRETRAINED", "1")
    hub.stop()
    model, line = pretrained.course_model(verbose=False)
    assert model.config.n_embd == 32 and "GPT2COURSE_NO_PRETRAINED is set" in line
    assert weights.stat().st_mtime_ns == stamp


def test_hub_files_that_disagree_or_are_not_gpt2s_are_refused(hub_files):
    from gpt2course.errors import DownloadError

    vocab_json, merges_txt = hub_files[f"{REPO}/vocab.json"], hub_files[f"{REPO}/merges.txt"]
    lines = merges_txt.split(b"\n")
    swapped = b"\n".join([lines[0], lines[2], lines[1], *lines[3:]])  # two merges reordered
    with pytest.raises(DownloadError, match="do not fit together"):
        hub_vocab.ranks_from_hub_files(vocab_json, swapped)
    with pytest.raises(DownloadError, match="do not fit together"):
        hub_vocab.ranks_from_hub_files(vocab_json, b"\n".join(lines[:-100]))
    # Consistent files of another vocabulary: the last merge dropped from both.
    ranks = hub_vocab.ranks_from_hub_files(vocab_json, merges_txt)
    del ranks[max(ranks, key=ranks.get)]
    with pytest.raises(DownloadError, match="is not GPT-2's"):
        hub_vocab.save_ranks(ranks)
