"""The next-token explorer (lesson 06): type a prompt, see the 10 most likely next tokens.

Each candidate is a row: a button with the token's text (click it to append the token to
the prompt), a bar with its probability, and the probability as a number. Sliders change
the temperature, top-k and top-p, and the bars show the distribution that sampling would
draw from with those settings.

The numbers come from ``explorer_state``, which needs no browser, so tests can check
them; ``NextTokenExplorer`` only displays them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

from ..errors import InputError
from ..i18n import tr
from ..model import GPT2
from ..sampling import next_token_probs
from ..vocab import ENDOFTEXT, ENDOFTEXT_ID
from .tokens import VISIBLE

SHOWN = 10  # candidates shown


class Candidate(NamedTuple):
    """One possible next token: its id, its text, and its probability with the settings."""

    token_id: int
    text: str
    prob: float


def context_ids(enc: Any, prompt: str, n_positions: int) -> list[int]:
    """The ids the model reads: ``<|endoftext|>`` for an empty prompt, else the prompt's
    tokens (``<|endoftext|>`` allowed in it), cut to the last ``n_positions``."""
    if not isinstance(prompt, str):
        raise InputError(tr("the prompt must be a string, got {kind}.",
                            kind=type(prompt).__name__))
    ids = enc.encode(prompt, allowed_special={ENDOFTEXT}) if prompt else [ENDOFTEXT_ID]
    return ids[-n_positions:]


def settings(temperature: float, top_k: int | None, top_p: float | None
             ) -> tuple[float, int | None, float | None]:
    """Slider values -> sampler settings: top-k 0 and top-p 1 mean "off" (None)."""
    if temperature <= 0:
        raise InputError(tr("temperature must be > 0, got {temperature}.",
                            temperature=temperature))
    return (float(temperature), int(top_k) if top_k else None,
            float(top_p) if top_p is not None and top_p < 1 else None)


@torch.inference_mode()
def explorer_state(model: GPT2, enc: Any, prompt: str, temperature: float = 1.0,
                   top_k: int | None = None, top_p: float | None = None,
                   shown: int = SHOWN) -> list[Candidate]:
    """The ``shown`` most likely next tokens after ``prompt``, most likely first.

    They are ranked by the model's logits, so the same tokens stay in view while the
    settings change; ``prob`` is each one's probability after temperature, top-k and
    top-p (``next_token_probs``), so a token the filters drop shows 0.
    """
    temperature, top_k, top_p = settings(temperature, top_k, top_p)
    ids = context_ids(enc, prompt, model.config.n_positions)
    logits, _ = model(torch.tensor([ids], device=model.wte.weight.device), last_only=True)
    last = logits[:, -1, :].float()
    probs = next_token_probs(last, temperature=temperature, top_k=top_k, top_p=top_p)[0]
    best = torch.topk(last[0], min(shown, last.size(-1))).indices.tolist()
    return [Candidate(i, enc.decode([i]), float(probs[i])) for i in best]


def visible(text: str) -> str:
    """Token text for a button: spaces as '·' and line ends as '↵', so they can be seen."""
    return "".join(VISIBLE.get(ch, ch) for ch in text).replace("\n", "") or tr("(empty)")


class NextTokenExplorer:
    """The widgets, wired together. ``box`` is what the notebook shows.

    prompt (Text), temperature / top-k / top-p (sliders with those descriptions),
    ``buttons[i]`` (candidate i; its description is ``visible(text)``, clicking appends
    the token's text to the prompt), ``bars[i]`` and ``labels[i]`` (its probability),
    ``sample`` (draws one token with the settings and appends it), ``status`` (a line).
    """

    def __init__(self, model: GPT2, enc: Any, prompt: str = "", description: str = "",
                 seed: int = 0) -> None:
        import ipywidgets as w

        self.model, self.enc, self.description = model, enc, description
        self.generator = torch.Generator().manual_seed(seed)  # draws repeat from run to run
        self.candidates: list[Candidate] = []
        wide = w.Layout(width="95%")
        named = {"description_width": "initial"}  # show "temperature" in full
        # A text area, not a one-line Text: prompts and tokens hold line breaks.
        self.prompt = w.Textarea(value=prompt, description=tr("prompt"), layout=wide,
                                 continuous_update=False,
                                 placeholder=tr("empty: start from <|endoftext|>"))
        self.temperature = w.FloatSlider(value=1.0, min=0.1, max=3.0, step=0.05,
                                         description=tr("temperature"), readout_format=".2f",
                                         style=named)
        self.top_k = w.IntSlider(value=0, min=0, max=50, description="top-k", style=named)
        self.top_p = w.FloatSlider(value=1.0, min=0.05, max=1.0, step=0.05,
                                   description="top-p", readout_format=".2f", style=named)
        self.sample = w.Button(description=tr("sample a token"), icon="random")
        self.status = w.Label()
        self.buttons, self.bars, self.labels, rows = [], [], [], []
        for i in range(SHOWN):
            button = w.Button(layout=w.Layout(width="160px"))
            button.add_class("gpt2course-candidate")
            button.on_click(lambda _, i=i: self.append(self.candidates[i].text))
            bar = w.FloatProgress(min=0.0, max=1.0, layout=w.Layout(width="320px"))
            label = w.Label(layout=w.Layout(width="70px"))
            self.buttons.append(button)
            self.bars.append(bar)
            self.labels.append(label)
            rows.append(w.HBox([button, bar, label]))
        self.sample.on_click(lambda _: self.draw())
        for control in (self.prompt, self.temperature, self.top_k, self.top_p):
            control.observe(lambda _: self.update(), names="value")
        help_line = w.HTML("<small>" + tr("top-k 0 and top-p 1.00 mean off. Click a token to "
                                          "add it to the prompt.") + "</small>")
        model_line = w.Label(description)
        sliders = w.HBox([self.temperature, self.top_k, self.top_p])
        self.box = w.VBox([model_line, self.prompt, sliders, help_line, *rows,
                           w.HBox([self.sample, self.status])])
        self.box.add_class("gpt2course-explorer")
        self.update()

    def update(self) -> None:
        """Recompute the candidates for the current prompt and settings; redraw."""
        try:
            self.candidates = explorer_state(self.model, self.enc, self.prompt.value,
                                             self.temperature.value, self.top_k.value,
                                             self.top_p.value)
        except InputError as err:
            self.status.value = str(err)
            return
        for cand, button, bar, label in zip(self.candidates, self.buttons, self.bars,
                                            self.labels, strict=True):
            button.description = visible(cand.text)
            button.tooltip = tr("token id {id}: click to add it", id=cand.token_id)
            bar.value = cand.prob
            label.value = f"{cand.prob:.1%}" if cand.prob == 0 or cand.prob >= 0.001 \
                else "<0.1%"
        shown = sum(c.prob for c in self.candidates)
        self.status.value = tr("The {count} tokens shown hold {share:.1%} of the probability.",
                               count=SHOWN, share=shown)

    def append(self, text: str) -> None:
        """Add ``text`` to the end of the prompt (which updates the candidates)."""
        self.prompt.value = self.prompt.value + text

    @torch.inference_mode()
    def draw(self) -> int:
        """Sample one token with the current settings, append it, and return its id."""
        temperature, top_k, top_p = settings(self.temperature.value, self.top_k.value,
                                             self.top_p.value)
        ids = context_ids(self.enc, self.prompt.value, self.model.config.n_positions)
        device = self.model.wte.weight.device
        logits, _ = self.model(torch.tensor([ids], device=device), last_only=True)
        probs = next_token_probs(logits[:, -1, :], temperature=temperature, top_k=top_k,
                                 top_p=top_p)
        token = int(torch.multinomial(probs, 1, generator=self.generator))
        self.append(self.enc.decode([token]))
        return token


def next_token_explorer(model: GPT2, enc: Any, prompt: str = "", description: str = "",
                        seed: int = 0) -> Any:
    """The explorer as a widget box, to show in a notebook (the last line of a cell).

    model: a ``GPT2`` in eval mode. enc: its tokenizer (``gpt2_encoding()``).
    description: a line saying which model this is (``course_model()`` gives one).
    """
    explorer = NextTokenExplorer(model, enc, prompt, description, seed)
    explorer.box.explorer = explorer  # tests and curious learners can reach the parts
    return explorer.box
