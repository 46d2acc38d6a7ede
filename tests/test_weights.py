"""load_pretrained: local folders, bare files, the hub cache, clear errors for bad checkpoints."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import load_file, save_file

from gpt2course import GPT2Config, load_pretrained
from gpt2course.errors import CheckpointError
from gpt2course.weights import from_hf_state_dict, to_hf_state_dict

CONFIG = GPT2Config(vocab_size=61, n_positions=24, n_embd=32, n_layer=2, n_head=4)
IDX = torch.tensor([[5, 9, 60, 0, 17]])


@pytest.fixture
def checkpoint(hf_checkpoint):
    return hf_checkpoint(CONFIG)


def logits(model):
    with torch.no_grad():
        return model(IDX)[0]


def test_bare_safetensors_file_and_its_config(checkpoint, tmp_path):
    path, hf = checkpoint
    expected = hf(IDX).logits.detach()
    # a file with config.json beside it
    assert torch.allclose(logits(load_pretrained(path / "model.safetensors")), expected, atol=1e-5)
    # a file alone: the config is read off the shapes (heads of 64 dims assumed) ...
    alone = tmp_path / "alone" / "weights.safetensors"
    alone.parent.mkdir()
    shutil.copy(path / "model.safetensors", alone)
    with pytest.raises(CheckpointError, match="n_embd=32 is not a multiple of 64"):
        load_pretrained(alone)
    # ... or given by the caller
    assert torch.allclose(logits(load_pretrained(alone, config=CONFIG)), expected, atol=1e-5)


def test_round_trip_through_hf_layout(checkpoint, tmp_path):
    path, _ = checkpoint
    model = load_pretrained(path)
    state = to_hf_state_dict(model)
    assert state["h.0.attn.c_attn.weight"].shape == (32, 96)  # Conv1D: (in, out)
    save_file(state, tmp_path / "again.safetensors")
    again = load_pretrained(tmp_path / "again.safetensors", config=CONFIG)
    assert torch.equal(logits(again), logits(model))


def test_hub_id_loads_from_the_hub_cache_offline(checkpoint, tmp_path):
    """The real download path (hf_hub_download), served from a cache laid out as the hub's."""
    path, hf = checkpoint
    snapshot = tmp_path / "hub" / "models--openai-community--gpt2" / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        shutil.copy(path / name, snapshot / name)
    (snapshot.parent.parent / "refs").mkdir()
    (snapshot.parent.parent / "refs" / "main").write_text("a" * 40)
    torch.save(IDX, tmp_path / "idx.pt")
    code = f"""
        import torch
        from gpt2course import load_pretrained
        m = load_pretrained("gpt2")
        print(m.config.n_embd, m(torch.load({str(tmp_path / 'idx.pt')!r}))[0].sum().item())
    """
    out = _run(code, HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(tmp_path / "hub"))
    n_embd, total = out.stdout.split()
    assert out.returncode == 0, out.stderr
    assert int(n_embd) == 32
    assert abs(float(total) - hf(IDX).logits.sum().item()) < 1e-3


def test_hub_id_offline_and_not_cached_says_what_to_do(tmp_path):
    out = _run("""
        from gpt2course import load_pretrained
        from gpt2course.errors import DownloadError
        try:
            load_pretrained("gpt2-medium")
        except DownloadError as err:
            print(err)
    """, HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(tmp_path / "empty"),
        GPT2COURSE_CACHE_DIR=str(tmp_path / "course"))
    assert "openai-community/gpt2-medium/model.safetensors is not in the course's cache" \
        in out.stdout, out.stderr
    assert "`gpt2course download --weights gpt2-medium`" in out.stdout


@pytest.mark.parametrize("path", ["no/such/folder", "./missing", "missing.safetensors"])
def test_nonexistent_path(path):
    with pytest.raises(CheckpointError, match="No such file or folder"):
        load_pretrained(path)


