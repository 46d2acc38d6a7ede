"""Load GPT-2 checkpoints: OpenAI's weights from the Hugging Face Hub, or local files.

Hugging Face stores GPT-2 with the names our model uses (``wte``, ``h.0.attn.c_attn``,
...), so loading is a plain mapping with two twists:

* OpenAI wrote GPT-2 with "Conv1D" layers, which keep weights as ``(in, out)``;
  ``nn.Linear`` keeps ``(out, in)``. Those four weights per block are transposed.
* Each attention layer also stores its causal mask (``attn.bias``,
  ``attn.masked_bias``). Those are not learned, so they are skipped.

Everything else must match exactly: a missing, unexpected or wrongly shaped
tensor is an error that names it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import Tensor

from .config import PRESETS, GPT2Config
from .downloads.endpoint import hub_reachable  # noqa: F401 (re-exported: its old home)
from .errors import CheckpointError
from .i18n import tr
from .model import GPT2

# Layers stored (in, out) by OpenAI's Conv1D, (out, in) by nn.Linear.
CONV1D_WEIGHTS = (
    ".attn.c_attn.weight", ".attn.c_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight",
)
# Saved with every attention layer, but fixed masks rather than learned weights.
IGNORED_BUFFERS = (".attn.bias", ".attn.masked_bias")  # not ".attn.c_attn.bias"!
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


def hub_id(name: str) -> str:
    """``gpt2-medium`` -> ``openai-community/gpt2-medium``; other ids pass through."""
    return f"openai-community/{name}" if name in PRESETS else name


def load_pretrained(name_or_path: str | os.PathLike, *, config: GPT2Config | None = None) -> GPT2:
    """Build a ``GPT2`` from a checkpoint, in eval mode.

    name_or_path: a hub id (``"gpt2"``, ``"openai-community/gpt2-medium"``, ...),
    a folder holding ``model.safetensors`` (and ``config.json``), or a
    ``.safetensors`` file. Hub files are downloaded once into Hugging Face's cache.
    config: only needed when no ``config.json`` comes with the weights.
    """
    weights_path, config_path = _locate(name_or_path)
    if config is None:
        config = _read_config(config_path) if config_path else None
    try:
        hf_state = load_file(weights_path)
    except (SafetensorError, OSError) as err:
        raise CheckpointError(tr("Could not read {path} as safetensors: {err}",
                                 path=weights_path, err=err)) from None
    state = from_hf_state_dict(hf_state)
    if config is None:
        config = infer_config(state)
    with torch.device("meta"):  # no time spent on random weights that are overwritten anyway
        model = GPT2(config)
    load_reference_state(model, state)
    return model.eval()


def from_hf_state_dict(hf_state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Map a Hugging Face GPT-2 state dict onto the reference's names and layouts."""
    state: dict[str, Tensor] = {}
    for name, tensor in hf_state.items():
        name = name.removeprefix("transformer.")
        if name.endswith(IGNORED_BUFFERS):
            continue
        tensor = tensor.to(torch.float32).contiguous()
        if name.endswith(CONV1D_WEIGHTS) and tensor.dim() == 2:
            tensor = tensor.t()  # a view, no copy: memory stays (in, out), see model.py
        state[name] = tensor
    head = state.pop("lm_head.weight", None)
    if head is not None and "wte.weight" in state and not torch.equal(head, state["wte.weight"]):
        raise CheckpointError(tr(
            "lm_head.weight differs from wte.weight: GPT-2 ties its output head to the token "
            "embeddings, so this checkpoint is not a GPT-2 this model can load."
        ))
    return state


def to_hf_state_dict(model: GPT2) -> dict[str, Tensor]:
    """The reverse mapping: the reference's weights in Hugging Face's checkpoint layout."""
    return {
        name: (t.t() if name.endswith(CONV1D_WEIGHTS) else t).contiguous()
        for name, t in model.state_dict().items()
    }


