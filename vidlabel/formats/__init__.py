"""Annotation formats: a registry of small per-format modules over one model, the project store.

Each format module registers an exporter (`videos, out, options -> None`) and, where the format
can be read back, an importer (`file, target video, class map, options -> ParsedAnnotations`).
The two entry points here do the work every format shares: `export_projects` selects frames and
boxes once (`common.select`), `import_annotations` validates the whole file before it creates
anything and writes every box in one action, so a bad file changes nothing and a good one is one
undoable step.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from ..errors import VidlabelError
from ..store.project import HUMAN, MACHINE, Project
from ..store.temps import place_new_file, remove_project_files, remove_stale_temps, unique_temp_name
from . import coco, mot, yolo  # noqa: F401  (each module registers its format)
from .common import ClassMap, ExportOptions, ImportOptions, ImportTarget
from .registry import EXPORTERS, IMPORTERS


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote, for the command's closing line: a MOT `gt.txt` of machine guesses
    should never pass unnoticed."""

    frames: int
    boxes: int
    verified: int
    by_class: dict[str, int]
    candidates_left_out: int = 0   # candidate tracks not written (`ExportOptions.include_candidates`)

    @property
    def unverified(self) -> int:
        return self.boxes - self.verified


def export_projects(projects: Sequence[Project], fmt: str, out: str | Path,
                    options: ExportOptions = ExportOptions()) -> ExportSummary:
    """Write `projects` (one video each) as one dataset in format `fmt`. An output already there
    is refused unless `options.overwrite`, before anything is read or decoded."""
    from .common import check_output, export_videos

    if fmt not in EXPORTERS:
        raise VidlabelError(f"unknown export format {fmt!r}; choose one of {', '.join(sorted(EXPORTERS))}")
    if not projects:
        raise VidlabelError("nothing to export: no project given")
    for path in (Path(out), options.write_frames):
        if path is not None:
            check_output(path, options.overwrite)
    videos = export_videos(projects, options)
    try:
        EXPORTERS[fmt](videos, Path(out), options)
    except OSError as exc:   # a full disk, a read-only folder: said of the output, not of a temporary
        raise VidlabelError(f"cannot write the export: {exc.strerror or exc}; nothing was written",
                            str(out)) from None
    boxes = [b for v in videos for f in v.frames for b in f.boxes]
    names = projects[0].class_names()
    return ExportSummary(sum(len(v.frames) for v in videos), len(boxes), sum(b.verified for b in boxes),
                         dict(Counter(names[b.class_id] if 0 <= b.class_id < len(names) else str(b.class_id)
                                      for b in boxes)),
                         0 if options.include_candidates
                         else sum(len(p.candidate_tracks()) for p in projects))


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

    remove_stale_temps(project_path)
    tmp = unique_temp_name(project_path, ".importing")
    project = None
    try:
        project, video = create_project(video_path, tmp, parsed.classes)
        video.close()
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
        project.close(whole=True)
        place_new_file(tmp, project_path)
    except BaseException:
        if project is not None:
            with suppress(Exception):   # the first failure is the one to report
                project.close()
        remove_project_files(tmp)
        raise
    return Project.open(project_path)
