"""Offline linking: the stored raw detections of a whole video become tracks with ids.

An online tracker decides every frame with only the past in view. Pre-labelling sees the whole
video, so after a standard online pass it can do what no online tracker can:

1. **Forward pass.** Ultralytics' `BYTETracker` (one per class, so a track never changes class)
   runs over the detected frames. Its "lost" buffer is given in seconds and converted with the
   video's real frame rate (Ultralytics assumes 30 fps). Only which detection each track took is
   kept, never the Kalman filter's smoothed box: a box with `source=detector` is the detector's.
2. **Backward pass.** Each tracklet is extended back in time over unclaimed detections (a track
   is born one frame late in ByteTrack, and an object often enters weakly detected), and forward
   likewise, predicting with the tracklet's own motion.
3. **Fragment merging.** A tracklet that ends and another that starts later are the same object
   when each one's motion, extrapolated across the gap, lands on the other with a similar size.
   All such pairs are solved at once as an assignment (`linear_sum_assignment`), so chains of
   fragments join and no fragment is claimed twice.
4. **False tracks dropped, weak ones kept as candidates.** A track with fewer than
   `min_detections` detections, or whose summed detection confidence is below that many
   detections at the accept threshold, is a flicker and dropped. A track the detector was not
   sure of on its typical frame (median detection confidence below `confirm_conf`, even odds) is
   a **candidate track**: kept, offered to review as one question, but no annotation until a
   person confirms it. This is ByteTrack's own two-level rule carried over to whole tracks: weak
   detections may extend a confirmed object, never establish one. Far-away people a guideline
   leaves out, reflections and shop-window figures are such tracks, and each one shown as
   boxes would cost a look and a delete on every frame it crosses.
   A track whose detections overlap a stronger track's of its class (more summed confidence)
   at IoU >= 0.5 on most of its frames is a second box of that object and dropped, the non-maximum
   suppression of whole tracks: under any IoU-0.5 evaluation such a box can only be a false
   positive, and a person would delete it on every frame shown (or fix each crop of it onto the
   object the stronger track already follows, making a duplicate track).
5. **Gaps filled** by linear interpolation (or a single-object tracker when the caller passes a
   `gap_filler`), with a confidence that halves every second away from the nearest detection,
   and **ends marked**: an `outside` box on the frame after a track's last box, never a ghost box.
   Every gap is filled, even where the line is off the object (a person near the camera who
   turned during a second-long occlusion): leaving such frames empty raised MOTA but made the
   annotation loop dearer, a misplaced box being one fix that keeps the track's identity
   (docs/BENCHMARKS.md, "Pre-labels on every sequence").
6. **Trajectories smoothed** over a fraction of a second on both sides (see `smoothing.py`).

Everything is deterministic: the same detections and parameters give the same tracks, which is
what lets a killed pre-labelling run resume and still equal an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Protocol

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..datamodel import (ACCEPT_THRESHOLD, SAME_OBJECT_IOU, Box, Detection, Source, best_overlap,
                         iou_matrix, lerp_xywh)
from .motion import Tracklet, predict
from .smoothing import smooth_track

INFEASIBLE = 1e6


@dataclass(frozen=True)
class LinkParams:
    """Linking settings. Times are in seconds so that one default fits every frame rate."""

    accept_conf: float = ACCEPT_THRESHOLD  # a detection this confident may start a track
    low_conf: float = 0.1  # weaker ones may only continue a track (ByteTrack's second stage)
    lost_seconds: float = 1.0  # how long the online pass keeps a lost track (30 frames at 30 fps)
    max_gap_seconds: float = 3.0  # longest gap a fragment merge or a gap fill may bridge
    min_detections: int = 3  # evidence a track needs, in detections at the accept threshold
    confirm_conf: float = 0.5  # median detection confidence below this: a candidate track
    extend_iou: float = 0.5  # overlap a predicted box needs with a detection to extend a track
    merge_distance: float = 0.5  # allowed centre error in box heights at a gap of zero seconds ...
    merge_distance_per_second: float = 1.0  # ... growing by this much per second of gap
    merge_size_ratio: float = 1.5  # largest height ratio between the two sides of a merge
    smooth_seconds: float = 0.3  # Gaussian sigma of the trajectory smoothing (0: off)


@dataclass
class LinkedTrack:
    """One linked track: its class and its boxes in frame order (track_id is set on writing)."""

    class_id: int
    frames: list[int] = field(default_factory=list)
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    candidate: bool = False  # weak evidence: stored and offered to review, not yet annotation

    @property
    def first(self) -> int:
        return self.frames[0]

    @property
    def last(self) -> int:
        return self.frames[-1]

    def to_boxes(self, track_id: int, end: int | None = None) -> list[Box]:
        """Boxes for the store; an `outside` box after the last frame when it is inside `end`."""
        out = [Box(f, track_id, self.class_id, *b, confidence=c, source=s)
               for f, b, c, s in zip(self.frames, self.boxes, self.confidences, self.sources)]
        if end is None or self.last + 1 < end:
            x, y, w, h = self.boxes[-1]
            out.append(Box(self.last + 1, track_id, self.class_id, x, y, w, h,
                           confidence=self.confidences[-1], source=self.sources[-1], outside=True))
        return out


class FilledBox(Protocol):
    """One machine box for a gap frame (`vidlabel.propagation.propagate.PropagatedBox` is one)."""

    frame: int
    xywh: tuple[float, float, float, float]
    confidence: float
    source: Source


GapFiller = Callable[[Box, Box, Mapping[int, Sequence[Detection]]], Sequence[FilledBox]]
"""`(box_a, box_b, candidates) -> boxes` for the frames strictly between two detector boxes of a
track; `candidates` are the unclaimed detections of those frames, which it may snap to."""


# ---------------------------------------------------------------------------------- forward pass
class _Batch:
    """The slice of a results object `BYTETracker.update` reads: conf, cls, centre xywh, masks,
    and the corner boxes BoT-SORT's motion compensation masks out of the image."""

    def __init__(self, xywh: np.ndarray, conf: np.ndarray, cls: np.ndarray) -> None:
        self.xywh, self.conf, self.cls = xywh, conf, cls

    @property
    def xyxy(self) -> np.ndarray:
        half = self.xywh[:, 2:] / 2
        return np.hstack([self.xywh[:, :2] - half, self.xywh[:, :2] + half])

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, mask) -> "_Batch":
        return _Batch(self.xywh[mask], self.conf[mask], self.cls[mask])


