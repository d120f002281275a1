"""Ground truth per frame, with ignore regions, and a guard that limits what the annotator may see.

Why a guard: a simulated annotator that peeks at frames the tool did not show would make every
strategy look better than it is. `ShownFrames` only answers for frames that were shown and raises
`UnshownFrameError` otherwise, so a leak is a crash, not a silently flattering number.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import FormatError

XYWH = tuple[float, float, float, float]


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


def read_mot(path: str | Path, frame_count: int | None = None) -> GroundTruth:
    """MOTChallenge `gt.txt`: `frame,id,x,y,w,h,conf,class,visibility`, frames 1-based."""
    path = Path(path)
    try:
        rows = np.loadtxt(path, delimiter=",", ndmin=2)
    except (OSError, ValueError) as exc:
        raise FormatError(f"cannot read MOT ground truth: {exc}", str(path)) from None
    if rows.size and rows.shape[1] < 6:
        raise FormatError(f"MOT rows need at least 6 columns, found {rows.shape[1]}", str(path))
    objects: dict[int, list[GTBox]] = defaultdict(list)
    ignore: dict[int, list[XYWH]] = defaultdict(list)
    for line, r in enumerate(rows, 1):
        frame = int(r[0]) - 1
        if frame < 0:
            raise FormatError(f"line {line}: frame {int(r[0])} is not 1-based", str(path))
        conf = r[6] if rows.shape[1] > 6 else 1.0
        cls = int(r[7]) - 1 if rows.shape[1] > 7 and r[7] > 0 else 0
        if conf == 0:
            ignore[frame].append(tuple(map(float, r[2:6])))
        else:
            objects[frame].append(GTBox(frame, int(r[1]), *map(float, r[2:6]), cls))
    last = max([*objects, *ignore], default=-1) + 1
    return GroundTruth(objects, ignore, frame_count or last)


def read_coco(path: str | Path, frame_count: int | None = None) -> GroundTruth:
    """COCO with tracks (vidlabel's export): `frame_index` on images, `track_id` on annotations;
    `iscrowd` annotations are ignore regions."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        frame_of = {im["id"]: int(im.get("frame_index", im.get("frame_id", 0)))
                    for im in data["images"]}
        categories = sorted(data.get("categories", []), key=lambda c: c["id"])
        objects: dict[int, list[GTBox]] = defaultdict(list)
        ignore: dict[int, list[XYWH]] = defaultdict(list)
        for a in data["annotations"]:
            frame = frame_of[a["image_id"]]
            xywh = tuple(map(float, a["bbox"]))
            if a.get("iscrowd"):
                ignore[frame].append(xywh)
                continue
            track = a.get("track_id", a.get("attributes", {}).get("track_id"))
            if track is None:
                raise FormatError(f"annotation {a.get('id')} has no track_id", str(path))
            objects[frame].append(GTBox(frame, int(track), *xywh, int(a["category_id"]) - 1))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FormatError(f"cannot read COCO ground truth: {exc!r}", str(path)) from None
    names = tuple(c["name"] for c in categories) or ("person",)
    count = frame_count or max(frame_of.values(), default=-1) + 1
    return GroundTruth(objects, ignore, count, names)


def load_ground_truth(path: str | Path, fmt: str | None = None,
                      frame_count: int | None = None) -> GroundTruth:
    """Read MOT or COCO ground truth; the format is inferred from the name when not given."""
    path = Path(path)
    if not path.is_file():
        raise FormatError("ground truth file does not exist", str(path))
    fmt = fmt or ("coco" if path.suffix.lower() == ".json" else "mot")
    if fmt not in ("mot", "coco"):
        raise FormatError(f"unknown ground truth format {fmt!r} (mot or coco)", str(path))
    return (read_coco if fmt == "coco" else read_mot)(path, frame_count)


class UnshownFrameError(RuntimeError):
    """Ground truth of a frame the tool never showed was read: a bug in the simulation."""


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
