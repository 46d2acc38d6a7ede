"""Pictures of tokens: text with coloured token boundaries, and two small plots for lesson 01.

``show_tokens`` displays HTML in a notebook and plain text elsewhere (a terminal, or a
viewer that cannot show HTML), so it always shows something readable.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from ..i18n import tr

# Light colours, so that black text stays easy to read on each of them.
COLOURS = ("#fde68a", "#bfdbfe", "#bbf7d0", "#fecaca", "#ddd6fe", "#fed7aa")
# Spaces and line ends are invisible; these marks show where a token holds one.
VISIBLE = {" ": "\u00b7", "\n": "\u21b5\n", "\t": "\u2192"}


def _visible(piece: str) -> str:
    return "".join(VISIBLE.get(ch, ch) for ch in piece)


def tokens_as_text(pieces: Sequence[str]) -> str:
    """Plain text: each token in brackets, spaces as '·' and line ends as '↵'.

    >>> tokens_as_text(["The", " dog", "."])
    '[The][·dog][.]'
    """
    _check_pieces(pieces)
    return "".join(f"[{_visible(p)}]" for p in pieces)


def tokens_as_html(pieces: Sequence[str], ids: Sequence[int] | None = None) -> str:
    """HTML: each token on its own colour; hovering over a token shows its id."""
    _check_pieces(pieces)
    if ids is not None and len(ids) != len(pieces):
        raise ValueError(tr("got {tokens} tokens but {ids} ids; give one id per token.",
                            tokens=len(pieces), ids=len(ids)))
    spans = []
    for k, piece in enumerate(pieces):
        title = f' title="id {ids[k]}"' if ids is not None else ""
        spans.append(f'<span style="background:{COLOURS[k % len(COLOURS)]};color:#111;'
                     f'border-radius:3px;padding:1px 0"{title}>'
                     f"{html.escape(_visible(piece))}</span>")
    return ('<div style="font-family:monospace;white-space:pre-wrap;line-height:1.9">'
            + "".join(spans) + "</div>")


def show_tokens(pieces: Sequence[str], ids: Sequence[int] | None = None) -> None:
    """Display the tokens with coloured boundaries (HTML), or as plain text without HTML.

    ``pieces[k]`` is the text of token k (``decode([id])``); ``ids`` are shown on hover.
    """
    from IPython.display import display

    bundle = {"text/html": tokens_as_html(pieces, ids), "text/plain": tokens_as_text(pieces)}
    display(bundle, raw=True)


def plot_compression(num_merges: Sequence[int], bytes_per_token: Sequence[float],
                     title: str | None = None) -> None:
    """Line plot: bytes per token (how much each token holds) against the number of merges.

    ``title`` defaults to "More merges, fewer tokens" in the learner's language."""
    import matplotlib.pyplot as plt

    from .fonts import use_language_fonts

    use_language_fonts()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(list(num_merges), list(bytes_per_token), marker="o")
    ax.set_xlabel(tr("number of merges"))
    ax.set_ylabel(tr("bytes per token"))
    ax.set_title(tr("More merges, fewer tokens") if title is None else title)
    ax.grid(alpha=0.3)
    fig.tight_layout()


def plot_top_tokens(pieces: Sequence[str], counts: Sequence[int],
                    title: str | None = None) -> None:
    """Horizontal bars: how often each token occurs, the most frequent on top.

    ``title`` defaults to "The most frequent merged tokens" in the learner's language."""
    import matplotlib.pyplot as plt

    from .fonts import use_language_fonts

    use_language_fonts()
    _check_pieces(pieces)
    labels = [repr(p) for p in pieces]  # quotes show the spaces at the ends
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(pieces) + 1))
    ax.barh(labels[::-1], list(counts)[::-1], color=COLOURS[1], edgecolor="#1e3a8a")
    ax.set_xlabel(tr("times in the text"))
    ax.set_title(tr("The most frequent merged tokens") if title is None else title)
    fig.tight_layout()


def _check_pieces(pieces: Sequence[str]) -> None:
    if isinstance(pieces, str) or not all(isinstance(p, str) for p in pieces):
        raise TypeError(tr("give a list of strings, one per token, e.g. "
                           "[decode_tokens([i], merges) for i in ids]."))
