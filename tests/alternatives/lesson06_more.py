"""Lesson 06, a second batch: topk indices, numpy argmax, dim=1, nn.Softmax, exp minus
logsumexp, heapq and argpartition per row, a stable sort mask, a Python loop for top-p,
the hint's cumsum minus own probability, recursion and no_grad in the loop ..."""

GREEDY_TOPK = '''def greedy_next(logits):
    return torch.topk(logits, k=1, dim=-1).indices.squeeze(-1)
'''

GREEDY_NUMPY = '''import numpy as np


def greedy_next(logits: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(np.argmax(logits.detach().numpy(), axis=-1))
'''

TEMP_DIM1 = '''def temperature_probs(logits, temperature):
    return torch.div(logits, temperature).softmax(dim=1)
'''

TEMP_MODULE = '''_softmax = torch.nn.Softmax(dim=-1)


def temperature_probs(logits, T):
    return _softmax(logits / T)
'''

TEMP_LOGSUMEXP = '''def temperature_probs(logits, temperature):
    z = logits / temperature
    return torch.exp(z - torch.logsumexp(z, dim=-1, keepdim=True))
'''

TOP_K_HEAPQ = '''import heapq


def top_k_logits(logits, k):
    out = torch.full_like(logits, float("-inf"))
    for r, row in enumerate(logits.tolist()):
        for j in heapq.nlargest(k, range(len(row)), key=row.__getitem__):
            out[r, j] = logits[r, j]
    return out
'''

TOP_K_ARGPARTITION = '''import numpy as np


def top_k_logits(logits, k):
    values = logits.detach().numpy()
    keep = np.argpartition(-values, k - 1, axis=-1)[..., :k]
    out = np.full_like(values, -np.inf)
    np.put_along_axis(out, keep, np.take_along_axis(values, keep, axis=-1), axis=-1)
    return torch.from_numpy(out)
'''

TOP_K_SORTED_POSITIONS = '''def top_k_logits(logits, k):
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True, stable=True)
    rank = torch.arange(logits.size(-1)).expand_as(sorted_logits)
    sorted_logits = sorted_logits.masked_fill(rank >= k, float("-inf"))
    return torch.empty_like(logits).scatter(-1, order, sorted_logits)
'''

TOP_P_LOOP = '''def top_p_logits(logits, p):
    out = torch.full_like(logits, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    for r in range(logits.shape[0]):
        order = sorted(range(logits.shape[1]), key=lambda j: -probs[r, j].item())
        above = 0.0
        for j in order:
            if above >= p - 1e-6:
                break
            out[r, j] = logits[r, j]
            above += probs[r, j].item()
    return out
'''

TOP_P_HINT = '''def top_p_logits(logits, p):
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True, stable=True)
    probs = sorted_logits.softmax(dim=-1)
    mass_above = probs.cumsum(dim=-1) - probs       # the hint: running sum minus its own
    sorted_logits = sorted_logits.masked_fill(mass_above >= p, float("-inf"))
    return sorted_logits.scatter(-1, order, sorted_logits)
'''

SAMPLE_TEMP_PROBS = '''def sample_token(logits, generator, temperature=1.0, top_k=None, top_p=None):
    z = logits / temperature
    if top_k is not None:
        z = top_k_logits(z, top_k)
    if top_p is not None:
        z = top_p_logits(z, top_p)
    probs = temperature_probs(z, 1.0)
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(1)
'''

SAMPLE_TYPED_RESHAPE = '''def sample_token(logits: torch.Tensor, generator: torch.Generator,
                 temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None) -> torch.Tensor:
    """Temperature, then the filters that are asked for, then one draw per row."""
    filtered = logits.div(temperature)
    for use, keep in ((top_k, top_k_logits), (top_p, top_p_logits)):
        if use is not None:
            filtered = keep(filtered, use)
    probs = torch.nn.functional.softmax(filtered, dim=-1)
    drawn = torch.multinomial(probs, 1, replacement=False, generator=generator)
    return drawn.reshape(logits.shape[0])
'''

