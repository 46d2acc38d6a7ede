"""Lesson 02, a second batch: numpy round trips, loops, torch.where, gather, einsum,
type hints, narrow ..."""

ONE_HOT_NUMPY = '''import numpy as np


def one_hot_ids(idx, vocab_size):
    table = np.eye(vocab_size, dtype=np.float32)
    return torch.from_numpy(table[idx.numpy()])
'''

ONE_HOT_LOOPS = '''def one_hot_ids(idx: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """One 1.0 per token, written with loops."""
    B, T = idx.shape
    out = torch.zeros(B, T, vocab_size)
    for b in range(B):
        for t in range(T):
            out[b, t, idx[b, t]] = 1.0
    return out
'''

ONE_HOT_WHERE = '''def one_hot_ids(tokens, V):
    hit = tokens[..., None] == torch.arange(V, device=tokens.device)
    return torch.where(hit, 1.0, 0.0)
'''

TOKEN_GATHER = '''def token_embedding(idx, wte):
    B, T = idx.shape
    C = wte.shape[1]
    rows = wte.gather(0, idx.reshape(-1, 1).expand(-1, C))
    return rows.view(B, T, C)
'''

TOKEN_NUMPY = '''import numpy as np


def token_embedding(idx, wte):
    table = wte.detach().cpu().numpy()
    return torch.from_numpy(table[idx.numpy()].copy())
'''

TOKEN_EINSUM = '''def token_embedding(idx, wte):
    hot = one_hot_ids(idx, wte.size(0))
    return torch.einsum("btv,vc->btc", hot, wte)
'''

INPUT_NARROW = '''def input_embedding(idx: torch.Tensor, wte: torch.Tensor,
                    wpe: torch.Tensor) -> torch.Tensor:
    T = idx.size(-1)
    positions = wpe.narrow(0, 0, T).unsqueeze(0)    # (1, T, C)
    return torch.add(token_embedding(idx, wte), positions).contiguous()
'''

INPUT_LOOP = '''def input_embedding(idx, wte, wpe):
    B, T = idx.shape
    out = torch.empty(B, T, wte.shape[1], dtype=wte.dtype)
    for t in range(T):
        out[:, t] = wte[idx[:, t]] + wpe[t]
    return out
'''

ALTERNATIVES = [
    ("02_one_hot_ids", "numpy eye, from_numpy", ONE_HOT_NUMPY),
    ("02_one_hot_ids", "loops, type hints", ONE_HOT_LOOPS),
    ("02_one_hot_ids", "torch.where with scalars, own names", ONE_HOT_WHERE),
    ("02_token_embedding", "gather on expanded ids", TOKEN_GATHER),
    ("02_token_embedding", "numpy fancy indexing", TOKEN_NUMPY),
    ("02_token_embedding", "einsum with one-hot", TOKEN_EINSUM),
    ("02_input_embedding", "narrow, torch.add, contiguous", INPUT_NARROW),
    ("02_input_embedding", "a loop over positions into empty", INPUT_LOOP),
]
