"""`vidlabel queue PROJECT`: the next frames to review, why, and how far the review has come."""

from __future__ import annotations

import argparse
import json

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
                                    "and the answer are stored in it, and asking again with "
                                    "nothing changed reads the answer back."))
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
    """The answer stored in the project when nothing it depends on changed since (a lookup),
    else the session's, stored for next time. The project is opened (and checked) once."""
    from ..store.files import open_project_video
    from ..store.project import Project

    with Project.open(args.project) as project:
        stored = project.answer(_key(args), project.revision())
        if stored is None:
            with open_project_video(project, args.video) as video:
                stored = _answer(args, project, video)
    print(stored)
    return 0


def _key(args: argparse.Namespace) -> str:
    from .. import __version__

    return json.dumps({"command": "queue", "version": __version__, "k": args.k, "strategy": args.strategy,
                       "threshold": args.threshold, "unit": args.unit, "aggregate": args.aggregate})


def _answer(args: argparse.Namespace, project, video) -> str:
    from ..review.session import ReviewSession  # scoring libraries load only when it runs

    params = {"unit": args.unit} if args.unit != "frame" else {}
    if args.threshold is not None:
        params["threshold"] = args.threshold
    with ReviewSession(project, video, background=False, aggregate=args.aggregate) as session:
        picks = session.next_batch(None if args.threshold is not None else args.k, args.strategy, **params)
        lines = []
        for p in picks:
            where = (f"tracks {','.join(str(t) for t, _ in p.group)}" if p.group else
                     f"frame {p.frame}" + (f" track {p.track_id}" if p.track_id is not None else ""))
            lines.append(f"{where:<22} {p.score:6.3f}  {'; '.join(p.reasons)}")
        s = session.stopping()
        lines.append(f"\nverified frames {s['verified_frames']}/{s['frames']}, human time so far "
                     f"{s['human_seconds'] / 60:.1f} min, estimated errors left "
                     f"{s['estimated_remaining_errors']:.0f} ({s['estimated_wrong_boxes']:.0f} wrong boxes, "
                     f"{s['estimated_missed_objects']:.0f} missed objects)")
        lines.append(stopping_line(s))
        answer = "\n".join(lines)
        session.wait_idle()
        project.store_answer(_key(args), project.revision(), answer)
    return answer
