"""``cptlaw``: parse, dispatch to the command's handler, and turn bad input into exit status 2.

Exit status: 0 on success, 2 on bad input (a short message on stderr, no traceback), 130 when interrupted.
"""

from __future__ import annotations

import importlib
import sys

from .. import progress
from ..errors import CptlawError
from .args import build_parser


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # e.g. during start-up, before a command runs
        print("cptlaw: interrupted", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    progress.QUIET = bool(getattr(args, "quiet", False))
    try:
        module, function = args.handler.split(":")
        # per-command dispatch: a command imports the library only when it runs
        handler = getattr(importlib.import_module(f".{module}", __package__), function)
        return handler(args)
    except (CptlawError, FileExistsError) as exc:
        print(f"cptlaw {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"cptlaw {args.command}: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except MemoryError:  # a size inside the limits that this machine still cannot hold: nothing was written
        print(f"cptlaw {args.command}: error: out of memory; ask for fewer steps, points or candidates (or lower "
              "the CPTLAW_MAX_* limits to what this machine holds)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # files are written atomically: nothing partial is left behind
        print(f"cptlaw {args.command}: interrupted", file=sys.stderr)
        return 130
