"""Option types for argparse that refuse a bad value with one line saying what is allowed.

``type=real_number(0, 3600, low_open=True)`` makes argparse print ``argument
--time-limit: must be a number in (0, 3600], not 'nan'`` and exit with code 2,
before any work starts. Every numeric option of the command line has both bounds:
a value that would exhaust memory or time (a million new tokens, a thousand
grading jobs) is refused as plainly as a negative one. The message names the
option (argparse adds ``argument --flag:``), never a Python parameter.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path

from .i18n import tr


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number in ``[low, high]`` (``high`` None: no upper bound)."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            if high is None:
                raise argparse.ArgumentTypeError(tr(
                    "must be a whole number >= {low}, not {text!r}", low=low, text=text))
            raise argparse.ArgumentTypeError(tr(
                "must be a whole number from {low} to {high}, not {text!r}",
                low=low, high=high, text=text))
        return value

    parse.__name__ = "whole number"
    return parse


def real_number(low: float, high: float, *, low_open: bool = False,
                high_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number in the interval from ``low`` to ``high``; an open
    end (``low_open``/``high_open``) excludes the bound itself. NaN and inf are refused."""
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        inside = (math.isfinite(value) and (value > low if low_open else value >= low)
                  and (value < high if high_open else value <= high))
        if not inside:
            raise argparse.ArgumentTypeError(tr(
                "must be a number in {interval}, not {text!r}", interval=interval, text=text))
        return value + 0.0  # -0.0 becomes 0.0

    parse.__name__ = "number"
    return parse


def input_path(text: str) -> Path:
    """A path to read; an empty text (``--lessons ""``, which would mean the current folder)
    is refused. Whether it exists is checked where it is used, with the reason."""
    if not text.strip():
        raise argparse.ArgumentTypeError(tr("give a path, not an empty text"))
    return Path(text).expanduser()


def non_empty(text: str) -> str:
    """A name or text that must not be empty (``--model ""``)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(tr("must not be empty"))
    return text


def output_file(text: str) -> Path:
    """A file path whose folder exists and can be written to (checked before long work)."""
    path = Path(text).expanduser()
    folder = path.parent if str(path.parent) else Path(".")
    if not text.strip():
        raise argparse.ArgumentTypeError(tr("give a file name, not an empty text"))
    if path.is_dir():
        raise argparse.ArgumentTypeError(tr("{path} is a folder; give a file name", path=text))
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(tr("the folder {folder} does not exist; create it first",
                                            folder=str(folder)))
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise argparse.ArgumentTypeError(tr("cannot write in the folder {folder}",
                                            folder=str(folder)))
    return path


def output_folder(text: str) -> Path:
    """A folder to fill: it exists as a folder, or can be created where it is named."""
    path = Path(text).expanduser()
    if not text.strip():
        raise argparse.ArgumentTypeError(tr("give a folder name, not an empty text"))
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(tr("{path} is a file, not a folder", path=text))
    parent = path
    while not parent.exists():  # the nearest folder that exists must be writable
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise argparse.ArgumentTypeError(tr("cannot create or write the folder {path}",
                                            path=text))
    return path
