"""From logits to text: greedy, temperature, top-k, top-p, and the generation loop.

Every sampler works on the logits of the last position, shape ``(B, vocab_size)``.
Filters return logits with the tokens they drop set to ``-inf``, so softmax gives
them probability 0 and renormalises the rest.

The settings of one way of sampling (temperature, top-k, top-p, greedy, stop token)
live in one place, ``SamplingConfig``, checked once when it is made. ``sample_next``,
``generate_stream`` and ``generate`` take one (or the same settings as keywords,
which make one), so a bad value gets the same clear message wherever it enters.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import operator
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from .errors import InputError
from .i18n import tr
from .model import GPT2

# A running total of probabilities within this of p counts as reaching p (float
# rounding makes 0.5 + 0.3 come out as 0.79999995 or 0.80000001).
TOP_P_TOLERANCE = 1e-6


@dataclass(frozen=True)
class SamplingConfig:
    """How to pick each next token. Made once, checked once; fields are normalised.

    temperature: a finite number >= 0 (int, float, numpy or 0-d tensor); 0 (or -0.0)
        means greedy. Below 1 sharpens, above 1 flattens.
    top_k: None, or a whole number >= 1: sample among the k most likely tokens.
    top_p: None, or a number in (0, 1]: sample among the fewest most likely tokens
        whose probabilities reach p (see ``top_p_filter``).
    greedy: always take the most likely token (top_k and top_p then change nothing).
    stop_token: None, or a token id >= 0 that ends a row (e.g. 50256, ``<|endoftext|>``).

    Raises ``InputError`` saying what is allowed for any other value.
    """

    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    greedy: bool = False
    stop_token: int | None = None

    def __post_init__(self) -> None:
        temperature = as_real_number(self.temperature, "temperature")
        if math.isnan(temperature) or math.isinf(temperature) or temperature < 0:
            raise InputError(tr(
                "temperature must be a finite number >= 0 (0 means greedy), not {value!r}.",
                value=self.temperature))
        object.__setattr__(self, "temperature", temperature + 0.0)  # -0.0 becomes 0.0
        if self.top_k is not None:
            top_k = as_whole_number(self.top_k)
            if top_k is None or top_k < 1:
                raise InputError(tr(
                    "top_k must be None or a whole number >= 1 (e.g. 50), not {value!r}.",
                    value=self.top_k))
            object.__setattr__(self, "top_k", top_k)
        if self.top_p is not None:
            top_p = as_real_number(self.top_p, "top_p")
            if not 0.0 < top_p <= 1.0:  # also refuses NaN
                raise InputError(tr(
                    "top_p must be None or a number in (0, 1] (e.g. 0.9), not {value!r}.",
                    value=self.top_p))
            object.__setattr__(self, "top_p", top_p)
        if not isinstance(self.greedy, bool):
            raise InputError(tr("greedy must be True or False, not {value!r}.",
                                value=self.greedy))
        if self.stop_token is not None:
            stop = as_whole_number(self.stop_token)
            if stop is None or stop < 0:
                raise InputError(tr(
                    "stop_token must be None or a token id >= 0 (e.g. 50256), not {value!r}.",
                    value=self.stop_token))
            object.__setattr__(self, "stop_token", stop)

    @property
    def is_greedy(self) -> bool:
        """True when every step takes the most likely token (greedy or temperature 0)."""
        return self.greedy or self.temperature == 0

    @classmethod
    def of(cls, config: SamplingConfig | None = None, **settings: Any) -> SamplingConfig:
        """``config`` with ``settings`` (field names as keywords) changed; the default if both
        are empty. Unknown names are an ``InputError`` listing the known ones."""
        if config is not None and not isinstance(config, SamplingConfig):
            raise InputError(tr("expected a SamplingConfig, not {kind}.",
                                kind=type(config).__name__))
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(settings.keys() - names)
        if unknown:
            raise InputError(tr("unknown sampling setting(s) {unknown}; the settings are: {known}.",
                                unknown=", ".join(unknown), known=", ".join(sorted(names))))
        if config is None:
            return cls(**settings)
        return dataclasses.replace(config, **settings) if settings else config


def as_real_number(value: object, name: str) -> float:
    """A real number as a float: int, float, numpy scalar, one-element tensor; not bool."""
    if isinstance(value, Tensor) and value.numel() == 1 and not value.dtype.is_complex:
        value = value.item()
    if isinstance(value, bool) or type(value).__name__ == "bool_" \
            or not isinstance(value, numbers.Real):
        raise InputError(tr("{name} must be a number, not {value!r}.", name=name, value=value))
    return float(value)


def as_whole_number(value: object) -> int | None:
    """A whole number as an int (int, numpy integer, integer tensor), else None; not bool."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return None
    if isinstance(value, Tensor) and value.numel() == 1 and not value.dtype.is_floating_point:
        value = value.item()
    try:
        return operator.index(value)
    except TypeError:
        return None


