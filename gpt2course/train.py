"""Train a small GPT-2 on Tiny Shakespeare: one loop for the notebook, the script and torchrun.

In a notebook::

    from gpt2course.train import TrainConfig, train, save_checkpoint
    model, history = train(TrainConfig(steps=100))
    save_checkpoint(model, "shakespeare-gpt2")   # load it back with load_pretrained(folder)

From a shell (one process), and on N GPUs or CPU processes with PyTorch's DDP::

    python -m gpt2course.train --steps 300 --out shakespeare-gpt2
    torchrun --nproc_per_node=N -m gpt2course.train --steps 300

Under ``torchrun`` every process (a "rank") holds a full copy of the model and
trains on its own random batches. After each backward pass, DDP averages the
gradients over all ranks, so every copy takes the same optimizer step and the
copies stay identical. One step then learns from N times as many tokens.

This module holds the settings and the loop. The loss trick is in ``present_loss.py``,
checkpoints in ``checkpoint.py`` (beside ``weights.load_pretrained``), the command
line in ``train_cli.py``; ``save_checkpoint`` and ``read_train_config`` are re-exported
here for lesson 07.
"""

from __future__ import annotations

import functools
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from .checkpoint import TRAIN_CONFIG_FILE, read_train_config, save_checkpoint
from .config import GPT2Config
from .data import get_batch, tiny_shakespeare, train_val_split
from .errors import InputError
from .i18n import tr
from .model import GPT2
from .present_loss import PlainLoss, PresentTokensLoss
from .vocab import gpt2_encoding

__all__ = [
    "TRAIN_CONFIG_FILE", "History", "PresentTokensLoss", "TrainConfig", "evaluate", "lr_at",
    "make_optimizer", "read_train_config", "save_checkpoint", "shakespeare_tokens", "train",
    "unigram_entropy",
]

WHOLE_FIELDS = ("n_layer", "n_head", "n_embd", "block_size", "batch_size", "steps",
                "eval_interval", "eval_batches")


def _is_whole(value: object, smallest: int) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and value >= smallest


def _is_finite(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) \
        and math.isfinite(value)


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training run. The defaults train in about 2 minutes on 2 CPU cores."""

    # The model: a GPT-2 like OpenAI's, only smaller. It keeps GPT-2's full vocabulary,
    # so GPT-2's tokenizer, generate() and load_pretrained() work with it unchanged.
    n_layer: int = 4  # transformer blocks
    n_head: int = 4  # attention heads per block
    n_embd: int = 128  # C: width of each token's vector
    block_size: int = 64  # T: tokens per training window; also the model's n_positions
    dropout: float = 0.0  # dropout rate; 0 here, as so short a run cannot overfit
    # The data.
    batch_size: int = 16  # B: windows per step (per process under torchrun)
    val_fraction: float = 0.1  # the share of the text, at its end, kept for validation
    # The optimizer: AdamW, with a short warmup and then a cosine decay of the learning rate.
    steps: int = 200  # optimizer steps (about 1.5 minutes on 2 CPU cores)
    lr: float = 3e-3  # peak learning rate (small models tolerate larger ones than GPT-2's)
    min_lr: float = 3e-4  # the learning rate at the last step
    warmup_steps: int = 20  # steps to ramp the learning rate up to lr: early gradients are noisy
    weight_decay: float = 0.1  # pulls weight matrices towards 0; biases and LayerNorm exempt
    grad_clip: float = 1.0  # rescale the gradient if its norm is larger (0 = never)
    # Measuring progress.
    eval_interval: int = 40  # compute the validation loss every this many steps (and at the end)
    eval_batches: int = 8  # validation batches per evaluation: more is steadier but slower
    seed: int = 1337  # fixes the initial weights and the batches: same settings, same model
    present_only: bool = True  # score only tokens that occur in the data: same loss, ~2.5x faster
    device: str = "auto"  # "cpu", "cuda", "cuda:1", ... or "auto" (a GPU if there is one)

    def __post_init__(self) -> None:
        for name in WHOLE_FIELDS:
            if not _is_whole(getattr(self, name), 1):
                raise InputError(tr("TrainConfig.{name} must be a whole number >= 1, not "
                                    "{value!r}.", name=name, value=getattr(self, name)))
        if not _is_whole(self.warmup_steps, 0):
            raise InputError(tr("warmup_steps must be a whole number >= 0, not {value!r}.",
                                value=self.warmup_steps))
        if not _is_whole(self.seed, 0):
            raise InputError(tr("seed must be a whole number >= 0, not {value!r}.",
                                value=self.seed))
        if not (_is_finite(self.lr) and self.lr > 0):
            raise InputError(tr("lr must be a finite number > 0 (e.g. 3e-3), not {value!r}.",
                                value=self.lr))
        if not (_is_finite(self.min_lr) and 0 <= self.min_lr <= self.lr):
            raise InputError(tr("min_lr must be between 0 and lr ({lr}), not {value!r}.",
                                lr=self.lr, value=self.min_lr))
        for name in ("weight_decay", "grad_clip"):
            if not (_is_finite(getattr(self, name)) and getattr(self, name) >= 0):
                raise InputError(tr("TrainConfig.{name} must be a finite number >= 0, not "
                                    "{value!r}.", name=name, value=getattr(self, name)))
        if not (_is_finite(self.val_fraction) and 0.0 < self.val_fraction < 1.0):
            raise InputError(tr("val_fraction must be between 0 and 1, not {value!r}.",
                                value=self.val_fraction))
        self.model_config()  # checks n_embd % n_head and dropout

    def model_config(self) -> GPT2Config:
        """The GPT-2 these settings train: full GPT-2 vocabulary, context of block_size."""
        return GPT2Config(
            n_layer=self.n_layer, n_head=self.n_head, n_embd=self.n_embd,
            n_positions=self.block_size, dropout=self.dropout,
        )


@dataclass
class History:
    """What happened during training, for plots and reports. Losses are in nats per token."""

    steps: list[int] = field(default_factory=list)  # 1, 2, 3, ...
    train_loss: list[float] = field(default_factory=list)  # loss of each step's batch
    val_steps: list[int] = field(default_factory=list)  # steps at which val loss was measured
    val_loss: list[float] = field(default_factory=list)
    seconds: float = 0.0  # wall-clock time of the whole run


# ---------------------------------------------------------------------------- data


@functools.lru_cache(maxsize=1)
def shakespeare_tokens() -> torch.Tensor:
    """Tiny Shakespeare as GPT-2 token ids: about 338,000 of them, shape ``(N,)``."""
    ids = gpt2_encoding().encode_ordinary(tiny_shakespeare())
    return torch.tensor(ids, dtype=torch.long)


def unigram_entropy(ids: torch.Tensor) -> float:
    """The loss (nats per token) of the best model that ignores context.

    Such a model always predicts each token with its frequency p(v) in ``ids``;
    its average loss is then the entropy  -sum_v p(v) log p(v).  A language model
    only uses context if it beats this number.
    """
    counts = torch.bincount(ids.flatten())
    p = counts[counts > 0].double() / counts.sum()
    return float(-(p * p.log()).sum())


# ---------------------------------------------------------------------------- training


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate for ``step`` (0-based): linear warmup, then cosine decay to ``min_lr``."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - 1 - cfg.warmup_steps)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW that decays only matrices (weights, embeddings), not biases or LayerNorm gains.

    Weight decay keeps big matrices small; a bias or a LayerNorm gain is one
    number per channel, and pulling it towards 0 only hurts. ``fused``: one kernel
    updates every tensor (on a CPU about 6x faster than a Python loop over them).
    """
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    fused = all(p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.95), fused=fused)


