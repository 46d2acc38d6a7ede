"""Lesson 01 (the tokenizer): each known bug is caught and named, correct variants pass.

The buggy functions below are written the way a learner would write them, not copied from
the diagnoses, so the tests show that the checks catch real mistakes.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import nbformat
import pytest
import regex
from check_support import fails_with, learner

from gpt2course.check import run_check
from gpt2course.exercises import for_lesson
from gpt2course.exercises import lesson01_tokenizer as L
from gpt2course.exercises.calling import to_plain
from gpt2course.grading.notebooks import nbgrader_meta

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "01_tokenizer.ipynb"
PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
EOT = "<|endoftext|>"


# --- correct learner code (what the solution notebook teaches) --------------------------------


def text_to_bytes(text):
    return list(text.encode("utf-8"))


def count_pairs(ids):
    counts = {}
    for pair in zip(ids, ids[1:], strict=False):
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def most_common_pair(ids):
    counts = count_pairs(ids)
    if not counts:
        return None
    pair = max(counts, key=counts.get)
    return pair, counts[pair]


def merge_pair(ids, pair, new_id):
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def train_bpe(chunks, num_merges):
    seqs = [text_to_bytes(c) for c in chunks]
    merges = []
    for k in range(num_merges):
        counts = {}
        for ids in seqs:
            for pair, n in count_pairs(ids).items():
                counts[pair] = counts.get(pair, 0) + n
        if not counts:
            break
        best = max(counts, key=counts.get)
        merges.append(best)
        seqs = [merge_pair(ids, best, 256 + k) for ids in seqs]
    return merges


def split_chunks(text):
    return regex.findall(PATTERN, text)


def encode_chunk(ids, merges):
    ranks = {tuple(pair): i for i, pair in enumerate(merges)}
    while len(ids) >= 2:
        present = [p for p in zip(ids, ids[1:], strict=False) if p in ranks]
        if not present:
            break
        best = min(present, key=ranks.get)
        ids = merge_pair(ids, best, 256 + ranks[best])
    return ids


def encode_text(text, merges, special_tokens=None, byte_ids=None):
    special_tokens = special_tokens or {}
    byte_ids = byte_ids or list(range(256))
    ids = []
    pieces = regex.split("(" + "|".join(map(regex.escape, special_tokens)) + ")", text) \
        if special_tokens else [text]
    for piece in pieces:
        if piece in special_tokens:
            ids.append(special_tokens[piece])
            continue
        for chunk in split_chunks(piece):
            ids += encode_chunk([byte_ids[b] for b in text_to_bytes(chunk)], merges)
    return ids


def decode_tokens(ids, merges, special_tokens=None, byte_ids=None):
    byte_ids = byte_ids or list(range(256))
    vocab = {byte_ids[b]: bytes([b]) for b in range(256)}
    for i, (a, b) in enumerate(merges):
        vocab[256 + i] = vocab[a] + vocab[b]
    for name, i in (special_tokens or {}).items():
        vocab[i] = name.encode("utf-8")
    return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")


CORRECT = [text_to_bytes, most_common_pair, merge_pair, train_bpe, split_chunks, encode_chunk,
           encode_text, decode_tokens]


def verdict(fn, name=None, seed=None):
    if name:
        fn = learner(name)(fn)  # a buggy version carries the exercise's name, as in the notebook
    result = run_check(fn, seed=seed)
    assert not isinstance(result, str), result
    return result


# --- the exercises as a whole -----------------------------------------------------------------


def test_lesson_01_has_its_exercises_in_notebook_order():
    assert [e.function for e in for_lesson("01")] == [f.__name__ for f in CORRECT]
    assert sum(e.points for e in for_lesson("01")) == 11


@pytest.mark.parametrize("fn", CORRECT, ids=lambda f: f.__name__)
def test_correct_code_passes_public_and_hidden_cases(fn):
    for seed in (None, 3, 11):
        result = verdict(fn, seed=seed)
        assert result.passed, result.message


def json_only(value):
    """True when value holds only JSON types: no tuple, which the grader would make a list."""
    if isinstance(value, list):
        return all(json_only(v) for v in value)
    if isinstance(value, dict):
        return all(type(k) is str and json_only(v) for k, v in value.items())
    return value is None or type(value) in (bool, int, float, str)


@pytest.mark.parametrize("exercise", L.EXERCISES, ids=lambda e: e.id)
def test_cases_are_plain_data_so_the_notebook_and_the_grader_see_the_same(exercise):
    for seed in (None, 5):
        for case in exercise.cases(seed):
            assert json_only(case.inputs), case.name
            assert to_plain(case.inputs) == case.inputs, case.name


@pytest.mark.parametrize("exercise", L.EXERCISES, ids=lambda e: e.id)
def test_hidden_cases_depend_on_the_seed_and_differ_from_public(exercise):
    public = json.dumps([c.inputs for c in exercise.cases(None)])
    one, two = (json.dumps([c.inputs for c in exercise.cases(s)]) for s in (1, 2))
    assert one != two and one != public
    assert one == json.dumps([c.inputs for c in exercise.cases(1)])


@pytest.mark.parametrize("exercise", L.EXERCISES, ids=lambda e: e.id)
def test_every_diagnosis_differs_from_the_reference_on_some_public_case(exercise):
    cases = exercise.cases(None)
    for diagnosis in exercise.diagnoses:
        outputs = [to_plain(diagnosis.variant(**c.inputs)) for c in cases]
        assert any(exercise.compare(exercise.expected(c), o) is not None
                   for c, o in zip(cases, outputs, strict=True)), diagnosis.message


def test_a_variant_that_crashes_never_breaks_the_diagnosis():
    assert L._safe(lambda x: 1 / 0)(x=1) == L.VARIANT_FAILED


def test_chunk_trained_reference_equals_the_package_training():
    from gpt2course.bpe import train_merges
    from gpt2course.data import tiny_shakespeare

    text = tiny_shakespeare()[:3000]
    expected = [list(p) for p in train_merges(text, 30)]
    assert L._reference_train(L._split(text), 30) == expected


# --- known bugs, one by one ---------------------------------------------------------------------


def assert_named(fn, name, words):
    fails_with(learner(name)(fn), words)


def test_text_to_bytes_code_points():
    assert_named(lambda text: [ord(c) for c in text], "text_to_bytes", "code points")


def test_text_to_bytes_returning_bytes_is_refused_with_a_clear_message():
    result = verdict(lambda text: text.encode("utf-8"), "text_to_bytes")
    assert not result.passed and "bytes" in result.message


def test_most_common_pair_counted_in_steps_of_two():
    def buggy(ids):
        counts = Counter(zip(ids[::2], ids[1::2], strict=False))
        return max(counts.items(), key=lambda kv: kv[1]) if counts else None

    assert_named(buggy, "most_common_pair", "steps of two")


def test_most_common_pair_without_the_last_pair():
    def buggy(ids):
        counts = {}
        for i in range(len(ids) - 2):
            counts[(ids[i], ids[i + 1])] = counts.get((ids[i], ids[i + 1]), 0) + 1
        return max(counts.items(), key=lambda kv: kv[1]) if counts else None

    assert_named(buggy, "most_common_pair", "last pair")


def test_most_common_pair_ties_broken_by_sorting():
    def buggy(ids):
        counts = count_pairs(ids)
        if not counts:
            return None
        pair = max(sorted(counts), key=counts.get)  # smallest of the tied pairs
        return pair, counts[pair]

    assert_named(buggy, "most_common_pair", "appears first")


def test_most_common_pair_ties_broken_by_the_last_seen():
    def buggy(ids):
        counts = count_pairs(ids)
        if not counts:
            return None
        best = None
        for pair, n in counts.items():
            if best is None or n >= counts[best]:
                best = pair
        return best, counts[best]

    assert_named(buggy, "most_common_pair", "appears first")


def test_valid_variants_of_most_common_pair_pass():
    def with_counter(ids):
        counts = Counter(zip(ids, ids[1:], strict=False))
        return counts.most_common(1)[0] if counts else None

    assert verdict(with_counter, "most_common_pair").passed


def test_merge_pair_comparing_a_tuple_with_the_list_pair():
    def buggy(ids, pair, new_id):
        out, i = [], 0
        while i < len(ids):
            if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
                out.append(new_id)
                i += 2
            else:
                out.append(ids[i])
                i += 1
        return out

    assert_named(buggy, "merge_pair", "tuple never equals a list")


def test_merge_pair_without_skipping():
    def buggy(ids, pair, new_id):
        out = []
        for i in range(len(ids) - 1):
            out.append(new_id if [ids[i], ids[i + 1]] == list(pair) else ids[i])
        return out

    assert_named(buggy, "merge_pair", "skip the second id")


def test_merge_pair_only_first():
    def buggy(ids, pair, new_id):
        for i in range(len(ids) - 1):
            if ids[i] == pair[0] and ids[i + 1] == pair[1]:
                return ids[:i] + [new_id] + ids[i + 2:]
        return ids

    assert_named(buggy, "merge_pair", "only the first")


def test_merge_pair_losing_the_last_id():
    def buggy(ids, pair, new_id):
        out, i = [], 0
        while i < len(ids) - 1:
            if ids[i] == pair[0] and ids[i + 1] == pair[1]:
                out.append(new_id)
                i += 2
            else:
                out.append(ids[i])
                i += 1
        return out

    assert_named(buggy, "merge_pair", "last id is lost")


def train_with(first_id=256, join=False, recount=True, tie_last=False):
    def train(chunks, num_merges):
        seqs = [text_to_bytes(c) for c in (["".join(chunks)] if join else chunks)]
        merges, counts = [], None
        for k in range(num_merges):
            if recount or counts is None:
                counts = Counter()
                for ids in seqs:
                    counts.update(zip(ids, ids[1:], strict=False))
            counts = Counter({p: n for p, n in counts.items() if p not in merges})
            if not counts:
                break
            top = max(counts.values())
            tied = [p for p in counts if counts[p] == top]
            best = tied[-1] if tie_last else tied[0]
            merges.append(best)
            seqs = [merge_pair(ids, best, first_id + k) for ids in seqs]
        return merges

    return train


@pytest.mark.parametrize("first_id", [255, 257])
def test_train_bpe_off_by_one_new_ids(first_id):
    assert_named(train_with(first_id=first_id), "train_bpe", "off by one")


def test_train_bpe_across_chunks():
    assert_named(train_with(join=True), "train_bpe", "across chunk boundaries")


def test_train_bpe_counts_once():
    assert_named(train_with(recount=False), "train_bpe", "only once")


def test_train_bpe_tie_to_the_last_pair():
    assert_named(train_with(tie_last=True), "train_bpe", "appears first")


def test_valid_variant_of_training_with_counted_distinct_chunks_passes():
    def train(chunks, num_merges):
        weights = Counter(chunks)
        seqs = {c: text_to_bytes(c) for c in weights}
        merges = []
        for k in range(num_merges):
            counts = Counter()
            for c, ids in seqs.items():
                for pair, n in count_pairs(ids).items():
                    counts[pair] += n * weights[c]
            if not counts:
                break
            best = max(counts, key=counts.get)
            merges.append(best)
            seqs = {c: merge_pair(ids, best, 256 + k) for c, ids in seqs.items()}
        return merges

    for seed in (None, 4):
        assert verdict(train, "train_bpe", seed=seed).passed


def test_split_chunks_without_a_pattern():
    assert_named(lambda text: [text], "split_chunks", "not split")


@pytest.mark.parametrize("buggy", [
    str.split,
    lambda text: regex.findall(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+""",
                               text),
], ids=["str.split", "pattern without its whitespace parts"])
def test_split_chunks_dropping_whitespace(buggy):
    assert_named(lambda text: buggy(text), "split_chunks", "spaces or newlines were lost")