def apply_temperature(logits: Tensor, temperature: float) -> Tensor:
    """Divide logits (not probabilities) by T > 0: T < 1 sharpens, T > 1 flattens.

    A T so small that a logit overflows gives ``inf``/``-inf`` entries; ``sample_next``
    and ``next_token_probs`` treat such a row as greedy. Raises ``InputError`` for T <= 0.
    """
    value = as_real_number(temperature, "temperature")
    if not (value > 0 and math.isfinite(value)):
        raise InputError(tr(
            "temperature must be a finite number > 0, got {value!r}; use greedy for T = 0.",
            value=temperature))
    return logits / value


def top_k_filter(logits: Tensor, k: int) -> Tensor:
    """Keep exactly the k largest logits per row (ties broken by position)."""
    k = SamplingConfig(top_k=k).top_k
    k = min(k, logits.size(-1))
    values, indices = torch.topk(logits, k, dim=-1)
    return torch.full_like(logits, float("-inf")).scatter(-1, indices, values)


def top_p_filter(logits: Tensor, p: float) -> Tensor:
    """Nucleus: keep the fewest most likely tokens whose probabilities reach ``p``.

    The rule (Holtzman et al. 2019, "The Curious Case of Neural Text Degeneration";
    the same as Hugging Face's ``TopPLogitsWarper``): sort the tokens by probability,
    most likely first (ties keep their order in the row); a token is kept when the
    tokens before it hold less than ``p``. The mass before a token is an exclusive
    running sum, and a mass within ``TOP_P_TOLERANCE`` (1e-6) of ``p`` counts as
    reaching it, so [.5, .3, .1, .1] with p = 0.8 keeps exactly 2. The most likely
    token is always kept. logits ``(..., V)`` -> ``(..., V)`` with dropped ones ``-inf``.
    """
    p = SamplingConfig(top_p=p).top_p
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True, stable=True)
    probs = torch.softmax(sorted_logits.double(), dim=-1)  # float64: exact enough for 1e-6
    # Not "cumsum - probs" in the comparison: that difference carries the rounding of
    # every later term. Sum the tokens before each one directly (exclusive cumsum).
    mass_before = torch.cat(
        [torch.zeros_like(probs[..., :1]), torch.cumsum(probs, dim=-1)[..., :-1]], dim=-1
    )
    drop = mass_before >= p - TOP_P_TOLERANCE
    drop[..., 0] = False  # always keep the most likely token
    sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
    return torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)


def _overflowed(logits: Tensor, scaled: Tensor) -> Tensor:
    """``(B,)`` rows where dividing by the temperature overflowed (so only argmax is meaningful)."""
    return (torch.isfinite(logits) & ~torch.isfinite(scaled)).any(dim=-1)


def next_token_probs(
    logits: Tensor, config: SamplingConfig | None = None, **settings: Any
) -> Tensor:
    """The distribution sampling draws from: temperature, then top-k, then top-p, then softmax.

    logits ``(B, V)`` -> probabilities ``(B, V)``. Settings as in ``SamplingConfig``
    (``temperature=``, ``top_k=``, ``top_p=``); greedy (or a temperature so small that
    the logits overflow) puts all the probability on the most likely token.
    """
    cfg = SamplingConfig.of(config, **settings)
    logits = logits.float()
    one_hot = torch.zeros_like(logits).scatter(-1, logits.argmax(-1, keepdim=True), 1.0)
    if cfg.is_greedy:
        return one_hot
    scaled = apply_temperature(logits, cfg.temperature)
    overflow = _overflowed(logits, scaled)
    scaled = torch.where(overflow[..., None], logits, scaled)  # such rows end up one-hot
    if cfg.top_k is not None:
        scaled = top_k_filter(scaled, cfg.top_k)
    if cfg.top_p is not None:
        scaled = top_p_filter(scaled, cfg.top_p)
    probs = torch.softmax(scaled, dim=-1)
    return torch.where(overflow[..., None], one_hot, probs)