def tracker_input(dets: Sequence[Detection]) -> _Batch:
    """Detections in the form Ultralytics' trackers take (also used to benchmark them)."""
    if not dets:
        return _Batch(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.float32))
    a = np.array([d.xywh for d in dets], np.float64)
    centre = np.column_stack([a[:, 0] + a[:, 2] / 2, a[:, 1] + a[:, 3] / 2, a[:, 2], a[:, 3]])
    return _Batch(centre.astype(np.float32), np.array([d.confidence for d in dets], np.float32),
                  np.array([d.class_id for d in dets], np.float32))


def _forward_pass(dets: dict[int, list[Detection]], frames: list[int], fps: float, step: int,
                  p: LinkParams) -> list[Tracklet]:
    """ByteTrack over the detected frames, per class; returns which detections each track took."""
    from ..weights import quiet_ultralytics

    quiet_ultralytics()
    from ultralytics.trackers.byte_tracker import BYTETracker

    args = SimpleNamespace(track_high_thresh=p.accept_conf, track_low_thresh=p.low_conf,
                           new_track_thresh=p.accept_conf, match_thresh=0.8, fuse_score=True,
                           track_buffer=max(1, round(p.lost_seconds * fps / step)))
    # ByteTrack starts a track only from a detection at or above new_track_thresh: a class
    # without one can never have a track, so its pass (a tracker update per frame) is skipped.
    classes = sorted({d.class_id for f in frames for d in dets.get(f, []) if d.confidence >= p.accept_conf})
    tracklets: list[Tracklet] = []
    for cls in classes:
        tracker = BYTETracker(args)
        by_id: dict[int, Tracklet] = {}
        for k, f in enumerate(frames):
            frame_dets = [d for d in dets.get(f, []) if d.class_id == cls and d.confidence > p.low_conf]
            if not frame_dets and not tracker.tracked_stracks and not tracker.lost_stracks:
                continue  # an update with nothing to match and nothing to age changes nothing
            tracker.frame_id = k  # but its clock: `update` counts frames (track ages, activation)
            out = tracker.update(tracker_input(frame_dets))
            for row in out.reshape(-1, 8):
                tid, idx = int(row[4]), int(row[7])
                by_id.setdefault(tid, Tracklet(cls, {})).dets[f] = frame_dets[idx]
        tracklets.extend(by_id[k] for k in sorted(by_id))
    return tracklets


