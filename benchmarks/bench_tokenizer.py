"""Encode with the reference BPE and with tiktoken, in the same process; compare speed.

Run from the repository root (offline, with the shared files)::

    TIKTOKEN_CACHE_DIR=../shared/tiktoken-cache GPT2COURSE_DATA_DIR=../shared/data \\
        .venv/bin/python benchmarks/bench_tokenizer.py

Inputs: all of Tiny Shakespeare; one chunk of 100,000 random letters; 100,000
Chinese characters without punctuation (one chunk too: GPT-2's pattern keeps a run
of letters together); 1 MB of mixed text (English, Chinese, digits, symbols, emoji).
The reference is timed "cold", with an empty chunk cache (what a first encode
costs); for Tiny Shakespeare also "warm", with the cache the cold run filled.
Targets (issue 13): within 20x of tiktoken on every input, >= 1 MB/s on Tiny Shakespeare.
"""

from __future__ import annotations

import random
import string
import sys
import time
from collections.abc import Callable

from gpt2course.data import tiny_shakespeare
from gpt2course.tokenizer import BPETokenizer
from gpt2course.vocab import gpt2_encoding

MAX_RATIO = 20.0
MIN_SHAKESPEARE_MBPS = 1.0


def best_time(fn: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` runs, in seconds (the least disturbed by other work)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def inputs() -> dict[str, str]:
    rng = random.Random(0)
    letters = "".join(rng.choice(string.ascii_lowercase) for _ in range(100_000))
    chinese = "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(100_000))
    pieces = [" the", " robot", " must", " obey", ",", ".", "\n", " 2024", " 中文", "分词器",
              "没有标点的长句子", " café", " naïve", " 😀", "!?", "  ", " GPT-2", "'s", " 3.14"]
    mixed: list[str] = []
    size = 0
    while size < 1_000_000:
        piece = rng.choice(pieces) if rng.random() < 0.9 else "".join(
            rng.choice(string.ascii_letters) for _ in range(rng.randint(1, 12)))
        mixed.append(piece)
        size += len(piece.encode("utf-8"))
    return {"Tiny Shakespeare": tiny_shakespeare(), "100k letters, one chunk": letters,
            "100k Chinese characters": chinese, "1 MB mixed text": "".join(mixed)}


def measure(name: str, text: str, reference: BPETokenizer, tik) -> bool:
    """Print one row (and the warm-cache row for Tiny Shakespeare); True if targets are met."""
    megabytes = len(text.encode("utf-8")) / 1e6

    def cold() -> list[int]:
        reference._cache.clear()
        return reference.encode(text)

    ours_s = best_time(cold, 1 if len(text) < 200_000 else 2)
    tik_s = best_time(lambda: tik.encode(text), 3)
    same = cold() == tik.encode(text)
    ratio = ours_s / tik_s
    print(f"{name:26} {megabytes:6.3f} {ours_s:9.3f}s {tik_s:9.3f}s {ratio:6.1f}x  {same}"
          f"   ({megabytes / ours_s:.2f} MB/s vs {megabytes / tik_s:.2f} MB/s)")
    ok = same and ratio <= MAX_RATIO
    if name == "Tiny Shakespeare":
        warm_s = best_time(lambda: reference.encode(text), 3)
        print(f"{'  warm cache':26} {megabytes:6.3f} {warm_s:9.3f}s {tik_s:9.3f}s "
              f"{warm_s / tik_s:6.1f}x         ({megabytes / warm_s:.2f} MB/s)")
        ok &= megabytes / ours_s >= MIN_SHAKESPEARE_MBPS
    return ok


def main() -> int:
    start = time.perf_counter()
    reference = BPETokenizer.from_tiktoken("gpt2")
    print(f"building the reference from tiktoken's table: {time.perf_counter() - start:.2f} s")
    tik = gpt2_encoding()
    print(f"{'input':26} {'MB':>6} {'reference':>10} {'tiktoken':>10} {'ratio':>7}  ids equal")
    ok = all([measure(name, text, reference, tik) for name, text in inputs().items()])
    print(f"targets (each within {MAX_RATIO:.0f}x of tiktoken, Tiny Shakespeare cold >= "
          f"{MIN_SHAKESPEARE_MBPS} MB/s): {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
