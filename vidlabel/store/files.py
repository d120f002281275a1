"""Glue between a project and its video: create a project for a video, reopen its video, relink it.

A project stores the video's path and fingerprint, not its frames. When the file has moved or
changed, reopening fails with an error that says so and how to relink, instead of silently
drawing old boxes over other pixels.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import ProjectError, VideoError
from ..video import FrameSource, VideoFile, open_video
from .project import MACHINE, Project
from .schema import is_project_file


def create_project(video_path: str | Path, project_path: str | Path,
                   classes: Iterable[str] = ()) -> tuple[Project, FrameSource]:
    """A new project for a video, with the video's frame index cached in it."""
    video = open_video(video_path)
    try:
        index = video.index_bytes if isinstance(video, VideoFile) else None
        return Project.create(project_path, video.ref(), classes, index), video
    except BaseException:
        video.close()
        raise


def open_project_video(project: Project, path: str | Path | None = None) -> FrameSource:
    """The project's video, checked against its fingerprint."""
    ref = project.video
    if ref is None:
        raise VideoError("project has no video", str(project.path))
    candidate = Path(path) if path else Path(ref.path)
    if not candidate.exists():
        raise VideoError(f"the project's video is missing; relink it with "
                         f"`vidlabel relink {project.path} NEW_VIDEO`", str(candidate))
    video = open_video(candidate, index=project.video_frame_index() if candidate.is_file() else None)
    if video.fingerprint() != ref.fingerprint:
        video.close()
        raise VideoError("the video file has changed since the project was made (fingerprint "
                         "differs); relink with --force if it is the same footage", str(candidate))
    if video.frame_count != ref.frame_count:   # an altered project: every frame-sized table would follow it
        video.close()
        raise VideoError(f"the project says its video has {ref.frame_count} frames, the video has "
                         f"{video.frame_count}; relink it with `vidlabel relink {project.path} VIDEO --force`",
                         str(candidate))
    return video


def relink_video(project: Project, new_path: str | Path, force: bool = False) -> FrameSource:
    """Point the project at a moved video; a different file is refused unless `force`."""
    video = open_video(new_path)
    ref = project.video
    if ref is not None and not force:
        if video.fingerprint() != ref.fingerprint and video.frame_count != ref.frame_count:
            video.close()
            raise VideoError(f"not the project's video: {video.frame_count} frames, the project "
                             f"has {ref.frame_count}", str(new_path))
        if video.fingerprint() != ref.fingerprint:
            video.close()
            raise VideoError("video differs from the project's (fingerprint); pass --force "
                             "to relink anyway", str(new_path))
    with project.action("relink video", MACHINE, {"path": str(Path(new_path).resolve())}):
        project.set_video(video.ref(), video.index_bytes if isinstance(video, VideoFile) else None)
    return video


def user_projects_dir() -> Path:
    """The per-user folder for projects of videos in read-only folders (a shared dataset):
    `$VIDLABEL_PROJECTS`, else `$XDG_DATA_HOME/vidlabel/projects` (~/.local/share by default)."""
    if os.environ.get("VIDLABEL_PROJECTS"):
        return Path(os.environ["VIDLABEL_PROJECTS"]).expanduser()
    data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data) / "vidlabel" / "projects"


def default_project_path(video_path: str | Path) -> Path:
    """Where a video's project lives unless the user says otherwise, the same for every command:
    `<video name>.vlp` beside the video; when that folder is not writable, the same name (plus a
    short hash of the video's full path, so two `clip.mp4`s stay apart) in `user_projects_dir()`.
    An existing project in either place is found again."""
    video_path = Path(video_path)
    beside = video_path.parent / (video_path.name + ".vlp")
    digest = hashlib.sha1(str(video_path.resolve()).encode()).hexdigest()[:8]
    per_user = user_projects_dir() / f"{video_path.name}-{digest}.vlp"
    if beside.exists() or (not per_user.exists() and os.access(video_path.parent, os.W_OK)):
        return beside
    return per_user


def open_or_create_project(path: str | Path, project_path: str | Path | None = None,
                           classes: Iterable[str] = ()) -> tuple[Project, FrameSource]:
    """Open `path` for annotation: a project as it is, a video through its project.

    A video's project is `project_path` or `<video>.vlp` beside it; it is reopened when it exists
    (checked against this video) and created, with `classes`, when it does not, so that opening
    the same video twice continues the same work.
    """
    path = Path(path)
    if is_project_file(path):
        project = Project.open(path)
        try:
            return project, open_project_video(project)
        except BaseException:
            project.close()
            raise
    target = Path(project_path) if project_path else default_project_path(path)
    if target.exists():
        project = Project.open(target)
        try:
            return project, open_project_video(project, path)
        except BaseException:
            project.close()
            raise
    folder = next(p for p in (target.parent, *target.parent.parents) if p.exists())
    if not os.access(folder, os.W_OK):
        raise ProjectError("cannot create the project there: the folder is not writable", str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    return create_project(path, target, classes)
