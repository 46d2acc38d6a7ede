"""What the errors learners' code raises most often usually mean, for any exercise.

``explain_error(text)`` reads the learner's error (``LearnerError.text``: their traceback,
ending with the exception's line) and returns one plain sentence naming the likely bug,
in the learner's language, or None. ``core`` shows it as the "Likely bug:" line when the
exercise's own ``error_hints`` have nothing more specific. Every kind is matched on the
text PyTorch or Python writes (their wording since torch 2.0 and Python 3.10), so an
unknown error simply gets no sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..i18n import N_, tr

Explain = Callable[[re.Match[str]], str]


def _state_dict(found: re.Match[str]) -> str:
    """Missing / unexpected parameter names when a module loads GPT-2's weights."""
    text = found.string
    missing = _keys(text, "Missing key(s) in state_dict: ")
    unexpected = _keys(text, "Unexpected key(s) in state_dict: ")
    if unexpected and not missing and all(k.split(".")[-1] == "bias" for k in unexpected):
        return tr("the weights have biases ({keys}) that your layers lack: a layer made with "
                  "bias=False? GPT-2's linear layers all have a bias (nn.Linear's default).",
                  keys=", ".join(unexpected))
    if missing and unexpected:
        return tr("your module names its parameters differently from GPT-2's weights: it "
                  "expects {missing}, the weights have {unexpected}. Name each layer as GPT-2 "
                  "does, so the weights load by name.", missing=", ".join(missing),
                  unexpected=", ".join(unexpected))
    if unexpected:
        return tr("the weights have {keys}, which your module lacks: a layer is missing, or "
                  "kept in a plain attribute instead of an nn.Module or nn.Parameter.",
                  keys=", ".join(unexpected))
    return tr("your module has parameters GPT-2's weights lack: {keys} (an extra layer, or a "
              "layer named differently).", keys=", ".join(missing))


def _keys(text: str, label: str) -> list[str]:
    at = text.find(label)
    if at < 0:
        return []
    line = text[at + len(label):].splitlines()[0]
    keys = re.findall(r'"([^"]+)"', line)
    return keys[:4] + (["..."] if len(keys) > 4 else [])


def _simple(message: str, **groups: str) -> Explain:
    """A kind whose sentence only fills in named groups of its pattern."""

    def explain(found: re.Match[str]) -> str:
        return tr(message, **{name: found.group(int(group)) for name, group in groups.items()})

    return explain