def test_split_chunks_with_the_space_alone():
    pattern = r"""'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}+|[^\s\p{L}\p{N}]+|\s+"""
    assert_named(lambda text: regex.findall(pattern, text), "split_chunks", "chunk of its own")


def chunk_with(choose, first_id=256):
    def encode(ids, merges):
        ranks = {tuple(p): i for i, p in enumerate(merges)}
        while True:
            pairs = list(zip(ids, ids[1:], strict=False))
            present = [p for p in pairs if p in ranks]
            if not present:
                return ids
            if choose == "frequent":
                counts = Counter(present)
                best = max(counts, key=counts.get)
            elif choose == "left":
                best = present[0]
            else:
                best = min(present, key=ranks.get)
            ids = merge_pair(ids, best, first_id + ranks[best])

    return encode


def test_encode_chunk_by_frequency_instead_of_rank():
    assert_named(chunk_with("frequent"), "encode_chunk", "lowest rank first")


def test_encode_chunk_leftmost_pair_first():
    assert_named(chunk_with("left"), "encode_chunk", "leftmost pair")


@pytest.mark.parametrize("first_id", [255, 257])
def test_encode_chunk_off_by_one_new_ids(first_id):
    assert_named(chunk_with("rank", first_id), "encode_chunk", "off by one")


