"""The ``gpt2course`` command line.

Each subcommand lives in the module that does its job; this file only wires
them to argparse. Errors the user can fix (``CourseError``) are printed as one
plain message, with no traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import traceback
from collections.abc import Sequence

from .downloads.command import add_download
from .errors import CourseError
from .grading.commands import add_assign, add_bundle, add_check, add_grade
from .i18n import LANGUAGES, speaking, tr

DEBUG_VARIABLE = "GPT2COURSE_DEBUG"  # set to 1 to see a full traceback instead of one line


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad option is one line saying what to do (exit 2), not the usage text."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, tr("{prog}: {problem} (see {prog} --help)", prog=self.prog,
                        problem=message) + "\n")


def _add_generate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "generate",
        help="continue a prompt with GPT-2 (or any GPT-2 checkpoint) and stream the text",
    )
    p.add_argument("--model", default="gpt2",
                   help="hub id (gpt2, gpt2-medium, openai-community/gpt2-large, ...), "
                        "a local folder, or a .safetensors file (default: gpt2)")
    p.add_argument("--prompt", default="", help="text to continue (default: start of a document)")
    p.add_argument("--max-new-tokens", type=int, default=50, help="how many tokens to add")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="below 1 sharper, above 1 flatter; 0 means greedy")
    p.add_argument("--top-k", type=int, default=None, help="sample among the k most likely tokens")
    p.add_argument("--top-p", type=float, default=None,
                   help="sample among the fewest tokens whose probability adds up to p")
    p.add_argument("--greedy", action="store_true", help="always take the most likely token")
    p.add_argument("--seed", type=int, default=None, help="seed for reproducible sampling")
    p.set_defaults(run=_run_generate)


def _run_generate(args: argparse.Namespace) -> int:
    from .generate_cli import stream_generate
    from .sampling import SamplingConfig

    sampling = SamplingConfig(temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                              greedy=args.greedy)
    stream_generate(model=args.model, prompt=args.prompt, max_new_tokens=args.max_new_tokens,
                    sampling=sampling, seed=args.seed, out=sys.stdout)
    return 0


def _add_doctor(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check that this machine is ready for the course")
    p.set_defaults(run=_run_doctor)


def _run_doctor(args: argparse.Namespace) -> int:
    from .doctor import run_doctor

    return run_doctor()


# Each entry adds one subcommand. Keep one line per command, in the order --help shows.
SUBCOMMANDS = [
    _add_generate,
    _add_doctor,
    add_download,
    add_assign,
    add_check,
    add_grade,
    add_bundle,
]


def _add_language_option(parser: argparse.ArgumentParser, default: object) -> None:
    """The ``--lang`` option every command shares."""
    parser.add_argument("--lang", choices=LANGUAGES, default=default, type=_language,
                        help="language of messages, feedback and errors: en or zh "
                             "(default: $GPT2COURSE_LANG, else en)")


def _language(text: str) -> str:
    code = text.strip().lower().replace("-", "_").split("_")[0]
    return code if code in LANGUAGES else text  # choices= rejects the rest with a clear line


def build_parser() -> argparse.ArgumentParser:
    """The whole command line. ``--lang`` is accepted before or after the command; the
    subcommands' copy defaults to "not given" so it never hides one given before."""
    parser = OneLineParser(
        prog="gpt2course",
        description="Build GPT-2 from scratch: course tools (generate text, check and grade work).",
    )
    _add_language_option(parser, None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(sub)
    for command in sub.choices.values():
        _add_language_option(command, argparse.SUPPRESS)
    return parser


class _QuietParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ValueError(message)


def _language_given(argv: Sequence[str] | None) -> str | None:
    """``--lang``'s value, read before the full parse so that argparse's own error lines
    (a bad option value) come in that language too; None if absent or not a language."""
    pre = _QuietParser(add_help=False)
    pre.add_argument("--lang", type=_language)
    try:
        lang = pre.parse_known_args(argv)[0].lang
    except ValueError:  # e.g. no value after --lang: the full parse says so, once
        return None
    return lang if lang in LANGUAGES else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    with speaking(_language_given(argv)):
        args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 0
    with speaking(args.lang):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.run(args) or 0)
    except CourseError as err:
        print(tr("gpt2course {command}: {error}", command=args.command, error=err),
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\n" + tr("interrupted"), file=sys.stderr)
        return 130
    except Exception as err:
        return report_bug(f"gpt2course {args.command}", err)


def report_bug(name: str, err: Exception) -> int:
    """An exception that is not a ``CourseError`` is a bug: say so in one line, save the
    traceback to a file, return exit code 1. With ``GPT2COURSE_DEBUG=1``, re-raise it
    instead (the full traceback). Call it inside the ``except`` block."""
    if os.environ.get(DEBUG_VARIABLE, "") not in ("", "0"):
        raise err
    print(tr("{name}: unexpected error {kind}: {error}. This is a bug in gpt2course; please "
             "report it with the traceback saved in {path} (or run again with {variable}=1 "
             "to see it).", name=name, kind=type(err).__name__, error=str(err)[:300],
             path=_save_traceback(), variable=DEBUG_VARIABLE), file=sys.stderr)
    return 1


def _save_traceback() -> str:
    try:
        fd, path = tempfile.mkstemp(prefix="gpt2course-error-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(traceback.format_exc())
        return path
    except OSError:
        return tr("(nowhere: the temporary folder is not writable)")


if __name__ == "__main__":
    sys.exit(main())
