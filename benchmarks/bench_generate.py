"""Reference GPT-2 vs Hugging Face's GPT2LMHeadModel: same 124M random weights, one process.

Measures, at batch size 1 on the CPU:
* decode: tokens/s with the KV cache, 64 new tokens (greedy) after a 32-token prompt;
* prefill: time for one forward pass over 1x1024 tokens, all logits;
* floor: one token's matrix-vector products alone (every weight matrix once, the
  tied head included), back to back. Decoding one token must read all ~500 MB of
  fp32 weights, so no implementation on this machine decodes faster than this;
  HF's time per token divided by the floor is the best ratio any code could reach.

Run: python benchmarks/bench_generate.py [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import torch
import torch.nn.functional as F

from gpt2course import GPT2Config, generate
from gpt2course.model import GPT2
from gpt2course.weights import from_hf_state_dict, load_reference_state

PROMPT_TOKENS, NEW_TOKENS, PREFILL_TOKENS = 32, 64, 1024


def medians(repeats: int, **fns) -> dict[str, float]:
    """Median wall time of each fn over ``repeats`` rounds, after one warm-up run each.

    The fns take turns within every round, so a change in machine load during the
    run affects both sides alike.
    """
    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from transformers import GPT2Config as HFConfig
    from transformers import GPT2LMHeadModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    torch.manual_seed(0)
    config = GPT2Config.from_preset("gpt2")
    hf = GPT2LMHeadModel(HFConfig(**config.to_hf_dict())).eval()
    hf.generation_config.eos_token_id = None  # random weights: never stop early
    hf.generation_config.pad_token_id = 0
    ours = GPT2(config).eval()
    load_reference_state(ours, from_hf_state_dict(hf.state_dict()))

    prompt = torch.randint(0, config.vocab_size, (1, PROMPT_TOKENS))
    mask = torch.ones_like(prompt)

    def ours_gen(n: int) -> torch.Tensor:
        return generate(ours, prompt, n, greedy=True)

    def hf_gen(n: int) -> torch.Tensor:
        with torch.inference_mode():
            return hf.generate(prompt, attention_mask=mask, max_new_tokens=n,
                               min_new_tokens=n, do_sample=False)

    assert torch.equal(ours_gen(NEW_TOKENS), hf_gen(NEW_TOKENS)), "greedy tokens differ"

    linears = [m for m in ours.modules() if isinstance(m, torch.nn.Linear)]
    rows = {n: torch.randn(1, n) for n in {m.in_features for m in linears}}

    @torch.inference_mode()
    def weights_only() -> None:  # what one decode step cannot avoid: reading every weight
        for m in linears:
            F.linear(rows[m.in_features], m.weight, m.bias)
        F.linear(rows[config.n_embd], ours.wte.weight)

    # Decode rate: time for prompt + 64 tokens minus prompt + 1 token = 63 decode steps.
    t = medians(args.repeats,
                ours_long=lambda: ours_gen(NEW_TOKENS), hf_long=lambda: hf_gen(NEW_TOKENS),
                ours_short=lambda: ours_gen(1), hf_short=lambda: hf_gen(1),
                floor=weights_only)
    ours_ms = (t["ours_long"] - t["ours_short"]) / (NEW_TOKENS - 1) * 1000
    hf_ms = (t["hf_long"] - t["hf_short"]) / (NEW_TOKENS - 1) * 1000
    floor_ms = t["floor"] * 1000
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, fp32, batch 1")
    print(f"decode  ({PROMPT_TOKENS}-token prompt, {NEW_TOKENS} new, KV cache): "
          f"ours {1000 / ours_ms:6.1f} tok/s   HF {1000 / hf_ms:6.1f} tok/s   "
          f"ratio {hf_ms / ours_ms:.2f}x")
    print(f"        per token: ours {ours_ms:5.1f} ms, HF {hf_ms:5.1f} ms, "
          f"floor (weights only) {floor_ms:5.1f} ms -> best possible ratio {hf_ms / floor_ms:.2f}x")

    long_idx = torch.randint(0, config.vocab_size, (1, PREFILL_TOKENS))
    with torch.inference_mode():
        t = medians(args.repeats, ours=lambda: ours(long_idx), hf=lambda: hf(long_idx))
        ours_t, hf_t = t["ours"], t["hf"]
        diff = (ours(long_idx)[0] - hf(long_idx).logits).abs().max().item()
    print(f"prefill (1x{PREFILL_TOKENS}, all logits):              "
          f"ours {ours_t * 1000:6.0f} ms     HF {hf_t * 1000:6.0f} ms     "
          f"speed ratio {hf_t / ours_t:.2f}x  (max |logit diff| {diff:.1e})")


if __name__ == "__main__":
    main()
