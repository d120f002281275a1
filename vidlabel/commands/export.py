"""`vidlabel export PROJECT... --format coco|mot|yolo -o OUT`: write a project as a dataset."""

from __future__ import annotations

import argparse
from contextlib import ExitStack
from pathlib import Path

from ..formats import export_projects
from ..formats.common import FRAME_SELECTIONS, ExportOptions
from ..formats.registry import EXPORTERS
from ..store.project import Project


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export projects as COCO (with tracks), MOTChallenge or YOLO",
                       description="Export one or more projects (one video each) as one dataset. "
                                   "Outside boxes are never written; interpolated and propagated "
                                   "boxes are, flagged by their source. Files and folders are "
                                   "written under a temporary name and renamed when complete.")
    p.add_argument("projects", nargs="+", metavar="PROJECT", help=".vlp project file(s)")
    p.add_argument("--format", required=True, choices=sorted(EXPORTERS))
    p.add_argument("-o", "--output", required=True, type=Path,
                   help="COCO: a .json file; MOT: a sequence folder, or a bare gt file if it ends "
                        "in .txt; YOLO: a dataset folder (refused if it exists, unless --overwrite)")
    p.add_argument("--verified-only", action="store_true", help="only boxes a person verified")
    p.add_argument("--include-candidates", action="store_true",
                   help="also write candidate tracks, which nobody confirmed (left out by default)")
    p.add_argument("--min-score", type=float, help="only boxes with at least this confidence")
    p.add_argument("--frames", choices=FRAME_SELECTIONS, default="all",
                   help="which frames: all (empty ones too), annotated, or verified (default: all)")
    p.add_argument("--every", type=int, default=1, metavar="N",
                   help="only frames whose index is a multiple of N")
    p.add_argument("--write-frames", type=Path, metavar="DIR",
                   help="COCO/MOT: also save the frame images the export names, into DIR")
    p.add_argument("--clip", action="store_true",
                   help="clip boxes to the image (YOLO always clips; COCO/MOT keep exact boxes otherwise)")
    p.add_argument("--val-fraction", type=float, default=0.2,
                   help="YOLO: share of each video's frames for validation (default 0.2)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing output (by default any format refuses to)")
    p.add_argument("--chunks", type=int, default=10,
                   help="YOLO: contiguous chunks per video for the train/val split (default 10)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    options = ExportOptions(verified_only=args.verified_only, include_candidates=args.include_candidates,
                            min_score=args.min_score,
                            frames=args.frames, every=args.every, write_frames=args.write_frames,
                            clip=args.clip, val_fraction=args.val_fraction, chunks=args.chunks,
                            overwrite=args.overwrite)
    with ExitStack() as stack:
        projects = [stack.enter_context(Project.open(p, readonly=True)) for p in args.projects]
        s = export_projects(projects, args.format, args.output, options)
    classes = ", ".join(f"{k} {v}" for k, v in sorted(s.by_class.items())) or "none"
    print(f"exported {len(args.projects)} project(s) as {args.format} -> {args.output}: "
          f"{s.boxes} boxes on {s.frames} frames ({classes}); {s.verified} verified by a person, "
          f"{s.unverified} machine-made and unreviewed"
          + (" (--verified-only leaves them out)" if s.unverified else "")
          + (f"; {s.candidates_left_out} unconfirmed candidate tracks left out (--include-candidates "
             "writes them)" if s.candidates_left_out else ""))
    return 0
