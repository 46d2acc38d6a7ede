"""Where the course's downloads come from, and what to tell a person when one fails.

Everything that comes from the Hugging Face Hub (weights and GPT-2's vocabulary)
goes to ``HF_ENDPOINT`` when it is set (a mirror), else to https://huggingface.co.
huggingface_hub reads ``HF_ENDPOINT`` once, when it is imported; the course reads
it at every call and passes it on, so setting it later (in a notebook, in a test)
works too.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

from ..i18n import tr

ENDPOINT_VAR = "HF_ENDPOINT"
DEFAULT_ENDPOINT = "https://huggingface.co"
OFFLINE_VAR = "HF_HUB_OFFLINE"
CACHE_DIR_VAR = "GPT2COURSE_CACHE_DIR"
PROBE_TIMEOUT_S = 3.0
MIRROR_EXAMPLE = "https://your-mirror.example"


def hub_endpoint() -> str:
    """The Hub address in use now: ``$HF_ENDPOINT`` without a trailing ``/``, or huggingface.co."""
    return (os.environ.get(ENDPOINT_VAR) or DEFAULT_ENDPOINT).strip().rstrip("/")


def mirror_set() -> bool:
    """True when ``HF_ENDPOINT`` names another Hub than huggingface.co."""
    return hub_endpoint() != DEFAULT_ENDPOINT


def hub_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` asks huggingface_hub never to use the network."""
    return os.environ.get(OFFLINE_VAR, "").strip().lower() in ("1", "true", "yes", "on")


def reachable(url: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Can a TCP connection to ``url``'s host be opened within ``timeout`` seconds?

    A quick probe (no data is sent) so that a machine without network learns it in
    seconds instead of waiting for a download's retries.
    """
    parts = urlsplit(url)
    if not parts.hostname:
        return False
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
        return True
    except (OSError, ValueError):
        return False


def hub_reachable(timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Can the Hub in use (``hub_endpoint()``) be reached right now?"""
    return not hub_offline() and reachable(hub_endpoint(), timeout)


def fix_advice(command: str = "gpt2course download") -> str:
    """The one thing to do when a download failed and nothing is cached (one sentence).

    command: the command that fetches the missing piece. The advice fits the variables
    as they are: it never asks to set one that is set already.
    """
    if hub_offline():
        return tr("{var} is set, so nothing is downloaded: unset it and run `{command}`, or "
                  "{cache_hint}.", var=OFFLINE_VAR, command=command, cache_hint=cache_hint())
    if mirror_set():
        return tr("Check that HF_ENDPOINT={endpoint} is a working Hugging Face mirror and run "
                  "`{command}` again, or {cache_hint}.", endpoint=hub_endpoint(),
                  command=command, cache_hint=cache_hint())
    return tr("Run `{command}` on a machine with internet; if huggingface.co cannot be "
              "reached, set HF_ENDPOINT to a mirror first (export HF_ENDPOINT={example}), or "
              "{cache_hint}.", command=command, example=MIRROR_EXAMPLE, cache_hint=cache_hint())


def cache_hint() -> str:
    """The end of a fix about the course's download folder: set ``GPT2COURSE_CACHE_DIR``
    when it is not set; when it is, fill the folder it names."""
    folder = os.environ.get(CACHE_DIR_VAR, "").strip()
    if folder:
        return tr("fill {cache_var}={folder} (set, but without this file) with `gpt2course "
                  "download --to DIR` on a machine with internet", cache_var=CACHE_DIR_VAR,
                  folder=folder)
    return tr("set {cache_var} to a folder prepared with `gpt2course download --to DIR`",
              cache_var=CACHE_DIR_VAR)


def download_command(repo_id: str) -> str:
    """The command that fetches ``repo_id``'s files: plain ``gpt2course download`` for
    GPT-2 (124M: weights and vocabulary), ``--weights NAME`` for another model."""
    name = repo_id.removeprefix("openai-community/")
    return "gpt2course download" if name == "gpt2" else f"gpt2course download --weights {name}"


def short_reason(err: BaseException) -> str:
    """An exception as a short single line: its type and the start of its message."""
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text[:160]}" if text else type(err).__name__