# (pattern searched in the error text, explanation); the first match wins.
ERROR_KINDS: tuple[tuple[re.Pattern[str], Explain], ...] = tuple(
    (re.compile(pattern, re.MULTILINE), explain) for pattern, explain in (
        (r"Missing key\(s\) in state_dict|Unexpected key\(s\) in state_dict", _state_dict),
        (r"size mismatch for (\S+): copying a param with shape (torch\.Size\(\[[^]]*\]\)) from "
         r"checkpoint, the shape in current model is (torch\.Size\(\[[^]]*\]\))",
         _simple(N_("{name} has shape {mine} in your module but {theirs} in GPT-2's weights: "
                    "check the sizes you built it with (nn.Linear(in, out) stores its weight "
                    "as (out, in))."), name="1", theirs="2", mine="3")),
        (r"bad escape \\p", _simple(N_(
            "Python's re module does not know \\p{L} (a letter) or \\p{N} (a digit): use the "
            "regex module (import regex; regex.findall(pattern, text)), which does."))),
        (r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)",
         _simple(N_("a matrix product's inner sizes differ ({a}x{b} @ {c}x{d}): a weight used "
                    "in the other layout (transpose it), or the wrong weight."),
                 a="1", b="2", c="3", d="4")),
        (r"The size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\) at "
         r"non-singleton dimension (\d+)",
         _simple(N_("two tensors do not broadcast together: sizes {a} and {b} meet on one "
                    "axis. A mean or sum without keepdim=True, a missing [:, None], or a slice "
                    "of the wrong axis?"), a="1", b="2")),
        (r"Sizes of tensors must match except in dimension (\d+)",
         _simple(N_("torch.cat got tensors whose other axes differ (all but dim={dim} must be "
                    "equal): a (B,) vector needs [:, None] to become a (B, 1) column."),
                 dim="1")),
        (r"Tensors must have same number of dimensions: got (\d+) and (\d+)",
         _simple(N_("torch.cat got tensors with different numbers of axes ({a} and {b}): a "
                    "(B,) vector needs [:, None] to become a (B, 1) column."), a="1", b="2")),
        (r"view size is not compatible with input tensor's size and stride", _simple(N_(
            ".view() on a tensor that is not contiguous (it was transposed): use .reshape(...) "
            "or .contiguous().view(...)."))),
        (r"shape '\[([^]]*)\]' is invalid for input of size (\d+)",
         _simple(N_("a view or reshape to [{shape}] does not fit the {size} numbers the tensor "
                    "has: check the sizes (n_head x head size = C) and which axis is which."),
                 shape="1", size="2")),
        (r"index out of range in self", _simple(N_(
            "an embedding table was looked up with an index past its last row: wpe takes the "
            "positions 0 .. T-1 (not the token ids), wte takes ids below vocab_size."))),
        (r"index (-?\d+) is out of bounds for dimension (\d+) with size (\d+)",
         _simple(N_("index {index} is past the end of an axis of size {size}: an index off by "
                    "one, or a table indexed with the wrong ids (token ids where positions "
                    "belong?)."), index="1", size="3")),
        (r"INDICES element is out of DATA bounds, id=(-?\d+) axis_dim=(\d+)",
         _simple(N_("index {index} is past the end of an axis of size {size}: an index off by "
                    "one, or a table indexed with the wrong ids (token ids where positions "
                    "belong?)."), index="1", size="2")),
        (r"bytes must be in range\(0, 256\)", _simple(N_(
            "bytes() takes values 0 .. 255 only: ids from 256 up are merged tokens. Look each "
            "id up in a table of the bytes it stands for, then join those bytes."))),
        (r"ValueError: (.+) is not in list", _simple(N_(
            "list.index found no {item} in the list: a tuple never equals a list (pairs in "
            "merges are lists [a, b]); compare like with like, or use a dict of ranks."),
            item="1")),
        (r"NameError: name '(\w+)' is not defined", _simple(N_(
            "{name} is not defined where your code runs: import it or define it in your cell "
            "(the grader runs only the setup cells and the solution cells)."), name="1")),
        (r"IndexError: list index out of range", _simple(N_(
            "a list was indexed past its end: a loop bound off by one (use i + 1 < len(ids) "
            "before reading ids[i + 1])."))),
        (r"unhashable type: 'list'", _simple(N_(
            "a list cannot be a dict key or a set item: pairs arrive as lists [a, b]; make "
            "them tuples (tuple(pair)) before using them as keys."))),
        (r"max\(\) (arg is an empty sequence|iterable argument is empty)", _simple(N_(
            "max() got an empty sequence: nothing was left to choose from. Check for that "
            "first, and stop (break, or return) when there is nothing left."))),
        (r"KeyError: (.+)$", _simple(N_(
            "a lookup failed: your table has no entry {key}. Does it hold every key looked "
            "up (for token ids: the 256 bytes, every merge and the special tokens)?"),
            key="1")),
        (r"'tuple' object has no attribute '(\w+)'",
         _simple(N_("a tuple has no .{attr}: something returned several values. The model "
                    "returns (logits, loss): unpack it, logits, _ = model(idx)."), attr="1")),
        (r"Dimension out of range \(expected to be in range of \[-?\d+, (\d+)\], but got (-?\d+)\)",
         _simple(N_("dim={dim} does not exist here: the tensor has fewer axes than the code "
                    "assumes (print its .shape)."), dim="2")),
        (r"(not enough|too many) values to unpack \(expected (\d+)", _simple(N_(
            "unpacking into {n} names failed: the value has another number of items (what does "
            "the function return? how many axes has the tensor?)."), n="2")),
        (r"probability tensor contains either `inf`, `nan` or element < 0", _simple(N_(
            "torch.multinomial got something that is not probabilities (inf, NaN or negative "
            "numbers): pass softmax(logits), not the logits."))),
        (r"invalid multinomial distribution \(sum of probabilities <= 0\)", _simple(N_(
            "a row has no probability left for torch.multinomial: every token was filtered "
            "out. Keep at least the most likely token of each row."))),
        (r"expected scalar type (\w+) but found (\w+)|expected (m1|mat1) and (m2|mat2) to have "
         r"the same dtype", _simple(N_(
             "tensors of different dtypes met in one operation: convert one (.float() for "
             "numbers, .long() for ids)."))),
        (r"tensors used as indices must be long|only integer tensors of a single element",
         _simple(N_("a float tensor was used as an index: indices must be integers "
                    "(.long()) or bools."))),
        (r"'NoneType' object", _simple(N_(
            "a value is None where something is expected: a function without a return "
            "statement, or an in-place method's result (list.sort() returns None)."))),
        (r"maximum recursion depth exceeded", _simple(N_(
            "a function calls itself without end: does a helper have the exercise's name, or "
            "does the function call itself instead of another one?"))),
        (r"ZeroDivisionError", _simple(N_(
            "a division by zero: an empty input, or a count that stays 0."))),
    ))


def explain_error(text: str) -> str | None:
    """The likely bug behind the learner's error ``text``, as a sentence, or None."""
    for pattern, explain in ERROR_KINDS:
        found = pattern.search(text)
        if found:
            try:
                return explain(found)
            except (IndexError, KeyError, ValueError):  # never cost the learner a verdict
                return None
    return None
