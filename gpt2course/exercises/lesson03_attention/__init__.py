"""Lesson 03, masked self-attention: scores, the causal mask, attention, heads, KV cache.

Shapes: B batch, nh heads, T tokens, hs = C // nh numbers per head. One head's q, k, v
are ``(B, nh, T, hs)``. ``multi_head_attention`` gets GPT-2's weights in the layout of
OpenAI's checkpoint (Conv1D, ``(in, out)``): ``c_attn_weight`` is ``(C, 3C)`` and a layer
computes ``x @ W + b``.

The reference is imported inside functions only: this module is also loaded by the
registry in processes where ``gpt2course.model`` must stay unimported.

One module per group of exercises: ``scores_and_mask`` (1-3), ``heads`` (4-5), ``kv_cache``
(6); ``shared`` holds the attention math their references and bug variants are built on.
"""

from .heads import ATTENTION, MULTI_HEAD
from .kv_cache import CACHED
from .scores_and_mask import APPLY_MASK, CAUSAL_MASK, SCORES, masked_scores_match

__all__ = ["APPLY_MASK", "ATTENTION", "CACHED", "CAUSAL_MASK", "EXERCISES", "MULTI_HEAD",
           "SCORES", "masked_scores_match"]

EXERCISES = (SCORES, CAUSAL_MASK, APPLY_MASK, ATTENTION, MULTI_HEAD, CACHED)
