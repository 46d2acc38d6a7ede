"""Lesson 06, exercise 6: the generation loop on a tiny language model (context window,
stop token, padding of finished rows, the generator passed on)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from ...i18n import N_, tr
from ..calling import TinyLM, tiny_lm
from ..core import Case, Diagnosis, Exercise, Mismatch, exact
from ..core import gen as _gen

# --- 6. the generation loop --------------------------------------------------------------------


def _tiny_spec(gen: torch.Generator, vocab: int, n_positions: int) -> dict[str, Any]:
    return {"table": torch.randn(vocab, vocab, generator=gen) * 2,
            "context": torch.randn(vocab, vocab, generator=gen) * 2,
            "n_positions": n_positions}


def _greedy_path(model: TinyLM, idx: Tensor, steps: int) -> Tensor:
    """The greedy continuation, for choosing stop tokens that a case really reaches."""
    for _ in range(steps):
        logits, _ = model(idx[:, -model.config.n_positions:])
        idx = torch.cat([idx, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    return idx


def _generate_case(name: str, spec: dict[str, Any], idx: Tensor, max_new_tokens: int,
                   seed: int | None = None, **options: Any) -> Case:
    args = {"idx": idx, "max_new_tokens": max_new_tokens, **options}
    return Case(name, {"model": spec, "args": args, "seed": seed})


def _stop_cases(gen: torch.Generator, prefix: str) -> list[Case]:
    """One row that stops early; two rows where one stops before the other."""
    while True:
        spec = _tiny_spec(gen, 12, 32)
        idx = torch.randint(0, 12, (2, 3), generator=gen)
        path = _greedy_path(tiny_lm(spec), idx, 10)[:, 3:]
        stop = int(path[0, 2])
        first = [int((row == stop).nonzero()[0]) if (row == stop).any() else 99 for row in path]
        # Row 0 reaches the stop token at step 3; row 1 at step 6 or 7, before the end.
        if first[0] == 2 and first[1] in (5, 6):
            return [
                _generate_case(f"{prefix}greedy, stop_token = {stop} (1 row)", spec, idx[:1],
                               8, greedy=True, stop_token=stop),
                _generate_case(f"{prefix}greedy, stop_token = {stop} (2 rows: the first stops "
                               "first)", spec, idx, 8, greedy=True, stop_token=stop),
            ]


def _repeat_case(name: str, spec: dict[str, Any], idx: Tensor, seed: int) -> Case:
    """A sampled loop, run twice with one seed and once with the next (see ``run_generation``)."""
    args = {"idx": idx, "max_new_tokens": 16, "temperature": 2.0}
    return Case(name, {"model": spec, "args": args, "seed": seed, "repeat": True})


def _generate_cases(seed: int | None) -> list[Case]:
    if seed is None:
        spec = _tiny_spec(_gen(66), 10, 8)
        return [
            _generate_case("greedy, 1 prompt of 3 tokens, 5 new tokens", spec,
                           torch.tensor([[1, 4, 2]]), 5, greedy=True),
            _generate_case("greedy, 2 prompts of 2 tokens, 4 new tokens", spec,
                           torch.tensor([[0, 3], [7, 7]]), 4, greedy=True),
            _generate_case("sampling with top_k = 1 (the same as greedy)", spec,
                           torch.tensor([[5, 6], [2, 9]]), 5, seed=1, top_k=1),
            *_stop_cases(_gen(67), ""),
            _generate_case("greedy past n_positions = 8: keep only the last 8 tokens", spec,
                           torch.tensor([[1, 2, 3, 4, 5, 6]]), 6, greedy=True),
            _repeat_case("sampling at temperature 2, twice with seed 5 and once with seed 6",
                         spec, torch.tensor([[3, 1], [4, 1]]), 5),
        ]
    gen = _gen(seed)
    spec = _tiny_spec(gen, 16, 10)
    return [
        _generate_case("hidden: greedy, 3 prompts of 4 tokens, 9 new tokens", spec,
                       torch.randint(0, 16, (3, 4), generator=gen), 9, greedy=True),
        _generate_case("hidden: sampling with top_k = 1, temperature 0.7", spec,
                       torch.randint(0, 16, (2, 1), generator=gen), 6, seed=seed, top_k=1,
                       temperature=0.7),
        *_stop_cases(gen, "hidden: "),
        _repeat_case("hidden: sampling, twice with one seed and once with another", spec,
                     torch.randint(0, 16, (1, 3), generator=gen), seed),
    ]


def _reference_generate(model: dict[str, Any], args: dict[str, Any], seed: int | None,
                        repeat: bool = False) -> Any:
    from ...sampling import generate

    def run(seed: int | None) -> Tensor:
        generator = _gen(seed) if seed is not None else None
        return generate(tiny_lm(model), **args, generator=generator, use_cache=False)

    out = run(seed)
    if not repeat:
        return out
    return {"shape": list(out.shape), "same seed, same tokens": torch.equal(out, run(seed)),
            "another seed, other tokens": not torch.equal(out, run(seed + 1))}


def _generate_match(expected: Any, got: Any) -> Mismatch | None:
    """Token ids exactly; for a ``repeat`` case, what the three runs say about the generator."""
    if not isinstance(expected, dict) or not isinstance(got, dict) or \
            set(got) != set(expected) or got["shape"] != expected["shape"]:
        return exact(expected, got)
    if not got["same seed, same tokens"]:
        return Mismatch(tr("two runs with generators seeded the same wrote different tokens: "
                           "the loop does not pass its generator on. Call "
                           "sample_token(last, generator, ...) with the generator it was given."))
    if not got["another seed, other tokens"]:
        return Mismatch(tr("runs with different seeds wrote the same tokens: the loop seeds "
                           "its own random numbers (torch.manual_seed or a new Generator) "
                           "instead of using the generator it was given."))
    return None


def _loop_with(bug: str) -> Callable[..., Tensor]:
    """A greedy loop with one known mistake (the cases that catch these are greedy)."""

    def variant(model: dict[str, Any], args: dict[str, Any], seed: int | None,
                repeat: bool = False) -> Tensor:
        lm, idx, stop = tiny_lm(model), args["idx"], args.get("stop_token")
        prompt = idx
        finished = torch.zeros(idx.size(0), dtype=torch.bool)
        for _ in range(args["max_new_tokens"]):
            window = {"newest only": idx[:, -1:], "first window": idx[:, :lm.config.n_positions]
                      }.get(bug, idx[:, -lm.config.n_positions:])
            logits, _ = lm(window)
            nxt = logits[:, 0 if bug == "first position" else -1].argmax(-1)
            if bug == "any row":
                idx = torch.cat([idx, nxt[:, None]], dim=1)
                if stop is not None and bool((nxt == stop).any()):
                    break
                continue
            if stop is not None and bug != "never stops":
                if bug == "no padding":
                    finished |= nxt == stop
                else:
                    nxt = nxt.masked_fill(finished, stop)
                    finished |= nxt == stop
                    if bug == "stop left out" and bool(finished.all()):
                        break
            idx = torch.cat([prompt if bug == "from the prompt" else idx, nxt[:, None]], dim=1)
            if stop is not None and bug not in ("never stops", "no break") and \
                    bool(finished.all()):
                break
        return idx

    return variant


GENERATE = Exercise(
    id="06.generate_tokens",
    function="generate_tokens",
    points=2,
    reference=_reference_generate,
    cases=_generate_cases,
    compare=_generate_match,
    diagnoses=(
        Diagnosis(N_("the context is cut to the first n_positions tokens (idx[:, :n]), so the "
                     "model never sees the newest ones. Keep the last n_positions tokens: "
                     "idx[:, -n_positions:]."), _loop_with("first window")),
        Diagnosis(N_("the next token comes from the first position's logits. The prediction "
                  "for the next token is at the last position: logits[:, -1, :]."),
                  _loop_with("first position")),
        Diagnosis(N_("the model only sees the newest token. Without a KV cache, give it the "
                  "whole sequence so far (at most n_positions tokens) at every step."),
                  _loop_with("newest only")),
        Diagnosis(N_("the loop does not stop at stop_token. Stop once every row has produced it."),
                  _loop_with("never stops")),
        Diagnosis(N_("the loop ends as soon as one row produces stop_token, while other rows "
                     "have not finished. Remember which rows have finished; pad those with "
                     "stop_token and break only when every row has."), _loop_with("any row")),
        Diagnosis(N_("only the last new token is in the output: each step appends to the "
                     "prompt, not to the sequence so far, so earlier new tokens are lost. Keep "
                     "one sequence and grow it: idx = torch.cat([idx, nxt[:, None]], dim=1)."),
                  _loop_with("from the prompt")),
        Diagnosis(N_("the stop token is not in the output. Append it, then stop."),
                  _loop_with("stop left out")),
        Diagnosis(N_("a row that has finished keeps getting new tokens. After its stop token, "
                  "a row only gets stop_token again (padding) until every row has finished."),
                  _loop_with("no padding")),
        Diagnosis(N_("the loop goes on after every row has produced stop_token, padding to "
                     "max_new_tokens. Break out of it once all rows have finished."),
                  _loop_with("no break")),
    ),
    error_hints=(("reads 1 to n_positions", N_(
        "the sequence grew longer than the model's n_positions: give the model only the last "
        "n_positions tokens, idx[:, -model.config.n_positions:].")),),
    adapter="generate",
)
