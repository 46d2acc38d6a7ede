"""What each exercise's function must return, and the words when it returns something else.

The contract of a case is derived from the reference's output (``plain.spec_of``): a
tensor where the reference gives a tensor, a Python int where it gives an int, a list
(or tuple) of ints where it gives a list of ints, and so on. An exercise that takes
several types says so in ``Exercise.returns``. The learner's process checks the contract
on what their function returns, before anything is compared (``plain.check_returns``),
and reports a breach as a record; ``returned_problem`` words the record here, in the
learner's language, for ``check`` and the grader alike.
"""

from __future__ import annotations

from typing import Any

from ..i18n import N_, tr

# What the learner returned, by ``plain.KINDS``.
GOT = {
    "tensor": N_("a torch.Tensor"),
    "tensor subclass": N_("a {type}, a subclass of torch.Tensor that could compare or print "
                          "differently"),
    "tensor unreadable": N_("a tensor the check cannot read ({type})"),
    "numpy array": N_("a numpy array"),
    "numpy scalar": N_("a numpy number ({type})"),
    "int": N_("a Python int"),
    "float": N_("a Python float"),
    "bool": N_("a bool"),
    "str": N_("a str"),
    "none": N_("None"),
    "list": N_("a list"),
    "tuple": N_("a tuple"),
    "dict": N_("a dict"),
    "dict keys": N_("a dict whose keys are not all strings"),
    "object": N_("an object of type {type} (the check compares only tensors, numbers, "
                 "strings and lists, never objects of other types)"),
}

# What the contract asks for, by spec.
WANT = {
    "tensor": N_("a torch.Tensor"),
    "int": N_("a Python int"),
    "float": N_("a Python float"),
    "bool": N_("a bool (True or False)"),
    "str": N_("a str"),
    "none": N_("None"),
    "any": N_("a tensor, a number, a string, or a list of these"),
}

# How to get from what was returned to what is asked for: (got, wanted) -> a hint.
FIXES = {
    ("numpy array", "tensor"): N_("Compute with torch operations, or convert at the end with "
                                  "torch.from_numpy(...)."),
    ("numpy scalar", "tensor"): N_("Compute with torch operations, so the result stays a "
                                   "tensor."),
    ("tensor subclass", "tensor"): N_("Return a plain tensor, not a subclass: "
                                      ".as_subclass(torch.Tensor)."),
    ("tensor unreadable", "tensor"): N_("Return a dense float32 or integer tensor, as the "
                                        "exercise asks (.to_dense(), .float())."),
    ("tensor", "int"): N_("Turn a one-number tensor into an int with .item() or int(...)."),
    ("numpy array", "seq"): N_("Turn a numpy array into a list with .tolist()."),
    ("float", "int"): N_("Use integer arithmetic (//, int(...)): ids and counts are whole "
                         "numbers."),
}
RETURN_MISSING = N_("Is a return statement missing, or does a branch end without one?")
VALUES_AND_INDICES = N_("torch.max, min, sort and topk with a dim return a pair (values, "
                        "indices): keep the part the exercise asks for, .values or .indices "
                        "(or use argmax for the position of the largest).")
SWAPPED = N_("In reverse order your items would be the right kinds: they are in the wrong "
             "order. Return them in the order the exercise gives (e.g. the pair first, then "
             "its count).")
MAX_NAME = 120


def describe_spec(spec: Any, depth: int = 0) -> str:
    """A contract in words: ``{"seq": "int"}`` -> "a list (or tuple) whose items are each a
    Python int"."""
    if depth > 4:
        return tr(WANT["any"])
    if isinstance(spec, str) and spec in WANT:
        return tr(WANT[spec])
    if isinstance(spec, dict) and "seq" in spec:
        return tr("a list (or tuple) whose items are each {item}",
                  item=describe_spec(spec["seq"], depth + 1))
    if isinstance(spec, dict) and isinstance(spec.get("items"), list):
        return tr("a list (or tuple) of {n} items: {items}", n=len(spec["items"]),
                  items="; ".join(describe_spec(s, depth + 1) for s in spec["items"][:5]))
    if isinstance(spec, dict) and "dict" in spec:
        return tr("a dict with str keys whose values are each {item}",
                  item=describe_spec(spec["dict"], depth + 1))
    if isinstance(spec, dict) and isinstance(spec.get("one of"), list):
        return tr("one of: {options}", options="; ".join(
            describe_spec(s, depth + 1) for s in spec["one of"][:5]))
    return tr(WANT["any"])


def returned_text(record: Any) -> str:
    """The words for a ``plain.NotPlain`` record: what was returned, where, what the
    exercise asks for instead, and how to get there. The record may come from the
    learner's process: every field is checked and bounded."""
    record = record if isinstance(record, dict) else {}
    got = record.get("got") if record.get("got") in GOT else "object"
    type_name = _bounded(record.get("type"))
    where = _bounded(record.get("where"))
    want = record.get("want")
    what = tr(GOT[got], type=type_name)
    if got == "tensor unreadable":
        text = tr("Your code returned {what}.", what=what)
    elif want is None:
        text = tr("Your code returned {what}. Return a torch.Tensor (not a subclass), a "
                  "number, a string, or a list or tuple of these.", what=what)
    elif where:
        text = tr("Item {where} of what your code returned is {what}; it must be {want}.",
                  where=where, what=what, want=describe_spec(want))
    else:
        text = tr("Your code returned {what}. Return {want}.", what=what,
                  want=describe_spec(want))
    shape = "seq" if isinstance(want, dict) and ("seq" in want or "items" in want) else want
    fix = FIXES.get((got, shape if isinstance(shape, str) else "tensor"))
    if got == "none":
        fix = RETURN_MISSING
    if record.get("swapped") is True:
        fix = SWAPPED
    if type_name.startswith("torch.return_types."):
        fix = VALUES_AND_INDICES
    return f"{text} {tr(fix)}" if fix else text


def _bounded(value: Any) -> str:
    text = value if isinstance(value, str) else ""
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= MAX_NAME else text[:MAX_NAME] + "..."
