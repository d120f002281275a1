"""What every format module shares: which frames and boxes an export writes, how imported
classes map onto the project's, frame file names, and atomic writes.

Keeping this in one place is what makes the format modules small and makes the rules the same in
every format: an `outside` box is never written as visible, interpolated and propagated boxes are
(flagged by source), and boxes keep their exact geometry unless the user asks for clipping.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..datamodel import Box, IgnoreRegion, Source
from ..errors import FormatError, VidlabelError
from ..store.project import Project
from ..store.temps import remove_stale_temps, temp_prefix

FRAME_SELECTIONS = ("all", "annotated", "verified")

# MOTChallenge's class numbers 1..13 (MOT17/MOT20 gt); class 1 is vidlabel's `person` (ADR 0003).
MOT_CLASS_NAMES = ("person", "person on vehicle", "car", "bicycle", "motorbike",
                   "non motorized vehicle", "static person", "distractor", "occluder",
                   "occluder on the ground", "occluder full", "reflection", "crowd")


@dataclass(frozen=True)
class ExportOptions:
    """What to export. The defaults write all of a project's annotation, exactly; candidate
    tracks (weak evidence nobody confirmed yet, `prelabelling.linking`) are not annotation and
    are written only when asked."""

    verified_only: bool = False
    include_candidates: bool = False
    min_score: float | None = None
    frames: str = "all"
    every: int = 1
    write_frames: Path | None = None
    clip: bool = False
    val_fraction: float = 0.2
    chunks: int = 10
    overwrite: bool = False   # replace an existing output (file or folder) instead of refusing

    def __post_init__(self) -> None:
        if self.frames not in FRAME_SELECTIONS:
            raise VidlabelError(f"--frames must be one of {', '.join(FRAME_SELECTIONS)}, got {self.frames!r}")
        if self.every < 1:
            raise VidlabelError(f"--every must be >= 1, got {self.every}")
        if self.min_score is not None and not 0 <= self.min_score <= 1:   # also refuses nan
            raise VidlabelError(f"--min-score must be between 0 and 1, got {self.min_score}")
        if not 0 < self.val_fraction < 1:
            raise VidlabelError(f"--val-fraction must be between 0 and 1, got {self.val_fraction}")
        if self.chunks < 2:
            raise VidlabelError(f"--chunks must be >= 2, got {self.chunks}")


@dataclass
class ExportFrame:
    """One frame an export writes: its boxes (visible, filtered) and ignore regions."""

    index: int
    boxes: list[Box]
    regions: list[IgnoreRegion]
    verified: bool


@dataclass
class ExportVideo:
    """One project as an export sees it: its video's size and name, and the frames to write."""

    project: Project
    name: str
    stem: str
    width: int
    height: int
    fps: float
    frame_count: int
    frames: list[ExportFrame]


def in_image(item: Box | IgnoreRegion, width: int, height: int) -> bool:
    """Whether any of a box or region is inside the image: one wholly off it (a box that drifted
    off) is no label, so no export writes it and no import accepts it (`box_geometry`)."""
    return item.x < width and item.y < height and item.x + item.w > 0 and item.y + item.h > 0


def clip_box(box: Box, width: int, height: int) -> Box | None:
    """The part of `box` inside the image, or None when nothing of it is inside."""
    if not in_image(box, width, height):
        return None
    x1, y1 = max(box.x, 0.0), max(box.y, 0.0)
    x2, y2 = min(box.x + box.w, float(width)), min(box.y + box.h, float(height))
    return box.with_(x=x1, y=y1, w=x2 - x1, h=y2 - y1)


def select(project: Project, options: ExportOptions) -> list[ExportFrame]:
    """The frames and boxes an export writes, in frame order then track order."""
    ref = project.video
    if ref is None:
        raise VidlabelError("project has no video, so its frames cannot be exported", str(project.path))
    by_frame: dict[int, list[Box]] = {}
    for box in project.boxes(include_outside=False, candidates=options.include_candidates):
        if options.verified_only and not box.verified:
            continue
        if options.min_score is not None and box.confidence < options.min_score:
            continue
        if not in_image(box, ref.width, ref.height):
            continue
        if options.clip:
            box = clip_box(box, ref.width, ref.height)
        by_frame.setdefault(box.frame, []).append(box)
    regions: dict[int, list[IgnoreRegion]] = {}
    for region in project.ignore_regions():
        if in_image(region, ref.width, ref.height):
            regions.setdefault(region.frame, []).append(region)
    verified = set(project.verified_frames())
    if options.frames == "all":
        indices = range(ref.frame_count)
    elif options.frames == "annotated":
        indices = sorted(set(by_frame) | set(regions))
    else:
        indices = sorted(verified)
    return [ExportFrame(i, by_frame.get(i, []), regions.get(i, []), i in verified)
            for i in indices if i % options.every == 0 and i < ref.frame_count]