def test_valid_variant_applying_each_merge_in_order_passes():
    def encode(ids, merges):
        for i, pair in enumerate(merges):  # rank order: every merge once, left to right
            ids = merge_pair(ids, pair, 256 + i)
        return ids

    assert verdict(encode, "encode_chunk").passed
    assert verdict(encode, "encode_chunk", seed=9).passed


def test_encode_text_without_splitting():
    def buggy(text, merges, special_tokens=None, byte_ids=None):
        return encode_chunk(text_to_bytes(text), merges)

    assert_named(buggy, "encode_text", "not cut into chunks")


def test_encode_text_with_a_split_that_drops_whitespace():
    def buggy(text, merges, special_tokens=None, byte_ids=None):
        special_tokens = special_tokens or {}
        ids = []
        for chunk in regex.split("(" + regex.escape(EOT) + ")", text):
            if chunk in special_tokens:
                ids.append(special_tokens[chunk])
            for word in chunk.split(" ") if chunk not in special_tokens else []:
                ids += encode_chunk([(byte_ids or list(range(256)))[b]
                                     for b in text_to_bytes(word)], merges)
        return ids

    assert_named(buggy, "encode_text", "spaces or newlines were lost")


def test_encode_text_splitting_the_special_token():
    def buggy(text, merges, special_tokens=None, byte_ids=None):
        byte_ids = byte_ids or list(range(256))
        return [i for chunk in split_chunks(text)
                for i in encode_chunk([byte_ids[b] for b in text_to_bytes(chunk)], merges)]

    assert_named(buggy, "encode_text", "special token was cut")


