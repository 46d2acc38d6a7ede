"""The reference byte-level BPE tokenizer, built on the pure functions in ``bpe.py``.

Three ways to get one::

    tok = BPETokenizer().train(text, vocab_size=512)   # learn merges from your text
    tok = BPETokenizer.from_tiktoken("gpt2")           # GPT-2's own 50,257 tokens
    tok = BPETokenizer.load("my.bpe")                  # read back what save() wrote

``from_tiktoken("gpt2")`` gives exactly the ids of ``tiktoken.get_encoding("gpt2")``.

Special tokens such as ``<|endoftext|>`` are not made from bytes. Like tiktoken,
``encode`` refuses text that contains one unless you say what you want: pass
``allowed_special={"<|endoftext|>"}`` (or ``"all"``) to get its single id, or call
``encode_ordinary`` to treat it as plain text.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Iterable, Mapping, Sequence, Set
from pathlib import Path
from typing import Literal

from .bpe import (
    BYTE_IDS,
    GPT2_SPLIT_PATTERN,
    Pair,
    build_vocab,
    encode_chunk_fast,
    fix_surrogates,
    recover_merges,
    split_special,
    split_text,
    train_merges,
)
from .errors import InputError
from .i18n import tr
from .vocab import gpt2_encoding

__all__ = ["BPETokenizer", "GPT2_SPLIT_PATTERN"]

FILE_HEADER = "gpt2course-bpe 1"
CACHE_LIMIT = 100_000  # distinct chunks to remember; plenty for a book


class BPETokenizer:
    """Byte-level BPE: text -> token ids -> text, with nothing lost.

    ``BPETokenizer()`` knows only the 256 bytes; ``special_tokens=["<|endoftext|>"]``
    adds special tokens, numbered after the ordinary tokens. The keyword arguments
    set the tables directly (``from_tiktoken`` and ``load`` use them):

    - ``merges``: ``{(a, b): new_id}`` in rank order, new ids growing;
    - ``byte_ids``: ``byte_ids[b]`` is the id of byte ``b``;
    - ``special_ids``: ``{name: id}``; when given, ``special_tokens`` is not used.
    """

    def __init__(
        self,
        pattern: str | None = GPT2_SPLIT_PATTERN,
        special_tokens: Iterable[str] = (),
        *,
        merges: Mapping[Pair, int] | None = None,
        byte_ids: Sequence[int] = BYTE_IDS,
        special_ids: Mapping[str, int] | None = None,
    ) -> None:
        self.pattern = pattern
        if special_ids is None:  # number the special tokens after the ordinary ones
            first = 256 + len(merges or {})
            special_ids = {name: first + i for i, name in enumerate(special_tokens)}
        self._set_tables(dict(merges or {}), list(byte_ids), dict(special_ids))

    def _set_tables(
        self, merges: dict[Pair, int], byte_ids: list[int], special_ids: dict[str, int]
    ) -> None:
        _check_tables(merges, byte_ids, special_ids)
        self.merges = merges
        self.byte_ids = byte_ids
        self.special_tokens = special_ids
        self.vocab = build_vocab(merges, byte_ids)
        self._id_to_special = {i: name.encode("utf-8") for name, i in special_ids.items()}
        self._cache: dict[str, list[int]] = {}
        # bytes -> id of tokens known to encode to themselves (see from_tiktoken); a chunk
        # found here needs no merging. Empty unless that is proven for every token.
        self._whole_tokens: dict[bytes, int] = {}

    # ---- building -----------------------------------------------------------------------

    def train(self, text: str, vocab_size: int) -> BPETokenizer:
        """Learn merges from ``text`` until there are ``vocab_size`` tokens; return self.

        ``vocab_size`` counts the 256 bytes, the merges and the special tokens. The
        special tokens are cut out of ``text`` first, as ``encode`` cuts them out, so
        no merge holds their bytes or crosses their boundary.
        Training replaces any merges learned before.
        """
        _require_str(text, "train")
        names = list(self.special_tokens)
        smallest = 256 + len(names)
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int):
            raise InputError(tr("vocab_size must be a whole number, not {value!r}.",
                                value=vocab_size))
        if vocab_size < smallest:
            raise InputError(tr(
                "vocab_size must be at least {smallest}: 256 single bytes and {count} special "
                "tokens come first. You asked for {value}.", smallest=smallest,
                count=len(names), value=vocab_size))
        merges = train_merges(text, vocab_size - smallest, self.pattern, names)
        first = 256 + len(merges)  # special tokens come right after the merged tokens
        specials = {name: first + i for i, name in enumerate(names)}
        self._set_tables(merges, list(BYTE_IDS), specials)
        return self

    @classmethod
    def from_tiktoken(cls, name: str = "gpt2") -> BPETokenizer:
        """Build the tokenizer from tiktoken's table, so ids match tiktoken exactly."""
        if name != "gpt2":
            raise InputError(tr("Only the 'gpt2' encoding is supported, not {name!r}.",
                                name=name))
        enc = gpt2_encoding()  # may download GPT-2's files the first time
        byte_ids, merges = recover_merges(enc._mergeable_ranks)
        tok = cls(
            GPT2_SPLIT_PATTERN, merges=merges, byte_ids=byte_ids, special_ids=enc._special_tokens
        )
        # recover_merges found every token as the last merge of its own bytes, so the
        # bytes of a token encode to that one token: a chunk equal to a token can be
        # looked up (tiktoken does the same).
        tok._whole_tokens = {token: i for i, token in tok.vocab.items()}
        return tok

    # ---- encoding and decoding ----------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        """Number of ids in use: bytes, merged tokens and special tokens."""
        return max([*self.vocab, *self._id_to_special]) + 1

    def encode_ordinary(self, text: str) -> list[int]:
        """Encode ``text`` as plain text: special-token text is split like any other."""
        _require_str(text, "encode")
        ids: list[int] = []
        cache = self._cache
        for chunk in split_text(fix_surrogates(text), self.pattern):
            found = cache.get(chunk)
            ids.extend(found if found is not None else self._encode_new_chunk(chunk))
        return ids

    def encode(
        self, text: str, allowed_special: Literal["all"] | Set[str] = frozenset()
    ) -> list[int]:
        """Encode ``text`` to ids; special tokens in ``allowed_special`` get their own id.

        Text that spells a special token that is not allowed is an error, because
        it usually means a document that was not cleaned (tiktoken does the same).
        """
        _require_str(text, "encode")
        allowed = self._allowed_special(allowed_special)
        for name in self.special_tokens.keys() - allowed:
            if name in text:
                raise InputError(tr(
                    "The text contains the special token {name!r}, which is not allowed. "
                    "To encode it as its one special id, pass allowed_special={{{name!r}}} "
                    "(or allowed_special='all'). To encode it as ordinary text, "
                    "use encode_ordinary(text).", name=name))
        ids: list[int] = []
        for piece in split_special(text, allowed):
            if piece in allowed:
                ids.append(self.special_tokens[piece])
            else:
                ids.extend(self.encode_ordinary(piece))
        return ids

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """Return the bytes the ids stand for (may end in the middle of a character)."""
        pieces = []
        for i in self._check_decode_ids(ids):
            pieces.append(self.vocab[i] if i in self.vocab else self._id_to_special[i])
        return b"".join(pieces)

    def decode(self, ids: Iterable[int]) -> str:
        """Turn ids back into text; bytes that are not valid UTF-8 become U+FFFD."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    # ---- saving and loading -------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the tokenizer to a text file that people can read.

        Lines: a header; ``pattern`` and the pattern as JSON; ``bytes`` and the
        256 byte ids; one ``special <name as JSON> <id>`` line per special token;
        then one ``merge <a> <b> <new_id>`` line per merge, in rank order, with
        the merged bytes after ``#`` for people to read.
        """
        lines = [FILE_HEADER, "pattern " + json.dumps(self.pattern)]
        lines.append("bytes " + " ".join(map(str, self.byte_ids)))
        for name, i in self.special_tokens.items():
            lines.append(f"special {json.dumps(name)} {i}")
        for (a, b), new_id in self.merges.items():
            lines.append(f"merge {a} {b} {new_id}  # {self.vocab[new_id]!r}")
        Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> BPETokenizer:
        """Read a file written by ``save``; a damaged file gives an error with its line number.

        Raises ``InputError`` when the file cannot be read, is not a tokenizer file, has a
        line it cannot parse (named by number), or lacks its pattern or bytes line.
        """
        path = Path(path)
        table = _TableLines()
        for number, line in enumerate(_read_tokenizer_lines(path)[1:], start=2):
            try:
                table.read(line)
            except ValueError as err:
                raise InputError(tr("{path}, line {number}: cannot read {line!r} ({error}).",
                                    path=path, number=number, line=line, error=err)) from None
        missing = [key for key in ("pattern", "bytes") if key not in table.fields]
        if missing:
            raise InputError(tr("{path} is damaged: it has no {missing} line.", path=path,
                                missing=" / ".join(missing)))
        try:
            return cls(table.fields["pattern"], merges=table.merges,
                       byte_ids=table.fields["bytes"], special_ids=table.special_ids)
        except InputError as err:
            raise InputError(tr("{path} is damaged: {error}", path=path, error=err)) from None

    # ---- helpers ------------------------------------------------------------------------

    def _encode_new_chunk(self, chunk: str) -> list[int]:
        # Real text repeats the same chunks (" the", ",", "\n") over and over, so
        # remembering each chunk's ids makes encoding many times faster. The merge
        # loop is encode_chunk_fast: the same ids as lesson 01's encode_chunk, but one
        # long chunk (a run of Chinese characters) costs n log n, not n * n.
        raw = chunk.encode("utf-8")
        whole = self._whole_tokens.get(raw)
        ids = [whole] if whole is not None else encode_chunk_fast(raw, self.merges, self.byte_ids)
        if len(self._cache) >= CACHE_LIMIT:
            self._cache.clear()
        self._cache[chunk] = ids
        return ids

    def _allowed_special(self, allowed_special: Literal["all"] | Set[str]) -> Set[str]:
        if allowed_special == "all":
            return self.special_tokens.keys()
        if isinstance(allowed_special, str) or not isinstance(allowed_special, Set):
            raise InputError(tr(
                "allowed_special must be 'all' or a set of special tokens such as "
                "{{'<|endoftext|>'}}, not {value!r}.", value=allowed_special))
        unknown = set(allowed_special) - self.special_tokens.keys()
        if unknown:
            known = sorted(self.special_tokens) or "-"
            raise InputError(tr(
                "allowed_special names tokens this tokenizer does not have: {unknown}. "
                "Its special tokens are: {known}.", unknown=sorted(unknown), known=known))
        return allowed_special

    def _check_decode_ids(self, ids: Iterable[int]) -> list[int]:
        if isinstance(ids, (str, bytes)):
            raise InputError(tr("decode takes a list of token ids, not {kind}.",
                                kind=type(ids).__name__))
        try:
            ids = [operator.index(i) for i in ids]  # also accepts numpy and torch integers
        except TypeError:
            raise InputError(tr(
                "decode takes a list of whole-number token ids, got {kind} {value}.",
                kind=type(ids).__name__, value=repr(ids)[:80])) from None
        bad = [i for i in ids if i not in self.vocab and i not in self._id_to_special]
        if bad:
            raise InputError(tr(
                "Token id {bad} is not in this tokenizer's vocabulary (ids go from 0 to {last}).",
                bad=bad[0], last=self.vocab_size - 1))
        return ids


