"""`vidlabel info VIDEO|PROJECT`: a short summary of a video or a project."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from ..errors import VidlabelError
from ..store.project import Project
from ..store.schema import SQLITE_MAGIC
from ..video import open_video


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="summarise a video (frame count, fps, size) or a project")
    p.add_argument("path", help="a video file, an image folder, or a .vlp project")
    p.set_defaults(func=run)


def _is_project(path: Path) -> bool:
    if not path.is_file():
        return False
    with path.open("rb") as f:
        return f.read(16) == SQLITE_MAGIC or path.suffix == ".vlp"


def run(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if not path.exists():
        raise VidlabelError("no such file or folder", str(path))
    lines = project_summary(path) if _is_project(path) else video_summary(path)
    for key, value in lines:
        print(f"{key:<16} {value}")
    return 0


def video_summary(path: Path) -> list[tuple[str, object]]:
    with open_video(path) as v:
        return [("video", v.path), ("frames", v.frame_count), ("fps", round(v.fps, 3)),
                ("size", f"{v.width}x{v.height}"), ("duration", f"{v.frame_count / v.fps:.2f} s"),
                ("rotation", v.rotation)]


def project_summary(path: Path) -> list[tuple[str, object]]:
    with Project.open(path, readonly=True) as p:
        ref = p.video
        boxes = p.boxes()
        by_source = Counter(b.source.value for b in boxes if not b.outside)
        human = p.actions(actor="human")
        return [
            ("project", path),
            ("video", ref.path if ref else "(none)"),
            ("frames", ref.frame_count if ref else 0),
            ("fps", round(ref.fps, 3) if ref else "-"),
            ("size", f"{ref.width}x{ref.height}" if ref else "-"),
            ("classes", ", ".join(p.class_names()) or "(none)"),
            ("tracks", len(p.tracks())),
            ("boxes", f"{sum(by_source.values())} ("
             + ", ".join(f"{k} {v}" for k, v in sorted(by_source.items())) + ")"),
            ("verified boxes", sum(b.verified for b in boxes)),
            ("verified frames", len(p.verified_frames())),
            ("ignore regions", len(p.ignore_regions())),
            ("human actions", len(human)),
        ]
