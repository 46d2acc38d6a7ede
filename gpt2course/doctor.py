"""``gpt2course doctor``: is this machine ready for the course? What to do if not.

Each line is one thing the course needs, marked ok / missing / note, and what to
do about anything missing. Nothing is downloaded.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable
from importlib import metadata
from typing import TextIO

from .weights import hub_reachable

PACKAGES = ("torch", "numpy", "tiktoken", "regex", "safetensors", "huggingface_hub",
            "matplotlib", "ipywidgets", "jupyterlab")
OPTIONAL = ("transformers", "nbval", "pytest")  # only for the tests


def run_doctor(out: TextIO = sys.stdout, *, internet: Callable[[], bool] | None = None) -> int:
    """Print the report; return 0 when every required piece is there, else 1."""
    internet = internet or hub_reachable
    problems = 0

    def line(status: str, what: str, detail: str = "") -> None:
        out.write(f"[{status:^7}] {what}" + (f": {detail}" if detail else "") + "\n")

    line("ok", "python", f"{platform.python_version()} on {platform.system()} {platform.machine()}")
    for name in PACKAGES + OPTIONAL:
        try:
            line("ok", name, metadata.version(name))
        except metadata.PackageNotFoundError:
            required = name in PACKAGES
            problems += required
            line("missing" if required else "note", name,
                 f"not installed; run `pip install -e .{'' if required else '[dev]'}` "
                 f"in the course folder{'' if required else ' (needed only for the tests)'}")

    try:
        import torch

        if torch.cuda.is_available():
            line("ok", "GPU", f"CUDA: {torch.cuda.get_device_name(0)}")
        elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            line("ok", "GPU", "Apple MPS")
        else:
            line("note", "GPU", "none found; every lesson runs on the CPU (a GPU only speeds "
                                "up training in lesson 07)")
    except ImportError:
        pass

    online = internet()
    line("ok" if online else "note", "internet",
         "reachable" if online else "not reachable; cached files are used where they exist")
    problems += _check_vocabulary(line)
    problems += _check_corpus(line, online)
    _check_weights(line, online)
    out.write("All set: run `make lab` or `jupyter lab lessons/`.\n" if not problems else
              f"{problems} thing(s) to fix before the lessons will run, see above.\n")
    return 1 if problems else 0


def _check_vocabulary(line) -> int:
    from .errors import DownloadError
    from .vocab import gpt2_encoding

    try:
        gpt2_encoding()
    except DownloadError as err:
        line("missing", "GPT-2 vocabulary", str(err))
        return 1
    except ImportError:
        return 1  # already reported as a missing package
    where = os.environ.get("TIKTOKEN_CACHE_DIR", "tiktoken's cache")
    line("ok", "GPT-2 vocabulary", f"tiktoken 'gpt2' encoding (from {where})")
    return 0


def _check_corpus(line, online: bool) -> int:
    from .data import CACHE_DIR_VAR, CORPORA, DATA_DIR_VAR, cache_dir

    corpus = CORPORA["tinyshakespeare"]
    places = [os.environ.get(DATA_DIR_VAR), str(cache_dir())]
    found = next((p for p in places if p and os.path.isfile(os.path.join(p, corpus.filename))),
                 None)
    if found:
        line("ok", "Tiny Shakespeare", os.path.join(found, corpus.filename))
        return 0
    if online:
        line("ok", "Tiny Shakespeare", f"not cached yet; downloaded (1 MB) to {cache_dir()} "
                                       "on first use")
        return 0
    line("missing", "Tiny Shakespeare",
         f"not cached and no internet. Download {corpus.url} and put it in a folder named by "
         f"{DATA_DIR_VAR}, or save it as {cache_dir() / corpus.filename} "
         f"({CACHE_DIR_VAR} moves that folder).")
    return 1


def _check_weights(line, online: bool) -> None:
    """OpenAI's weights are optional: lessons fall back to models they build or train."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return
    cached = try_to_load_from_cache("openai-community/gpt2", "model.safetensors")
    if isinstance(cached, str):
        line("ok", "GPT-2 weights", f"OpenAI's 124M model is cached ({cached})")
    elif online:
        line("note", "GPT-2 weights", "not cached; load_pretrained('gpt2') downloads 548 MB "
                                      "once")
    else:
        line("note", "GPT-2 weights",
             "not cached and no internet: lessons use a model they train instead. To get "
             "them, run load_pretrained('gpt2') once on a machine with internet and copy "
             "~/.cache/huggingface, or pass a folder with model.safetensors and config.json.")