def test_encode_text_ignoring_byte_ids():
    def buggy(text, merges, special_tokens=None, byte_ids=None):
        return encode_text(text, merges, special_tokens, None)

    assert_named(buggy, "encode_text", "byte_ids[b]")


def test_decode_that_fails_on_a_partial_character():
    def buggy(ids, merges, special_tokens=None, byte_ids=None):
        text = decode_tokens(ids, merges, special_tokens, byte_ids)
        if "\ufffd" in text:
            b"\xf0\x9f".decode("utf-8")  # what errors="strict" does on a cut character
        return text

    result = verdict(buggy, "decode_tokens")
    assert not result.passed
    assert "invalid UTF-8" in result.message and "UnicodeDecodeError" in result.message
    assert "Likely bug: decoding is strict" in result.message


def test_decode_dropping_broken_bytes():
    def buggy(ids, merges, special_tokens=None, byte_ids=None):
        return decode_tokens(ids, merges, special_tokens, byte_ids).replace("\ufffd", "")

    assert_named(buggy, "decode_tokens", "errors='replace'")


def test_decode_each_token_alone():
    def buggy(ids, merges, special_tokens=None, byte_ids=None):
        return "".join(decode_tokens([i], merges, special_tokens, byte_ids) for i in ids)

    assert_named(buggy, "decode_tokens", "decoded on its own")


# --- GPT-2's real table --------------------------------------------------------------------------


# --- the kinds of bug named in issue 15, as a learner writes them ---------------------------


def test_pair_counts_that_skip_overlapping_pairs_are_named():
    def most_common_pair_str_count(ids):
        counts = {}
        for pair in zip(ids, ids[1:], strict=False):
            if pair not in counts:  # counted like str.count: no overlaps
                n = j = 0
                while j + 1 < len(ids):
                    hit = (ids[j], ids[j + 1]) == pair
                    n, j = n + hit, j + (2 if hit else 1)
                counts[pair] = n
        if not counts:
            return None
        best = max(counts, key=counts.get)
        return best, counts[best]

    assert_named(most_common_pair_str_count, "most_common_pair", "overlapping pairs were skipped")


def test_training_that_drops_repeated_chunks_is_named():
    plain = train_with()
    assert_named(lambda chunks, num_merges: plain(sorted(set(chunks), key=chunks.index),
                                                  num_merges),
                 "train_bpe", "a chunk that occurs several times was counted once")


def test_training_that_stops_early_is_named():
    def train(chunks, num_merges):
        seqs, merges = [text_to_bytes(c) for c in chunks], []
        for k in range(num_merges):
            counts = Counter()
            for ids in seqs:
                counts.update(zip(ids, ids[1:], strict=False))
            if not counts or max(counts.values()) < 2:  # "nothing worth merging"
                break
            best = max(counts, key=counts.get)
            merges.append(best)
            seqs = [merge_pair(ids, best, 256 + k) for ids in seqs]
        return merges

    assert_named(train, "train_bpe", "training stopped early")


def test_encoding_that_merges_only_once_is_named():
    def once(ids, merges):
        ranks = {tuple(pair): i for i, pair in enumerate(merges)}
        present = [p for p in zip(ids, ids[1:], strict=False) if p in ranks]
        if not present:
            return list(ids)
        best = min(present, key=ranks.get)
        return merge_pair(ids, best, 256 + ranks[best])

    assert_named(once, "encode_chunk", "only one merge was made")


