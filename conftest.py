"""pytest setup for the whole checkout: tests/ and the notebooks under nbval.

Offline machines (CI, the course's dev boxes) keep GPT-2's BPE files and Tiny
Shakespeare in ../shared beside the checkout; point tiktoken and the data loader
there unless the caller already chose a place. After a notebook run, print how
long each notebook took. Long notebooks and slow tests are started first.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

SHARED = Path(__file__).resolve().parent.parent / "shared"
if (SHARED / "tiktoken-cache").is_dir():
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(SHARED / "tiktoken-cache"))
if (SHARED / "data" / "tinyshakespeare.txt").is_file():
    os.environ.setdefault("GPT2COURSE_DATA_DIR", str(SHARED / "data"))

_notebook_seconds: dict[str, float] = defaultdict(float)
# Notebooks that take minutes (lesson 07 trains a model: about 3 minutes on one core, more
# than all the others together). Run first, each on its own worker, they finish while the
# other workers run the short ones; run last, the others wait for them
# (`make test` passes --no-loadscope-reorder, so xdist keeps this order).
LONG_NOTEBOOKS = ("07_training.ipynb",)


def pytest_collection_modifyitems(items) -> None:
    """The long notebooks first, then the tests marked slow, each group in its own order:
    xdist hands the first tests out round robin, so the long ones run side by side from the
    start instead of one worker finishing them alone at the end."""
    items.sort(key=lambda item: (not item.nodeid.split("::")[0].endswith(LONG_NOTEBOOKS),
                                 item.get_closest_marker("slow") is None))


def pytest_runtest_logreport(report) -> None:
    if report.nodeid.split("::")[0].endswith(".ipynb"):
        _notebook_seconds[report.nodeid.split("::")[0]] += report.duration


def pytest_terminal_summary(terminalreporter) -> None:
    if _notebook_seconds:
        terminalreporter.section("time per notebook")
        for name, seconds in sorted(_notebook_seconds.items()):
            terminalreporter.write_line(f"{seconds:7.1f} s  {name}")
