"""MOTChallenge: `frame,id,x,y,w,h,conf,class,visibility` rows, 1-based frames, and seqinfo.ini.

In a ground-truth file `conf` is a flag, not a score: 1 = count this box, 0 = ignore this area.
Rows with conf 0 are therefore read as ignore regions (docs/adr/0004) and written back as such;
boxes are written with conf 1 (their detector scores are not part of MOT ground truth). Visibility
is reduced to vidlabel's `occluded` flag: below 0.5 is occluded, and an occluded box is written
with visibility 0 (Datumaro's convention), so the flag survives a round trip. Frame numbers are
checked against the video's real frame count (TrackEval rejects frames outside 1..seqLength).
"""

from __future__ import annotations

import configparser
from collections.abc import Sequence
from pathlib import Path

from ..datamodel import Box, IgnoreRegion, Source
from ..errors import FormatError, VidlabelError, one_line
from .common import (ClassMap, ExportOptions, ExportVideo, ImportOptions, ImportTarget,
                     ParsedAnnotations, atomic_folder, atomic_write_text, box_geometry,
                     check_unique_boxes, finite_number, integer, write_frame_images)
from .registry import exporter, importer

OCCLUDED_BELOW = 0.5


def _num(value: float) -> str:
    """The shortest text that reads back as exactly this float (`380` rather than `380.0`)."""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def mot_frame_name(index: int) -> str:
    """MOTChallenge's `img1/000001.jpg`: the 1-based frame number."""
    return f"{index + 1:06d}.jpg"


def gt_rows(video: ExportVideo) -> list[str]:
    """Boxes (conf 1) and ignore regions (conf 0), ordered by frame then id."""
    rows: list[tuple[int, int, str]] = []
    for frame in video.frames:
        for b in frame.boxes:
            rows.append((frame.index, b.track_id, ",".join(
                [str(frame.index + 1), str(b.track_id), *map(_num, b.xywh), "1",
                 str(b.class_id + 1), "0" if b.occluded else "1"])))
        for r in frame.regions:
            track = -1 if r.track_id is None else r.track_id
            rows.append((frame.index, track, ",".join(
                [str(frame.index + 1), str(track), *map(_num, r.xywh), "0",
                 str(r.class_id + 1), "0" if r.occluded else "1"])))
    rows.sort(key=lambda row: (row[0], row[1]))
    return [row[2] for row in rows]


def seqinfo(video: ExportVideo, image_dir: str | None = None) -> str:
    """The sequence's `seqinfo.ini`; `imDir`/`imExt` only when the images are in the sequence
    (`image_dir`, relative to it), since a reader would otherwise look for images that are not there."""
    config = configparser.ConfigParser()
    config.optionxform = str  # MOTChallenge keys are camelCase
    images = {"imDir": image_dir, "imExt": ".jpg"} if image_dir else {}
    config["Sequence"] = {"name": video.stem, **images, "frameRate": _num(video.fps),
                          "seqLength": str(video.frame_count), "imWidth": str(video.width),
                          "imHeight": str(video.height)}
    lines: list[str] = []
    for section in config.sections():
        lines.append(f"[{section}]")
        lines.extend(f"{k}={v}" for k, v in config[section].items())
    return "\n".join(lines) + "\n"


@exporter("mot")
def export_mot(videos: Sequence[ExportVideo], out: Path, options: ExportOptions) -> None:
    """A bare `gt.txt` when `out` ends in .txt, else a sequence folder (gt/gt.txt, seqinfo.ini)."""
    if len(videos) != 1:
        raise VidlabelError("a MOTChallenge export holds one sequence; export each project on its own")
    video = videos[0]
    text = "".join(row + "\n" for row in gt_rows(video))
    frames_dir = options.write_frames
    if out.suffix.lower() == ".txt":
        if frames_dir is not None:
            with atomic_folder(frames_dir, options.overwrite) as folder:
                write_frame_images(video, lambda i, d=folder: d / mot_frame_name(i))
        atomic_write_text(out, text)
        return
    inside = frames_dir is not None and frames_dir.resolve().is_relative_to(out.resolve())
    if frames_dir is not None and not inside:
        with atomic_folder(frames_dir, options.overwrite) as folder:
            write_frame_images(video, lambda i, d=folder: d / mot_frame_name(i))
    with atomic_folder(out, options.overwrite) as folder:
        (folder / "gt").mkdir()
        (folder / "gt" / "gt.txt").write_text(text, encoding="utf-8")
        relative = frames_dir.resolve().relative_to(out.resolve()) if inside else None
        (folder / "seqinfo.ini").write_text(seqinfo(video, relative and relative.as_posix()),
                                            encoding="utf-8")
        if inside:  # e.g. --write-frames OUT/img1: a complete MOTChallenge sequence
            images = folder / relative
            images.mkdir(parents=True)
            write_frame_images(video, lambda i: images / mot_frame_name(i))


