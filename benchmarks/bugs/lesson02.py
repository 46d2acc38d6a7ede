"""Lesson 02 (embeddings): indexing, position ids and broadcasting bugs."""

from . import Bug

L = "02"

BUGS = (
    Bug(L, "one_hot_bool", "02_one_hot_ids", "one_hot_ids", '''
def one_hot_ids(idx, vocab_size):
    return idx[..., None] == torch.arange(vocab_size)
''', r"dtype|float"),
    Bug(L, "one_hot_size_from_ids", "02_one_hot_ids", "one_hot_ids", '''
def one_hot_ids(idx, vocab_size):
    return (idx[..., None] == torch.arange(int(idx.max()) + 1)).float()
''', r"vocab_size|width|columns|size of the vocab"),
    Bug(L, "one_hot_scatter_wrong_dim", "02_one_hot_ids", "one_hot_ids", '''
def one_hot_ids(idx, vocab_size):
    out = torch.zeros(*idx.shape, vocab_size)
    return out.scatter(1, idx[..., None], 1.0)
''', r"dim|axis|last"),
    Bug(L, "token_emb_columns", "02_token_embedding", "token_embedding", '''
def token_embedding(idx, wte):
    return wte.T[idx]
''', r"row|column|transpose|\.T"),
    Bug(L, "token_emb_one_hot_long", "02_token_embedding", "token_embedding", '''
def token_embedding(idx, wte):
    return wte[idx].long()
''', r"dtype|float|long|integer"),
    Bug(L, "pos_from_one", "02_input_embedding", "input_embedding", '''
def input_embedding(idx, wte, wpe):
    T = idx.shape[1]
    return wte[idx] + wpe[torch.arange(1, T + 1)]
''', r"position.*(0|start|first|one)|off by one|shift"),
    Bug(L, "pos_indexed_by_ids", "02_input_embedding", "input_embedding", '''
def input_embedding(idx, wte, wpe):
    return wte[idx] + wpe[idx]
''', r"position|ids|arange"),
    Bug(L, "pos_added_to_ids", "02_input_embedding", "input_embedding", '''
def input_embedding(idx, wte, wpe):
    T = idx.shape[1]
    return wte[idx + torch.arange(T)]
''', r"position|wpe|ids"),
    Bug(L, "pos_uses_batch_size", "02_input_embedding", "input_embedding", '''
def input_embedding(idx, wte, wpe):
    T = idx.shape[0]
    return wte[idx] + wpe[:T]
''', r"shape\[1\]|\bT\b|batch|time|sequence length"),
    Bug(L, "pos_broadcast_wrong_axis", "02_input_embedding", "input_embedding", '''
def input_embedding(idx, wte, wpe):
    B, T = idx.shape
    return wte[idx] + wpe[:T].unsqueeze(1)
''', r"broadcast|axis|unsqueeze|shape"),
    Bug(L, "pos_multiplied", "02_input_embedding", "input_embedding", '''
def input_embedding(idx, wte, wpe):
    T = idx.shape[1]
    return wte[idx] * wpe[:T]
''', r"add|sum|plus|\+"),
    Bug(L, "pos_only_first", "02_input_embedding", "input_embedding", '''
def input_embedding(idx, wte, wpe):
    return wte[idx] + wpe[0]
''', r"position|every|arange"),
)
