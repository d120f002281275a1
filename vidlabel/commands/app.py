"""`vidlabel app [VIDEO|PROJECT]`: the desktop annotator (PyQt6, imported only when run)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("app", help="open the desktop annotator on a video or a project")
    p.add_argument("path", nargs="?", help="a .vlp project, or a video (its project is "
                   "<video>.vlp beside it, created on first open); omit to choose in a dialog")
    p.add_argument("--project", help="where a video's project lives (default: <video>.vlp beside it)")
    p.add_argument("--classes", default="person",
                   help="comma-separated classes of a new project (default: person)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..gui.launch import (
        run_app,  # Qt loads only for the app, never for other commands
    )

    classes = tuple(c.strip() for c in args.classes.split(",") if c.strip())
    return run_app(args.path, args.project, classes)