# ---------------------------------------------------------------------- import
def _locate(path: Path) -> tuple[Path, Path | None]:
    """The gt file and the sequence's seqinfo.ini (if any) for a file or a sequence folder."""
    gt = path / "gt" / "gt.txt" if path.is_dir() else path
    if not gt.is_file():
        raise FormatError("no MOTChallenge gt file (expected FOLDER/gt/gt.txt or a .txt file)", str(path))
    for candidate in (gt.parent / "seqinfo.ini", gt.parent.parent / "seqinfo.ini"):
        if candidate.is_file():
            return gt, candidate
    return gt, None


def _check_seqinfo(path: Path, target: ImportTarget) -> None:
    """A seqinfo.ini that disagrees with the video means the boxes belong to other frames."""
    config = configparser.ConfigParser()
    config.optionxform = str
    try:
        config.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise FormatError(f"seqinfo.ini is not a valid INI file: {one_line(exc)}", str(path)) from None
    seq = config["Sequence"] if config.has_section("Sequence") else {}
    for key, actual in (("seqLength", target.frame_count), ("imWidth", target.width),
                        ("imHeight", target.height)):
        if key in seq and integer(seq[key], key, str(path)) != actual:
            raise FormatError(f"seqinfo.ini says {key}={seq[key]} but the video {target.name} has "
                              f"{actual}; this ground truth is for another video", str(path))


@importer("mot")
def import_mot(path: Path, target: ImportTarget, classes: ClassMap,
               options: ImportOptions) -> ParsedAnnotations:
    """Rows with 7 (no class), 9 (MOT16+) or 10 columns (MOT15: 3-D world point, no class)."""
    gt, info = _locate(path)
    if info is not None:
        _check_seqinfo(info, target)
    try:
        lines = gt.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot read MOT file: {exc}", str(gt)) from None
    parsed = ParsedAnnotations(classes.names)
    wheres: list[str] = []
    anonymous: list[int] = []  # rows with id -1 (detections): one track each
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{gt}:{lineno}"
        cols = [c.strip() for c in line.split(",")]
        if len(cols) < 7:
            raise FormatError(f"row has {len(cols)} columns; MOTChallenge needs at least 7 "
                              "(frame,id,x,y,w,h,conf[,class,visibility])", where)
        frame = integer(cols[0], "frame", where) - 1
        if not 0 <= frame < target.frame_count:
            raise FormatError(f"frame {frame + 1} is outside the video's 1..{target.frame_count} "
                              "(MOT frames are 1-based)", where)
        track = integer(cols[1], "id", where)
        if track < -1:
            raise FormatError(f"id must be >= 0 (or -1 for none), got {track}", where)
        x, y, w, h = box_geometry(cols[2:6], where, (target.width, target.height))
        conf = finite_number(cols[6], "conf", where)
        has_class = len(cols) in (8, 9) or len(cols) > 10
        mot_class = integer(cols[7], "class", where) if has_class else -1
        mot_class = 1 if mot_class == -1 else mot_class
        visibility = finite_number(cols[8], "visibility", where) if has_class and len(cols) > 8 else 1.0
        class_id = classes.by_number(mot_class - 1, where)
        occluded = visibility < OCCLUDED_BELOW
        if conf == 0:
            parsed.regions.append(IgnoreRegion(frame, class_id, x, y, w, h,
                                               None if track == -1 else track, occluded))
            continue
        source = Source.DETECTOR if options.as_prelabels else Source.HUMAN
        if track == -1:
            anonymous.append(len(parsed.boxes))
        parsed.boxes.append(Box(frame, track, class_id, x, y, w, h, min(max(conf, 0.0), 1.0),
                                source, not options.as_prelabels, occluded=occluded))
        wheres.append(where)
    next_id = max((b.track_id for b in parsed.boxes), default=0) + 1
    for k, index in enumerate(anonymous):
        parsed.boxes[index] = parsed.boxes[index].with_(track_id=next_id + k)
    check_unique_boxes(parsed.boxes, wheres)
    return parsed
