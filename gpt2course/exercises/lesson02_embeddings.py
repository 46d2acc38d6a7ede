"""Lesson 02, embeddings: one-hot vectors, the token lookup, and the block input.

GPT-2 turns token ids ``(B, T)`` into vectors ``(B, T, C)``: the row of ``wte`` for each
token plus the row of ``wpe`` for each position. Inputs are small random tables (V
tokens, n_positions rows) so every bug changes the output.

Nothing here imports the reference model: the reference is plain indexing, and this
module is also loaded in the grading sandbox.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..i18n import N_
from .core import Case, Diagnosis, Exercise, close, exact, with_hints
from .core import gen as _gen

# --- one-hot vectors ------------------------------------------------------------------------


def _one_hot_cases(seed: int | None) -> list[Case]:
    if seed is None:
        return [
            Case("ids [[0, 2, 1]] with vocab_size=4",
                 {"idx": torch.tensor([[0, 2, 1]]), "vocab_size": 4}),
            Case("a (2, 5) batch with vocab_size=9",
                 {"idx": torch.randint(0, 9, (2, 5), generator=_gen(1)), "vocab_size": 9}),
        ]
    gen = _gen(seed)
    return [
        Case("a hidden (3, 7) batch with vocab_size=13",
             {"idx": torch.randint(0, 13, (3, 7), generator=gen), "vocab_size": 13}),
        Case("a hidden (1, 1) batch with vocab_size=5",
             {"idx": torch.tensor([[4]]), "vocab_size": 5}),
    ]


def _reference_one_hot(idx: Tensor, vocab_size: int) -> Tensor:
    return (idx[..., None] == torch.arange(vocab_size)).float()


def _one_hot_shifted(idx: Tensor, vocab_size: int) -> Tensor:
    return (idx[..., None] == torch.arange(1, vocab_size + 1)).float()


def _one_hot_scattered_on_time(idx: Tensor, vocab_size: int) -> Tensor:
    return torch.zeros(*idx.shape, vocab_size).scatter(1, idx[..., None], 1.0)


ONE_HOT = Exercise(
    id="02.one_hot_ids",
    function="one_hot_ids",
    points=1,
    reference=_reference_one_hot,
    cases=_one_hot_cases,
    compare=with_hints(exact, {
        "wrong dtype": N_("Return float32 numbers 0.0 and 1.0 (e.g. with .float()), so that the "
                       "one-hot matrix can be multiplied with wte."),
        "wrong shape": N_("The result has one more dimension than idx: "
                          "(B, T) -> (B, T, vocab_size)."),
    }),
    diagnoses=(
        Diagnosis(N_("the 1 is one place too far: token id i puts its 1 at index i "
                  "(indices start at 0)."), _one_hot_shifted),
        Diagnosis(N_("the vector length comes from the ids (idx.max() + 1), not from "
                     "vocab_size: every one-hot vector has vocab_size entries."),
                  lambda idx, vocab_size: _reference_one_hot(idx, int(idx.max()) + 1)),
        Diagnosis(N_("the one-hot vectors are laid out along the wrong axis: the new axis of "
                     "size vocab_size goes last, (B, T) -> (B, T, vocab_size)."),
                  lambda idx, vocab_size: _reference_one_hot(idx, vocab_size).movedim(-1, 0)),
        Diagnosis(N_("the 1s are scattered along the wrong dimension: the one-hot axis is the "
                     "last one, so scatter along dim=-1 (scatter(-1, idx[..., None], 1.0))."),
                  _one_hot_scattered_on_time),
    ),
    forbidden_functions=("torch.nn.functional.one_hot", "torch._C._nn.one_hot"),
)

# --- token embedding ----------------------------------------------------------------------


def _table_inputs(gen: torch.Generator, B: int, T: int, V: int, C: int,
                  n_positions: int) -> dict[str, Tensor]:
    return {
        "idx": torch.randint(0, V, (B, T), generator=gen),
        "wte": torch.randn(V, C, generator=gen),
        "wpe": torch.randn(n_positions, C, generator=gen),
    }


def _token_cases(seed: int | None) -> list[Case]:
    def case(name: str, gen: torch.Generator, B: int, T: int, V: int, C: int) -> Case:
        inputs = _table_inputs(gen, B, T, V, C, 1)
        return Case(name, {"idx": inputs["idx"], "wte": inputs["wte"]})

    if seed is None:
        return [case("B=1, T=4, V=10, C=3", _gen(2), 1, 4, 10, 3),
                case("B=2, T=6, V=20, C=8", _gen(3), 2, 6, 20, 8)]
    gen = _gen(seed)
    return [case("a hidden B=3, T=5, V=17, C=6", gen, 3, 5, 17, 6),
            case("a hidden B=1, T=1, V=7, C=4", gen, 1, 1, 7, 4)]


def _reference_token_embedding(idx: Tensor, wte: Tensor) -> Tensor:
    return wte[idx]


def _token_embedding_shifted(idx: Tensor, wte: Tensor) -> Tensor:
    return wte[(idx + 1) % wte.shape[0]]


COLUMNS = N_("the ids index the columns of wte instead of its rows. wte is (vocab_size, C): "
             "row i is token i's vector, so index the first axis: wte[idx].")
T_FROM_BATCH = N_("T is taken from the batch axis: idx is (B, T), so T = idx.shape[1] (the "
                  "positions are 0..T-1 for every row).")

EMBED_HINTS = {
    "wrong shape": N_("Each token id (B, T) becomes one row of wte (C numbers): (B, T, C)."),
    "wrong dtype": N_("Return the rows of wte as they are (float32); do not convert them."),
}

TOKEN_EMBEDDING = Exercise(
    id="02.token_embedding",
    function="token_embedding",
    points=1,
    reference=_reference_token_embedding,
    cases=_token_cases,
    compare=with_hints(close(atol=1e-6, rtol=1e-6), EMBED_HINTS),
    diagnoses=(
        Diagnosis(N_("each token got the row after its own: token id i is row i of wte "
                  "(rows start at 0)."), _token_embedding_shifted),
        Diagnosis(COLUMNS, lambda idx, wte: wte[:, idx]),
        Diagnosis(COLUMNS, lambda idx, wte: wte.T[idx % wte.shape[1]]),
    ),
    error_hints=(("out of bounds", COLUMNS),),
    forbidden_functions=("torch.nn.functional.embedding", "torch.embedding"),
)

# --- the block input: token + position ----------------------------------------------------


def _input_cases(seed: int | None) -> list[Case]:
    if seed is None:
        return [Case("B=1, T=3, V=6, C=4, n_positions=8", _table_inputs(_gen(4), 1, 3, 6, 4, 8)),
                Case("B=2, T=5, V=5, C=6, n_positions=5", _table_inputs(_gen(5), 2, 5, 5, 6, 5)),
                Case("B=3, T=3, V=7, C=4, n_positions=6 (B = T)",
                     _table_inputs(_gen(6), 3, 3, 7, 4, 6))]
    gen = _gen(seed)
    # V <= n_positions, so indexing wpe with token ids runs and can be named.
    return [Case("a hidden B=3, T=6, V=9, C=8, n_positions=9", _table_inputs(gen, 3, 6, 9, 8, 9)),
            Case("a hidden B=2, T=1, V=3, C=4, n_positions=3", _table_inputs(gen, 2, 1, 3, 4, 3))]


def _reference_input(idx: Tensor, wte: Tensor, wpe: Tensor) -> Tensor:
    return wte[idx] + wpe[torch.arange(idx.shape[1])]


def _tokens_only(idx: Tensor, wte: Tensor, wpe: Tensor) -> Tensor:
    return wte[idx]


def _positions_from_ids(idx: Tensor, wte: Tensor, wpe: Tensor) -> Tensor:
    return wte[idx] + wpe[idx % wpe.shape[0]]


def _positions_from_one(idx: Tensor, wte: Tensor, wpe: Tensor) -> Tensor:
    T = idx.shape[1]
    return wte[idx] + wpe[torch.arange(1, T + 1) % wpe.shape[0]]


def _ids_plus_positions(idx: Tensor, wte: Tensor, wpe: Tensor) -> Tensor:
    return wte[idx + torch.arange(idx.shape[1])]  # raises, as the learner's, when out of range


def _one_position(row: int):
    """Every token gets the same position vector: wpe[T - 1] (row -1) or wpe[T] (row -2). (wpe[0]
    for all is, on a batch of one, what T taken from the batch axis gives: named so.)"""
    def variant(idx: Tensor, wte: Tensor, wpe: Tensor) -> Tensor:
        T = idx.shape[1]
        return wte[idx] + wpe[(T - 1 if row == -1 else T) % wpe.shape[0]]

    return variant


def _positions_reversed(idx: Tensor, wte: Tensor, wpe: Tensor) -> Tensor:
    return wte[idx] + wpe[torch.arange(idx.shape[1]).flip(0)]


def _multiplied(idx: Tensor, wte: Tensor, wpe: Tensor) -> Tensor:
    return wte[idx] * wpe[torch.arange(idx.shape[1])]


def _t_from_batch(idx: Tensor, wte: Tensor, wpe: Tensor) -> Tensor:
    return wte[idx] + wpe[torch.arange(idx.shape[0])]  # broadcasts only when B is 1 or T


def _concatenated(idx: Tensor, wte: Tensor, wpe: Tensor) -> Tensor:
    tokens = wte[idx]
    return torch.cat([tokens, wpe[torch.arange(idx.shape[1])].expand_as(tokens)], dim=-1)


def _positions_only(idx: Tensor, wte: Tensor, wpe: Tensor) -> Tensor:
    return wpe[torch.arange(idx.shape[1])].expand(idx.shape[0], -1, -1)


ONE_POSITION = N_("every token gets the same position vector (one row of wpe added to all): "
                  "token t needs its own row, wpe[t], so index wpe with torch.arange(T).")

INPUT_EMBEDDING = Exercise(
    id="02.input_embedding",
    function="input_embedding",
    points=2,
    reference=_reference_input,
    cases=_input_cases,
    compare=with_hints(close(atol=1e-6, rtol=1e-5), EMBED_HINTS),
    diagnoses=(
        Diagnosis(N_("the position embeddings are not added: the result is the token "
                  "embeddings only, so the model cannot tell word order."), _tokens_only),
        Diagnosis(N_("wpe is indexed with the token ids; it must be indexed with the positions "
                  "0, 1, ..., T-1."), _positions_from_ids),
        Diagnosis(N_("the positions are added to the token ids before the lookup (wte[idx + "
                     "positions]). Look up each table on its own: wte[idx] for the tokens, "
                     "wpe[positions] for the positions, then add the two vectors."),
                  _ids_plus_positions),
        Diagnosis(N_("positions start at 1; the first token is position 0 "
                     "(use torch.arange(T))."),
                  _positions_from_one),
        Diagnosis(N_("token and position embeddings are multiplied; GPT-2 adds them."),
                  _multiplied),
        Diagnosis(N_("only the position embeddings are returned; add the token embeddings too."),
                  _positions_only),
        Diagnosis(T_FROM_BATCH, _t_from_batch),
        *(Diagnosis(ONE_POSITION, _one_position(row)) for row in (-1, -2)),
        Diagnosis(N_("the positions run backwards: the first token gets position T - 1. Token "
                     "t gets wpe[t]: wpe[torch.arange(T)]."), _positions_reversed),
        Diagnosis(N_("token and position vectors are concatenated (torch.cat), which doubles "
                     "the width; GPT-2 adds them: both are C numbers long."), _concatenated),
    ),
    error_hints=(("must match the size of tensor b", T_FROM_BATCH),),
    forbidden_functions=("torch.nn.functional.embedding", "torch.embedding"),
)

EXERCISES = (ONE_HOT, TOKEN_EMBEDDING, INPUT_EMBEDDING)
