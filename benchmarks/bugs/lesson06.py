"""Lesson 06 (sampling): greedy, temperature, top-k, top-p, drawing and the generation loop."""

from . import Bug

L = "06"

_SAMPLE = '''def sample_token(logits, generator, temperature=1.0, top_k=None, top_p=None):
'''

_GEN_HEAD = '''def generate_tokens(model, idx, max_new_tokens, *, greedy=False, temperature=1.0,
                    top_k=None, top_p=None, generator=None, stop_token=None):
'''

BUGS = (
    Bug(L, "greedy_dim0", "06_greedy_next", "greedy_next", '''
def greedy_next(logits):
    return logits.argmax(dim=0)
''', r"dim|axis|row"),
    Bug(L, "greedy_keepdim", "06_greedy_next", "greedy_next", '''
def greedy_next(logits):
    return logits.argmax(dim=-1, keepdim=True)
''', r"shape|keepdim|axis of size 1|squeeze"),
    Bug(L, "greedy_max_values", "06_greedy_next", "greedy_next", '''
def greedy_next(logits):
    return logits.max(dim=-1).values
''', r"argmax|indices|ids|index|value"),
    Bug(L, "greedy_argmin", "06_greedy_next", "greedy_next", '''
def greedy_next(logits):
    return logits.argmin(dim=-1)
''', r"argmin|smallest|largest|argmax"),
    Bug(L, "temp_multiplied", "06_temperature_probs", "temperature_probs", '''
def temperature_probs(logits, temperature):
    return torch.softmax(logits * temperature, dim=-1)
''', r"divide|multipl|/ ?temperature"),
    Bug(L, "temp_after_softmax", "06_temperature_probs", "temperature_probs", '''
def temperature_probs(logits, temperature):
    return torch.softmax(logits, dim=-1) / temperature
''', r"before the softmax|after the softmax|logits|sum to 1|normalis"),
    Bug(L, "temp_softmax_dim0", "06_temperature_probs", "temperature_probs", '''
def temperature_probs(logits, temperature):
    return torch.softmax(logits / temperature, dim=0)
''', r"dim|axis"),
    Bug(L, "topk_k_plus_one", "06_top_k_logits", "top_k_logits", '''
def top_k_logits(logits, k):
    values, indices = torch.topk(logits, k + 1, dim=-1)
    return torch.full_like(logits, float("-inf")).scatter(-1, indices, values)
''', r"one too many|k ?\+ ?1|\bk\b"),
    Bug(L, "topk_threshold_ties", "06_top_k_logits", "top_k_logits", '''
def top_k_logits(logits, k):
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))
''', r"tie|exactly k|more than k"),
    Bug(L, "topk_threshold_le", "06_top_k_logits", "top_k_logits", '''
def top_k_logits(logits, k):
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits <= kth, float("-inf"))
''', r"k ?- ?1|one too few|<=|fewer"),
    Bug(L, "topk_zero_fill", "06_top_k_logits", "top_k_logits", '''
def top_k_logits(logits, k):
    values, indices = torch.topk(logits, k, dim=-1)
    return torch.zeros_like(logits).scatter(-1, indices, values)
''', r"-inf|zero|\b0\b"),
    Bug(L, "topk_smallest", "06_top_k_logits", "top_k_logits", '''
def top_k_logits(logits, k):
    values, indices = torch.topk(logits, k, dim=-1, largest=False)
    return torch.full_like(logits, float("-inf")).scatter(-1, indices, values)
''', r"smallest|largest"),
    Bug(L, "topk_sorted_out", "06_top_k_logits", "top_k_logits", '''
def top_k_logits(logits, k):
    values, _ = torch.sort(logits, dim=-1, descending=True)
    values[..., k:] = float("-inf")
    return values
''', r"order|scatter|position|sorted|place"),
    Bug(L, "topp_excludes_crossing", "06_top_p_logits", "top_p_logits", '''
def top_p_logits(logits, p):
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = torch.softmax(sorted_logits, dim=-1)
    sorted_logits = sorted_logits.masked_fill(probs.cumsum(dim=-1) > p, float("-inf"))
    return torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
''', r"cross|reaches|at least p|includ|the token that"),
    Bug(L, "topp_ascending", "06_top_p_logits", "top_p_logits", '''
def top_p_logits(logits, p):
    sorted_logits, order = torch.sort(logits, dim=-1)
    probs = torch.softmax(sorted_logits, dim=-1)
    mass_above = probs.cumsum(dim=-1) - probs
    sorted_logits = sorted_logits.masked_fill(mass_above >= p, float("-inf"))
    return torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
''', r"descending|most likely first|largest first|ascending|sort"),
    Bug(L, "topp_unsorted", "06_top_p_logits", "top_p_logits", '''
def top_p_logits(logits, p):
    probs = torch.softmax(logits, dim=-1)
    mass_above = probs.cumsum(dim=-1) - probs
    return logits.masked_fill(mass_above >= p, float("-inf"))
''', r"sort"),
    Bug(L, "topp_not_scattered", "06_top_p_logits", "top_p_logits", '''
def top_p_logits(logits, p):
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = torch.softmax(sorted_logits, dim=-1)
    mass_above = probs.cumsum(dim=-1) - probs
    return sorted_logits.masked_fill(mass_above >= p, float("-inf"))
''', r"order|scatter|sorted|back|place"),
    Bug(L, "topp_cumsum_logits", "06_top_p_logits", "top_p_logits", '''
def top_p_logits(logits, p):
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    mass_above = sorted_logits.cumsum(dim=-1) - sorted_logits
    sorted_logits = sorted_logits.masked_fill(mass_above >= p, float("-inf"))
    return torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
''', r"probabilit|softmax"),
    Bug(L, "sample_argmax", "06_sample_token", "sample_token", _SAMPLE + '''
    logits = logits / temperature
    if top_k is not None:
        logits = top_k_logits(logits, top_k)
    if top_p is not None:
        logits = top_p_logits(logits, top_p)
    return torch.softmax(logits, dim=-1).argmax(dim=-1)
''', r"argmax|draw|random|sampl|multinomial|greedy"),
    Bug(L, "sample_no_generator", "06_sample_token", "sample_token", _SAMPLE + '''
    logits = logits / temperature
    if top_k is not None:
        logits = top_k_logits(logits, top_k)
    if top_p is not None:
        logits = top_p_logits(logits, top_p)
    probs = torch.softmax(logits, dim=-1)
    return torch.multinomial(probs, num_samples=1).squeeze(-1)
''', r"generator|seed|repeat"),
    Bug(L, "sample_new_generator", "06_sample_token", "sample_token", _SAMPLE + '''
    logits = logits / temperature
    if top_k is not None:
        logits = top_k_logits(logits, top_k)
    if top_p is not None:
        logits = top_p_logits(logits, top_p)
    probs = torch.softmax(logits, dim=-1)
    g = torch.Generator().manual_seed(0)
    return torch.multinomial(probs, num_samples=1, generator=g).squeeze(-1)
''', r"generator|seed|same"),
    Bug(L, "sample_temp_after_filters", "06_sample_token", "sample_token", _SAMPLE + '''
    if top_k is not None:
        logits = top_k_logits(logits, top_k)
    if top_p is not None:
        logits = top_p_logits(logits, top_p)
    probs = torch.softmax(logits / temperature, dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)
''', r"temperature|order|first|before"),
    Bug(L, "sample_temp_ignored", "06_sample_token", "sample_token", _SAMPLE + '''
    if top_k is not None:
        logits = top_k_logits(logits, top_k)
    if top_p is not None:
        logits = top_p_logits(logits, top_p)
    probs = torch.softmax(logits, dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)
''', r"temperature"),
    Bug(L, "sample_no_squeeze", "06_sample_token", "sample_token", _SAMPLE + '''
    logits = logits / temperature
    if top_k is not None:
        logits = top_k_logits(logits, top_k)
    if top_p is not None:
        logits = top_p_logits(logits, top_p)
    probs = torch.softmax(logits, dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator)
''', r"shape|squeeze|axis of size 1|\(B,\)|one id per row"),
    Bug(L, "sample_top_p_first", "06_sample_token", "sample_token", _SAMPLE + '''
    logits = logits / temperature
    if top_p is not None:
        logits = top_p_logits(logits, top_p)
    if top_k is not None:
        logits = top_k_logits(logits, top_k)
    probs = torch.softmax(logits, dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)
''', r"order|top-k (first|before)|before top-k|top_k.*before"),
    Bug(L, "gen_first_position", "06_generate_tokens", "generate_tokens", _GEN_HEAD + '''
    finished = torch.zeros(idx.size(0), dtype=torch.bool)
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -model.config.n_positions:])
        last = logits[:, 0, :]
        nxt = greedy_next(last) if greedy else sample_token(last, generator, temperature,
                                                             top_k, top_p)
        if stop_token is not None:
            nxt = nxt.masked_fill(finished, stop_token)
            finished = finished | (nxt == stop_token)
        idx = torch.cat([idx, nxt[:, None]], dim=1)
        if stop_token is not None and bool(finished.all()):
            break
    return idx
''', r"last|-1|position"),
    Bug(L, "gen_no_crop", "06_generate_tokens", "generate_tokens", _GEN_HEAD + '''
    finished = torch.zeros(idx.size(0), dtype=torch.bool)
    for _ in range(max_new_tokens):
        logits, _ = model(idx)
        last = logits[:, -1, :]
        nxt = greedy_next(last) if greedy else sample_token(last, generator, temperature,
                                                             top_k, top_p)
        if stop_token is not None:
            nxt = nxt.masked_fill(finished, stop_token)
            finished = finished | (nxt == stop_token)
        idx = torch.cat([idx, nxt[:, None]], dim=1)
        if stop_token is not None and bool(finished.all()):
            break
    return idx
''', r"n_positions|crop|context|longest|window"),
    Bug(L, "gen_stop_any_row", "06_generate_tokens", "generate_tokens", _GEN_HEAD + '''
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -model.config.n_positions:])
        last = logits[:, -1, :]
        nxt = greedy_next(last) if greedy else sample_token(last, generator, temperature,
                                                             top_k, top_p)
        idx = torch.cat([idx, nxt[:, None]], dim=1)
        if stop_token is not None and bool((nxt == stop_token).any()):
            break
    return idx
''', r"stop|all rows|every row|finished"),
    Bug(L, "gen_ignores_greedy", "06_generate_tokens", "generate_tokens", _GEN_HEAD + '''
    finished = torch.zeros(idx.size(0), dtype=torch.bool)
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -model.config.n_positions:])
        nxt = sample_token(logits[:, -1, :], generator, temperature, top_k, top_p)
        if stop_token is not None:
            nxt = nxt.masked_fill(finished, stop_token)
            finished = finished | (nxt == stop_token)
        idx = torch.cat([idx, nxt[:, None]], dim=1)
        if stop_token is not None and bool(finished.all()):
            break
    return idx
''', r"greedy"),
    Bug(L, "gen_one_too_many", "06_generate_tokens", "generate_tokens", _GEN_HEAD + '''
    finished = torch.zeros(idx.size(0), dtype=torch.bool)
    for _ in range(max_new_tokens + 1):
        logits, _ = model(idx[:, -model.config.n_positions:])
        last = logits[:, -1, :]
        nxt = greedy_next(last) if greedy else sample_token(last, generator, temperature,
                                                             top_k, top_p)
        if stop_token is not None:
            nxt = nxt.masked_fill(finished, stop_token)
            finished = finished | (nxt == stop_token)
        idx = torch.cat([idx, nxt[:, None]], dim=1)
        if stop_token is not None and bool(finished.all()):
            break
    return idx
''', r"one (token )?too many|max_new_tokens|extra|off by one|one step too far"),
    Bug(L, "gen_stop_not_padded", "06_generate_tokens", "generate_tokens", _GEN_HEAD + '''
    finished = torch.zeros(idx.size(0), dtype=torch.bool)
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -model.config.n_positions:])
        last = logits[:, -1, :]
        nxt = greedy_next(last) if greedy else sample_token(last, generator, temperature,
                                                             top_k, top_p)
        if stop_token is not None:
            finished = finished | (nxt == stop_token)
        idx = torch.cat([idx, nxt[:, None]], dim=1)
        if stop_token is not None and bool(finished.all()):
            break
    return idx
''', r"stop_token|finished|pad"),
)
