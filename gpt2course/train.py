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
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import inspect
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from .config import GPT2Config
from .data import get_batch, tiny_shakespeare, train_val_split
from .errors import CourseError, InputError
from .model import GPT2
from .vocab import gpt2_encoding
from .weights import CONFIG_FILE, WEIGHTS_FILE, to_hf_state_dict

TRAIN_CONFIG_FILE = "train_config.json"  # how a saved model was trained (and its final val loss)


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
        for name in ("n_layer", "n_head", "n_embd", "block_size", "batch_size", "steps",
                     "eval_interval", "eval_batches"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"TrainConfig.{name} must be a whole number >= 1, not {value!r}.")
        if isinstance(self.warmup_steps, bool) or not isinstance(self.warmup_steps, int) \
                or self.warmup_steps < 0:
            raise InputError(f"warmup_steps must be a whole number >= 0, not {self.warmup_steps}.")
        if not self.lr > 0:
            raise InputError(f"lr must be > 0 (e.g. 3e-3), not {self.lr!r}.")
        if not 0 <= self.min_lr <= self.lr:
            raise InputError(f"min_lr must be between 0 and lr ({self.lr}), not {self.min_lr!r}.")
        for name in ("weight_decay", "grad_clip"):
            if not getattr(self, name) >= 0:
                raise InputError(f"TrainConfig.{name} must be >= 0, not {getattr(self, name)!r}.")
        if not 0.0 < self.val_fraction < 1.0:
            raise InputError(f"val_fraction must be between 0 and 1, not {self.val_fraction!r}.")
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


# ---------------------------------------------------------------------------- the loss


