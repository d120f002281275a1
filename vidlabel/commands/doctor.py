"""`vidlabel doctor`: print what this machine offers vidlabel."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="report Python, torch, OpenCV build, trackers, weights, GPU")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..doctor import report

    rows = report()
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0