def _check_tables(
    merges: Mapping[Pair, int], byte_ids: Sequence[int], special_ids: Mapping[str, int]
) -> None:
    """Make sure every id means one thing, so that decode(encode(text)) == text."""
    if len(byte_ids) != 256 or len(set(byte_ids)) != 256:
        raise InputError(tr("there must be 256 different byte ids, found {count}",
                            count=len(set(byte_ids))))
    known = set(byte_ids)
    last = -1
    for (a, b), new_id in merges.items():
        if a not in known or b not in known:
            raise InputError(tr("merge ({a}, {b}) uses an id that no earlier token has",
                                a=a, b=b))
        if new_id in known or new_id <= last:
            # Encoding takes the smallest new id as the lowest rank, so ids must grow.
            raise InputError(tr("merge ({a}, {b}) -> {new_id}: new ids must be unused and "
                                "growing", a=a, b=b, new_id=new_id))
        known.add(new_id)
        last = new_id
    for name, i in special_ids.items():
        if i in known:
            raise InputError(tr("special token {name!r} has id {id}, which is already used",
                                name=name, id=i))
        known.add(i)


def _require_str(text: object, what: str) -> None:
    if not isinstance(text, str):
        raise InputError(tr(
            "{what} takes a str, not {kind}. To encode bytes, decode them to text first: "
            "data.decode('utf-8').", what=what, kind=type(text).__name__))