class PresentTokensLoss(nn.Module):
    """The model's next-token loss over all 50,257 tokens, computed about 2.5x faster.

    Tiny Shakespeare uses about 11,700 of GPT-2's tokens. The other ("absent")
    tokens never occur as inputs or targets, so all the model must learn about them
    is "they do not come next". We let all absent tokens share one embedding row,
    ``absent_row``. With the head tied to the embeddings, each absent token then has
    the same logit ``h @ absent_row``, and together they add
    ``n_absent * exp(h @ absent_row)`` to the softmax's denominator: one extra
    column with logit ``h @ absent_row + log(n_absent)`` stands for all of them.
    That is the exact loss of the model whose absent rows all equal ``absent_row``
    (``write_absent_rows`` makes ``model`` that model), while scoring 4x fewer tokens.
    """

    def __init__(self, model: GPT2, present: Tensor) -> None:
        super().__init__()
        self.model = model
        device = model.wte.weight.device
        is_absent = torch.ones(model.config.vocab_size, dtype=torch.bool)
        is_absent[present] = False
        # position of each present token among the present ones (-1 for absent tokens)
        column = torch.full((model.config.vocab_size,), -1, dtype=torch.long)
        column[present] = torch.arange(len(present))
        self.register_buffer("present", present.to(device), persistent=False)
        self.register_buffer("is_absent", is_absent.to(device), persistent=False)
        self.register_buffer("column", column.to(device), persistent=False)
        n_absent = int(is_absent.sum())
        self.log_absent = math.log(n_absent) if n_absent else None
        self.absent_row = nn.Parameter(torch.zeros(model.config.n_embd, device=device))
        self.write_absent_rows()

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """Mean next-token loss of inputs ``x`` and targets ``y``, both ``(B, T)``."""
        m = self.model
        B, T = x.shape
        h = m.drop(m.wte(x) + m.wpe(torch.arange(T, device=x.device)))  # as GPT2.forward
        for block in m.h:
            h = block(h)
        h = m.ln_f(h)  # (B, T, C)
        logits = F.linear(h, m.wte.weight[self.present])  # (B, T, n_present)
        if self.log_absent is not None:
            absent = h @ self.absent_row + self.log_absent  # (B, T)
            logits = torch.cat([logits, absent[..., None]], dim=-1)  # (B, T, n_present + 1)
        return F.cross_entropy(logits.flatten(0, 1), self.column[y].flatten())

    @torch.no_grad()
    def write_absent_rows(self) -> None:
        """Copy ``absent_row`` into every absent token's row of the model's embeddings."""
        self.model.wte.weight[self.is_absent] = self.absent_row.to(self.model.wte.weight.dtype)


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

    Under ``torchrun`` (when ``torch.distributed`` is initialised, see ``main``), the
    gradients are averaged over all processes with DDP; only rank 0 evaluates,
    shows progress and calls ``on_step``.
    """
    rank, world = _rank_and_world()
    device = _device(cfg.device)
    train_ids, val_ids = data if data is not None else train_val_split(
        shakespeare_tokens(), cfg.val_fraction
    )
    for name, ids in (("training", train_ids), ("validation", val_ids)):
        if len(ids) < cfg.block_size + 1:
            raise InputError(
                f"The {name} data has {len(ids)} tokens; one window needs "
                f"block_size + 1 = {cfg.block_size + 1}. Use a smaller block_size."
            )

    torch.manual_seed(cfg.seed)  # the same initial weights on every rank
    model = GPT2(cfg.model_config()).to(device)
    model.train()
    present_loss: PresentTokensLoss | None = None
    loss_of: nn.Module = _PlainLoss(model)  # what DDP wraps and backward() starts from
    if cfg.present_only:
        present_loss = PresentTokensLoss(model, torch.unique(torch.cat([train_ids, val_ids])))
        loss_of = present_loss
    # Each rank draws different batches; together they see world * batch_size windows a step.
    batches = torch.Generator().manual_seed(cfg.seed + 1 + rank)
    if world > 1:  # DDP's hooks average the gradients during backward()
        loss_of = DistributedDataParallel(loss_of, broadcast_buffers=False)
    optimizer = make_optimizer(loss_of, cfg)  # the model's weights (and absent_row)
    history = History()
    lead = rank == 0
    bar = _progress_bar(cfg.steps, enabled=progress and lead)
    started = time.perf_counter()

    for step in range(cfg.steps):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, cfg)
        x, y = get_batch(train_ids, cfg.batch_size, cfg.block_size, batches)  # (B, T) each
        with torch.autocast(device.type, torch.bfloat16, enabled=device.type == "cuda"):
            loss = loss_of(x.to(device), y.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # with DDP, this also averages the gradients over the ranks
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(loss_of.parameters(), cfg.grad_clip)
        optimizer.step()

        loss = loss.detach()
        if world > 1:  # report the loss averaged over all ranks' batches
            dist.all_reduce(loss, op=dist.ReduceOp.SUM)
            loss /= world
        history.steps.append(step + 1)
        history.train_loss.append(loss.item())
        if (step + 1) % cfg.eval_interval == 0 or step + 1 == cfg.steps:
            if present_loss is not None:
                present_loss.write_absent_rows()  # make `model` the model that loss_of trains
            if lead:
                history.val_steps.append(step + 1)
                history.val_loss.append(evaluate(model, val_ids, cfg, present_loss))
        if lead:
            postfix = {"loss": f"{history.train_loss[-1]:.2f}"}
            if history.val_loss:
                postfix["val"] = f"{history.val_loss[-1]:.2f}"
            bar.set_postfix(postfix, refresh=False)
            bar.update(1)
            if on_step is not None:
                on_step(step + 1, history)
    bar.close()
    history.seconds = time.perf_counter() - started
    return model.eval(), history


# ---------------------------------------------------------------------------- checkpoints


def save_checkpoint(
    model: GPT2,
    folder: str | os.PathLike,
    *,
    train_config: TrainConfig | None = None,
    history: History | None = None,
) -> Path:
    """Save ``model`` as a Hugging Face style GPT-2 checkpoint; return the folder.

    The folder gets ``model.safetensors`` and ``config.json``, the same files
    OpenAI's GPT-2 has on the Hugging Face Hub, so ``load_pretrained(folder)``
    and ``gpt2course generate --model folder`` load it like any GPT-2. With
    ``train_config``, also ``train_config.json``: how it was trained.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # safetensors holds plain tensors, no pickled code: loading it cannot run anything.
    state = {name: t.detach().cpu() for name, t in to_hf_state_dict(model).items()}
    save_file(state, folder / WEIGHTS_FILE, metadata={"format": "pt"})
    (folder / CONFIG_FILE).write_text(json.dumps(model.config.to_hf_dict(), indent=2) + "\n")
    if train_config is not None:
        info: dict = {"train_config": asdict(train_config)}
        if history is not None and history.val_loss:
            info["val_loss"] = history.val_loss[-1]
        (folder / TRAIN_CONFIG_FILE).write_text(json.dumps(info, indent=2) + "\n")
    return folder


