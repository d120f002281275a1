"""Annotation formats: a registry of small per-format modules over one model, the project store.

Each format module registers an exporter (`videos, out, options -> None`) and, where the format
can be read back, an importer (`file, target video, class map, options -> ParsedAnnotations`).
The two entry points here do the work every format shares: `export_projects` selects frames and
boxes once (`common.select`), `import_annotations` validates the whole file before it creates
anything and writes every box in one action, so a bad file changes nothing and a good one is one
undoable step.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import VidlabelError
from ..store.project import HUMAN, MACHINE, Project
from . import coco, mot, yolo  # noqa: F401  (each module registers its format)
from .common import ClassMap, ExportOptions, ImportOptions, ImportTarget
from .registry import EXPORTERS, IMPORTERS


def export_projects(projects: Sequence[Project], fmt: str, out: str | Path,
                    options: ExportOptions = ExportOptions()) -> None:
    """Write `projects` (one video each) as one dataset in format `fmt`."""
    from .common import export_videos

    if fmt not in EXPORTERS:
        raise VidlabelError(f"unknown export format {fmt!r}; choose one of {', '.join(sorted(EXPORTERS))}")
    if not projects:
        raise VidlabelError("nothing to export: no project given")
    EXPORTERS[fmt](export_videos(projects, options), Path(out), options)


def import_annotations(video_path: str | Path, gt_path: str | Path, project_path: str | Path,
                       fmt: str, options: ImportOptions = ImportOptions()) -> Project:
    """A new project for `video_path` holding the annotations of `gt_path`; returns it open.

    The whole file is parsed and checked against the video first. The project is built under a
    temporary name and renamed into place only when complete, so a failure leaves nothing.
    Ground truth enters as a human's verified work; `as_prelabels` enters it as a machine's
    unverified guesses, to be reviewed like a detector's.
    """
    from ..store.files import create_project
    from ..video import open_video

    if fmt not in IMPORTERS:
        raise VidlabelError(f"unknown import format {fmt!r}; choose one of {', '.join(sorted(IMPORTERS))}")
    project_path, gt_path = Path(project_path), Path(gt_path)
    if project_path.exists():
        raise VidlabelError("project file already exists; choose another name", str(project_path))
    if not gt_path.exists():
        raise VidlabelError("annotation file does not exist", str(gt_path))
    with open_video(video_path) as video:
        target = ImportTarget(Path(video_path).name, video.frame_count, video.width, video.height)
    classes = ClassMap(options.classes or (), fixed=options.classes is not None)
    parsed = IMPORTERS[fmt](gt_path, target, classes, options)

    tmp = project_path.with_name(f".{project_path.name}.importing")
    _remove_project_files(tmp)
    project, video = create_project(video_path, tmp, parsed.classes)
    video.close()
    try:
        actor = MACHINE if options.as_prelabels else HUMAN
        with project.action(f"import {fmt}", actor, {"file": str(gt_path.resolve()), "format": fmt,
                                                     "boxes": len(parsed.boxes)}):
            for track_id in sorted({b.track_id for b in parsed.boxes}):
                project.new_track(track_id=track_id)
            project.put_boxes(parsed.boxes)
            for region in parsed.regions:
                project.add_ignore_region(region)
            for frame in sorted(set(parsed.verified_frames)):
                project.set_frame_verified(frame)
    except BaseException:
        project.close()
        _remove_project_files(tmp)
        raise
    project.close()
    os.replace(tmp, project_path)
    return Project.open(project_path)


def _remove_project_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal", ".creating"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
