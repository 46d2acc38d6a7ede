"""Files of Hugging Face repositories, kept as plain files in the course's cache.

A repository's files live in ``<cache>/hub/<owner>/<name>/`` (for GPT-2:
``hub/openai-community/gpt2/model.safetensors``), beside a small manifest with the
hash the Hub gave for each. Plain files rather than Hugging Face's cache of
symlinks: a folder an instructor copies to a USB stick or a Windows share stays
whole, and ``load_pretrained`` can open it as a local folder.

The address of each file comes from huggingface_hub (``hf_hub_url``,
``get_hf_file_metadata``), always with the endpoint read from ``HF_ENDPOINT`` now.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..data import cache_dir
from ..errors import DownloadError
from ..files import replace_file
from ..i18n import tr
from .endpoint import download_command, fix_advice, hub_endpoint, hub_offline, short_reason
from .fetch import fetch_url, hash_kind, matches

HUB_FOLDER = "hub"
MANIFEST = "gpt2course-files.json"


def check_repo_id(repo_id: str) -> None:
    """Raise ``DownloadError`` unless ``repo_id`` is a well-formed Hub id (``owner/name``):
    it also names a folder in the cache, so ``..`` and the like must never get through."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        raise DownloadError(tr("{repo!r} is not a Hub model id (such as gpt2 or "
                               "openai-community/gpt2-medium); check the name.",
                               repo=repo_id)) from None


def repo_folder(repo_id: str) -> Path:
    """``<cache>/hub/<owner>/<name>``: where the course keeps ``repo_id``'s files."""
    return cache_dir().joinpath(HUB_FOLDER, *repo_id.split("/"))


def cached_file(repo_id: str, filename: str) -> Path | None:
    """A local copy of ``filename`` from ``repo_id``, without any network: the course's
    cache first, then Hugging Face's own cache (``HF_HUB_CACHE``); None if neither has it."""
    try:
        check_repo_id(repo_id)
    except DownloadError:
        return None
    mine = repo_folder(repo_id) / filename
    if mine.is_file():
        return mine
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    found = try_to_load_from_cache(repo_id, filename)
    return Path(found) if isinstance(found, str) else None  # else None or a "missing" marker


def verified_file(repo_id: str, filename: str) -> Path | None:
    """The course's copy of ``filename`` if its hash matches the one recorded when it came."""
    folder = repo_folder(repo_id)
    etag = _read_manifest(folder).get(filename, {}).get("etag")
    path = folder / filename
    return path if etag and matches(path, etag) else None


def ensure_file(repo_id: str, filename: str) -> Path:
    """The course's checked copy of ``filename`` from ``repo_id``, downloaded if it is
    missing or damaged (wrong hash). Raises ``DownloadError`` in one line."""
    check_repo_id(repo_id)
    good = verified_file(repo_id, filename) or _copy_from_hf_cache(repo_id, filename)
    if good is not None:
        return good
    if hub_offline():
        raise DownloadError(tr("{repo}/{file} is not in the course's cache. {fix}",
                               repo=repo_id, file=filename,
                               fix=fix_advice(download_command(repo_id))))
    meta = file_metadata(repo_id, filename)
    folder = repo_folder(repo_id)
    dest = folder / filename
    if not matches(dest, meta.etag):
        dest.unlink(missing_ok=True)  # damaged or from another version: fetch it afresh
        fetch_url(meta.location, dest, expected_hash=meta.etag, size=meta.size,
                  what=f"{repo_id}/{filename}", advice=fix_advice(download_command(repo_id)))
    _record(folder, filename, meta.etag, meta.commit_hash)
    return dest


def _copy_from_hf_cache(repo_id: str, filename: str) -> Path | None:
    """Copy ``filename`` from Hugging Face's own cache when it is there and checks out.

    In that cache a file is a link to ``blobs/<ETag>``, so its hash is known without
    asking the Hub: an instructor who already has GPT-2 (from transformers, say)
    fills a classroom folder without downloading it again.
    """
    found = cached_file(repo_id, filename)
    if found is None or found.parent == repo_folder(repo_id):
        return None
    blob = found.resolve()
    if hash_kind(blob.name) is None or not matches(blob, blob.name):
        return None  # not the usual layout (no links), or damaged: download instead
    dest = repo_folder(repo_id) / filename
    dest.parent.mkdir(parents=True, exist_ok=True)
    replace_file(dest, lambda part: shutil.copyfile(blob, part))
    _record(dest.parent, filename, blob.name, found.parent.name)
    return dest


def _record(folder: Path, filename: str, etag: str, commit: str | None) -> None:
    """Note the hash ``filename`` came with, to check the file later without network."""
    manifest = _read_manifest(folder)
    manifest[filename] = {"etag": etag, "commit": commit}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))


def file_metadata(repo_id: str, filename: str):
    """huggingface_hub's ``HfFileMetadata`` (etag, size, commit, location) of one file,
    asked of ``hub_endpoint()``. Raises ``DownloadError`` in one line."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HFValidationError,
        RepositoryNotFoundError,
    )

    endpoint = hub_endpoint()
    try:
        url = hf_hub_url(repo_id, filename, endpoint=endpoint)
        meta = get_hf_file_metadata(url)  # the address already holds the endpoint
    except HFValidationError:
        raise DownloadError(tr("{repo!r} is not a Hub model id (such as gpt2 or "
                               "openai-community/gpt2-medium); check the name.",
                               repo=repo_id)) from None
    except RepositoryNotFoundError:
        raise DownloadError(tr("{repo!r} is not a model on the Hub at {endpoint} (or it is "
                               "private). Check the name.", repo=repo_id,
                               endpoint=endpoint)) from None
    except EntryNotFoundError:
        raise DownloadError(tr("The Hub at {endpoint} has no file {file} in {repo}.",
                               endpoint=endpoint, file=filename, repo=repo_id)) from None
    except Exception as err:  # no network, DNS, TLS, HTTP 5xx: all end in the same advice
        raise DownloadError(tr("Could not reach the Hugging Face Hub at {endpoint} ({reason}). "
                               "{fix}", endpoint=endpoint, reason=short_reason(err),
                               fix=fix_advice(download_command(repo_id)))) from None
    if not meta.etag or not meta.commit_hash:
        raise DownloadError(tr("{endpoint} does not answer like a Hugging Face Hub (no ETag or "
                               "X-Repo-Commit header). {fix}", endpoint=endpoint,
                               fix=fix_advice(download_command(repo_id))))
    return meta


def _read_manifest(folder: Path) -> dict:
    try:
        return json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
