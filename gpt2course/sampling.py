"""From logits to text: greedy, temperature, top-k, top-p, and the generation loop.

Every sampler works on the logits of the last position, shape ``(B, vocab_size)``.
Filters return logits with the tokens they drop set to ``-inf``, so softmax gives
them probability 0 and renormalises the rest.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

from .errors import InputError
from .model import GPT2


def apply_temperature(logits: Tensor, temperature: float) -> Tensor:
    """Divide logits (not probabilities) by T: T < 1 sharpens, T > 1 flattens."""
    if temperature <= 0:
        raise InputError(f"temperature must be > 0, got {temperature}; use greedy for T = 0.")
    return logits / temperature


def top_k_filter(logits: Tensor, k: int) -> Tensor:
    """Keep exactly the k largest logits per row (ties broken by position)."""
    if not isinstance(k, int) or k < 1:
        raise InputError(f"top_k must be a whole number >= 1, got {k!r}.")
    k = min(k, logits.size(-1))
    values, indices = torch.topk(logits, k, dim=-1)
    return torch.full_like(logits, float("-inf")).scatter(-1, indices, values)


def top_p_filter(logits: Tensor, p: float) -> Tensor:
    """Nucleus: keep the fewest most-likely tokens whose probabilities add up to >= p.

    The token that makes the sum cross p is kept; the most likely token always is.
    """
    if not 0.0 < p <= 1.0:
        raise InputError(f"top_p must be in (0, 1], got {p!r}.")
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = torch.softmax(sorted_logits, dim=-1)
    mass_before = torch.cumsum(probs, dim=-1) - probs  # mass of the tokens ranked above
    sorted_logits = sorted_logits.masked_fill(mass_before >= p, float("-inf"))
    return torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)


def next_token_probs(
    logits: Tensor,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> Tensor:
    """The distribution sampling draws from: temperature, then top-k, then top-p, then softmax."""
    logits = apply_temperature(logits.float(), temperature)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    return torch.softmax(logits, dim=-1)


def sample_next(
    logits: Tensor,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    greedy: bool = False,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Pick one next token per row of ``(B, vocab_size)`` logits; returns ``(B,)`` ids.

    Greedy (or temperature 0) takes the most likely token; otherwise draw from
    ``next_token_probs``, reproducibly when a seeded ``generator`` is given.
    """
    if greedy or temperature == 0:
        return logits.argmax(dim=-1)
    probs = next_token_probs(logits, temperature=temperature, top_k=top_k, top_p=top_p)
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)


@torch.inference_mode()
def generate_stream(
    model: GPT2,
    idx: Tensor,
    max_new_tokens: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    greedy: bool = False,
    generator: torch.Generator | None = None,
    use_cache: bool = True,
    stop_token: int | None = None,
) -> Iterator[Tensor]:
    """Yield each new ``(B,)`` column of token ids as soon as it is chosen (see ``generate``)."""
    if idx.dim() == 1:
        idx = idx.unsqueeze(0)
    if max_new_tokens < 0:
        raise InputError(f"max_new_tokens must be >= 0, got {max_new_tokens}.")
    if temperature < 0:
        raise InputError(f"temperature must be >= 0, got {temperature}.")
    n_ctx = model.config.n_positions
    cache = model.new_cache(idx.size(0)) if use_cache else None
    finished = torch.zeros(idx.size(0), dtype=torch.bool, device=idx.device)
    tokens = idx
    step_input = tokens[:, -n_ctx:]
    for _ in range(max_new_tokens):
        if cache is not None and cache.length + step_input.size(1) > n_ctx:
            # Positions are absolute, so a full cache cannot slide: from here on,
            # rerun the last n_ctx tokens each step, exactly as use_cache=False does.
            cache, step_input = None, tokens[:, -n_ctx:]
        logits, _ = model(step_input, cache=cache, last_only=True)
        nxt = sample_next(
            logits[:, -1, :], temperature=temperature, top_k=top_k, top_p=top_p,
            greedy=greedy, generator=generator,
        )
        if stop_token is not None:
            nxt = nxt.masked_fill(finished, stop_token)  # finished rows keep padding
            finished |= nxt == stop_token
        tokens = torch.cat([tokens, nxt[:, None]], dim=1)
        yield nxt
        if stop_token is not None and bool(finished.all()):
            return
        step_input = nxt[:, None] if cache is not None else tokens[:, -n_ctx:]


def generate(
    model: GPT2,
    idx: Tensor,
    max_new_tokens: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    greedy: bool = False,
    generator: torch.Generator | None = None,
    use_cache: bool = True,
    stop_token: int | None = None,
) -> Tensor:
    """Extend ``idx`` ``(B, T)`` by up to ``max_new_tokens`` tokens; returns ``(B, T + n)``.

    One token at a time: run the model, take the last position's logits, pick a
    token, append it, repeat. With ``use_cache`` each step feeds only the new token
    and reuses earlier keys and values. Generation stops early once every row has
    produced ``stop_token`` (e.g. 50256, ``<|endoftext|>``); finished rows are padded with it.
    """
    was_1d = idx.dim() == 1
    new = list(generate_stream(
        model, idx, max_new_tokens, temperature=temperature, top_k=top_k, top_p=top_p,
        greedy=greedy, generator=generator, use_cache=use_cache, stop_token=stop_token,
    ))
    idx2 = idx.unsqueeze(0) if was_1d else idx
    out = torch.cat([idx2, torch.stack(new, dim=1)], dim=1) if new else idx2
    return out.squeeze(0) if was_1d else out
