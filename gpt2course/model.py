"""The reference GPT-2: the model every check and the grader compare against.

It is OpenAI's GPT-2 as "The Illustrated GPT-2" draws it: token and position
embeddings, a stack of decoder blocks (masked self-attention, then an MLP, each
after a LayerNorm and inside a residual), a final LayerNorm, and a head that
reuses the token embedding matrix. Parameter names equal the Hugging Face
checkpoint's (``wte``, ``h.0.attn.c_attn``, ``ln_f``, ...), so loading OpenAI's
weights is a plain mapping (see ``weights.py``).

Shapes: B = batch size, T = tokens, C = n_embd, nh = n_head, hs = C // nh.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import GPT2Config
from .errors import InputError
from .i18n import tr


def gelu(x: Tensor) -> Tensor:
    """GPT-2's GELU: the tanh approximation, not the exact erf form."""
    return F.gelu(x, approximate="tanh")


def causal_mask(T: int, *, offset: int = 0, device: torch.device | None = None) -> Tensor:
    """Which keys each query may look at: ``(T, offset + T)`` bools, True = allowed.

    Query i is the token at position ``offset + i``; it may see every key at a
    position <= its own and none after it. With offset 0 this is the lower
    triangle: in "robot must obey orders", "must" sees "robot" and "must" only.
    """
    return torch.ones(T, offset + T, dtype=torch.bool, device=device).tril(diagonal=offset)


def use_conv1d_layout(linear: nn.Linear) -> None:
    """Store ``linear.weight`` in memory as ``(in, out)``, while it still looks ``(out, in)``.

    This is how OpenAI's checkpoint stores it. It is also faster: when decoding,
    one token's vector meets each weight matrix, and this layout reads memory in
    order (about 20% faster on a CPU than PyTorch's default layout).
    """
    linear.weight = nn.Parameter(linear.weight.detach().t().contiguous().t())


class KVCache:
    """Keys and values of the tokens seen so far, one slot per layer.

    When generating, each new token only needs its own query; the keys and values
    of earlier tokens do not change, so we keep them instead of recomputing them.
    ``keys[layer]`` is ``(B, nh, max_len, hs)``; the first ``length`` positions are filled.
    """

    def __init__(
        self,
        config: GPT2Config,
        batch_size: int = 1,
        max_len: int | None = None,
        *,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        self.max_len = max_len or config.n_positions
        shape = (batch_size, config.n_head, self.max_len, config.head_size)
        layers = range(config.n_layer)
        self.keys = [torch.zeros(shape, dtype=dtype, device=device) for _ in layers]
        self.values = [torch.zeros(shape, dtype=dtype, device=device) for _ in layers]
        self.length = 0

    def store(self, layer: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Append this step's ``(B, nh, T, hs)`` keys and values; return all of them so far."""
        end = self.length + k.size(2)
        keys, values = self.keys[layer][:, :, :end], self.values[layer][:, :, :end]
        keys[:, :, self.length :] = k
        values[:, :, self.length :] = v
        return keys, values


class CausalSelfAttention(nn.Module):
    """Multi-head masked self-attention.

    Every token makes a query ("what am I looking for?"), a key (its label) and a
    value (what it hands over). A token's output is the values of the tokens it
    may see, weighted by softmax(query . key / sqrt(hs)).
    """

    def __init__(self, config: GPT2Config) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.dropout = config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)  # q, k, v in one matmul
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)  # mixes the heads back together
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x: Tensor, cache: KVCache | None = None, layer: int = 0) -> Tensor:
        B, T, C = x.shape
        # (B, T, 3C) -> 3 x (B, nh, T, hs): each head attends on its own slice of C
        q, k, v = self.c_attn(x).view(B, T, 3, self.n_head, C // self.n_head).permute(2, 0, 3, 1, 4)
        start = 0
        if cache is not None:
            start = cache.length
            k, v = cache.store(layer, k, v)  # now (B, nh, start + T, hs)
        if T == 1:
            mask, is_causal = None, False  # one new token may see everything before it
        elif start == 0:
            mask, is_causal = None, True
        else:
            mask, is_causal = causal_mask(T, offset=start, device=x.device), False
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=is_causal,
            dropout_p=self.dropout if self.training else 0.0,
        )
        y = y.transpose(1, 2).reshape(B, T, C)  # heads side by side again
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    """Position-wise feed-forward: C -> 4C -> C (768 -> 3072 -> 768 in GPT-2 small)."""

    def __init__(self, config: GPT2Config) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.c_proj(gelu(self.c_fc(x))))


class Block(nn.Module):
    """One decoder block, pre-LN: x + attn(ln_1(x)), then x + mlp(ln_2(x))."""

    def __init__(self, config: GPT2Config) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.mlp = MLP(config)

    def forward(self, x: Tensor, cache: KVCache | None = None, layer: int = 0) -> Tensor:
        x = x + self.attn(self.ln_1(x), cache, layer)
        return x + self.mlp(self.ln_2(x))