@torch.no_grad()
def evaluate(model: GPT2, data: torch.Tensor, cfg: TrainConfig,
             loss_of: nn.Module | None = None) -> float:
    """Average loss over ``cfg.eval_batches`` batches of ``data``, always the same windows.

    The windows are drawn with a fixed seed, so two evaluations differ only
    because the model changed, not because they saw different text.
    loss_of: computes the loss from ``(x, y)`` instead of ``model(x, y)``; training
    passes its ``PresentTokensLoss``, the same number for ``model`` found faster.
    """
    was_training = model.training
    model.eval()  # dropout off
    generator = torch.Generator().manual_seed(cfg.seed)
    device = next(model.parameters()).device
    total = 0.0
    for _ in range(cfg.eval_batches):
        x, y = get_batch(data, cfg.batch_size, cfg.block_size, generator)
        x, y = x.to(device), y.to(device)
        loss = model(x, y)[1] if loss_of is None else loss_of(x, y)
        total += loss.item()
    model.train(was_training)
    return total / cfg.eval_batches


def train(
    cfg: TrainConfig = TrainConfig(),
    *,
    on_step: Callable[[int, History], None] | None = None,
    progress: bool = True,
    data: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> tuple[GPT2, History]:
    """Train a fresh GPT-2 with ``cfg``; return ``(model in eval mode, history)``.

    on_step: called as ``on_step(step, history)`` after every step (e.g. to update a plot).
    progress: show a progress bar.
    data: ``(train_ids, val_ids)``; default: Tiny Shakespeare, split by ``cfg.val_fraction``.

    Under ``torchrun`` (when ``torch.distributed`` is initialised, see ``train_cli``), the
    gradients are averaged over all processes with DDP; only rank 0 evaluates,
    shows progress and calls ``on_step``. Raises ``InputError`` if the data is too short.
    """
    train_ids, val_ids = _training_data(cfg, data)
    run = _Run.start(cfg, train_ids, val_ids)
    history = History()
    bar = _progress_bar(cfg.steps, enabled=progress and run.lead)
    started = time.perf_counter()
    for step in range(cfg.steps):
        history.steps.append(step + 1)
        history.train_loss.append(run.step(step, train_ids))
        if (step + 1) % cfg.eval_interval == 0 or step + 1 == cfg.steps:
            run.sync_model()
            if run.lead:
                history.val_steps.append(step + 1)
                history.val_loss.append(evaluate(run.model, val_ids, cfg, run.present_loss))
        if run.lead:
            _show(bar, history)
            if on_step is not None:
                on_step(step + 1, history)
    bar.close()
    history.seconds = time.perf_counter() - started
    return run.model.eval(), history


def _training_data(
    cfg: TrainConfig, data: tuple[torch.Tensor, torch.Tensor] | None
) -> tuple[torch.Tensor, torch.Tensor]:
    train_ids, val_ids = data if data is not None else train_val_split(
        shakespeare_tokens(), cfg.val_fraction
    )
    for name, ids in (("training", train_ids), ("validation", val_ids)):
        if len(ids) < cfg.block_size + 1:
            raise InputError(tr(
                "The {name} data has {count} tokens; one window needs block_size + 1 = {needed}. "
                "Use a smaller block_size.", name=name, count=len(ids), needed=cfg.block_size + 1))
    return train_ids, val_ids


@dataclass
class _Run:
    """What one training run holds: the model, the loss it trains, the optimizer, the batches."""

    cfg: TrainConfig
    model: GPT2
    present_loss: PresentTokensLoss | None
    loss_of: nn.Module  # what DDP wraps and backward() starts from
    optimizer: torch.optim.Optimizer
    batches: torch.Generator
    device: torch.device
    world: int
    lead: bool

    @classmethod
    def start(cls, cfg: TrainConfig, train_ids: torch.Tensor, val_ids: torch.Tensor) -> _Run:
        rank, world = _rank_and_world()
        device = _device(cfg.device)
        torch.manual_seed(cfg.seed)  # the same initial weights on every rank
        model = GPT2(cfg.model_config()).to(device)
        model.train()
        present_loss: PresentTokensLoss | None = None
        loss_of: nn.Module = PlainLoss(model)
        if cfg.present_only:
            present_loss = PresentTokensLoss(model, torch.unique(torch.cat([train_ids, val_ids])))
            loss_of = present_loss
        # Each rank draws different batches; together they see world * batch_size windows a step.
        batches = torch.Generator().manual_seed(cfg.seed + 1 + rank)
        if world > 1:  # DDP's hooks average the gradients during backward()
            loss_of = DistributedDataParallel(loss_of, broadcast_buffers=False)
        optimizer = make_optimizer(loss_of, cfg)  # the model's weights (and absent_row)
        return cls(cfg, model, present_loss, loss_of, optimizer, batches, device, world,
                   rank == 0)

    def step(self, step: int, train_ids: torch.Tensor) -> float:
        """One optimizer step on a fresh batch; returns its loss (averaged over ranks)."""
        cfg, device = self.cfg, self.device
        for group in self.optimizer.param_groups:
            group["lr"] = lr_at(step, cfg)
        x, y = get_batch(train_ids, cfg.batch_size, cfg.block_size, self.batches)  # (B, T) each
        with torch.autocast(device.type, torch.bfloat16, enabled=device.type == "cuda"):
            loss = self.loss_of(x.to(device), y.to(device))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()  # with DDP, this also averages the gradients over the ranks
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.loss_of.parameters(), cfg.grad_clip)
        self.optimizer.step()
        loss = loss.detach()
        if self.world > 1:  # report the loss averaged over all ranks' batches
            dist.all_reduce(loss, op=dist.ReduceOp.SUM)
            loss /= self.world
        return loss.item()

    def sync_model(self) -> None:
        """Make ``model`` the model that ``loss_of`` trains (the shared absent row written)."""
        if self.present_loss is not None:
            self.present_loss.write_absent_rows()


def _show(bar, history: History) -> None:
    postfix = {"loss": f"{history.train_loss[-1]:.2f}"}
    if history.val_loss:
        postfix["val"] = f"{history.val_loss[-1]:.2f}"
    bar.set_postfix(postfix, refresh=False)
    bar.update(1)


# ---------------------------------------------------------------------------- helpers


def _rank_and_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _device(name: str) -> torch.device:
    """Turn ``cfg.device`` into a device; under torchrun each rank takes its own GPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputError(tr("device must be 'auto', 'cpu', 'cuda' or 'cuda:N', not {name!r}.",
                            name=name)) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(tr("device='cuda' was asked for, but PyTorch sees no GPU here."))
        if device.index is None:
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return device


def _progress_bar(total: int, *, enabled: bool):
    from tqdm.auto import tqdm  # a widget in Jupyter, text in a terminal

    return tqdm(total=total, desc="training", unit="step", disable=not enabled)


if __name__ == "__main__":
    from .train_cli import main

    sys.exit(main())
