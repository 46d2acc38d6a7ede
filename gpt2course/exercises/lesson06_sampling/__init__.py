"""Lesson 06, sampling: greedy, temperature, top-k, top-p, a seeded sampler, the loop.

The reference (``gpt2course.sampling``) is imported inside functions only: this module
is also loaded where the reference must stay unimported.

Samplers are judged by their draws, not by fixed token ids: the ``"sample"`` adapter
has the learner's ``sample_token`` draw ``DRAWS`` tokens per row with a seeded generator, and
``matching.draws_follow`` compares how often each token came up with the reference
probabilities (see ``tests/test_lesson06.py`` for the odds of a false failure).

One module per group of exercises: ``filters`` (1-4: greedy, temperature, top-k, top-p),
``sampler`` (5), ``loop`` (6); ``matching`` holds how outputs are compared and ``shared``
the constants they share.
"""

from .filters import GREEDY, TEMPERATURE, TOP_K, TOP_P
from .loop import GENERATE
from .sampler import SAMPLE
from .shared import BINARY_LOGITS, DRAWS, LARGE, MAX_DISTANCE

__all__ = ["BINARY_LOGITS", "DRAWS", "EXERCISES", "GENERATE", "GREEDY", "LARGE", "MAX_DISTANCE",
           "SAMPLE", "TEMPERATURE", "TOP_K", "TOP_P"]

EXERCISES = (GREEDY, TEMPERATURE, TOP_K, TOP_P, SAMPLE, GENERATE)
