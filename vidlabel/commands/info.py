"""`vidlabel info VIDEO|PROJECT`: a short summary of a video or a project."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import VidlabelError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="summarise a video (frame count, fps, size) or a project",
                       description=("Print a video's frame count, frame rate, size and duration, "
                                    "or a project's video, classes, tracks, boxes by source, "
                                    "verified work and human time. Reads only."))
    p.add_argument("path", help="a video file, an image folder, or a .vlp project")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..store.schema import is_project_file   # not store.files: a project needs no video reader

    path = Path(args.path)
    if not path.exists():
        raise VidlabelError("no such file or folder", str(path))
    lines = project_summary(path) if is_project_file(path) else video_summary(path)
    for key, value in lines:
        print(f"{key:<16} {value}")
    return 0


def video_summary(path: Path) -> list[tuple[str, object]]:
    from ..video import open_video

    with open_video(path) as v:
        return [("video", v.path), ("frames", v.frame_count), ("fps", round(v.fps, 3)),
                ("size", f"{v.width}x{v.height}"), ("duration", f"{v.frame_count / v.fps:.2f} s"),
                ("rotation", v.rotation)]


def project_summary(path: Path) -> list[tuple[str, object]]:
    """The counts the app's statistics panel shows, from the store's aggregate queries."""
    from ..review.stats import project_stats
    from ..store.project import Project

    with Project.open(path, readonly=True) as p:
        ref = p.video
        stats = project_stats(p)
        return [
            ("project", path),
            ("video", ref.path if ref else "(none)"),
            ("frames", stats.frames),
            ("fps", round(ref.fps, 3) if ref else "-"),
            ("size", f"{ref.width}x{ref.height}" if ref else "-"),
            ("classes", ", ".join(p.class_names()) or "(none)"),
            ("tracks", f"{stats.tracks}" + (f" ({stats.candidate_tracks} of them candidates, not yet "
                                             "annotation)" if stats.candidate_tracks else "")),
            ("boxes", f"{stats.boxes} ("
             + ", ".join(f"{k} {v}" for k, v in sorted(stats.boxes_by_source.items())) + ")"),
            ("verified boxes", stats.verified_boxes),
            ("verified frames", stats.verified_frames),
            ("ignore regions", len(p.ignore_regions())),
            ("human actions", stats.human_actions),
            ("human time", f"{stats.human_seconds:.0f} s"),
        ]
