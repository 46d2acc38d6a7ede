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
from .cli_argparse import argparse_speaking
from .cli_types import output_folder, real_number, whole_number
from .data import train_val_split
from .errors import CourseError
from .i18n import tr
from .train import TrainConfig, _device, _rank_and_world, shakespeare_tokens, train, unigram_entropy

PROG = "python -m gpt2course.train"
# Each number's bounds. The sizes stop at GPT-2 XL's (48 layers, n_embd 1600, a context of
# 1024: Radford et al. 2019, table 2); beyond the others a run exhausts memory or time.
BOUNDS = {
    "n_layer": whole_number(1, 48), "n_head": whole_number(1, 64),
    "n_embd": whole_number(1, 1600), "block_size": whole_number(1, 1024),
    "dropout": real_number(0, 1, high_open=True), "batch_size": whole_number(1, 1024),
    "val_fraction": real_number(0, 1, low_open=True, high_open=True),
    "steps": whole_number(1, 1_000_000), "lr": real_number(0, 1, low_open=True),
    "min_lr": real_number(0, 1), "warmup_steps": whole_number(0, 1_000_000),
    "weight_decay": real_number(0, 10), "grad_clip": real_number(0, 1e6),
    "eval_interval": whole_number(1, 1_000_000), "eval_batches": whole_number(1, 1000),
    "seed": whole_number(0, 2**63 - 1),
}
MAX_TOKENS_PER_STEP = 65536  # batch_size x block_size: logits of 65536 tokens are GBs already


# A TrainConfig field with its comment: ``    steps: int = 200  # optimizer steps ...``.
FIELD_COMMENT = re.compile(r"^ {4}(\w+): \w+ = .*?  # (.*)$", flags=re.MULTILINE)


def field_comments(source: str | None = None) -> dict[str, str]:
    """Each TrainConfig field's comment in ``source`` (default: TrainConfig's own source):
    the help text of its flag, in English. ``i18n_extract`` finds the same texts in
    train.py, so each has its Chinese in the catalog (``tr`` of a comment)."""
    if source is None:
        try:
            source = inspect.getsource(TrainConfig)
        except (OSError, TypeError):  # no source file (e.g. a frozen app): help without comments
            return {}
    return dict(FIELD_COMMENT.findall(source))


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG,
        description=tr("Train a small GPT-2 on Tiny Shakespeare and save it as a GPT-2 "
                       "checkpoint. Run it with torchrun --nproc_per_node=N to train on N "
                       "processes with DDP."),
    )
    comments = field_comments()
    for f in dataclasses.fields(TrainConfig):
        flag = f"--{f.name.replace('_', '-')}"
        comment = tr(comments[f.name]) if f.name in comments else ""
        text = tr("{help} (default: {default})", help=comment, default=f.default).strip()
        if f.type == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default,
                                help=text)
            continue
        kind = BOUNDS.get(f.name, {"int": int, "float": float, "str": str}[str(f.type)])
        if f.name == "device":
            kind = _device_name
        parser.add_argument(flag, type=kind, default=f.default, metavar=str(f.type).upper(),
                            help=text.replace("%", "%%"))
    parser.add_argument("--out", default="shakespeare-gpt2", type=output_folder,
                        help=tr("folder to save the checkpoint in (default: shakespeare-gpt2)"))
    parser.add_argument("--no-progress", action="store_true", help=tr("no progress bar"))
    return parser


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _device_name(text: str) -> str:
    """``--device``: auto, cpu, cuda or cuda:N, and a GPU only where PyTorch sees one."""
    name = text.strip().lower()
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?|mps", name):
        raise argparse.ArgumentTypeError(tr("must be auto, cpu, cuda or cuda:N, not {text!r}",
                                            text=text))
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(tr("PyTorch sees no GPU here; use --device cpu (or "
                                            "auto)"))
    return name


def _check_together(args: dict, parser: argparse.ArgumentParser) -> None:
    """The rules between two options, each said with the options' names."""
    if args["min_lr"] > args["lr"]:
        parser.error(tr("--min-lr ({low}) must not be above --lr ({high})",
                        low=args["min_lr"], high=args["lr"]))
    if args["n_embd"] % args["n_head"]:
        parser.error(tr("--n-embd ({width}) must be a multiple of --n-head ({heads})",
                        width=args["n_embd"], heads=args["n_head"]))
    if args["batch_size"] * args["block_size"] > MAX_TOKENS_PER_STEP:
        parser.error(tr("--batch-size x --block-size is {tokens} tokens per step; at most "
                        "{limit} fit in memory", tokens=args["batch_size"] * args["block_size"],
                        limit=MAX_TOKENS_PER_STEP))


def _with_flags(message: str) -> str:
    """A setting's Python name in a message from the training code (``TrainConfig.steps``,
    ``block_size``) as the option the user typed (``--steps``, ``--block-size``). A name
    that is also an English word (steps, seed) is changed only before ``must`` or ``=``."""
    fields = [f.name for f in dataclasses.fields(TrainConfig)]
    message = re.sub(rf"\bTrainConfig\.({'|'.join(fields)})\b", lambda m: _flag(m[1]), message)
    joined = "|".join(n for n in fields if "_" in n)
    message = re.sub(rf"(?<![-\w])({joined})\b", lambda m: _flag(m[1]), message)
    plain = "|".join(n for n in fields if "_" not in n)
    return re.sub(rf"(?<![-\w])({plain})(?=\s+must\b|\s*=)", lambda m: _flag(m[1]), message)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gpt2course.train``; under ``torchrun`` it trains with DDP."""
    try:
        with argparse_speaking():
            parser = _parser()
            args = vars(parser.parse_args(argv))
            _check_together(args, parser)
    except Exception as err:  # noqa: BLE001 - building the parser is covered too
        return report_bug(PROG, err)
    out, quiet = args.pop("out"), args.pop("no_progress")
    try:
        _train_and_save(TrainConfig(**args), out, quiet)
    except CourseError as err:
        print(f"{PROG}: {_with_flags(str(err))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\n" + tr("interrupted"), file=sys.stderr)
        return 130
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
