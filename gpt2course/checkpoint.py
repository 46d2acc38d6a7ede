"""Saving a trained GPT-2 as a Hugging Face style checkpoint, and reading back how it was trained.

``save_checkpoint`` writes the same files OpenAI's GPT-2 has on the Hub, so
``weights.load_pretrained(folder)`` (its other half) and ``gpt2course generate
--model folder`` load it like any GPT-2.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from safetensors.torch import save_file

from .errors import CheckpointError
from .files import replace_file
from .i18n import tr
from .model import GPT2
from .weights import CONFIG_FILE, WEIGHTS_FILE, to_hf_state_dict

if TYPE_CHECKING:
    from .train import History, TrainConfig

TRAIN_CONFIG_FILE = "train_config.json"  # how a saved model was trained (and its final val loss)


def save_checkpoint(
    model: GPT2,
    folder: str | os.PathLike,
    *,
    train_config: TrainConfig | None = None,
    history: History | None = None,
) -> Path:
    """Save ``model`` as a Hugging Face style GPT-2 checkpoint; return the folder.

    The folder gets ``model.safetensors`` and ``config.json``. With ``train_config``,
    also ``train_config.json``: how it was trained (and ``history``'s last val loss).
    Raises ``CheckpointError`` if the folder cannot be written.
    """
    folder = Path(folder)
    # safetensors holds plain tensors, no pickled code: loading it cannot run anything.
    state = {name: t.detach().cpu() for name, t in to_hf_state_dict(model).items()}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # Each file whole (a notebook may load the course model while lesson 07 saves it),
        # its temporary file beside the folder, so that a listing of the folder never shows it.
        scratch = folder.parent
        replace_file(folder / WEIGHTS_FILE,
                     lambda path: save_file(state, path, metadata={"format": "pt"}),
                     scratch=scratch)
        config = json.dumps(model.config.to_hf_dict(), indent=2) + "\n"
        replace_file(folder / CONFIG_FILE, lambda path: path.write_text(config), scratch=scratch)
        if train_config is not None:
            info: dict = {"train_config": asdict(train_config)}
            if history is not None and history.val_loss:
                info["val_loss"] = history.val_loss[-1]
            text = json.dumps(info, indent=2) + "\n"
            replace_file(folder / TRAIN_CONFIG_FILE, lambda path: path.write_text(text),
                         scratch=scratch)
    except OSError as err:
        raise CheckpointError(tr("cannot save the checkpoint in {folder}: {reason}",
                                 folder=str(folder), reason=err.strerror or err)) from None
    return folder


def read_train_config(folder: str | os.PathLike) -> TrainConfig | None:
    """The ``TrainConfig`` saved beside a checkpoint, or None if there is none (or it is bad)."""
    from .train import TrainConfig

    path = Path(folder) / TRAIN_CONFIG_FILE
    try:
        return TrainConfig(**json.loads(path.read_text())["train_config"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