def export_videos(projects: Sequence[Project], options: ExportOptions) -> list[ExportVideo]:
    """Each project's selection, with stems made unique so that frame file names never collide."""
    videos, seen = [], set()
    for project in projects:
        frames = select(project, options)
        ref = project.video
        assert ref is not None  # select() refused a project without a video
        name = Path(ref.path).name
        stem, k = Path(ref.path).stem, 2
        while stem in seen:
            stem, k = f"{Path(ref.path).stem}-{k}", k + 1
        seen.add(stem)
        videos.append(ExportVideo(project, name, stem, ref.width, ref.height, ref.fps,
                                  ref.frame_count, frames))
    return videos


def common_classes(videos: Sequence[ExportVideo]) -> list[str]:
    """All projects of one dataset must share one class list (category ids are positions)."""
    names = videos[0].project.class_names()
    for video in videos[1:]:
        other = video.project.class_names()
        if [n.casefold() for n in other] != [n.casefold() for n in names]:
            raise VidlabelError(f"projects have different class lists ({', '.join(names)} vs "
                                f"{', '.join(other)}); merge or rename classes first",
                                str(video.project.path))
    return names


def frame_file_name(stem: str, index: int, ext: str = ".jpg") -> str:
    """`<video>_<i:06d>.jpg` with the 0-based decoder index (docs/adr/0002)."""
    return f"{stem}_{index:06d}{ext}"


def write_frame_images(video: ExportVideo, path_of: Callable[[int], Path]) -> None:
    """Decode the exported frames (in order, only as far as each needs: `frames_at`) and save
    frame i as JPEG at `path_of(i)`."""
    from ..store.files import open_project_video

    wanted = [f.index for f in video.frames]
    if not wanted:
        return
    import cv2  # only an export that writes frames needs OpenCV

    with open_project_video(video.project) as source:
        for index, image in source.frames_at(sorted(wanted)):
            # Encoded here and written by Python, so that a full disk is an OSError that names
            # its cause (cv2.imwrite only returns False).
            ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
            if not ok:
                raise VidlabelError("cannot encode frame image", f"frame {index}")
            path_of(index).write_bytes(jpeg.tobytes())


# ---------------------------------------------------------------------- atomic writes
def _default_mode(base: int) -> int:
    """The mode a plain open()/mkdir() would give: temp files are private (0600/0700) by default,
    an exported dataset should not be."""
    mask = os.umask(0)
    os.umask(mask)
    return base & ~mask


