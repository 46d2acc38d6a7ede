"""``gpt2course doctor`` reports, for each download, where it comes from, whether and
where it is cached, and the one command that fixes a missing piece."""

from __future__ import annotations

import io

import pytest
import tiktoken

from gpt2course.doctor import run_doctor
from gpt2course.downloads import hub_vocab


def report(probe=lambda url: False) -> tuple[int, str]:
    out = io.StringIO()
    code = run_doctor(out, probe=probe)
    return code, out.getvalue()


def lines_about(text: str, what: str) -> list[str]:
    return [line for line in text.splitlines() if line[10:].startswith(what)]


@pytest.fixture
def empty(tmp_path, monkeypatch):
    """No cache anywhere (the probe decides whether the network answers)."""
    for name in ("GPT2COURSE_DATA_DIR", "GPT2COURSE_DATA_URL", "HF_ENDPOINT", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tk"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("GPT2COURSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GPT2COURSE_LANG", "en")
    return tmp_path / "cache"


def test_ready_machine_reports_ok_and_exits_0():
    code, text = report()
    assert code == 0, text
    assert "[  ok   ] GPT-2 vocabulary: in tiktoken's cache" in text
    assert "[  ok   ] Tiny Shakespeare: cached in " in text
    assert "All set" in text


def test_unreachable_hub_suggests_a_mirror_in_each_shell(empty):
    code, text = report()
    [hub] = lines_about(text, "Hugging Face Hub")
    assert "https://huggingface.co (the default) cannot be reached" in hub
    assert "export HF_ENDPOINT=https://your-mirror.example" in hub
    assert '$env:HF_ENDPOINT="https://your-mirror.example"' in hub
    assert "set HF_ENDPOINT=https://your-mirror.example" in hub


def test_missing_pieces_name_their_fix(empty):
    code, text = report()
    assert code == 1
    [vocab_line] = lines_about(text, "GPT-2 vocabulary")
    assert vocab_line.startswith("[missing]") and "`gpt2course download`" in vocab_line
    assert "HF_ENDPOINT" in vocab_line
    [data_line] = lines_about(text, "Tiny Shakespeare")
    assert data_line.startswith("[missing]") and "GPT2COURSE_DATA_URL" in data_line
    [weights] = lines_about(text, "GPT-2 weights")
    assert weights.startswith("[ note  ]") and "optional" in weights
    [model] = lines_about(text, "course's Shakespeare GPT-2")
    assert "`gpt2course download --course-model`" in model
    assert "2 thing(s) to fix" in text


def test_a_reachable_mirror_is_named_and_used(empty, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "https://your-mirror.example/")
    code, text = report(probe=lambda url: url.startswith("https://your-mirror.example"))
    [hub] = lines_about(text, "Hugging Face Hub")
    assert hub == ("[  ok   ] Hugging Face Hub: https://your-mirror.example (set by HF_ENDPOINT) "
                   "is reachable")
    [vocab_line] = lines_about(text, "GPT-2 vocabulary")
    assert vocab_line.startswith("[ note  ]")
    assert "it comes from https://your-mirror.example on first use" in vocab_line


@pytest.fixture(scope="module")
def gpt2_ranks() -> dict[bytes, int]:
    """tiktoken's GPT-2 ranks, read before a test empties the caches."""
    enc = tiktoken.get_encoding("gpt2")
    return {enc.decode_single_token_bytes(i): i for i in range(enc.n_vocab - 1)}


def test_cached_pieces_say_where(gpt2_ranks, empty):
    hub_vocab.save_ranks(gpt2_ranks)
    weights = empty / "hub" / "openai-community" / "gpt2"
    weights.mkdir(parents=True)
    (weights / "model.safetensors").write_bytes(b"x")
    (weights / "config.json").write_text("{}")
    code, text = report()
    assert f"[  ok   ] GPT-2 vocabulary: cached in {empty / 'vocab' / 'gpt2.tiktoken'}" in text
    assert f"[  ok   ] GPT-2 weights (124M): cached in {weights}" in text
