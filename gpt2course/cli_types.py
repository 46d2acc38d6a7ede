"""Option types for argparse that refuse a bad value with one line saying what is allowed.

``type=positive_float`` makes argparse print ``argument --time-limit: must be a
number > 0, not 'nan'`` and exit with code 2, before any work starts.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from .i18n import tr


def positive_float(text: str) -> float:
    """A finite number > 0 (refuses nan, inf, 0 and negatives)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(tr("must be a number > 0, not {text!r}", text=text))
    return value


def positive_int(text: str) -> int:
    """A whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(tr("must be a whole number >= 1, not {text!r}",
                                            text=text))
    return value


def output_file(text: str) -> Path:
    """A file path whose folder exists and can be written to (checked before long work)."""
    path = Path(text).expanduser()
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise argparse.ArgumentTypeError(tr("{path} is a folder; give a file name", path=text))
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(tr("the folder {folder} does not exist; create it first",
                                            folder=str(folder)))
    if not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(tr("cannot write in the folder {folder}",
                                            folder=str(folder)))
    return path


def output_folder(text: str) -> Path:
    """A folder to fill: it exists as a folder, or can be created where it is named."""
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(tr("{path} is a file, not a folder", path=text))
    parent = path
    while not parent.exists():  # the nearest folder that exists must be writable
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise argparse.ArgumentTypeError(tr("cannot create or write the folder {path}",
                                            path=text))
    return path