GENERATE_RECURSIVE = '''def generate_tokens(model, idx, max_new_tokens, *, greedy=False,
                    temperature=1.0, top_k=None, top_p=None, generator=None,
                    stop_token=None, _done=None):
    if max_new_tokens == 0:
        return idx
    done = torch.zeros(idx.size(0), dtype=torch.bool) if _done is None else _done
    if stop_token is not None and bool(done.all()) and _done is not None:
        return idx
    context = idx[:, -model.config.n_positions:]
    logits, _ = model(context)
    last = logits[:, -1, :]
    nxt = greedy_next(last) if greedy else sample_token(last, generator, temperature, top_k,
                                                        top_p)
    if stop_token is not None:
        nxt = nxt.masked_fill(done, stop_token)
        done = done | (nxt == stop_token)
    return generate_tokens(model, torch.cat([idx, nxt.unsqueeze(1)], dim=1),
                           max_new_tokens - 1, greedy=greedy, temperature=temperature,
                           top_k=top_k, top_p=top_p, generator=generator,
                           stop_token=stop_token, _done=done)
'''

GENERATE_NO_GRAD_WHILE = '''@torch.no_grad()
def generate_tokens(model, idx, max_new_tokens, *, greedy=False, temperature=1.0, top_k=None,
                    top_p=None, generator=None, stop_token=None):
    """nanoGPT's crop, a while loop and a finished flag per row."""
    block_size = model.config.n_positions
    finished = torch.zeros(idx.shape[0], dtype=torch.bool, device=idx.device)
    steps = 0
    while steps < max_new_tokens:
        idx_cond = idx if idx.size(1) <= block_size else idx[:, -block_size:]
        out = model(idx_cond)
        logits = out[0][:, -1, :]
        if greedy:
            idx_next = torch.argmax(logits, dim=-1, keepdim=True)
        else:
            idx_next = sample_token(logits, generator, temperature, top_k,
                                    top_p).unsqueeze(-1)
        if stop_token is not None:
            idx_next[finished] = stop_token
            finished = finished | (idx_next.squeeze(-1) == stop_token)
        idx = torch.cat((idx, idx_next), dim=1)
        steps += 1
        if stop_token is not None and finished.all():
            break
    return idx
'''

SAMPLE_RENAMED = '''def sample_token(logits, gen, temp=1.0, k=None, p=None):
    z = logits / temp
    if k is not None:
        z = top_k_logits(z, k)
    if p is not None:
        z = top_p_logits(z, p)
    return torch.multinomial(torch.softmax(z, dim=-1), 1, generator=gen).view(-1)
'''

GENERATE_RENAMED = '''def generate_tokens(lm, prompt, steps, *, greedy=False, temperature=1.0,
                    top_k=None, top_p=None, generator=None, stop_token=None):
    out = prompt
    done = torch.zeros(prompt.size(0), dtype=torch.bool)
    for _ in range(steps):
        logits, _ = lm(out[:, -lm.config.n_positions:])
        last = logits[:, -1, :]
        nxt = greedy_next(last) if greedy else sample_token(last, generator, temperature,
                                                            top_k, top_p)
        if stop_token is not None:
            nxt = nxt.masked_fill(done, stop_token)
            done = done | (nxt == stop_token)
        out = torch.cat([out, nxt[:, None]], dim=1)
        if stop_token is not None and done.all():
            break
    return out
'''

ALTERNATIVES = [
    ("06_greedy_next", "topk(1).indices.squeeze", GREEDY_TOPK),
    ("06_greedy_next", "numpy argmax, from_numpy", GREEDY_NUMPY),
    ("06_temperature_probs", "torch.div, softmax(dim=1)", TEMP_DIM1),
    ("06_temperature_probs", "nn.Softmax, T as the name", TEMP_MODULE),
    ("06_temperature_probs", "exp minus logsumexp", TEMP_LOGSUMEXP),
    ("06_top_k_logits", "heapq.nlargest per row", TOP_K_HEAPQ),
    ("06_top_k_logits", "numpy argpartition", TOP_K_ARGPARTITION),
    ("06_top_k_logits", "a stable sort, ranks >= k masked", TOP_K_SORTED_POSITIONS),
    ("06_top_p_logits", "a Python loop in sorted order", TOP_P_LOOP),
    ("06_top_p_logits", "the hint: cumsum minus its own, >= p", TOP_P_HINT),
    ("06_sample_token", "temperature_probs at 1, squeeze(1)", SAMPLE_TEMP_PROBS),
    ("06_sample_token", "typed, a loop over filters, reshape", SAMPLE_TYPED_RESHAPE),
    ("06_sample_token", "renamed parameters", SAMPLE_RENAMED),
    ("06_generate_tokens", "recursion with a private keyword", GENERATE_RECURSIVE),
    ("06_generate_tokens", "renamed positional parameters", GENERATE_RENAMED),
    ("06_generate_tokens", "no_grad, nanoGPT's crop, a while loop", GENERATE_NO_GRAD_WHILE),
]