def read_train_config(folder: str | os.PathLike) -> TrainConfig | None:
    """The ``TrainConfig`` saved beside a checkpoint, or None if there is none (or it is bad)."""
    path = Path(folder) / TRAIN_CONFIG_FILE
    try:
        return TrainConfig(**json.loads(path.read_text())["train_config"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


# ---------------------------------------------------------------------------- helpers


class _PlainLoss(nn.Module):
    """``model(x, y)``'s loss, as a module of its own so DDP can wrap either loss."""

    def __init__(self, model: GPT2) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return self.model(x, y)[1]


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
        raise InputError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', not {name!r}.") \
            from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError("device='cuda' was asked for, but PyTorch sees no GPU here.")
        if device.index is None:
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return device


def _progress_bar(total: int, *, enabled: bool):
    from tqdm.auto import tqdm  # a widget in Jupyter, text in a terminal

    return tqdm(total=total, desc="training", unit="step", disable=not enabled)


# ---------------------------------------------------------------------------- command line


def _field_comments() -> dict[str, str]:
    """Each TrainConfig field's comment, read from the source: the help text of its flag."""
    try:
        source = inspect.getsource(TrainConfig)
    except (OSError, TypeError):  # no source file (e.g. a frozen app): help without comments
        return {}
    return dict(re.findall(r"^ {4}(\w+): \w+ = .*?  # (.*)$", source, flags=re.MULTILINE))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gpt2course.train",
        description="Train a small GPT-2 on Tiny Shakespeare and save it as a GPT-2 checkpoint. "
        "Run it with torchrun --nproc_per_node=N to train on N processes with DDP.",
    )
    comments = _field_comments()
    for f in dataclasses.fields(TrainConfig):
        flag = f"--{f.name.replace('_', '-')}"
        text = f"{comments.get(f.name, '')} (default: {f.default})".strip()
        if f.type == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default,
                                help=text)
            continue
        kind = {"int": int, "float": float, "str": str}[str(f.type)]
        parser.add_argument(flag, type=kind, default=f.default, metavar=str(f.type).upper(),
                            help=text.replace("%", "%%"))
    parser.add_argument("--out", default="shakespeare-gpt2",
                        help="folder to save the checkpoint in (default: shakespeare-gpt2)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gpt2course.train``; under ``torchrun`` it trains with DDP."""
    args = vars(_parser().parse_args(argv))
    out, quiet = args.pop("out"), args.pop("no_progress")
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    try:
        cfg = TrainConfig(**args)
        if distributed:
            # torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT;
            # init_process_group reads them. gloo works on CPUs, nccl between GPUs.
            device = _device(cfg.device)
            if device.type == "cuda":
                torch.cuda.set_device(device)
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        rank, world = _rank_and_world()
        if rank == 0:
            print(f"Training a {cfg.n_layer}-layer GPT-2 (n_embd {cfg.n_embd}) for {cfg.steps} "
                  f"steps on {world} process(es), {world * cfg.batch_size} windows of "
                  f"{cfg.block_size} tokens per step.", flush=True)
        model, history = train(cfg, progress=not quiet)
        if rank == 0:
            base = unigram_entropy(train_val_split(shakespeare_tokens(), cfg.val_fraction)[0])
            folder = save_checkpoint(model, out, train_config=cfg, history=history)
            print(f"val loss {history.val_loss[-1]:.3f} (unigram baseline {base:.3f}) "
                  f"after {history.seconds:.0f} s; saved to {folder}", flush=True)
        if distributed:
            # DDP kept the copies identical: every rank prints the same checksum.
            checksum = sum(p.double().sum().item() for p in model.parameters())
            print(f"rank {rank} of {world}: done, weights checksum {checksum:.12e}", flush=True)
            dist.barrier()  # nobody leaves before rank 0 has saved
    except CourseError as err:
        print(f"gpt2course.train: {err}", file=sys.stderr)
        return 2
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
