"""The data model every part of vidlabel speaks: boxes, tracks, raw detector candidates.

Geometry is always `x, y, w, h` in pixels of the (rotation-corrected) frame, top-left origin,
floats. Frames are 0-based decoder indices. See docs/adr/0001-box-model.md for what a machine may
rewrite and what it never may.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum, StrEnum
from typing import TypeVar

import numpy as np

from .errors import InvalidBoxError

XYWH = tuple[float, float, float, float]
T = TypeVar("T")  # a box as x, y, w, h in pixels, top-left origin

# The accept threshold: a detection at least this confident may start a track, and a machine
# box is judged against it (how close its confidence is to the line between "a box" and "not").
# Ultralytics' `predict` default, so pre-labels look like what a YOLO user already knows.
ACCEPT_THRESHOLD = 0.25
# Two boxes this much overlapped are taken to be of one object (the PASCAL VOC / COCO match).
SAME_OBJECT_IOU = 0.5


class Source(str, Enum):
    """Who made a box's current geometry."""

    DETECTOR = "detector"
    TRACKER = "tracker"
    INTERPOLATED = "interpolated"
    HUMAN = "human"


class EditKind(StrEnum):
    """What a person did, in the action log's words (`review/edits.py` says what each implies)."""

    DRAW = "draw"                  # a new box (a missed object, or a track's box on a new frame)
    FIX = "fix"                    # moved or resized a box
    CHECK = "check"                # confirmed one machine box as it is
    DELETE = "delete"              # removed a false box
    OCCLUDED = "occluded"          # marked a box hidden (or visible again)
    CLASS = "class"                # changed a track's class
    RETRACK = "retrack"            # gave a box another track (an identity switch on one frame)
    MERGE = "merge"                # joined two tracks
    SPLIT = "split"                # cut a track in two at a frame
    END = "end"                    # the object leaves view here: the track's tail goes
    ACCEPT = "accept"              # confirmed a whole frame
    INTERPOLATE = "interpolate"    # asked for linear interpolation between two keyframes
    PROPAGATE = "propagate"        # asked to re-propagate a track from a keyframe
    DELETE_TRACK = "delete track"  # a false track: all its machine boxes at once
    DELETE_TRACKS = "delete tracks"  # several false tracks at once ("delete all similar")
    DELETE_STRETCH = "delete stretch"   # the track's machine boxes on a range of frames
    ACCEPT_STRETCH = "accept stretch"   # the track's boxes on the frames shown are right
    WRONG_FROM_HERE = "wrong from here"  # the track left its object: its tail goes (or moves)
    ADD_CLASS = "add class"        # project-level class edits
    RENAME_CLASS = "rename class"
    MERGE_CLASS = "merge class"


@dataclass(frozen=True)
class Box:
    """One track's box on one frame.

    `outside` means the object is not in view on this frame (the track has ended or not begun);
    such a box carries no geometry worth drawing and is never exported as visible. `occluded`
    means it is there but hidden: the box is still the object's extent.
    """

    frame: int
    track_id: int
    class_id: int
    x: float
    y: float
    w: float
    h: float
    confidence: float = 1.0
    source: Source = Source.DETECTOR
    verified: bool = False
    outside: bool = False
    occluded: bool = False
    id: int | None = None

    def __post_init__(self) -> None:
        if self.frame < 0:
            raise InvalidBoxError(f"frame must be >= 0, got {self.frame}")
        # math.isfinite, not numpy: boxes are built by the ten thousand when a project is read
        if not (math.isfinite(self.x) and math.isfinite(self.y) and math.isfinite(self.w)
                and math.isfinite(self.h)):
            raise InvalidBoxError(f"box geometry must be finite, got {self.xywh}")
        if not self.outside and (self.w <= 0 or self.h <= 0):
            raise InvalidBoxError(f"box width and height must be > 0, got w={self.w} h={self.h}")
        if not isinstance(self.source, Source):
            object.__setattr__(self, "source", Source(self.source))

    @property
    def xywh(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.w, self.h)

    @property
    def xyxy(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.x + self.w, self.y + self.h)

    def with_(self, **changes) -> "Box":
        """A copy with some fields changed (boxes are immutable values)."""
        return replace(self, **changes)