def load_reference_state(model: GPT2, state: dict[str, Tensor]) -> None:
    """Copy ``state`` (reference names and layouts) into ``model``, strictly.

    Every parameter must be present with the right shape and nothing extra may
    be left over; the error names each offending tensor.
    """
    expected = {name: p.shape for name, p in model.state_dict().items()}
    missing = sorted(expected.keys() - state.keys())
    unexpected = sorted(state.keys() - expected.keys())
    wrong = [
        "  " + tr("{name}: checkpoint {found}, model expects {expected}", name=name,
                  found=_shape(state[name], name), expected=_shape(expected[name], name))
        for name in expected.keys() & state.keys()
        if state[name].shape != expected[name]
    ]
    problems = []
    if missing:
        problems.append(tr("missing tensors: {names}", names=_names(missing)))
    if unexpected:
        problems.append(tr("unexpected tensors: {names}", names=_names(unexpected)))
    if wrong:
        problems.append(tr("wrong shapes (checkpoint layout):") + "\n" + "\n".join(sorted(wrong)))
    if problems:
        c = model.config
        raise CheckpointError(
            tr("The checkpoint does not fit this GPT-2 (n_layer={n_layer}, n_embd={n_embd}, "
               "vocab_size={vocab_size}, n_positions={n_positions}).", n_layer=c.n_layer,
               n_embd=c.n_embd, vocab_size=c.vocab_size, n_positions=c.n_positions)
            + "\n" + "\n".join(problems) + "\n"
            + tr("Check that config.json belongs to these weights.")
        )
    model.load_state_dict(state, strict=True, assign=True)


def infer_config(state: dict[str, Tensor]) -> GPT2Config:
    """Read a config off the tensor shapes, for a bare ``.safetensors`` file.

    Shapes give everything except the number of heads; like every OpenAI GPT-2,
    we assume heads of 64 dims.
    """
    try:
        vocab_size, n_embd = state["wte.weight"].shape
        n_positions = state["wpe.weight"].shape[0]
    except KeyError as missing:
        raise CheckpointError(tr("The checkpoint has no {name} tensor; is it a GPT-2?",
                                 name=missing)) from None
    n_layer = len({name.split(".")[1] for name in state if name.startswith("h.")})
    if n_embd % 64:
        raise CheckpointError(tr(
            "n_embd={n_embd} is not a multiple of 64, so the number of heads cannot be guessed. "
            "Put the model's config.json beside the weights, or pass config=GPT2Config(...).",
            n_embd=n_embd))
    return GPT2Config(
        vocab_size=vocab_size, n_positions=n_positions, n_embd=n_embd,
        n_layer=max(n_layer, 1), n_head=n_embd // 64,
    )


def _locate(name_or_path: str | os.PathLike) -> tuple[Path, Path | None]:
    """Find (weights file, config file or None) for a local path or a hub id."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        weights = path / WEIGHTS_FILE
        if not weights.is_file():
            found = sorted(p.name for p in path.iterdir())[:10]
            raise CheckpointError(tr(
                "{path} has no {file} (it holds: {found}). "
                "Save the model with save_pretrained(..., safe_serialization=True).",
                path=path, file=WEIGHTS_FILE, found=", ".join(found) or tr("nothing")))
        config = path / CONFIG_FILE
        return weights, config if config.is_file() else None
    if path.is_file():
        if path.suffix != ".safetensors":
            raise CheckpointError(tr("{path} is not a .safetensors file; only safetensors is "
                                     "loaded.", path=path))
        config = path.with_name(CONFIG_FILE)
        return path, config if config.is_file() else None
    name = str(name_or_path)
    if _looks_like_path(name):
        raise CheckpointError(tr("No such file or folder: {path}", path=path))
    return _download(hub_id(name))


def _looks_like_path(name: str) -> bool:
    return (
        name.startswith((".", "/", "~", "\\"))
        or name.endswith(".safetensors")
        or name.count("/") > 1
        or os.sep in name.replace("/", "")
    )


def _download(repo_id: str) -> tuple[Path, Path]:
    """(weights, config) of a hub id: from a cache on this machine if it has both, else
    downloaded through ``HF_ENDPOINT`` into the course's cache (see downloads/hub.py)."""
    from .downloads.hub import cached_file, ensure_file

    found = [cached_file(repo_id, name) for name in (WEIGHTS_FILE, CONFIG_FILE)]
    if all(found) and found[0].parent == found[1].parent:
        return found[0], found[1]
    return ensure_file(repo_id, WEIGHTS_FILE), ensure_file(repo_id, CONFIG_FILE)


def _read_config(path: Path) -> GPT2Config:
    try:
        return GPT2Config.from_hf_dict(json.loads(path.read_text()))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(tr("{path} is not valid JSON: {err}", path=path, err=err)) from None


def _shape(x: Tensor | torch.Size, name: str) -> tuple[int, ...]:
    """Shapes as the checkpoint stores them, so the message matches what users see on disk."""
    shape = tuple(x.shape if isinstance(x, Tensor) else x)
    return shape[::-1] if name.endswith(CONV1D_WEIGHTS) and len(shape) == 2 else shape


def _names(names: list[str]) -> str:
    """The first ten names, and how many more there are."""
    more = tr(" (and {n} more)", n=len(names) - 10) if len(names) > 10 else ""
    return ", ".join(names[:10]) + more
