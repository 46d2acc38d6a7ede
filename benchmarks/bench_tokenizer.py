"""Encode all of Tiny Shakespeare with the reference BPE and with tiktoken; compare speed.

Run from the repository root (offline, with the shared files)::

    TIKTOKEN_CACHE_DIR=../shared/tiktoken-cache GPT2COURSE_DATA_DIR=../shared/data \\
        .venv/bin/python benchmarks/bench_tokenizer.py

The reference is timed twice: "cold" with an empty chunk cache (what a first
encode costs) and "warm" with the cache filled by the cold run.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from gpt2course.data import tiny_shakespeare
from gpt2course.tokenizer import BPETokenizer
from gpt2course.vocab import gpt2_encoding


def best_time(fn: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` runs, in seconds (the least disturbed by other work)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    text = tiny_shakespeare()
    megabytes = len(text.encode("utf-8")) / 1e6

    start = time.perf_counter()
    reference = BPETokenizer.from_tiktoken("gpt2")
    build_s = time.perf_counter() - start
    tik = gpt2_encoding()

    start = time.perf_counter()
    ours = reference.encode(text)
    cold_s = time.perf_counter() - start
    warm_s = best_time(lambda: reference.encode(text), repeats=3)
    tik_s = best_time(lambda: tik.encode(text), repeats=3)

    same = ours == tik.encode(text)
    print(f"text: Tiny Shakespeare, {megabytes:.3f} MB, {len(ours):,} tokens")
    print(f"ids equal to tiktoken: {same}")
    print(f"building the reference from tiktoken's table: {build_s:.2f} s")
    print(f"reference (cold cache): {megabytes / cold_s:6.2f} MB/s  ({cold_s:.3f} s)")
    print(f"reference (warm cache): {megabytes / warm_s:6.2f} MB/s  ({warm_s:.3f} s)")
    print(f"tiktoken:               {megabytes / tik_s:6.2f} MB/s  ({tik_s:.3f} s)")
    print(f"tiktoken is {cold_s / tik_s:.1f}x faster (cold), {warm_s / tik_s:.1f}x (warm)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
