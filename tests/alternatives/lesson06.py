"""Lesson 06, sampling: max().indices, softmax by hand and in float64, topk/argsort/sort,
ascending cumsum (Hugging Face), torch.where, loops with torch.cat or preallocation ..."""

TOP_K_ARGSORT = '''def top_k_logits(logits, k):
    keep = logits.argsort(dim=-1, descending=True, stable=True)[..., :k]
    drop = torch.ones_like(logits, dtype=torch.bool).scatter(-1, keep, False)
    return logits.masked_fill(drop, float("-inf"))
'''

TOP_K_GATHER = '''def top_k_logits(logits, k):
    _, idx = logits.topk(k, dim=-1)
    out = torch.full_like(logits, float("-inf"))
    out.scatter_(-1, idx, logits.gather(-1, idx))   # in place on a new tensor
    return out
'''

TOP_P_HF = '''def top_p_logits(logits, p):
    # Hugging Face's TopPLogitsWarper: sort ascending, drop the tail whose mass is <= 1 - p
    sorted_logits, sorted_idx = torch.sort(logits, descending=False)
    cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    remove = cumulative <= (1 - p)
    remove[..., -1:] = False  # the best token stays
    remove = remove.scatter(1, sorted_idx, remove)
    return logits.masked_fill(remove, float("-inf"))
'''

TOP_P_SHIFTED = '''def top_p_logits(logits, p):
    probs = torch.softmax(logits.double(), dim=-1)
    sorted_probs, order = probs.sort(dim=-1, descending=True, stable=True)
    above = torch.cumsum(sorted_probs, dim=-1)
    above = torch.cat([torch.zeros_like(above[..., :1]), above[..., :-1]], dim=-1)
    keep_sorted = above < p - 1e-6
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    return torch.where(keep, logits, torch.full_like(logits, float("-inf")))
'''

SAMPLE_BY_HAND = '''def sample_token(logits, generator, temperature=1.0, top_k=None, top_p=None):
    logits = logits / max(temperature, 1e-8)
    if top_k is not None:
        logits = top_k_logits(logits, top_k)
    if top_p is not None:
        logits = top_p_logits(logits, top_p)
    probs = F.softmax(logits, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).view(-1)
'''

SAMPLE_FLOAT64 = '''def sample_token(logits, generator, temperature=1.0, top_k=None, top_p=None):
    scaled = logits.double() / temperature
    if top_k:
        scaled = top_k_logits(scaled, top_k)
    if top_p:
        scaled = top_p_logits(scaled, top_p)
    probs = torch.exp(scaled - scaled.max(dim=-1, keepdim=True).values)
    probs = probs / probs.sum(dim=-1, keepdim=True)
    next_ids = torch.multinomial(probs, num_samples=1, replacement=True, generator=generator)
    return next_ids[:, 0]
'''

GENERATE_PREALLOCATED = '''def generate_tokens(model, idx, max_new_tokens, *, greedy=False,
                    temperature=1.0, top_k=None, top_p=None, generator=None, stop_token=None):
    B, T = idx.shape
    out = torch.empty(B, T + max_new_tokens, dtype=idx.dtype)
    out[:, :T] = idx
    done = torch.zeros(B, dtype=torch.bool)
    n = T
    for step in range(max_new_tokens):
        context = out[:, max(0, n - model.config.n_positions):n]
        logits = model(context)[0][:, -1]
        if greedy:
            nxt = logits.argmax(dim=-1)
        else:
            nxt = sample_token(logits, generator, temperature=temperature, top_k=top_k,
                               top_p=top_p)
        if stop_token is not None:
            nxt = torch.where(done, torch.full_like(nxt, stop_token), nxt)
            done |= nxt == stop_token
        out[:, n] = nxt
        n += 1
        if stop_token is not None and done.all():
            break
    return out[:, :n]
'''

GENERATE_LIST = '''def generate_tokens(model, idx, max_new_tokens, *, greedy=False, temperature=1.0,
                    top_k=None, top_p=None, generator=None, stop_token=None):
    rows = idx.tolist()
    finished = [False] * len(rows)
    limit = model.config.n_positions
    for _ in range(max_new_tokens):
        context = torch.tensor([r[-limit:] for r in rows], dtype=torch.long)
        logits, _ = model(context)
        last = logits[:, -1, :]
        picked = greedy_next(last) if greedy else sample_token(
            last, generator, temperature, top_k, top_p)
        for i, token in enumerate(picked.tolist()):
            if finished[i]:
                token = stop_token
            rows[i].append(token)
            if stop_token is not None and token == stop_token:
                finished[i] = True
        if stop_token is not None and all(finished):
            break
    return torch.tensor(rows, dtype=torch.long)
'''

ALTERNATIVES = [
    ("06_greedy_next", "torch.argmax",
     "def greedy_next(logits):\n    return torch.argmax(logits, dim=-1)\n"),
    ("06_greedy_next", "max().indices",
     "def greedy_next(logits):\n    return logits.max(dim=-1).indices\n"),
    ("06_temperature_probs", "F.softmax",
     "def temperature_probs(logits, temperature):\n"
     "    return F.softmax(logits / temperature, dim=-1)\n"),
    ("06_temperature_probs", "softmax by hand",
     "def temperature_probs(logits, temperature):\n    z = logits / temperature\n"
     "    z = z - z.max(dim=-1, keepdim=True).values\n    e = z.exp()\n"
     "    return e / e.sum(dim=-1, keepdim=True)\n"),
    ("06_temperature_probs", "times 1 / temperature",
     "def temperature_probs(logits, temperature):\n"
     "    return torch.softmax(logits * (1.0 / temperature), dim=-1)\n"),
    ("06_temperature_probs", "float64, log_softmax",
     "def temperature_probs(logits, temperature):\n"
     "    return (logits.double() / temperature).log_softmax(-1).exp().float()\n"),
    ("06_top_k_logits", "argsort and a mask", TOP_K_ARGSORT),
    ("06_top_k_logits", "topk indices, gather, scatter_", TOP_K_GATHER),
    ("06_top_p_logits", "Hugging Face: ascending cumsum <= 1 - p", TOP_P_HF),
    ("06_top_p_logits", "float64, shifted cumsum, torch.where", TOP_P_SHIFTED),
    ("06_sample_token", "F.softmax, view(-1)", SAMPLE_BY_HAND),
    ("06_sample_token", "float64, softmax by hand", SAMPLE_FLOAT64),
    ("06_generate_tokens", "a preallocated tensor", GENERATE_PREALLOCATED),
    ("06_generate_tokens", "Python lists", GENERATE_LIST),
]
