"""The reference model on its own: shapes, parameter count, KV cache, clear errors."""

from __future__ import annotations

import pytest
import torch

from gpt2course import GPT2, GPT2Config, KVCache
from gpt2course.errors import InputError
from gpt2course.model import causal_mask

SMALL = GPT2Config(vocab_size=97, n_positions=32, n_embd=24, n_layer=2, n_head=3)


@pytest.fixture
def model():
    torch.manual_seed(0)
    return GPT2(SMALL).eval()


def test_gpt2_preset_has_124_439_808_parameters():
    assert GPT2(GPT2Config.from_preset("gpt2")).num_parameters() == 124_439_808


def test_presets():
    shapes = {name: (c.n_layer, c.n_head, c.n_embd) for name in
              ("gpt2", "gpt2-medium", "gpt2-large", "openai-community/gpt2-xl")
              for c in [GPT2Config.from_preset(name)]}
    assert list(shapes.values()) == [(12, 12, 768), (24, 16, 1024), (36, 20, 1280), (48, 25, 1600)]
    assert all(GPT2Config.from_preset(n).vocab_size == 50257 for n in ("gpt2", "gpt2-xl"))
    with pytest.raises(InputError, match="Unknown preset 'gpt3'"):
        GPT2Config.from_preset("gpt3")


def test_parameter_names_follow_the_hf_checkpoint(model):
    names = set(model.state_dict())
    for name in ("wte.weight", "wpe.weight", "h.0.ln_1.weight", "h.0.attn.c_attn.weight",
                 "h.0.attn.c_proj.bias", "h.1.ln_2.bias", "h.1.mlp.c_fc.weight",
                 "h.1.mlp.c_proj.weight", "ln_f.weight"):
        assert name in names
    assert not any("lm_head" in n for n in names)  # tied to wte


def test_head_is_tied_to_token_embeddings(model):
    idx = torch.tensor([[1, 2, 3]])
    with torch.no_grad():
        logits, _ = model(idx)
        model.wte.weight.mul_(2)
        logits2, _ = model(idx)
    assert not torch.allclose(logits, logits2)


def test_causal_mask_robot_must_obey_orders():
    mask = causal_mask(4)  # robot, must, obey, orders
    assert mask.tolist() == [
        [True, False, False, False],
        [True, True, False, False],
        [True, True, True, False],
        [True, True, True, True],
    ]
    assert causal_mask(2, offset=3).tolist() == [[True] * 4 + [False], [True] * 5]


def test_future_tokens_do_not_change_earlier_logits(model):
    idx = torch.randint(0, SMALL.vocab_size, (1, 10), generator=torch.Generator().manual_seed(1))
    changed = idx.clone()
    changed[0, 6:] = (changed[0, 6:] + 1) % SMALL.vocab_size
    with torch.no_grad():
        a, _ = model(idx)
        b, _ = model(changed)
    assert torch.allclose(a[:, :6], b[:, :6], atol=1e-6)
    assert not torch.allclose(a[:, 6:], b[:, 6:])


@pytest.mark.parametrize("chunks", [[1] * 12, [5, 1, 1, 5], [3, 4, 5], [12]])
def test_kv_cache_in_chunks_equals_one_full_pass(model, chunks):
    idx = torch.randint(0, SMALL.vocab_size, (2, 12), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        full, _ = model(idx)
        cache = model.new_cache(batch_size=2)
        pieces, start = [], 0
        for n in chunks:
            logits, _ = model(idx[:, start:start + n], cache=cache)
            pieces.append(logits)
            start += n
    assert cache.length == 12
    assert torch.allclose(torch.cat(pieces, dim=1), full, atol=1e-5)


def test_last_only_gives_the_last_position(model):
    idx = torch.randint(0, SMALL.vocab_size, (2, 7), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        full, _ = model(idx)
        last, _ = model(idx, last_only=True)
    assert last.shape == (2, 1, SMALL.vocab_size)
    assert torch.allclose(last[:, 0], full[:, -1], atol=1e-6)


def test_training_step_reduces_loss(model):
    model.train()
    idx = torch.randint(0, SMALL.vocab_size, (4, 16), generator=torch.Generator().manual_seed(4))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(5):
        _, loss = model(idx[:, :-1], targets=idx[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


@pytest.mark.parametrize(
    "idx, message",
    [
        (
            torch.tensor([[1, 2, 97]]),
            r"token id 97 is outside the vocabulary: ids must be in 0..96",
        ),
        (torch.tensor([[-1, 2]]), r"token id -1 is outside the vocabulary"),
        (torch.zeros(1, 33, dtype=torch.long), r"33 tokens do not fit: the context length"),
        (torch.tensor([1, 2, 3]), r"shape \(B, T\).*idx.unsqueeze\(0\)"),
        (torch.zeros(1, 0, dtype=torch.long), r"shape \(B, T\) with T >= 1"),
        (torch.tensor([[1.0, 2.0]]), r"integer token ids.*dtype torch.float32"),
        ([[1, 2, 3]], r"must be a tensor of integer token ids.*got list"),
    ],
)
def test_bad_input_gets_a_clear_error(model, idx, message):
    with pytest.raises(InputError, match=message):
        model(idx)


def test_cache_overflow_and_batch_mismatch_are_clear(model):
    cache = KVCache(SMALL, batch_size=1, max_len=4)
    model(torch.tensor([[1, 2, 3]]), cache=cache)
    with pytest.raises(InputError, match="5 tokens do not fit: the cache size is 4"):
        model(torch.tensor([[1, 2]]), cache=cache)
    with pytest.raises(InputError, match="cache was made for batch size 1, idx has 2"):
        model(torch.tensor([[1], [2]]), cache=cache)


def test_targets_must_match_idx(model):
    with pytest.raises(InputError, match="targets must have the same shape"):
        model(torch.tensor([[1, 2, 3]]), targets=torch.tensor([[1, 2]]))


@pytest.mark.parametrize("kwargs", [{"n_embd": 10, "n_head": 3}, {"n_layer": 0}, {"dropout": 1.5}])
def test_bad_config_is_clear(kwargs):
    with pytest.raises(InputError):
        GPT2Config(**kwargs)
