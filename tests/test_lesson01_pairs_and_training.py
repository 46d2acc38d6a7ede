"""Lesson 01, exercises 1-5 (bytes, pairs, merges, training, splitting): each known bug is
caught and named, correct variants pass.

The buggy functions are written the way a learner would write them, not copied from the
diagnoses, so the tests show that the checks catch real mistakes.
"""

from __future__ import annotations

from collections import Counter

import pytest
import regex
from lesson01_support import assert_named, count_pairs, merge_pair, text_to_bytes, verdict

# --- known bugs, one by one ---------------------------------------------------------------------


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
