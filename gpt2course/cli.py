"""The ``gpt2course`` command line.

Each subcommand lives in the module that does its job; this file only wires
them to argparse. Everything ``main`` does, from building the parser to the
last line of output, is inside one safety net: a mistake the user can fix
(``CourseError``, a bad option) is one plain line and exit code 2; Ctrl-C is one
line and exit code 130; anything else is a bug: one line asking for a report,
the traceback saved to a file, exit code 1.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence
from functools import partial

from .cli_argparse import OneLineParser, argparse_speaking
from .cli_types import non_empty, real_number, whole_number
from .errors import CourseError
from .i18n import LANGUAGES, N_, speaking, tr

__all__ = ["OneLineParser", "build_parser", "main", "report_bug"]

DEBUG_VARIABLE = "GPT2COURSE_DEBUG"  # set to 1 to see a full traceback instead of one line
LANG_VARIABLE = "GPT2COURSE_LANG"
# Past the model's context (1024 for GPT-2) every new token reruns the whole context:
# 4096 tokens of the 124M model take minutes on a laptop CPU already.
MAX_NEW_TOKENS = 4096
MAX_TEMPERATURE = 100.0  # far above this the distribution is uniform to float precision
GPT2_VOCAB_SIZE = 50257  # top-k beyond the vocabulary keeps every token
# What the machine refuses, not a bug: a full disk or quota, a read-only or forbidden place,
# too many open files.
REFUSALS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EMFILE,
            errno.ENFILE}


def _add_generate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help=tr(
        "continue a prompt with GPT-2 (or any GPT-2 checkpoint) and stream the text"))
    p.add_argument("--model", default="gpt2", type=non_empty, help=tr(
        "hub id (gpt2, gpt2-medium, openai-community/gpt2-large, ...), a local folder, or a "
        ".safetensors file (default: gpt2)"))
    p.add_argument("--prompt", default="",
                   help=tr("text to continue (default: start of a document)"))
    p.add_argument("--max-new-tokens", type=whole_number(0, MAX_NEW_TOKENS), default=50,
                   help=tr("how many tokens to add, 0 to {limit} (default 50)",
                           limit=MAX_NEW_TOKENS))
    p.add_argument("--temperature", type=real_number(0, MAX_TEMPERATURE), default=1.0,
                   help=tr("below 1 sharper, above 1 flatter; 0 means greedy"))
    p.add_argument("--top-k", type=whole_number(1, GPT2_VOCAB_SIZE), default=None,
                   help=tr("sample among the k most likely tokens"))
    p.add_argument("--top-p", type=real_number(0, 1, low_open=True), default=None,
                   help=tr("sample among the fewest tokens whose probability adds up to p"))
    p.add_argument("--greedy", action="store_true",
                   help=tr("always take the most likely token"))
    p.add_argument("--seed", type=whole_number(0, 2**64 - 1), default=None,
                   help=tr("seed for reproducible sampling"))
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
    p = sub.add_parser("doctor", help=tr("check that this machine is ready for the course"))
    p.set_defaults(run=_run_doctor)


def _run_doctor(args: argparse.Namespace) -> int:
    from .doctor import run_doctor

    return run_doctor()


def _subcommands() -> list:
    """Each entry adds one subcommand, in the order --help shows."""
    from .downloads.command import add_download
    from .grading.commands import add_assign, add_bundle, add_check, add_grade

    return [_add_generate, _add_doctor, add_download, add_assign, add_check, add_grade,
            add_bundle]


def _add_language_option(parser: argparse.ArgumentParser, default: object) -> None:
    """The ``--lang`` option every command shares."""
    parser.add_argument("--lang", choices=LANGUAGES, default=default, type=_language,
                        help=tr("language of messages, feedback and errors: en or zh "
                                "(default: ${variable}, else en)", variable=LANG_VARIABLE))


def _language(text: str) -> str:
    code = text.strip().lower().replace("-", "_").split("_")[0]
    return code if code in LANGUAGES else text  # choices= rejects the rest with a clear line


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, its help in the current language. ``--lang`` is accepted
    before or after the command; the subcommands' copy defaults to "not given" so it
    never hides one given before."""
    parser = OneLineParser(prog="gpt2course", description=tr(
        "Build GPT-2 from scratch: course tools (generate text, check and grade work)."))
    _add_language_option(parser, None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in _subcommands():
        add(sub)
    for command in sub.choices.values():
        _add_language_option(command, argparse.SUPPRESS)
    return parser


class _QuietParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ValueError(message)


def _language_given(argv: Sequence[str] | None) -> str | None:
    """``--lang``'s value, read before the full parse so that the help and argparse's own
    error lines come in that language too; None if absent or not a language."""
    pre = _QuietParser(add_help=False)
    pre.add_argument("--lang", type=_language)
    try:
        lang = pre.parse_known_args(argv)[0].lang
    except ValueError:  # e.g. no value after --lang: the full parse says so, once
        return None
    return lang if lang in LANGUAGES else None


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``gpt2course`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit code.

    argparse's own exits (``--help``, a bad option: code 2) raise ``SystemExit`` as usual.
    """
    lang = None
    before = _count_interrupts()
    try:
        _never_fail_on_encoding()
        _without_unused_slow_imports()
        lang = _language_given(argv)
        return _main(argv, lang)
    except KeyboardInterrupt:
        return _in_language(lang, _interrupted)
    except CourseError as err:
        return _in_language(lang, partial(_say_course_error, err))
    except BrokenPipeError:
        return _pipe_closed()
    except Exception as err:  # noqa: BLE001 - the safety net: one line, never a traceback
        if _INTERRUPTS[0]:  # a library turned the Ctrl-C into another error (an ImportError)
            return _in_language(lang, _interrupted)
        return _in_language(lang, partial(report_bug, "gpt2course", err))
    finally:
        if before is not None:
            signal.signal(signal.SIGINT, before)


def _without_unused_slow_imports() -> None:
    """Keep ``rfc3987_syntax`` out of this process, when nothing has loaded jsonschema yet.

    nbformat validates with jsonschema, which imports rfc3987_syntax when it is installed
    (Jupyter's packages install it) to check the "iri" string format; that module builds
    its Lark parsers at import, 1 to 2 s of every grade or assign (jsonschema issue 1428).
    No notebook schema uses that format, and without the module jsonschema simply has no
    "iri" checker.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # None: importing it fails at once


_INTERRUPTS = [0]  # Ctrl-Cs seen during this main()


def _count_interrupts():
    """Install a Ctrl-C handler for this run; returns the one it replaces (None: none was
    installed, e.g. outside the main thread or under a host that set its own).

    The first Ctrl-C raises ``KeyboardInterrupt`` as usual. Some libraries swallow it
    while they are imported (a bare ``except``) or turn it into an ``ImportError``; so a
    second Ctrl-C ends the command at once, and an error after a Ctrl-C is reported as
    the interruption it is, not as a bug."""
    _INTERRUPTS[0] = 0
    try:
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return None
        return signal.signal(signal.SIGINT, _on_interrupt)
    except ValueError:  # not the main thread
        return None


def _on_interrupt(signum: int, frame: object) -> None:
    _INTERRUPTS[0] += 1
    if _INTERRUPTS[0] > 1:
        _interrupted()
        sys.stderr.flush()
        os._exit(130)  # the first one was swallowed: leave without waiting for anyone
    raise KeyboardInterrupt


def _in_language(lang: str | None, say: Callable[[], int]) -> int:
    """``say()`` in ``lang``; in English when setting the language is what fails."""
    try:
        with speaking(lang):
            return say()
    except (Exception, KeyboardInterrupt):  # noqa: BLE001 - the language fails: in English
        return say()


def _say_course_error(err: CourseError) -> int:
    print(tr("gpt2course: {error}", error=err), file=sys.stderr)
    return 2


def _never_fail_on_encoding() -> None:
    """A terminal that cannot show a character (``PYTHONIOENCODING=ascii``, a C locale)
    gets an escape such as ``\\u4f60`` instead of an error, on stdout as on stderr."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):  # not a text file of ours: leave it
            pass


def _main(argv: Sequence[str] | None, lang: str | None) -> int:
    with speaking(lang):
        _warn_unknown_language()
        with argparse_speaking():
            parser = build_parser()
            args = parser.parse_args(argv)
            if not hasattr(args, "run"):
                parser.print_help()
                return 0
    with speaking(args.lang):
        return _run(args)


def _warn_unknown_language() -> None:
    value = os.environ.get(LANG_VARIABLE, "").strip()
    if value and value.lower().replace("-", "_").split("_")[0].split(".")[0] not in LANGUAGES:
        print(tr("gpt2course: {variable}={value!r} is not a language of the course; using "
                 "English (the languages: {languages}).", variable=LANG_VARIABLE, value=value,
                 languages=", ".join(LANGUAGES)), file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.run(args) or 0)
    except CourseError as err:
        print(tr("gpt2course {command}: {error}", command=args.command, error=err),
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return _interrupted()
    except BrokenPipeError:
        return _pipe_closed()
    except OSError as err:
        if err.filename is not None:
            print(tr("gpt2course {command}: cannot use {path}: {reason}.", command=args.command,
                     path=err.filename, reason=err.strerror or err), file=sys.stderr)
        elif err.errno in REFUSALS:
            print(tr("gpt2course {command}: the system refused: {reason}.",
                     command=args.command, reason=err.strerror or err), file=sys.stderr)
        else:
            return report_bug(f"gpt2course {args.command}", err)
        return 2
    except Exception as err:  # noqa: BLE001 - the safety net
        if _INTERRUPTS[0]:  # a library turned the Ctrl-C into another error
            return _interrupted()
        return report_bug(f"gpt2course {args.command}", err)


def _interrupted() -> int:
    print("\n" + _safe_tr(N_("interrupted")), file=sys.stderr)
    return 130


def _pipe_closed() -> int:
    """The reader of our output went away (``gpt2course generate | head``): stop quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes at exit
    except (OSError, ValueError):
        pass
    return 141  # 128 + SIGPIPE, as a shell reports it


def report_bug(name: str, err: BaseException) -> int:
    """An exception that is not a ``CourseError`` is a bug: say so in one line, save the
    traceback to a file, return exit code 1. With ``GPT2COURSE_DEBUG=1``, re-raise it
    instead (the full traceback). Call it inside the ``except`` block. Works even when
    the message catalog itself is what fails (then in English)."""
    if os.environ.get(DEBUG_VARIABLE, "") not in ("", "0"):
        raise err
    message = N_("{name}: unexpected error {kind}: {error}. This is a bug in gpt2course; please "
               "report it with the traceback saved in {path} (or run again with {variable}=1 "
               "to see it).")
    fields = {"name": name, "kind": type(err).__name__, "path": _save_traceback(),
              "error": " ".join(str(err).split())[:300], "variable": DEBUG_VARIABLE}
    print(_safe_tr(message, **fields), file=sys.stderr)
    return 1


def _safe_tr(message: str, **fields: object) -> str:
    """``tr``, or the English text when translating fails (a broken catalog, no Babel)."""
    try:
        return tr(message, **fields)
    except Exception:  # noqa: BLE001 - the report of a bug must not become a second bug
        return message.format(**fields)


def _save_traceback() -> str:
    try:
        fd, path = tempfile.mkstemp(prefix="gpt2course-error-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(traceback.format_exc())
        return path
    except OSError:
        return _safe_tr(N_("(nowhere: the temporary folder is not writable)"))


if __name__ == "__main__":
    sys.exit(main())
