"""Tests for corpus loading (with a fake download) and for batching."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
import torch

from gpt2course import data
from gpt2course.data import Corpus, corpus_path, get_batch, tiny_shakespeare, train_val_split
from gpt2course.downloads import fetch
from gpt2course.errors import DownloadError, InputError

GOOD = b"To be, or not to be.\n"
FAKE = Corpus("fake.txt", "https://example.invalid/fake.txt", hashlib.sha256(GOOD).hexdigest())


@pytest.fixture
def fake_corpus(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """Register a corpus 'fake', point the folders at tmp_path, and record every download."""
    monkeypatch.setitem(data.CORPORA, "fake", FAKE)
    monkeypatch.delenv(data.DATA_DIR_VAR, raising=False)
    monkeypatch.setenv(data.CACHE_DIR_VAR, str(tmp_path / "cache"))
    downloads: list[str] = []
    serve(monkeypatch, GOOD, downloads)
    return downloads


def serve(monkeypatch: pytest.MonkeyPatch, body: bytes | Exception, log: list[str]) -> None:
    """Make the download write ``body`` (or raise it) instead of using the network.

    (tests/test_download.py runs the real transfer against a server on 127.0.0.1.)
    """

    def fake_http_get(url: str, temp_file: io.BufferedIOBase, **kwargs: object) -> None:
        log.append(url)
        if isinstance(body, Exception):
            raise body
        temp_file.write(body)

    monkeypatch.setattr(fetch, "http_get", fake_http_get)


def test_download_goes_to_the_cache_once(fake_corpus: list[str], tmp_path: Path) -> None:
    path = corpus_path("fake")
    assert path == tmp_path / "cache" / "fake.txt"
    assert path.read_bytes() == GOOD
    assert corpus_path("fake") == path
    assert fake_corpus == [FAKE.url]  # the second call used the cache
    assert sorted(p.name for p in path.parent.iterdir()) == ["fake.txt"]  # no temp file left


def test_data_url_names_a_mirror_folder(
    fake_corpus: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(data.DATA_URL_VAR, "https://your-mirror.example/course-data/")
    assert corpus_path("fake").read_bytes() == GOOD
    assert fake_corpus == ["https://your-mirror.example/course-data/fake.txt"]


def test_data_dir_comes_first(
    fake_corpus: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "fake.txt").write_bytes(GOOD)
    monkeypatch.setenv(data.DATA_DIR_VAR, str(tmp_path / "mine"))
    assert corpus_path("fake") == tmp_path / "mine" / "fake.txt"
    assert fake_corpus == []


def test_data_dir_without_the_file_falls_back_to_the_cache(
    fake_corpus: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(data.DATA_DIR_VAR, str(tmp_path / "empty"))
    assert corpus_path("fake") == tmp_path / "cache" / "fake.txt"


def test_wrong_file_in_data_dir_is_reported_and_kept(
    fake_corpus: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "fake.txt").write_bytes(b"something else")
    monkeypatch.setenv(data.DATA_DIR_VAR, str(tmp_path))
    with pytest.raises(DownloadError, match="hash is wrong"):
        corpus_path("fake")
    assert (tmp_path / "fake.txt").read_bytes() == b"something else"


def test_damaged_cache_file_is_downloaded_again(fake_corpus: list[str], tmp_path: Path) -> None:
    cached = tmp_path / "cache" / "fake.txt"
    cached.parent.mkdir()
    cached.write_bytes(GOOD[:5])  # as if a download had been cut short
    assert corpus_path("fake").read_bytes() == GOOD
    assert fake_corpus == [FAKE.url]


def test_wrong_download_is_not_saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(data.CORPORA, "fake", FAKE)
    monkeypatch.delenv(data.DATA_DIR_VAR, raising=False)
    monkeypatch.setenv(data.CACHE_DIR_VAR, str(tmp_path))
    serve(monkeypatch, b"<html>Rate limited</html>", [])
    with pytest.raises(DownloadError, match="wrong hash") as info:
        corpus_path("fake")
    assert data.DATA_URL_VAR in str(info.value) and data.DATA_DIR_VAR in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_offline_download_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(data.CORPORA, "fake", FAKE)
    monkeypatch.delenv(data.DATA_DIR_VAR, raising=False)
    monkeypatch.setenv(data.CACHE_DIR_VAR, str(tmp_path))
    serve(monkeypatch, ConnectionError("no network"), [])
    with pytest.raises(DownloadError, match="Could not download") as info:
        corpus_path("fake")
    message = str(info.value)
    assert FAKE.url in message and data.DATA_DIR_VAR in message and "no network" in message
    assert "\n" not in message
    assert list(tmp_path.iterdir()) == []


def test_unknown_corpus_is_refused() -> None:
    with pytest.raises(InputError, match="tinyshakespeare"):
        corpus_path("war-and-peace")


def test_cache_dir_defaults_to_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(data.CACHE_DIR_VAR, raising=False)
    assert data.cache_dir() == Path.home() / ".cache" / "gpt2course"


def test_tiny_shakespeare_is_the_real_file() -> None:
    try:
        text = tiny_shakespeare()  # corpus_path has checked the SHA-256 already
    except DownloadError as err:
        pytest.skip(f"Tiny Shakespeare is not on this machine and cannot be downloaded: {err}")
    assert len(text) == 1_115_394
    assert text.startswith("First Citizen:")


# ---- batching ---------------------------------------------------------------------------


def test_train_val_split_keeps_order() -> None:
    train, val = train_val_split(list(range(100)), val_fraction=0.1)
    assert train.tolist() == list(range(90)) and val.tolist() == list(range(90, 100))
    assert train.dtype == torch.long


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.5, 2])
def test_train_val_split_refuses_bad_fraction(fraction: float) -> None:
    with pytest.raises(InputError, match="between 0 and 1"):
        train_val_split(list(range(100)), val_fraction=fraction)


def test_train_val_split_refuses_an_empty_part() -> None:
    with pytest.raises(InputError, match="one part would be empty"):
        train_val_split([1, 2, 3], val_fraction=0.1)


def test_get_batch_shapes_and_shift() -> None:
    tokens = torch.arange(1000) * 7  # values differ from positions, to catch mix-ups
    g = torch.Generator().manual_seed(0)
    x, y = get_batch(tokens, batch_size=4, block_size=8, generator=g)
    assert x.shape == y.shape == (4, 8)
    assert x.dtype == y.dtype == torch.long
    for row_x, row_y in zip(x, y, strict=True):
        start = int(row_x[0]) // 7
        assert row_x.tolist() == tokens[start : start + 8].tolist()
        assert row_y.tolist() == tokens[start + 1 : start + 9].tolist()


def test_get_batch_is_repeatable_with_a_seed() -> None:
    tokens = list(range(500))
    first = get_batch(tokens, 3, 5, torch.Generator().manual_seed(1))
    again = get_batch(tokens, 3, 5, torch.Generator().manual_seed(1))
    other = get_batch(tokens, 3, 5, torch.Generator().manual_seed(2))
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.equal(first[0], other[0])


def test_get_batch_can_use_the_last_token_as_a_target() -> None:
    # With exactly block_size + 1 tokens there is one window, and y ends with the last token.
    x, y = get_batch([10, 11, 12, 13], batch_size=2, block_size=3)
    assert x.tolist() == [[10, 11, 12]] * 2 and y.tolist() == [[11, 12, 13]] * 2


def test_get_batch_refuses_bad_input() -> None:
    with pytest.raises(InputError, match="block_size \\+ 1 = 9"):
        get_batch(list(range(8)), batch_size=2, block_size=8)
    with pytest.raises(InputError, match="batch_size"):
        get_batch(list(range(100)), batch_size=0, block_size=8)
    with pytest.raises(InputError, match="block_size"):
        get_batch(list(range(100)), batch_size=2, block_size=2.5)
    with pytest.raises(InputError, match="one flat sequence"):
        get_batch(torch.zeros(10, 10, dtype=torch.long), batch_size=2, block_size=4)
    with pytest.raises(InputError, match="whole-number"):
        get_batch(torch.rand(100), batch_size=2, block_size=4)
    with pytest.raises(InputError, match="sequence of token ids"):
        get_batch(["a", "b"], batch_size=1, block_size=1)