@dataclass(frozen=True)
class IgnoreRegion:
    """An area of one frame that ground truth says to ignore (docs/adr/0004-ignore-regions.md).

    MOTChallenge marks such areas with conf 0, COCO with `iscrowd: 1`: an object is there but
    too ambiguous to count, so a detection inside it is neither a hit nor a false positive. It is
    not a box: no track owns it and nothing propagates it. `track_id` is the object id the source
    gave the region (the same number as a project track when the ignored stretch belongs to that
    track, e.g. a pedestrian who is ignored while far away); `class_id` is the class the source
    gave it, kept so that exports write the region back as it came.
    """

    frame: int
    class_id: int
    x: float
    y: float
    w: float
    h: float
    track_id: int | None = None
    occluded: bool = False
    id: int | None = None

    def __post_init__(self) -> None:
        if self.frame < 0:
            raise InvalidBoxError(f"frame must be >= 0, got {self.frame}")
        if not all(np.isfinite(v) for v in (self.x, self.y, self.w, self.h)):
            raise InvalidBoxError(f"region geometry must be finite, got {self.xywh}")
        if self.w <= 0 or self.h <= 0:
            raise InvalidBoxError(f"region width and height must be > 0, got w={self.w} h={self.h}")

    @property
    def xywh(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.w, self.h)


@dataclass(frozen=True)
class Track:
    id: int
    class_id: int
    name: str = ""
    candidate: bool = False  # weak evidence: offered to review, no annotation until confirmed


@dataclass
class Detection:
    """A raw detector candidate, kept apart from boxes.

    Every candidate above the low candidate threshold is stored so that uncertainty can be
    recomputed without running the model again. `class_scores` is the per-class score vector
    (independent sigmoids, not normalised) where the detector exposes it, else None.
    """

    frame: int
    x: float
    y: float
    w: float
    h: float
    confidence: float
    class_id: int
    class_scores: np.ndarray | None = field(default=None, repr=False)
    id: int | None = None

    @property
    def xywh(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.w, self.h)


@dataclass(frozen=True)
class VideoRef:
    """What a project remembers of its video, so a moved or changed file is noticed."""

    path: str
    frame_count: int
    fps: float
    width: int
    height: int
    fingerprint: str
    rotation: int = 0



def keyframes(boxes: Iterable[Box]) -> list[Box]:
    """The human-verified boxes among `boxes`, in their order: the anchors propagation runs
    between (a box a person drew, fixed or accepted; docs/adr/0001)."""
    return [b for b in boxes if b.verified]


def lerp_xywh(frame_a: int, a: XYWH, frame_b: int, b: XYWH, frame: int) -> XYWH:
    """The box on `frame` on the straight line from box `a` on `frame_a` to `b` on `frame_b`:
    the one linear interpolation of boxes every part of vidlabel uses."""
    t = (frame - frame_a) / (frame_b - frame_a)
    return tuple(float((1 - t) * u + t * v) for u, v in zip(a, b))


def iou_xywh(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over union of two `x, y, w, h` boxes (0 when either is empty)."""
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = min(ax2, bx2) - max(a[0], b[0])
    ih = min(ay2, by2) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return float(inter / union) if union > 0 else 0.0


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of `x, y, w, h` rows: shape (len(a), len(b))."""
    a = np.asarray(a, dtype=float).reshape(-1, 4)
    b = np.asarray(b, dtype=float).reshape(-1, 4)
    ax1, ay1, ax2, ay2 = a[:, 0:1], a[:, 1:2], a[:, 0:1] + a[:, 2:3], a[:, 1:2] + a[:, 3:4]
    bx1, by1, bx2, by2 = b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2, bx2) - np.maximum(ax1, bx1), 0, None)
    ih = np.clip(np.minimum(ay2, by2) - np.maximum(ay1, by1), 0, None)
    inter = iw * ih
    union = (a[:, 2:3] * a[:, 3:4]) + (b[:, 2] * b[:, 3]) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def best_overlap(xywh: XYWH, items: Sequence[T], min_iou: float) -> T | None:
    """The item (anything with an `xywh`: a box, a detection) that overlaps `xywh` most, if by
    at least `min_iou`; the one matching rule for "which box here is this object's"."""
    if not items:
        return None
    iou = iou_matrix(np.asarray(xywh, dtype=float)[None], np.array([i.xywh for i in items]))[0]
    k = int(np.argmax(iou))
    return items[k] if iou[k] >= min_iou else None
