"""What ``gpt2course doctor`` says about each download: from where, cached or not, where,
and the one command that fixes a missing piece. Nothing is downloaded here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from ..i18n import tr
from .endpoint import (
    CACHE_DIR_VAR,
    MIRROR_EXAMPLE,
    fix_advice,
    hub_endpoint,
    hub_offline,
    mirror_set,
    reachable,
)


@dataclass(frozen=True)
class Line:
    """One line of the report: ``[status] what: detail``; status ok, missing or note."""

    status: str
    what: str
    detail: str


def download_lines(probe: Callable[[str], bool] = reachable) -> list[Line]:
    """The report's lines about downloads. probe(url) says whether a host answers.

    Each fix fits the state seen: a variable that is set is never suggested as if it
    were not, and a read-only download folder matters only when something is missing.
    """
    hub_up = not hub_offline() and probe(hub_endpoint())
    pieces = [_vocabulary_line(hub_up), _corpus_line(probe), _weights_line(hub_up),
              _course_model_line()]
    from_hub = pieces[0].status != "ok" or pieces[2].status != "ok"
    return [_endpoint_line(hub_up, from_hub), _cache_line(pieces), *pieces]


def _cache_line(pieces: list[Line]) -> Line:
    """Where downloads go, and whether they can be written there."""
    from ..data import cache_dir

    folder = cache_dir()
    what = tr("download folder")
    source = tr("set by {var}", var=CACHE_DIR_VAR) if os.environ.get(CACHE_DIR_VAR) \
        else tr("the default")
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.is_dir() and os.access(existing, os.W_OK | os.X_OK):
        return Line("ok", what, tr("{path} ({source}), writable", path=folder, source=source))
    if folder.exists() and not folder.is_dir():
        fix = (tr("point {var} at a folder", var=CACHE_DIR_VAR) if os.environ.get(CACHE_DIR_VAR)
               else tr("set {var} to a folder you can write", var=CACHE_DIR_VAR))
        return Line("missing", what, tr("{path} ({source}) is a file, not a folder; {fix}",
                                        path=folder, source=source, fix=fix))
    if all(p.status == "ok" for p in pieces):
        return Line("note", what, tr("{path} ({source}) cannot be written; fine, as it holds "
                                     "everything", path=folder, source=source))
    if os.environ.get(CACHE_DIR_VAR):
        fix = tr("point {var} at a folder you can write, or fill {path} on another machine "
                 "with `gpt2course download --to DIR`", var=CACHE_DIR_VAR, path=folder)
    else:
        fix = tr("set {var} to a folder you can write", var=CACHE_DIR_VAR)
    return Line("missing", what, tr("{path} ({source}) cannot be written, so nothing can be "
                                    "downloaded into it; {fix}", path=folder, source=source,
                                    fix=fix))


def _endpoint_line(hub_up: bool, needed: bool = True) -> Line:
    where = hub_endpoint()
    source = tr("set by HF_ENDPOINT") if mirror_set() else tr("the default")
    if hub_offline():
        return Line("note", "Hugging Face Hub", tr("{url}, {source}; HF_HUB_OFFLINE is set, so "
                                                   "only cached files are used",
                                                   url=where, source=source))
    if hub_up:
        return Line("ok", "Hugging Face Hub", tr("{url} ({source}) is reachable",
                                                 url=where, source=source))
    if not needed:
        return Line("note", "Hugging Face Hub", tr("{url} ({source}) cannot be reached; not "
                                                   "needed: everything from it is cached",
                                                   url=where, source=source))
    if mirror_set():
        fix = tr("check the address, or unset HF_ENDPOINT to use huggingface.co")
    else:
        fix = tr("set HF_ENDPOINT to a mirror: `export HF_ENDPOINT={example}` (PowerShell: "
                 "`$env:HF_ENDPOINT=\"{example}\"`, cmd: `set HF_ENDPOINT={example}`), then "
                 "`gpt2course download`", example=MIRROR_EXAMPLE)
    return Line("note", "Hugging Face Hub", tr("{url} ({source}) cannot be reached; {fix}",
                                               url=where, source=source, fix=fix))


def _vocabulary_line(hub_up: bool) -> Line:
    from ..vocab import tiktoken_cache_dir, tiktoken_cached
    from .hub_vocab import load_saved_encoding, vocab_path

    what = tr("GPT-2 vocabulary")
    if load_saved_encoding() is not None:
        return Line("ok", what, tr("cached in {path}", path=vocab_path()))
    if tiktoken_cached():
        return Line("ok", what, tr("in tiktoken's cache {path}", path=tiktoken_cache_dir()))
    return _missing(what, hub_up, hub_endpoint(), fix_advice())


def _corpus_line(probe: Callable[[str], bool]) -> Line:
    from ..data import CORPORA, DATA_DIR_VAR, cache_dir, corpus_url

    corpus = CORPORA["tinyshakespeare"]
    what = "Tiny Shakespeare"
    for folder in (os.environ.get(DATA_DIR_VAR), cache_dir()):
        if folder and os.path.isfile(os.path.join(folder, corpus.filename)):
            return Line("ok", what, tr("cached in {path}",
                                       path=os.path.join(folder, corpus.filename)))
    url = corpus_url(corpus)
    return _missing(what, probe(url), url, _corpus_fix(corpus.filename))


def _corpus_fix(filename: str) -> str:
    """What to do about a missing corpus, for the variables as they are set."""
    from ..data import DATA_DIR_VAR, DATA_URL_VAR

    data_dir = os.environ.get(DATA_DIR_VAR, "").strip()
    mirror = os.environ.get(DATA_URL_VAR, "").strip()
    if data_dir:
        return tr("{dir_var}={folder} is set but does not hold {file}: copy the file there, or "
                  "unset {dir_var} and run `gpt2course download`.", dir_var=DATA_DIR_VAR,
                  folder=data_dir, file=filename)
    if mirror:
        return tr("Check that {url_var}={url} is a folder URL that holds {file} and run "
                  "`gpt2course download` again, or set {dir_var} to a folder on this machine "
                  "that holds it.", url_var=DATA_URL_VAR, url=mirror, file=filename,
                  dir_var=DATA_DIR_VAR)
    return tr("Run `gpt2course download` with {url_var} set to a mirror folder that holds "
              "{file}, or set {dir_var} to a folder on this machine that holds it.",
              url_var=DATA_URL_VAR, file=filename, dir_var=DATA_DIR_VAR)


def _weights_line(hub_up: bool) -> Line:
    from ..pretrained import OPENAI_MODEL, _cached_openai_folder
    from ..weights import hub_id

    what = tr("GPT-2 weights (124M)")
    folder = _cached_openai_folder()
    if folder is not None:
        return Line("ok", what, tr("cached in {path}", path=folder))
    line = _missing(what, hub_up, f"{hub_endpoint()}/{hub_id(OPENAI_MODEL)}",
                    fix_advice())
    # Optional: without them the lessons use the course's own model.
    return Line("note", what, line.detail + " " + tr("(optional: without them the lessons use "
                                                      "the course's Shakespeare model)"))


def _course_model_line() -> Line:
    from ..pretrained import shakespeare_folder

    what = tr("course's Shakespeare GPT-2")
    folder = shakespeare_folder()
    if (folder / "model.safetensors").is_file():
        return Line("ok", what, tr("cached in {path}", path=folder))
    return Line("note", what, tr("not trained yet; trained on first use (about 2 minutes), or "
                                 "now with `gpt2course download --course-model`"))


def _missing(what: str, source_up: bool, url: str, fix: str) -> Line:
    if source_up:
        return Line("note", what, tr("not cached yet; it comes from {url} on first use, or now "
                                     "with `gpt2course download`", url=url))
    return Line("missing", what, tr("not cached, and {url} cannot be reached. {fix}",
                                    url=url, fix=fix))
