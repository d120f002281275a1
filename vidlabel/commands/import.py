"""`vidlabel import VIDEO --format coco|mot --gt FILE -o PROJECT`: a project from annotations."""

from __future__ import annotations

import argparse

from ..formats import import_annotations
from ..formats.common import ImportOptions
from ..formats.registry import IMPORTERS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="create a project for a video from COCO or MOT annotations",
                       description="Create a new project for VIDEO holding the annotations of "
                                   "FILE. The whole file is checked first; on any error nothing "
                                   "is created. Classes map by name (COCO) or number (MOT), see "
                                   "docs/adr/0003.")
    p.add_argument("video", help="the video (or image folder) the annotations belong to")
    p.add_argument("--format", required=True, choices=sorted(IMPORTERS))
    p.add_argument("--gt", required=True, metavar="FILE",
                   help="COCO .json, or MOT gt.txt / sequence folder")
    p.add_argument("-o", "--output", required=True, metavar="PROJECT", help="new .vlp project file")
    p.add_argument("--as-prelabels", action="store_true",
                   help="import as unverified machine pre-labels to review, not as verified ground truth")
    p.add_argument("--classes", help="comma-separated class list of the new project; classes "
                                     "outside it are errors (default: take them from the file)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    classes = [c.strip() for c in args.classes.split(",") if c.strip()] if args.classes else None
    options = ImportOptions(as_prelabels=args.as_prelabels, classes=classes)
    with import_annotations(args.video, args.gt, args.output, args.format, options) as project:
        boxes = project.boxes(include_outside=False)
        print(f"imported {len(boxes)} boxes in {len(project.tracks())} tracks, "
              f"{len(project.ignore_regions())} ignore regions, classes "
              f"{', '.join(project.class_names())} -> {args.output}")
    return 0
