"""Ground truth per frame, with ignore regions, and a guard that limits what the annotator may see.

Why a guard: a simulated annotator that peeks at frames the tool did not show would make every
strategy look better than it is. `ShownFrames` only answers for frames that were shown and raises
`UnshownFrameError` otherwise, so a leak is a crash, not a silently flattering number.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from ..datamodel import XYWH
from ..errors import FormatError, UnshownFrameError
from ..formats.common import ClassMap, ImportOptions, ImportTarget, ParsedAnnotations
from ..formats.registry import IMPORTERS


@dataclass(frozen=True)
class GTBox:
    """One ground-truth object on one frame (frames 0-based, class ids 0-based: docs/adr/0003)."""

    frame: int
    object_id: int
    x: float
    y: float
    w: float
    h: float
    class_id: int = 0

    @property
    def xywh(self) -> XYWH:
        return (self.x, self.y, self.w, self.h)


class GroundTruth:
    """Scored objects and ignore regions per frame.

    MOTChallenge rows with conf 0 are ignore regions: a produced box on one is neither a hit nor
    a false positive, and the annotator neither draws nor deletes there.
    """

    def __init__(self, objects: dict[int, list[GTBox]], ignore: dict[int, list[XYWH]],
                 frame_count: int, class_names: tuple[str, ...] = ("person",)) -> None:
        self._objects = {f: list(v) for f, v in objects.items()}
        self._ignore = {f: list(v) for f, v in ignore.items()}
        self.frame_count = frame_count
        self.class_names = class_names

    def objects(self, frame: int) -> list[GTBox]:
        return list(self._objects.get(frame, ()))

    def ignore(self, frame: int) -> list[XYWH]:
        return list(self._ignore.get(frame, ()))

    def box_count(self) -> int:
        """Number of scored ground-truth boxes (ignore regions excluded)."""
        return sum(len(v) for v in self._objects.values())

    def frames(self) -> range:
        return range(self.frame_count)

    def cut(self, start: int, end: int) -> "GroundTruth":
        """Frames [start, end) renumbered from 0, for runs on a contiguous cut of a video."""
        shift = lambda d: {f - start: v for f, v in d.items() if start <= f < end}  # noqa: E731
        objs = {f: [GTBox(f, b.object_id, *b.xywh, b.class_id) for b in v]
                for f, v in shift(self._objects).items()}
        return GroundTruth(objs, shift(self._ignore), min(end, self.frame_count) - start,
                           self.class_names)


def from_parsed(parsed: ParsedAnnotations, frame_count: int) -> GroundTruth:
    """Ground truth from an importer's parsed file: boxes are the scored objects (their track ids
    the object ids), ignore regions the areas that neither count nor penalise."""
    objects: dict[int, list[GTBox]] = defaultdict(list)
    ignore: dict[int, list[XYWH]] = defaultdict(list)
    for b in parsed.boxes:
        if not b.outside:
            objects[b.frame].append(GTBox(b.frame, b.track_id, *b.xywh, b.class_id))
    for r in parsed.regions:
        ignore[r.frame].append((r.x, r.y, r.w, r.h))
    return GroundTruth(objects, ignore, frame_count, tuple(parsed.classes) or ("person",))


def load_ground_truth(path: str | Path, frame_count: int, fmt: str | None = None,
                      size: tuple[int, int] = (0, 0)) -> GroundTruth:
    """Read MOTChallenge or COCO ground truth with vidlabel's own importers (`vidlabel.formats`),
    so the simulator reads a file exactly as `vidlabel import` does. The format is inferred from
    the name when not given (`.json` is COCO); `frame_count` and `size` are the video's."""
    path = Path(path)
    if not path.exists():
        raise FormatError("ground truth file does not exist", str(path))
    fmt = fmt or ("coco" if path.suffix.lower() == ".json" else "mot")
    if fmt not in ("mot", "coco"):
        raise FormatError(f"unknown ground truth format {fmt!r} (mot or coco)", str(path))
    target = ImportTarget(path.name, frame_count, *size)
    parsed = IMPORTERS[fmt](path, target, ClassMap(), ImportOptions())
    return from_parsed(parsed, frame_count)


class ShownFrames:
    """The annotator's view of ground truth: only frames the tool has shown.

    The loop calls `show(frame)` for every frame it puts in front of the annotator (a frame pick,
    a box pick, a baseline's keyframe); reading any other frame raises `UnshownFrameError`.
    """

    def __init__(self, gt: GroundTruth) -> None:
        self._gt = gt
        self.shown: set[int] = set()
        self.class_names = gt.class_names

    def show(self, frame: int) -> None:
        self.shown.add(frame)

    def _check(self, frame: int) -> None:
        if frame not in self.shown:
            raise UnshownFrameError(f"ground truth of frame {frame} read but never shown")

    def objects(self, frame: int) -> list[GTBox]:
        self._check(frame)
        return self._gt.objects(frame)

    def ignore(self, frame: int) -> list[XYWH]:
        self._check(frame)
        return self._gt.ignore(frame)