def atomic_write_text(path: Path, text: str) -> None:
    """Write a file under a temporary name and rename it: a failed export leaves no half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _default_mode(0o666))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_output(path: Path, overwrite: bool) -> None:
    """One rule for every output (COCO file, MOT folder or file, YOLO folder, frame folders):
    something already there is refused unless `overwrite`, before any work is done."""
    if path.exists() and not overwrite and (not path.is_dir() or any(path.iterdir())):
        raise VidlabelError("output exists; pass --overwrite to replace it, or choose another", str(path))


@contextmanager
def atomic_folder(path: Path, overwrite: bool = False) -> Iterator[Path]:
    """Build a folder under a temporary name and rename it into place when complete.

    A folder already there is replaced only with `overwrite` (never merged into: mixing a new
    export with an old one's files is exactly the silent corruption this avoids), and only once
    the new one is complete."""
    check_output(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(path), suffix=".tmp", dir=path.parent))
    try:
        os.chmod(tmp, _default_mode(0o777))
        yield tmp
        old = None
        if path.is_dir():
            old = Path(tempfile.mkdtemp(prefix=temp_prefix(path), suffix=".old", dir=path.parent))
            os.replace(path, old)
        elif path.exists():
            path.unlink()
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# ---------------------------------------------------------------------- import side
MAX_CLASSES = 1000   # a MOT class number creates every class up to it: 100000 would make 100000


class ClassMap:
    """Maps a file's classes onto the project's class list by the rule of docs/adr/0003.

    `fixed=True` (the user gave `--classes`) makes a name or number the list lacks an error;
    otherwise it is added at the end of the list.
    """

    def __init__(self, names: Sequence[str] = (), fixed: bool = False) -> None:
        self.names = [n.strip() for n in names]
        self.fixed = fixed

    def by_name(self, name: str, where: str) -> int:
        """A class named in the file (COCO category, YOLO names): matched case-insensitively."""
        key = name.strip().casefold()
        for i, known in enumerate(self.names):
            if known.casefold() == key:
                return i
        if self.fixed or not key:
            raise FormatError(f"class {name!r} is not one of the project's classes "
                              f"({', '.join(self.names) or 'none'})", where)
        self.names.append(name.strip())
        return len(self.names) - 1

    def by_number(self, class_id: int, where: str) -> int:
        """A class given only by number (MOT: `class - 1`); a new list gets MOTChallenge's names."""
        if class_id < 0:
            raise FormatError(f"class number {class_id + 1} must be >= 1", where)
        if class_id >= len(self.names):
            if class_id >= MAX_CLASSES:
                raise FormatError(f"class number {class_id + 1} is beyond the {MAX_CLASSES} classes a "
                                  "project may have", where)
            if self.fixed:
                raise FormatError(f"class {class_id + 1} has no project class (the project has "
                                  f"{len(self.names)}: {', '.join(self.names) or 'none'})", where)
            while len(self.names) <= class_id:
                i = len(self.names)
                self.names.append(MOT_CLASS_NAMES[i] if i < len(MOT_CLASS_NAMES) else f"class {i + 1}")
        return class_id


@dataclass
class ImportOptions:
    """How imported boxes enter the project: as verified ground truth or as machine pre-labels."""

    as_prelabels: bool = False
    classes: list[str] | None = None


@dataclass
class ParsedAnnotations:
    """A whole annotation file, validated, in the project's terms, before anything is written.

    Track ids are the file's; a box without one gets a fresh id after the file's largest.
    """

    classes: list[str]
    boxes: list[Box] = field(default_factory=list)
    regions: list[IgnoreRegion] = field(default_factory=list)
    verified_frames: list[int] = field(default_factory=list)


def source_for_import(source: Source, as_prelabels: bool) -> Source:
    """Pre-labels are machine guesses: a box a file calls `human` enters as `detector`."""
    return Source.DETECTOR if as_prelabels and source is Source.HUMAN else source


@dataclass(frozen=True)
class ImportTarget:
    """The video an import is for: annotations must fit its frame count."""

    name: str
    frame_count: int
    width: int
    height: int

    def check_frame(self, frame: int, where: str) -> None:
        if not 0 <= frame < self.frame_count:
            raise FormatError(f"frame {frame} (0-based) is outside the video's 0..{self.frame_count - 1}", where)


def check_unique_boxes(boxes: Sequence[Box], wheres: Sequence[str]) -> None:
    """A track has at most one box per frame (ADR 0001); name both offending entries if not."""
    seen: dict[tuple[int, int], int] = {}
    for i, box in enumerate(boxes):
        key = (box.track_id, box.frame)
        if key in seen:
            raise FormatError(f"track {box.track_id} has two boxes on frame {box.frame} "
                              f"(the other is {wheres[seen[key]]})", wheres[i])
        seen[key] = i


def finite_number(value: object, what: str, where: str) -> float:
    """A JSON/CSV number that is a real, finite number (NaN and booleans are refused)."""
    if isinstance(value, bool):
        raise FormatError(f"{what} must be a number, got {value!r}", where)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise FormatError(f"{what} must be a number, got {value!r}", where) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise FormatError(f"{what} must be finite, got {value!r}", where)
    return number


MAX_ID = 1 << 53   # ids are stored as SQLite integers and written back through JSON doubles


def integer(value: object, what: str, where: str) -> int:
    """An integer id or frame number; `3.0` is accepted (MOT files often write floats)."""
    number = finite_number(value, what, where)
    if not number.is_integer():
        raise FormatError(f"{what} must be an integer, got {value!r}", where)
    if abs(number) > MAX_ID:
        raise FormatError(f"{what} {value!r} is too large (at most {MAX_ID})", where)
    return int(number)


def score(value: object, where: str) -> float:
    """A detection score: a probability, so 0..1 (7.5 or -2 would pass for a confidence)."""
    number = finite_number(value, "score", where)
    if not 0 <= number <= 1:
        raise FormatError(f"score must be between 0 and 1, got {value!r}", where)
    return number


def box_geometry(values: Sequence[object], where: str, size: tuple[int, int] | None = None
                 ) -> tuple[float, float, float, float]:
    """`x, y, w, h` with positive size. Boxes past the image edge are legal (PETS09 has some),
    but with the image's `size` part of a box must be in the image (vidlabel's exports leave
    out a box that drifted off wholly, `select`), and a box and its position must stay within
    ten image sizes: one of 1e308 pixels is a broken file."""
    x, y, w, h = (finite_number(v, name, where) for v, name in zip(values, ("x", "y", "width", "height")))
    if w <= 0 or h <= 0:
        raise FormatError(f"box width and height must be > 0, got w={w:g} h={h:g}", where)
    if size is not None and all(size):   # (0, 0): the image's size is not known (a simulator's read)
        width, height = size
        if max(w, abs(x)) > 10 * width or max(h, abs(y)) > 10 * height:
            raise FormatError(f"box ({x:g}, {y:g}, {w:g}, {h:g}) is far beyond the {width}x{height} "
                              "image", where)
        if x >= width or y >= height or x + w <= 0 or y + h <= 0:
            raise FormatError(f"box ({x:g}, {y:g}, {w:g}, {h:g}) lies wholly outside the "
                              f"{width}x{height} image: nothing of it can be seen", where)
    return x, y, w, h