class GPT2(nn.Module):
    """GPT-2 language model: token ids ``(B, T)`` -> next-token logits ``(B, T, vocab_size)``."""

    def __init__(self, config: GPT2Config) -> None:
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)  # token embeddings
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)  # position embeddings
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        # No lm_head parameter: the head is tied to wte (logits = x @ wte.weight.T).
        # A model built on the meta device (shapes only: to count parameters, or to load
        # weights into) has no values to set, and torch's meta normal_ runs in Python:
        # 0.3 s per 124M model.
        values = not self.wte.weight.is_meta
        if values:
            self.apply(self._init_weights)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                use_conv1d_layout(module)
        if values:
            # Residual projections start smaller, by 1/sqrt(2 * n_layer), so the residual
            # stream does not grow with depth (two additions per block).
            for block in self.h:
                for proj in (block.attn.c_proj, block.mlp.c_proj):
                    nn.init.normal_(proj.weight, mean=0.0,
                                    std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        """GPT-2's initialisation: weights N(0, 0.02), biases 0, LayerNorm 1 and 0."""
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(
        self,
        idx: Tensor,
        targets: Tensor | None = None,
        *,
        cache: KVCache | None = None,
        last_only: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """Return ``(logits, loss)``; ``loss`` is None unless ``targets`` is given.

        idx: ``(B, T)`` token ids. targets: ``(B, T)`` next-token ids (-100 = ignore).
        cache: a ``KVCache`` to read earlier tokens from and append these to.
        last_only: compute logits for the last position only (all that sampling needs).
        """
        x = self.hidden_states(idx, cache=cache)
        if last_only:
            x = x[:, -1:, :]
        logits = F.linear(x, self.wte.weight)  # tied head: (B, T, vocab_size)
        loss = None
        if targets is not None:
            if targets.shape != idx.shape or last_only:
                raise InputError(tr(
                    "targets must have the same shape as idx {shape}, got {got} (and last_only "
                    "must be False).", shape=tuple(idx.shape), got=tuple(targets.shape)))
            loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-100)
        return logits, loss

    def hidden_states(self, idx: Tensor, *, cache: KVCache | None = None) -> Tensor:
        """The final hidden states, after ``ln_f``: token ids ``(B, T)`` -> ``(B, T, C)``.

        Everything but the head: embeddings, the blocks, the final LayerNorm. ``forward``
        applies the tied head to it; training's ``PresentTokensLoss`` applies a head over
        fewer tokens. cache: as in ``forward`` (read from and appended to).
        Raises ``InputError`` for ids that are not ``(B, T)`` integers in the vocabulary,
        or more tokens than the context (or cache) holds.
        """
        start = cache.length if cache is not None else 0
        self._check_input(idx, start, cache)
        B, T = idx.shape
        pos = torch.arange(start, start + T, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))  # (B, T, C); positions broadcast over B
        for layer, block in enumerate(self.h):
            x = block(x, cache, layer)
        if cache is not None:
            cache.length += T
        return self.ln_f(x)

    def _check_input(self, idx: Tensor, start: int, cache: KVCache | None) -> None:
        cfg = self.config
        if not isinstance(idx, Tensor) or idx.dtype not in (torch.int64, torch.int32):
            kind = f"{type(idx).__name__} (dtype {idx.dtype})" if isinstance(idx, Tensor) \
                else type(idx).__name__
            raise InputError(tr(
                "idx must be a tensor of integer token ids (torch.long), shape (B, T); got "
                "{kind}. Try torch.tensor([ids], dtype=torch.long).", kind=kind))
        if idx.dim() != 2 or idx.size(1) == 0:
            raise InputError(tr(
                "idx must have shape (B, T) with T >= 1, got {shape}. For one sequence of ids "
                "use idx.unsqueeze(0).", shape=tuple(idx.shape)))
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= cfg.vocab_size:
            bad = lo if lo < 0 else hi
            raise InputError(tr(
                "token id {bad} is outside the vocabulary: ids must be in 0..{last}.",
                bad=bad, last=cfg.vocab_size - 1))
        end = start + idx.size(1)
        limit = cfg.n_positions if cache is None else min(cfg.n_positions, cache.max_len)
        if end > limit:
            what = tr("context length (n_positions)") if limit == cfg.n_positions \
                else tr("cache size")
            raise InputError(tr(
                "{end} tokens do not fit: the {what} is {limit}. Keep only the last tokens, "
                "e.g. idx[:, -n_positions:].", end=end, what=what, limit=limit))
        if cache is not None and cache.keys[0].size(0) != idx.size(0):
            raise InputError(tr("the cache was made for batch size {cached}, idx has {batch}.",
                                cached=cache.keys[0].size(0), batch=idx.size(0)))

    def num_parameters(self) -> int:
        """Count every weight once (the tied head adds none): 124,439,808 for ``gpt2``."""
        return sum(p.numel() for p in self.parameters())

    def new_cache(self, batch_size: int = 1, max_len: int | None = None) -> KVCache:
        """An empty KV cache on this model's device and dtype."""
        p = self.wte.weight
        return KVCache(self.config, batch_size, max_len, dtype=p.dtype, device=p.device)
