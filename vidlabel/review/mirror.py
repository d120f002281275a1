"""The scorer's in-memory mirror of a project's boxes, by frame and by track.

Rescoring after one edit must not re-read a 100,000-box project: the mirror holds every box and,
per track, the context its temporal signals need (first and last frame, keyframes, confidences,
gaps), and says which boxes an edit changed, so that only those, and the boxes whose track
context moved, are scored again.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..datamodel import Box

FAR_FRAMES = 90          # from here on a box is simply far: a keyframe further away changes nothing


@dataclass
class TrackContext:
    """What a box's temporal signals need to know about its whole track."""

    first: int
    last: int
    keyframes: list[int]               # verified frames of the track (visible or outside), sorted
    confidence: dict[int, float]       # frame -> confidence of the track's visible boxes
    gaps: set[int]                     # frames between first and last with no box at all


def track_context(boxes: Iterable[Box]) -> TrackContext | None:
    boxes = sorted(boxes, key=lambda b: b.frame)
    visible = [b for b in boxes if not b.outside]
    if not visible:
        return None
    frames = {b.frame for b in boxes}
    first, last = visible[0].frame, visible[-1].frame
    return TrackContext(first, last, [b.frame for b in boxes if b.verified],
                         {b.frame: b.confidence for b in visible},
                         {f for f in range(first + 1, last) if f not in frames})


def context_changes(old: TrackContext | None, new: TrackContext | None,
                     changed: set[int]) -> Callable[[int], bool]:
    """Which unchanged boxes of a track need their temporal signals recomputed.

    A box's temporal signals change only if the track's first or last frame moved (birth, death),
    the box before it changed (tracker drop), or a keyframe appeared or vanished between the
    box's neighbouring keyframes (distance from the nearest keyframe); everything else is kept.
    """
    if old is None or new is None:
        return lambda f: True
    singles = {f + 1 for f in changed}
    if (old.first, old.last) != (new.first, new.last):
        singles |= {old.first, old.last, new.first, new.last}
    union = sorted(set(old.keyframes) | set(new.keyframes))
    spans = []
    for k in set(old.keyframes) ^ set(new.keyframes):
        i = bisect.bisect_left(union, k)
        spans.append((max(union[i - 1] if i > 0 else -math.inf, k - FAR_FRAMES),
                      min(union[i + 1] if i + 1 < len(union) else math.inf, k + FAR_FRAMES)))
    return lambda f: f in singles or any(lo < f < hi for lo, hi in spans)




class BoxMirror:
    """Every box of a project by frame and track, with each track's context."""

    def __init__(self) -> None:
        self.boxes: dict[int, dict[int, Box]] = {}          # frame -> track -> box
        self.track_frames: dict[int, set[int]] = {}         # track -> frames with a box
        self.tracks: dict[int, TrackContext | None] = {}
        self.gaps: dict[int, set[int]] = {}                 # frame -> tracks with a gap there

    def load(self, boxes: Iterable[Box]) -> None:
        """Replace the mirror with these boxes (a full rescore)."""
        self.boxes, self.track_frames, self.tracks, self.gaps = {}, {}, {}, {}
        by_track: dict[int, list[Box]] = {}
        for b in boxes:
            self.boxes.setdefault(b.frame, {})[b.track_id] = b
            self.track_frames.setdefault(b.track_id, set()).add(b.frame)
            by_track.setdefault(b.track_id, []).append(b)
        for t, bs in by_track.items():
            self.set_context(t, track_context(bs))

    def apply(self, frame: int, now: dict[int, Box], touched: dict[int, set[int]],
               only: int | None = None) -> None:
        """Mirror a frame's current boxes (or one track's box on it), noting what changed."""
        was = self.boxes.setdefault(frame, {})
        for t in ({only} if only is not None else now.keys() | was.keys()):
            if now.get(t) == was.get(t):
                continue
            touched.setdefault(t, set()).add(frame)
            if t in now:
                was[t] = now[t]
                self.track_frames.setdefault(t, set()).add(frame)
            else:
                was.pop(t, None)
                self.track_frames.get(t, set()).discard(frame)


    def set_context(self, track: int, ctx: TrackContext | None) -> None:
        old = self.tracks.get(track)
        for f in old.gaps if old else ():
            self.gaps.get(f, set()).discard(track)
        self.tracks[track] = ctx
        for f in ctx.gaps if ctx else ():
            self.gaps.setdefault(f, set()).add(track)

    def context_of(self, track: int) -> TrackContext | None:
        """The track's context computed afresh from the mirrored boxes."""
        return track_context(self.boxes[f][track] for f in self.track_frames.get(track, ()))
