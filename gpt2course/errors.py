"""Errors the course raises on purpose.

Every one of them says, in plain words, what went wrong and what to do next.
They all derive from ``CourseError`` so the command line can print the message
alone, without a long traceback from inside the package.
"""

from __future__ import annotations


class CourseError(Exception):
    """A mistake the user can fix; the message says how."""


class CheckpointError(CourseError, ValueError):
    """A checkpoint is missing, unreadable, or does not fit the model."""


class DownloadError(CourseError, RuntimeError):
    """Something had to be downloaded, could not be, and is not cached."""


class InputError(CourseError, ValueError):
    """Token ids, shapes or settings passed to the model are not valid."""
