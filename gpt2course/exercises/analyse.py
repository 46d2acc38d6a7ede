"""General difference analysers: what kind of mistake turns the expected output into the
learner's, for whole kinds of bugs at once (filled in below)."""

from __future__ import annotations

from typing import Any


def explain(expected: Any, got: Any, inputs: dict[str, Any], compare: Any) -> str | None:
    """A translated sentence naming the kind of difference, or None."""
    return None