def sample_next(
    logits: Tensor,
    config: SamplingConfig | None = None,
    *,
    generator: torch.Generator | None = None,
    **settings: Any,
) -> Tensor:
    """Pick one next token per row of ``(B, vocab_size)`` logits; returns ``(B,)`` ids.

    Greedy (or temperature 0, or a temperature so small that the logits overflow)
    takes the most likely token; otherwise draw from ``next_token_probs``,
    reproducibly when a seeded ``generator`` is given.
    """
    cfg = SamplingConfig.of(config, **settings)
    _check_generator(generator)
    if cfg.is_greedy:
        return logits.argmax(dim=-1)
    probs = next_token_probs(logits, cfg)
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)


def _check_generator(generator: object) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise InputError(tr(
            "generator must be None or a torch.Generator, e.g. "
            "torch.Generator().manual_seed(0), not {kind}.", kind=type(generator).__name__))


def check_max_new_tokens(max_new_tokens: object) -> int:
    steps = as_whole_number(max_new_tokens)
    if steps is None or steps < 0:
        raise InputError(tr("max_new_tokens must be a whole number >= 0, not {value!r}.",
                            value=max_new_tokens))
    return steps


@torch.inference_mode()
def generate_stream(
    model: GPT2,
    idx: Tensor,
    max_new_tokens: int,
    config: SamplingConfig | None = None,
    *,
    generator: torch.Generator | None = None,
    use_cache: bool = True,
    **settings: Any,
) -> Iterator[Tensor]:
    """Yield each new ``(B,)`` column of token ids as soon as it is chosen (see ``generate``)."""
    cfg = SamplingConfig.of(config, **settings)
    steps = check_max_new_tokens(max_new_tokens)
    _check_generator(generator)
    if cfg.stop_token is not None and cfg.stop_token >= model.config.vocab_size:
        raise InputError(tr("stop_token {stop} is not a token of this model (ids 0..{last}).",
                            stop=cfg.stop_token, last=model.config.vocab_size - 1))
    if isinstance(idx, Tensor) and idx.dim() == 1:
        idx = idx.unsqueeze(0)
    n_ctx = model.config.n_positions
    cache = model.new_cache(idx.size(0)) if use_cache else None
    finished = torch.zeros(idx.size(0), dtype=torch.bool, device=idx.device)
    tokens = idx
    step_input = tokens[:, -n_ctx:]
    for _ in range(steps):
        if cache is not None and cache.length + step_input.size(1) > n_ctx:
            # Positions are absolute, so a full cache cannot slide: from here on,
            # rerun the last n_ctx tokens each step, exactly as use_cache=False does.
            cache, step_input = None, tokens[:, -n_ctx:]
        logits, _ = model(step_input, cache=cache, last_only=True)
        nxt = sample_next(logits[:, -1, :], cfg, generator=generator)
        if cfg.stop_token is not None:
            nxt = nxt.masked_fill(finished, cfg.stop_token)  # finished rows keep padding
            finished |= nxt == cfg.stop_token
        tokens = torch.cat([tokens, nxt[:, None]], dim=1)
        yield nxt
        if cfg.stop_token is not None and bool(finished.all()):
            return
        step_input = nxt[:, None] if cache is not None else tokens[:, -n_ctx:]


def generate(
    model: GPT2,
    idx: Tensor,
    max_new_tokens: int,
    config: SamplingConfig | None = None,
    *,
    generator: torch.Generator | None = None,
    use_cache: bool = True,
    **settings: Any,
) -> Tensor:
    """Extend ``idx`` ``(B, T)`` by up to ``max_new_tokens`` tokens; returns ``(B, T + n)``.

    One token at a time: run the model, take the last position's logits, pick a
    token, append it, repeat. With ``use_cache`` each step feeds only the new token
    and reuses earlier keys and values. Sampling follows ``config`` (a ``SamplingConfig``)
    or the same settings given as keywords (``temperature=0.8, top_k=50, ...``).
    Generation stops early once every row has produced ``stop_token`` (e.g. 50256,
    ``<|endoftext|>``); finished rows are padded with it. Raises ``InputError`` for
    bad settings.
    """
    was_1d = isinstance(idx, Tensor) and idx.dim() == 1
    new = list(generate_stream(model, idx, max_new_tokens, config, generator=generator,
                               use_cache=use_cache, **settings))
    idx2 = idx.unsqueeze(0) if was_1d else idx
    out = torch.cat([idx2, torch.stack(new, dim=1)], dim=1) if new else idx2
    return out.squeeze(0) if was_1d else out
