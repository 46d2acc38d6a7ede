"""``python -m gpt2course.train``: train a small GPT-2 from the shell, alone or under torchrun.

Every ``TrainConfig`` field is a flag (its comment in the source is the help text).
A bad value is one line and exit code 2, before any training; a bug is one line
asking for a report (exit code 1), as in ``gpt2course``'s other commands.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import os
import re
import sys
from collections.abc import Sequence

import torch
import torch.distributed as dist

from .checkpoint import save_checkpoint
from .cli import OneLineParser, report_bug
from .cli_types import output_folder
from .data import train_val_split
from .errors import CourseError
from .i18n import tr
from .train import TrainConfig, _device, _rank_and_world, shakespeare_tokens, train, unigram_entropy

PROG = "python -m gpt2course.train"


def _field_comments() -> dict[str, str]:
    """Each TrainConfig field's comment, read from the source: the help text of its flag."""
    try:
        source = inspect.getsource(TrainConfig)
    except (OSError, TypeError):  # no source file (e.g. a frozen app): help without comments
        return {}
    return dict(re.findall(r"^ {4}(\w+): \w+ = .*?  # (.*)$", source, flags=re.MULTILINE))


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG,
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
    parser.add_argument("--out", default="shakespeare-gpt2", type=output_folder,
                        help="folder to save the checkpoint in (default: shakespeare-gpt2)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gpt2course.train``; under ``torchrun`` it trains with DDP."""
    args = vars(_parser().parse_args(argv))
    out, quiet = args.pop("out"), args.pop("no_progress")
    try:
        _train_and_save(TrainConfig(**args), out, quiet)
    except CourseError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return 2
    except Exception as err:
        return report_bug(PROG, err)
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    return 0


def _train_and_save(cfg: TrainConfig, out: os.PathLike, quiet: bool) -> None:
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        # torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT;
        # init_process_group reads them. gloo works on CPUs, nccl between GPUs.
        device = _device(cfg.device)
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    rank, world = _rank_and_world()
    if rank == 0:
        print(tr("Training a {layers}-layer GPT-2 (n_embd {width}) for {steps} steps on {world} "
                 "process(es), {windows} windows of {block} tokens per step.",
                 layers=cfg.n_layer, width=cfg.n_embd, steps=cfg.steps, world=world,
                 windows=world * cfg.batch_size, block=cfg.block_size), flush=True)
    model, history = train(cfg, progress=not quiet)
    if rank == 0:
        base = unigram_entropy(train_val_split(shakespeare_tokens(), cfg.val_fraction)[0])
        folder = save_checkpoint(model, out, train_config=cfg, history=history)
        print(tr("val loss {val:.3f} (unigram baseline {base:.3f}) after {seconds:.0f} s; "
                 "saved to {folder}", val=history.val_loss[-1], base=base,
                 seconds=history.seconds, folder=folder), flush=True)
    if distributed:
        # DDP kept the copies identical: every rank prints the same checksum.
        checksum = sum(p.double().sum().item() for p in model.parameters())
        print(tr("rank {rank} of {world}: done, weights checksum {checksum:.12e}",
                 rank=rank, world=world, checksum=checksum), flush=True)
        dist.barrier()  # nobody leaves before rank 0 has saved


if __name__ == "__main__":
    sys.exit(main())