# ---------------------------------------------------------------------------------- extension
def _extend(tracklets: list[Tracklet], dets: dict[int, list[Detection]], frames: list[int],
            fps: float, p: LinkParams, backward: bool) -> None:
    """Grow every tracklet frame by frame over detections no track has claimed.

    All tracklets that want the same frame are matched together by IoU (an assignment), so two
    tracks never take the same detection; a tracklet stops at the first frame where nothing
    overlaps its prediction well enough.
    """
    claimed = {id(d) for t in tracklets for d in t.dets.values()}
    step = -1 if backward else 1
    pos = {f: i for i, f in enumerate(frames)}
    waiting: dict[int, list[int]] = {}  # frame -> tracklets whose next frame to try it is

    def schedule(k: int, edge: int) -> None:
        nxt = pos[edge] + step
        if 0 <= nxt < len(frames):
            waiting.setdefault(frames[nxt], []).append(k)

    for k, t in enumerate(tracklets):
        schedule(k, t.first_frame if backward else t.last_frame)
    for f in (frames[::-1] if backward else frames):
        want = sorted(waiting.pop(f, []))
        free = [d for d in dets.get(f, []) if id(d) not in claimed and d.confidence > p.low_conf]
        if not want or not free:
            continue
        pred = np.array([predict(tracklets[k], f, fps, from_end=not backward) for k in want])
        iou = iou_matrix(pred, np.array([d.xywh for d in free]))
        same_class = np.array([[d.class_id == tracklets[k].class_id for d in free] for k in want])
        iou = np.where(same_class, iou, 0.0)
        for i, j in zip(*linear_sum_assignment(-iou)):
            if iou[i, j] >= p.extend_iou:
                tracklets[want[i]].dets[f] = free[j]
                claimed.add(id(free[j]))
                schedule(want[i], f)


# ---------------------------------------------------------------------------------- merging
def _merge_cost(a: Tracklet, b: Tracklet, fps: float, p: LinkParams) -> float:
    """How well `b` continues `a` across the gap: < 1 is plausible, lower is better."""
    gap = b.first_frame - a.last_frame
    if gap <= 0 or gap > p.max_gap_seconds * fps + 1 or a.class_id != b.class_id:
        return INFEASIBLE
    last, first = a.dets[a.last_frame], b.dets[b.first_frame]
    ratio = max(last.h, first.h) / min(last.h, first.h)
    if ratio > p.merge_size_ratio:
        return INFEASIBLE
    pa = predict(a, b.first_frame, fps, from_end=True)
    pb = predict(b, a.last_frame, fps, from_end=False)
    err_b = np.hypot(*(pa[:2] + pa[2:] / 2 - np.array(first.xywh[:2]) - np.array(first.xywh[2:]) / 2))
    err_a = np.hypot(*(pb[:2] + pb[2:] / 2 - np.array(last.xywh[:2]) - np.array(last.xywh[2:]) / 2))
    error = (err_a + err_b) / 2 / ((last.h + first.h) / 2)
    allowed = p.merge_distance + p.merge_distance_per_second * gap / fps
    return float(error / allowed)


def _merge(tracklets: list[Tracklet], fps: float, p: LinkParams) -> list[Tracklet]:
    """Join fragments end-to-start with one assignment; repeat until nothing more joins."""
    while True:
        n = len(tracklets)
        if n < 2:
            return tracklets
        cost = np.full((n, n), INFEASIBLE)
        for i, a in enumerate(tracklets):
            for j, b in enumerate(tracklets):
                if i != j:
                    cost[i, j] = _merge_cost(a, b, fps, p)
        rows, cols = linear_sum_assignment(cost)
        pairs = [(i, j) for i, j in zip(rows, cols) if cost[i, j] < 1.0]
        if not pairs:
            return tracklets
        nxt = dict(pairs)
        heads = sorted(set(range(n)) - set(nxt.values()), key=lambda k: tracklets[k].first_frame)
        merged = []
        for h in heads:
            t = Tracklet(tracklets[h].class_id, dict(tracklets[h].dets))
            k = h
            while k in nxt:
                k = nxt[k]
                t.dets.update(tracklets[k].dets)
            merged.append(t)
        tracklets = merged


# ---------------------------------------------------------------------------------- output
def _evidence(t: Tracklet) -> float:
    return float(sum(d.confidence for d in t.dets.values()))


def _suppress_duplicates(tracklets: list[Tracklet]) -> list[Tracklet]:
    """Whole-track non-maximum suppression (module docstring, step 4), strongest first."""
    order = sorted(range(len(tracklets)), key=lambda k: (-_evidence(tracklets[k]), k))
    same = np.zeros((len(tracklets), len(tracklets)), int)   # [a, b]: frames a's box is b's object
    by_frame: dict[int, list[int]] = {}
    for k, t in enumerate(tracklets):
        for f in t.dets:
            by_frame.setdefault(f, []).append(k)
    for f, ks in by_frame.items():
        if len(ks) > 1:
            boxes = np.array([tracklets[k].dets[f].xywh for k in ks])
            iou = iou_matrix(boxes, boxes)
            for i, j in zip(*np.nonzero(iou >= SAME_OBJECT_IOU)):
                if i != j and tracklets[ks[i]].class_id == tracklets[ks[j]].class_id:
                    same[ks[i], ks[j]] += 1
    kept: list[int] = []
    for k in order:
        if not any(same[k, j] * 2 > len(tracklets[k].dets) for j in kept):
            kept.append(k)
    return [tracklets[k] for k in sorted(kept)]