def _read_tokenizer_lines(path: Path) -> list[str]:
    """The lines of a file written by ``BPETokenizer.save``; ``InputError`` when it cannot be
    read or does not start with ``FILE_HEADER``."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(tr("Could not read the tokenizer file {path}: {error}",
                            path=path, error=err)) from None
    if not lines or lines[0] != FILE_HEADER:
        raise InputError(tr(
            "{path} is not a tokenizer file written by BPETokenizer.save (its first line "
            "should be {header!r}).", path=path, header=FILE_HEADER))
    return lines


class _TableLines:
    """The tables read so far from the lines of a tokenizer file (after its header)."""

    def __init__(self) -> None:
        self.fields: dict[str, object] = {}  # the pattern and the byte ids
        self.special_ids: dict[str, int] = {}
        self.merges: dict[Pair, int] = {}

    def read(self, line: str) -> None:
        """Take in one line; ``ValueError`` (the reason, translated) when it is damaged."""
        key, _, value = line.partition(" ")
        if key == "pattern":
            self.fields["pattern"] = json.loads(value)
            if not isinstance(self.fields["pattern"], (str, type(None))):
                raise ValueError(tr("the pattern must be a JSON string or null"))
        elif key == "bytes":
            self.fields["bytes"] = [int(word) for word in value.split()]
        elif key == "special":
            name, _, i = value.rpartition(" ")
            self.special_ids[str(json.loads(name))] = int(i)
        elif key == "merge":
            a, b, new_id = (int(word) for word in value.split("#")[0].split())
            if (a, b) in self.merges:
                raise ValueError(tr("the pair ({a}, {b}) is merged twice", a=a, b=b))
            self.merges[(a, b)] = new_id
        elif line.strip():
            raise ValueError(tr("unknown line kind {key!r}", key=key))
