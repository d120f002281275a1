"""`vidlabel relink PROJECT VIDEO`: point a project at its moved video."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("relink", help="point a project at its video after the file moved",
                       description=("Point PROJECT at VIDEO after the video file moved or was renamed. "
                                    "The video is checked against what the project remembers of it "
                                    "(frame count, size, content fingerprint) and refused when it is "
                                    "another video, unless --force."))
    p.add_argument("project")
    p.add_argument("video")
    p.add_argument("--force", action="store_true", help="accept a video whose fingerprint differs")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..store.files import relink_video
    from ..store.project import Project

    with Project.open(args.project) as project:
        relink_video(project, args.video, force=args.force).close()
    print(f"relinked {args.project} -> {args.video}")
    return 0