def _is_candidate(t: Tracklet, p: LinkParams) -> bool:
    return float(np.median([d.confidence for d in t.dets.values()])) < p.confirm_conf


def _fill(t: Tracklet, dets: dict[int, list[Detection]], claimed: set[int], fps: float,
          p: LinkParams, gap_filler: GapFiller | None) -> LinkedTrack:
    """Detector boxes plus every frame between them.

    Inside a gap, a weak unclaimed candidate that overlaps the interpolated box is taken as a
    detector box with its own low confidence (the object was seen, barely: docs/adr/0001), and
    interpolation restarts from it; frames with no such candidate are interpolated (or tracked,
    when a `gap_filler` is given) with a confidence that halves per second from a detection.
    """
    out = LinkedTrack(t.class_id, candidate=_is_candidate(t, p))

    def add(f: int, box, conf: float, source: Source) -> None:
        out.frames.append(f)
        out.boxes.append(tuple(float(v) for v in box))
        out.confidences.append(float(conf))
        out.sources.append(source)

    frames = t.frames
    for a, b in zip(frames, frames[1:] + [None]):
        da = t.dets[a]
        add(a, da.xywh, da.confidence, Source.DETECTOR)
        if b is None or b == a + 1:
            continue
        db = t.dets[b]
        if gap_filler is not None:
            free = {f: [d for d in dets.get(f, []) if id(d) not in claimed and d.class_id == t.class_id]
                    for f in range(a + 1, b)}
            box_a = Box(a, 0, t.class_id, *da.xywh, confidence=da.confidence)
            box_b = Box(b, 0, t.class_id, *db.xywh, confidence=db.confidence)
            for filled in sorted(gap_filler(box_a, box_b, free), key=lambda x: x.frame):
                if filled.source is Source.DETECTOR:  # snapped to a candidate: claim it
                    claimed.update(id(d) for d in free[filled.frame] if d.xywh == tuple(filled.xywh))
                add(filled.frame, filled.xywh, filled.confidence, filled.source)
            continue
        anchor = da
        for f in range(a + 1, b):
            box = np.array(lerp_xywh(anchor.frame, anchor.xywh, b, db.xywh, f))
            snap = best_overlap(box, [d for d in dets.get(f, []) if id(d) not in claimed
                                       and d.class_id == t.class_id], p.extend_iou)
            if snap is not None:
                claimed.add(id(snap))
                anchor = snap
                add(f, snap.xywh, snap.confidence, Source.DETECTOR)
            else:
                near = min(f - anchor.frame, b - f) / fps
                add(f, box, min(anchor.confidence, db.confidence) * 0.5 ** near, Source.INTERPOLATED)
    return out


def link(dets: dict[int, list[Detection]], frames: Sequence[int], fps: float,
         params: LinkParams | None = None, gap_filler: GapFiller | None = None) -> list[LinkedTrack]:
    """Tracks from the detections of `frames` (the detected frames, in any order).

    `dets` maps a frame to its raw candidates (class ids already the project's). The result is
    sorted by first frame, then position, so track ids written in this order are reproducible.
    """
    p = params or LinkParams()
    frames = sorted(set(frames))
    if not frames:
        return []
    step = int(np.median(np.diff(frames))) if len(frames) > 1 else 1
    tracklets = _forward_pass(dets, frames, fps, step, p)
    _extend(tracklets, dets, frames, fps, p, backward=True)
    _extend(tracklets, dets, frames, fps, p, backward=False)
    tracklets = _merge(tracklets, fps, p)
    tracklets = [t for t in tracklets if len(t.dets) >= p.min_detections
                 and _evidence(t) >= p.min_detections * p.accept_conf]
    tracklets = _suppress_duplicates(tracklets)
    tracklets.sort(key=lambda t: (t.first_frame, t.dets[t.first_frame].x, t.dets[t.first_frame].y))
    claimed = {id(d) for t in tracklets for d in t.dets.values()}
    tracks = [_fill(t, dets, claimed, fps, p, gap_filler) for t in tracklets]
    for t in tracks:
        smooth_track(t, fps, p.smooth_seconds)
    return tracks
