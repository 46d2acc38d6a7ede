"""The model the lessons generate text with: OpenAI's GPT-2 if we can get it, else our own.

``course_model()`` tries, in this order:

1. OpenAI's GPT-2 (124M) from the Hugging Face cache on this machine (no network needed);
2. OpenAI's GPT-2 downloaded from the Hugging Face Hub (about 550 MB, once);
3. the course's small GPT-2 trained on Tiny Shakespeare (lesson 07): loaded from
   ``cache_dir()/shakespeare-gpt2`` if it was saved there before, else trained now
   (about 2 minutes on a laptop CPU) and saved there for next time.

Set ``GPT2COURSE_NO_PRETRAINED=1`` to skip OpenAI's GPT-2 (tests and CI do this,
so their outputs do not depend on the network).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock

from .data import cache_dir
from .downloads.endpoint import hub_endpoint, hub_reachable
from .errors import CourseError
from .i18n import tr
from .model import GPT2
from .train import TrainConfig, read_train_config, save_checkpoint, train
from .weights import CONFIG_FILE, WEIGHTS_FILE, hub_id, load_pretrained

NO_PRETRAINED_VAR = "GPT2COURSE_NO_PRETRAINED"
OPENAI_MODEL = "gpt2"
SHAKESPEARE_FOLDER = "shakespeare-gpt2"


def fallback_line() -> str:
    """The end of the line that says the course's own model is used instead."""
    return tr("using the course's small GPT-2 trained on Tiny Shakespeare instead (lesson 07; "
              "trained once in about 2 minutes, then kept in the course's cache folder).")


def course_model(*, verbose: bool = True, config: TrainConfig | None = None) -> tuple[GPT2, str]:
    """Return ``(model in eval mode, one line saying which model it is and why)``.

    verbose: also print that line.
    config: the training settings of the fallback model (default ``TrainConfig()``);
    tests pass tiny ones. A saved fallback model is reused only if it was trained
    with exactly these settings; otherwise it is trained again.
    """
    model, line = _openai_gpt2()
    if model is None:
        model = shakespeare_model(config or TrainConfig())
    if verbose:
        print(line, flush=True)
    return model, line


def shakespeare_model(config: TrainConfig | None = None) -> GPT2:
    """The small Shakespeare GPT-2: from the cache if it is there and matches, else trained now."""
    config = config or TrainConfig()
    folder = shakespeare_folder()
    # One process trains, the others wait and then load its result: two notebooks open at
    # once (JupyterHub), or test workers in parallel, must not train twice or read a
    # checkpoint that another process is halfway through writing.
    with _training_lock(folder):
        if read_train_config(folder) == config:
            try:
                return load_pretrained(folder)
            except CourseError:
                pass  # damaged (e.g. a save cut short): train it again below
        model, history = train(config)
        save_checkpoint(model, folder, train_config=config, history=history)
    return model


@contextlib.contextmanager
def _training_lock(folder: Path) -> Iterator[None]:
    """Hold a lock file beside ``folder`` while it is read or trained. Where the cache folder
    cannot be written, go on without the lock (saving then fails with its own clear message)."""
    lock = FileLock(str(folder) + ".lock")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire()
        locked = True
    except OSError:
        locked = False
    try:
        yield
    finally:
        if locked:
            lock.release()


def shakespeare_folder() -> Path:
    """Where the small Shakespeare GPT-2 is kept: ``cache_dir()/shakespeare-gpt2``."""
    return cache_dir() / SHAKESPEARE_FOLDER


def _openai_gpt2() -> tuple[GPT2 | None, str]:
    """OpenAI's GPT-2 and the line to print, or (None, why not + what is used instead)."""
    if os.environ.get(NO_PRETRAINED_VAR, "") not in ("", "0"):
        return None, tr("{var} is set: {fallback}", var=NO_PRETRAINED_VAR,
                        fallback=fallback_line())
    cached = _cached_openai_folder()
    if cached is not None:
        try:  # a local folder: no network, no retries
            return load_pretrained(cached), tr("Using OpenAI's GPT-2 (124M parameters), from "
                                               "{folder}.", folder=cached)
        except CourseError:
            pass  # a damaged cache: try the Hub as if nothing were cached
    if not hub_reachable():
        return None, tr("No internet and no cached copy of OpenAI's GPT-2: {fallback}",
                        fallback=fallback_line())
    try:
        model = load_pretrained(OPENAI_MODEL)
    except CourseError as err:
        return None, tr("Could not download OpenAI's GPT-2 ({err}): {fallback}", err=err,
                        fallback=fallback_line())
    return model, tr("Using OpenAI's GPT-2 (124M parameters), from the Hub at {endpoint}.",
                     endpoint=hub_endpoint())


def _cached_openai_folder() -> Path | None:
    """The folder on this machine holding GPT-2's weights and config (the course's cache,
    then Hugging Face's), if one holds both; no network."""
    from .downloads.hub import cached_file

    found = [cached_file(hub_id(OPENAI_MODEL), name) for name in (WEIGHTS_FILE, CONFIG_FILE)]
    if not all(found) or found[0].parent != found[1].parent:
        return None
    return found[0].parent
