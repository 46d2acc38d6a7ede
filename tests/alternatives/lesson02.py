"""Lesson 02, embeddings: scatter, eye, index_select, one-hot matmul, float64 ..."""

ALTERNATIVES = [
    ("02_one_hot_ids", "scatter_ into zeros",
     "def one_hot_ids(idx, vocab_size):\n"
     "    out = torch.zeros(*idx.shape, vocab_size)\n"
     "    out.scatter_(-1, idx.unsqueeze(-1), 1.0)\n    return out\n"),
    ("02_one_hot_ids", "rows of the identity",
     "def one_hot_ids(idx, vocab_size):\n    return torch.eye(vocab_size)[idx]\n"),
    ("02_one_hot_ids", "a comparison, .to(torch.float32)",
     "def one_hot_ids(ids, V):\n"
     "    return (ids.unsqueeze(-1) == torch.arange(V)).to(torch.float32)\n"),
    ("02_token_embedding", "one-hot times wte",
     "def token_embedding(idx, wte):\n    return one_hot_ids(idx, wte.shape[0]) @ wte\n"),
    ("02_token_embedding", "index_select and view",
     "def token_embedding(idx, wte):\n"
     "    return wte.index_select(0, idx.reshape(-1)).view(*idx.shape, wte.size(1))\n"),
    ("02_token_embedding", "a loop over ids",
     "def token_embedding(idx, wte):\n"
     "    rows = [wte[int(i)] for i in idx.flatten()]\n"
     "    return torch.stack(rows).reshape(idx.shape[0], idx.shape[1], -1)\n"),
    ("02_input_embedding", "slice of wpe",
     "def input_embedding(idx, wte, wpe):\n    return wte[idx] + wpe[: idx.size(1)]\n"),
    ("02_input_embedding", "positions expanded over the batch",
     "def input_embedding(idx, wte, wpe):\n    B, T = idx.shape\n"
     "    pos = torch.arange(T, dtype=torch.long).unsqueeze(0).expand(B, T)\n"
     "    return token_embedding(idx, wte) + wpe[pos]\n"),
    ("02_input_embedding", "float64 inside",
     "def input_embedding(idx, wte, wpe):\n"
     "    x = wte.double()[idx] + wpe.double()[torch.arange(idx.shape[1])]\n"
     "    return x.float()\n"),
]
