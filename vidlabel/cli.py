"""The `vidlabel` command line: one subcommand per module in `vidlabel/commands/`.

Errors a user can cause (`VidlabelError`) print as one line naming what and where, and exit 2;
`--verbose` shows the traceback too.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sqlite3
import sys
import traceback

from . import __version__
from .errors import VidlabelError
from .weights import quiet_ultralytics

# Each module defines `register(subparsers)`; the parser it adds sets `func(args) -> int`.
COMMANDS = ("info", "doctor", "relink", "app", "import", "export", "prelabel", "queue", "simulate")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vidlabel",
        description="Video annotation assistant: pre-label with YOLO, link into tracks, "
                    "review the most uncertain frames first, export COCO/MOT/YOLO.")
    parser.add_argument("--version", action="version", version=f"vidlabel {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f".commands.{name}", __package__).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    quiet_ultralytics()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except VidlabelError as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"vidlabel: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        # The machine refused (a full disk, a read-only folder, a directory where a file should
        # be): the person's to fix, so one line saying what and where, not a traceback.
        if args.verbose:
            traceback.print_exc()
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"vidlabel: error: {exc.strerror or type(exc).__name__}{where}", file=sys.stderr)
        return 2
    except sqlite3.OperationalError as exc:
        # SQLite's word for the same refusals (EFBIG, ENOSPC, EIO) while writing a project. The
        # step that failed was one transaction, rolled back: the project holds every earlier step.
        if args.verbose:
            traceback.print_exc()
        hint = " (is the disk full?)" if "I/O" in str(exc) else ""
        again = "; free space and run it again: it goes on where it stopped" if args.command == "prelabel" else ""
        print(f"vidlabel: error: the project could not be written: {exc}{hint}; the step that "
              f"failed was not kept{again}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vidlabel: interrupted", file=sys.stderr)
        return 130
