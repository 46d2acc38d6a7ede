"""GPT-2's hyperparameters, and the four sizes OpenAI released."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .errors import CheckpointError, InputError
from .i18n import tr


@dataclass(frozen=True)
class GPT2Config:
    """The numbers that fix a GPT-2's shape. Field names follow Hugging Face's ``GPT2Config``."""

    vocab_size: int = 50257  # token ids: 256 bytes + 50,000 merges + <|endoftext|>
    n_positions: int = 1024  # context length: the most tokens the model sees at once
    n_embd: int = 768  # C: the width of every token's vector
    n_layer: int = 12  # how many transformer blocks are stacked
    n_head: int = 12  # attention heads per block; each head has n_embd // n_head dims
    layer_norm_epsilon: float = 1e-5  # added to the variance inside LayerNorm's sqrt
    dropout: float = 0.0  # dropout while training (OpenAI used 0.1); always off in eval()

    def __post_init__(self) -> None:
        for name in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise InputError(tr("GPT2Config.{name} must be a positive integer, got {value!r}.",
                                    name=name, value=value))
        if self.n_embd % self.n_head:
            raise InputError(tr(
                "n_embd ({n_embd}) must divide evenly into n_head ({n_head}) heads.",
                n_embd=self.n_embd, n_head=self.n_head))
        if not 0.0 <= self.dropout < 1.0:
            raise InputError(tr("dropout must be in [0, 1), got {value!r}.", value=self.dropout))

    @property
    def head_size(self) -> int:
        """Dims per attention head (64 in every OpenAI GPT-2)."""
        return self.n_embd // self.n_head

    @classmethod
    def from_preset(cls, name: str) -> GPT2Config:
        """One of OpenAI's sizes: ``gpt2`` (124M), ``gpt2-medium``, ``gpt2-large``, ``gpt2-xl``."""
        key = name.removeprefix("openai-community/")
        if key not in PRESETS:
            raise InputError(tr("Unknown preset {name!r}. Choose one of: {presets}.", name=name,
                                presets=", ".join(PRESETS)))
        return PRESETS[key]

    @classmethod
    def from_hf_dict(cls, hf: dict[str, Any]) -> GPT2Config:
        """Read a Hugging Face ``config.json``; refuse options this model does not implement."""
        unsupported = {
            "activation_function": ("gelu_new", "gelu_pytorch_tanh"),
            "scale_attn_weights": (True,),
            "scale_attn_by_inverse_layer_idx": (False,),
            "n_inner": (None, 4 * hf.get("n_embd", 768)),
            "add_cross_attention": (False,),
        }
        for key, allowed in unsupported.items():
            if key in hf and hf[key] not in allowed:
                raise CheckpointError(tr(
                    "config.json sets {key}={value!r}; this GPT-2 only supports {allowed}.",
                    key=key, value=hf[key], allowed=" or ".join(repr(a) for a in allowed)))
        try:
            return cls(
                vocab_size=hf["vocab_size"],
                n_positions=hf["n_positions"],
                n_embd=hf["n_embd"],
                n_layer=hf["n_layer"],
                n_head=hf["n_head"],
                layer_norm_epsilon=hf.get("layer_norm_epsilon", 1e-5),
            )
        except KeyError as missing:
            raise CheckpointError(tr("config.json has no {field} field; is it a GPT-2 config?",
                                     field=missing)) from None

    def to_hf_dict(self) -> dict[str, Any]:
        """The fields Hugging Face's ``GPT2Config`` needs to build the same model."""
        d = asdict(self)
        d.pop("dropout")
        return {"model_type": "gpt2", "activation_function": "gelu_new", **d}


PRESETS: dict[str, GPT2Config] = {
    "gpt2": GPT2Config(n_layer=12, n_head=12, n_embd=768),  # 124M
    "gpt2-medium": GPT2Config(n_layer=24, n_head=16, n_embd=1024),  # 350M
    "gpt2-large": GPT2Config(n_layer=36, n_head=20, n_embd=1280),  # 774M
    "gpt2-xl": GPT2Config(n_layer=48, n_head=25, n_embd=1600),  # 1558M
}
