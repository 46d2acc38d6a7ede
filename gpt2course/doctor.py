"""``gpt2course doctor``: is this machine ready for the course? What to do if not.

Each line is one thing the course needs, marked ok / missing / note, and what to
do about anything missing. For each download it says where it comes from (the
Hub in use, ``HF_ENDPOINT``), whether and where it is cached, and the one
command that fixes it (see ``downloads/status.py``). Nothing is downloaded.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Callable
from importlib import metadata
from typing import TextIO

from .downloads.endpoint import reachable
from .downloads.status import download_lines
from .i18n import tr

PACKAGES = ("torch", "numpy", "tiktoken", "regex", "safetensors", "huggingface_hub",
            "matplotlib", "ipywidgets", "jupyterlab")
OPTIONAL = ("transformers", "nbval", "pytest")  # only for the tests


def run_doctor(out: TextIO | None = None, *,
               probe: Callable[[str], bool] = reachable) -> int:
    """Print the report to ``out`` (default: ``sys.stdout`` at the time of the call);
    return 0 when every required piece is there, else 1.

    probe(url): can that host be reached now (tests pass a stub; the default opens a
    TCP connection with a 3 s timeout).
    """
    out = out or sys.stdout
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
                 tr("not installed; run `pip install -e .` in the course folder") if required
                 else tr("not installed; run `pip install -e .[dev]` in the course folder "
                         "(needed only for the tests)"))
    _gpu(line)
    for item in download_lines(probe):
        problems += item.status == "missing"
        line(item.status, item.what, item.detail)
    out.write((_all_set() if not problems else
               tr("{n} thing(s) to fix before the lessons will run, see above.", n=problems))
              + "\n")
    return 1 if problems else 0


def _all_set() -> str:
    """The last line of a ready machine: how to open the lessons, from where they are."""
    from .course_folders import candidates, holds_lessons

    found = next((folder for folder in candidates("lessons") if holds_lessons(folder)), None)
    if found is None:
        return tr("All set: open the course's lessons/ folder in Jupyter (`jupyter lab "
                  "path/to/lessons`).")
    return tr("All set: run `jupyter lab {folder}` to open the lessons.", folder=found)


def _gpu(line) -> None:
    try:
        import torch
    except ImportError:
        return  # already reported as a missing package
    if torch.cuda.is_available():
        line("ok", "GPU", f"CUDA: {torch.cuda.get_device_name(0)}")
    elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        line("ok", "GPU", "Apple MPS")
    else:
        line("note", "GPU", tr("none found; every lesson runs on the CPU (a GPU only speeds up "
                               "training in lesson 07)"))