def test_special_token_names_not_escaped_are_named():
    def unescaped(text, merges, special_tokens=None, byte_ids=None):
        special_tokens = special_tokens or {}
        byte_ids = byte_ids or list(range(256))
        pieces = regex.split("(" + "|".join(special_tokens) + ")", text) \
            if special_tokens else [text]
        ids = []
        for piece in pieces:
            if piece in special_tokens:
                ids.append(special_tokens[piece])
                continue
            for chunk in split_chunks(piece):
                ids += encode_chunk([byte_ids[b] for b in text_to_bytes(chunk)], merges)
        return ids

    assert_named(unescaped, "encode_text", "names were put into a regex without escaping")


@pytest.mark.parametrize("name", ["encode_text", "decode_tokens"])
def test_special_tokens_none_not_handled_is_named(name):
    def encode(text, merges, special_tokens=None, byte_ids=None):
        if special_tokens is None:
            raise TypeError("'NoneType' object is not iterable")  # for name in None
        return encode_text(text, merges, special_tokens, byte_ids)

    def decode(ids, merges, special_tokens=None, byte_ids=None):
        names = {i: name for name, i in special_tokens.items()}  # None has no items()
        return decode_tokens(ids, merges, {n: i for i, n in names.items()}, byte_ids)

    assert_named(encode if name == "encode_text" else decode, name,
                 "special_tokens may be None")


def test_the_learners_encoder_gives_tiktokens_ids_with_gpt2s_table():
    from gpt2course.vocab import gpt2_encoding

    merges, byte_ids, special = L.gpt2_tables()
    text = ("Hello world! It's 2024, naïve café 中文 🙂.\n\n  Spaces   and tabs\t"
            f"{EOT}The end.")
    ids = encode_text(text, merges, special, byte_ids)
    assert ids == gpt2_encoding().encode(text, allowed_special="all")
    assert decode_tokens(ids, merges, special, byte_ids) == text


# --- the solution notebook ----------------------------------------------------------------


def test_solution_notebook_has_a_solution_and_check_cell_for_each_exercise():
    nb = nbformat.read(SOLUTION, as_version=4)
    meta = [nbgrader_meta(c) for c in nb.cells]
    ids = {m.get("grade_id"): m for m in meta if m}
    for exercise in for_lesson("01"):
        assert ids[exercise.grade_id]["solution"] is True
        assert ids[exercise.grade_id + "_check"]["points"] == exercise.points
    checks = [m for m in meta if m.get("grade")]
    assert sum(m["points"] for m in checks) == sum(e.points for e in for_lesson("01"))


def test_solution_notebook_passes_every_check():
    nb = nbformat.read(SOLUTION, as_version=4)
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.outputs)
    for exercise in for_lesson("01"):
        assert f"{exercise.function}: the " in outputs, exercise.function


def test_hidden_case_texts_are_reproducible_and_vary():
    assert L.random_text(random.Random(3), 5) == L.random_text(random.Random(3), 5)
    assert L.random_text(random.Random(3), 5) != L.random_text(random.Random(4), 5)


def test_grading_the_solution_with_hidden_cases_gives_full_marks():
    from gpt2course.grading.grade import grade_submission, load_lessons
    from gpt2course.grading.sandbox import SandboxLimits

    result = grade_submission(SOLUTION, load_lessons(ROOT / "lessons"), seed=7,
                              limits=SandboxLimits(), hide=(str(ROOT / "solutions"),))
    assert result.error is None
    assert {e.id: e.score for e in result.exercises} == {e.id: e.points
                                                         for e in for_lesson("01")}


# --- the picture of tokens ------------------------------------------------------------------


def test_tokens_are_shown_with_visible_spaces_and_escaped_html():
    from gpt2course.viz.tokens import tokens_as_html, tokens_as_text

    assert tokens_as_text(["The", " dog", ".\n"]) == "[The][\u00b7dog][.\u21b5\n]"
    page = tokens_as_html(["<b>", " x"], ids=[1, 2])
    assert "&lt;b&gt;" in page and 'title="id 2"' in page and page.count("<span") == 2


def test_bad_input_to_the_token_picture_says_what_to_give():
    from gpt2course.viz.tokens import tokens_as_html, tokens_as_text

    with pytest.raises(TypeError, match="list of strings"):
        tokens_as_text("The dog")
    with pytest.raises(TypeError, match="list of strings"):
        tokens_as_text([464, 3290])
    with pytest.raises(ValueError, match="one id per token"):
        tokens_as_html(["a", "b"], ids=[1])