def _rewrite(path, change):
    state = load_file(path / "model.safetensors")
    change(state)
    save_file({k: v.contiguous() for k, v in state.items()}, path / "model.safetensors")


def test_missing_tensor_is_named(checkpoint):
    path, _ = checkpoint
    _rewrite(path, lambda s: s.pop("transformer.h.1.mlp.c_fc.bias"))
    with pytest.raises(CheckpointError, match=r"missing tensors: h\.1\.mlp\.c_fc\.bias"):
        load_pretrained(path)


def test_unexpected_tensor_is_named(checkpoint):
    path, _ = checkpoint
    _rewrite(path, lambda s: s.update({"transformer.h.0.attn.extra": torch.zeros(3)}))
    with pytest.raises(CheckpointError, match=r"unexpected tensors: h\.0\.attn\.extra"):
        load_pretrained(path)


def test_wrong_shape_names_tensor_and_both_shapes(checkpoint):
    path, _ = checkpoint
    _rewrite(path, lambda s: s.update({"transformer.h.0.attn.c_attn.weight": torch.zeros(32, 90)}))
    with pytest.raises(CheckpointError) as err:
        load_pretrained(path)
    assert "h.0.attn.c_attn.weight: checkpoint (32, 90), model expects (32, 96)" in str(err.value)


def test_config_that_does_not_match_the_weights(checkpoint):
    path, _ = checkpoint
    config = json.loads((path / "config.json").read_text())
    config["n_layer"] = 3
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"(?s)missing tensors: h\.2\..*config.json belongs"):
        load_pretrained(path)


def test_untied_head_is_refused(checkpoint):
    path, _ = checkpoint
    _rewrite(path, lambda s: s.update({"lm_head.weight": torch.ones(61, 32)}))
    with pytest.raises(CheckpointError, match="lm_head.weight differs from wte.weight"):
        load_pretrained(path)


def test_known_buffers_are_skipped_and_fp16_is_widened(checkpoint):
    path, hf = checkpoint
    def change(state):
        for i in range(CONFIG.n_layer):
            state[f"transformer.h.{i}.attn.bias"] = torch.ones(1, 1, 24, 24).tril()
            state[f"transformer.h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
        for key in state:
            state[key] = state[key].half()
    _rewrite(path, change)
    model = load_pretrained(path)
    assert model.wte.weight.dtype == torch.float32
    assert torch.allclose(logits(model), hf(IDX).logits, atol=5e-2)


def test_folder_without_weights_and_corrupt_files(tmp_path):
    (tmp_path / "pytorch_model.bin").write_bytes(b"x")
    with pytest.raises(CheckpointError, match="has no model.safetensors.*pytorch_model.bin"):
        load_pretrained(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="Could not read .* as safetensors"):
        load_pretrained(tmp_path)
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(CheckpointError, match="not a .safetensors file"):
        load_pretrained(tmp_path / "notes.txt")


def test_unsupported_or_broken_config(checkpoint):
    path, _ = checkpoint
    config = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**config, "activation_function": "relu"}))
    with pytest.raises(CheckpointError, match="activation_function='relu'"):
        load_pretrained(path)
    (path / "config.json").write_text("{oops")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_pretrained(path)


def test_mapping_transposes_conv1d_weights_only():
    hf_state = {
        "transformer.h.0.attn.c_attn.weight": torch.zeros(4, 12),
        "transformer.h.0.attn.c_attn.bias": torch.zeros(12),
        "transformer.h.0.attn.bias": torch.zeros(1, 1, 8, 8),
        "transformer.wte.weight": torch.zeros(10, 4),
    }
    state = from_hf_state_dict(hf_state)
    assert {k: tuple(v.shape) for k, v in state.items()} == {
        "h.0.attn.c_attn.weight": (12, 4),
        "h.0.attn.c_attn.bias": (12,),
        "wte.weight": (10, 4),
    }


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
        env={**os.environ, **env}, timeout=120,
    )
