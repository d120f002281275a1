"""`vidlabel queue PROJECT`: the next frames to review, why, and how far the review has come."""

from __future__ import annotations

import argparse

from ..review.signals import AGGREGATES
from ..review.stopping import stopping_line
from ..review.strategies import STRATEGIES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("queue", help="rank the frames a person should review next, with reasons, "
                                     "and estimate the errors left",
                       description=("Score the project's boxes and frames (the review session's "
                                    "scorer) and print the frames or boxes to review next with "
                                    "the reasons, then the stopping guidance: human seconds spent, "
                                    "estimated errors left. Opens the project for writing: scores "
                                    "are stored in it."))
    p.add_argument("project", help="a .vlp project")
    p.add_argument("--video", help="the project's video, if it has moved (else the stored path)")
    p.add_argument("-k", type=int, default=10, help="how many picks (default 10)")
    p.add_argument("--strategy", default="hybrid", choices=list(STRATEGIES),
                   help="how to rank (default hybrid; see docs/review.md)")
    p.add_argument("--threshold", type=float,
                   help="streaming mode: every frame scoring at least this, in frame order")
    p.add_argument("--unit", choices=("frame", "box"), default="frame", help="rank frames or single boxes")
    p.add_argument("--aggregate", choices=AGGREGATES, default="max",
                   help="how box scores make a frame score (default max)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..review.session import (
        ReviewSession,  # scoring libraries load only when it runs
    )

    params = {"unit": args.unit} if args.unit != "frame" else {}
    if args.threshold is not None:
        params["threshold"] = args.threshold
    with ReviewSession.open(args.project, args.video, background=False, aggregate=args.aggregate) as session:
        picks = session.next_batch(None if args.threshold is not None else args.k, args.strategy, **params)
        for p in picks:
            where = f"frame {p.frame}" + (f" track {p.track_id}" if p.track_id is not None else "")
            print(f"{where:<22} {p.score:6.3f}  {'; '.join(p.reasons)}")
        s = session.stopping()
        print(f"\nverified frames {s['verified_frames']}/{s['frames']}, human time so far "
              f"{s['human_seconds'] / 60:.1f} min, estimated errors left "
              f"{s['estimated_remaining_errors']:.0f} ({s['estimated_wrong_boxes']:.0f} wrong boxes, "
              f"{s['estimated_missed_objects']:.0f} missed objects)")
        print(stopping_line(s))
    return 0
