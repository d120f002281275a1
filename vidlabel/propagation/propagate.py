"""Propagating a track's box across frames: single-object tracking, blending, interpolation, snapping.

Three ways to fill the frames around a verified box, from most to least informed:

* `propagate`: one tracker run in one direction over many frames per call (CVAT users complain
  about one request per frame), stopping where the tracker's confidence collapses, because a box
  after a collapse is a guess that looks like an answer.
* `track_between`: the frames strictly between two keyframes of one track. A forward run from
  the earlier keyframe and a backward run from the later one are blended, each weighted by its
  confidence and by closeness to its own keyframe (a tracker is most right next to where it
  started). Where only one run survived it is used alone; where both collapsed the gap is
  linearly interpolated between the nearest trusted boxes and marked INTERPOLATED with a low
  confidence, so review finds it. Detections that overlap a propagated box well replace it
  (`snap`): the detector localises better than a tracker that has run for a while.
* `interpolate`: linear, for objects trackers lose, on request.

Everything here is pure: it reads frames and returns `PropagatedBox` values; the caller decides
what to write (and must skip verified boxes and frames, docs/adr/0001-box-model.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..datamodel import XYWH, Box, Detection, Source, iou_xywh, lerp_xywh
from ..errors import PropagationError
from ..video import FrameSource
from .memo import TrackerRun
from .trackers import clip_to_frame, resolve_tracker_name

# A run stops at the first frame whose confidence falls below this. Appearance scores of a
# correctly tracked pedestrian sit mostly above 0.5; a box on background or on another object
# scores well below it (see benchmarks/bench_propagation.py for the measured separation).
DEFAULT_MIN_CONFIDENCE = 0.4
# Consecutive low-confidence frames that end a run: single-frame dips are common (MIL and CSRT
# jitter for a frame and recover), a tracker that stays low for this long has lost the object.
DEFAULT_PATIENCE = 3
# How far one keyframe alone is propagated (towards the video's end or start) when the track has
# no keyframe on the other side: beyond a few seconds an unchecked tracker is rarely still right.
DEFAULT_MAX_SPAN = 50
# Confidence of a linearly interpolated box: low, so the review queue looks at it, but above 0
# because between two nearby keyframes interpolation is often close.
INTERPOLATED_CONFIDENCE = 0.2
SNAP_IOU = 0.5  # a detection this close to a propagated box is taken to be the same object
# A second detection this close to a run's predicted box makes the continuation ambiguous.
AMBIGUOUS_IOU = 0.3
# Forward and backward runs whose boxes overlap less than this disagree: the blended box would be
# between two objects, so the better-weighted run is taken alone and the confidence is lowered.
AGREEMENT_IOU = 0.5
SMOOTH_WINDOW = 5  # frames of the moving mean that removes tracker jitter between keyframes


@dataclass(frozen=True)
class PropagatedBox:
    """A machine-made box for one frame of one track, with where it came from."""

    frame: int
    xywh: tuple[float, float, float, float]
    confidence: float
    source: Source


def machine_boxes(boxes: Iterable[PropagatedBox], track_id: int, class_id: int,
                  existing: Mapping[int, Box], verified_frames: set[int]) -> list[Box]:
    """The boxes a machine may write for one track from propagated values.

    Never over a verified box or into a verified frame (the store's triggers would refuse it:
    docs/adr/0001); an existing box keeps its occluded flag; a box equal to the one already
    there is left out, so a rewrite that changes nothing logs nothing.
    """
    out = []
    for pb in boxes:
        old = existing.get(pb.frame)
        if pb.frame in verified_frames or (old is not None and old.verified):
            continue
        new = Box(pb.frame, track_id, class_id, *pb.xywh, confidence=pb.confidence,
                  source=Source(pb.source), occluded=old.occluded if old else False)
        if old is None or old.with_(id=None) != new:
            out.append(new)
    return out


def _where(box: Box) -> str:
    return f"track {box.track_id}, frame {box.frame}"


def _check_frames(start: Box, frames: Sequence[int]) -> list[int]:
    """Frames as ints, strictly monotonic and all on one side of the start frame."""
    frames = [int(f) for f in frames]
    if not frames:
        return frames
    steps = np.diff([start.frame, *frames])
    if not (np.all(steps > 0) or np.all(steps < 0)):
        raise PropagationError("frames to propagate to must be strictly increasing after the start frame "
                               "or strictly decreasing before it", _where(start))
    return frames


def propagate(video: FrameSource, start: Box, frames: Sequence[int], tracker: str = "auto",
              min_confidence: float = DEFAULT_MIN_CONFIDENCE,
              patience: int = DEFAULT_PATIENCE,
              guide: Mapping[int, Sequence[Detection]] | None = None) -> list[PropagatedBox]:
    """Track `start` through `frames` (one direction, in order); stop where confidence collapses.

    A collapse is `patience` consecutive frames below `min_confidence`, or the tracker reporting
    failure; the boxes of the collapse itself are not returned. A shorter dip (a passer-by, a
    blurred frame) is kept with its low confidence, so the run goes on and review still sees the
    dip. A start box with too little of it inside the frame has nothing to follow: empty list.

    With `guide` (the accepted detections of each frame), a frame where exactly one detection
    continues the box's motion (`_continuation`) takes that detection, marked DETECTOR, and the
    single-object tracker runs only where none does, started again from the last box: the
    detector localises better than a tracker that has run for a while, and costs nothing here,
    while the tracker costs 2-25 ms a frame plus the frame's decoding (the same division of
    labour as pre-labelling's linking, docs/propagation.md).
    """
    frames = _check_frames(start, frames)
    out = list(_steps(video, start, frames, tracker, min_confidence, patience, guide))
    while out and not _trusted(out[-1], min_confidence):
        out.pop()
    return out


def _steps(video: FrameSource, start: Box, frames: list[int], tracker: str, min_confidence: float,
           patience: int, guide: Mapping[int, Sequence[Detection]] | None) -> Iterator[PropagatedBox]:
    """`propagate`'s run, one box at a time, so that a caller can stop it early (`repair`)."""
    if start.outside:
        raise PropagationError("the start box is marked outside (not in view): nothing to track", _where(start))
    tracker = resolve_tracker_name(tracker)  # an unknown name fails even when there is nothing to do
    if not frames or clip_to_frame(start.xywh, (video.height, video.width)) is None:
        return
    out: list[PropagatedBox] = []
    runner = None   # a tracker run from the last box, or None when the last box was a detection
    low = 0
    try:
        for f in frames:
            det = _continuation(guide.get(f, ()), start, out, f) if guide else None
            if det is not None:
                out.append(PropagatedBox(f, tuple(float(v) for v in det.xywh), float(det.confidence),
                                         Source.DETECTOR))
                if runner is not None:
                    runner.close()
                runner, low = None, 0
                yield out[-1]
                continue
            if runner is None:
                last = out[-1] if out else PropagatedBox(start.frame, start.xywh, 1.0, Source.HUMAN)
                if clip_to_frame(last.xywh, (video.height, video.width)) is None:
                    return
                runner = TrackerRun(video, tracker, last.frame, last.xywh)
            xywh, confidence = runner.update(f)
            if xywh is None:
                return
            out.append(PropagatedBox(f, xywh, confidence, Source.TRACKER))
            yield out[-1]
            low = low + 1 if confidence < min_confidence else 0
            if low >= patience:
                return
    finally:
        if runner is not None:
            runner.close()


def _trusted(box: PropagatedBox, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> bool:
    """A guided detection is evidence in itself; a tracker's box is as good as its confidence."""
    return box.source is Source.DETECTOR or box.confidence >= min_confidence


def _continuation(dets: Sequence[Detection], start: Box, run: list[PropagatedBox], frame: int
                  ) -> Detection | None:
    """The one detection on `frame` that continues the run's motion, if exactly one does.

    The run's box is extrapolated to `frame` at the velocity of its last two boxes (when they
    are on adjacent frames); a detection overlapping that prediction by SNAP_IOU continues it,
    unless a second one overlaps by AMBIGUOUS_IOU too (two people crossing): then appearance
    has to decide, and the tracker runs.
    """
    if not dets:
        return None
    boxes = [(start.frame, start.xywh)] + [(b.frame, b.xywh) for b in run[-2:]]
    (f1, b1) = boxes[-1]
    predicted = np.asarray(b1, float)
    if len(boxes) >= 2 and abs(f1 - boxes[-2][0]) == 1:
        predicted = predicted + (predicted - np.asarray(boxes[-2][1], float)) * abs(frame - f1)
    overlaps = sorted(((iou_xywh(tuple(predicted), d.xywh), k) for k, d in enumerate(dets)), reverse=True)
    best, k = overlaps[0]
    second = overlaps[1][0] if len(overlaps) > 1 else 0.0
    return dets[k] if best >= SNAP_IOU and second < AMBIGUOUS_IOU else None


def _lerp(frame_a: int, a: XYWH, frame_b: int, b: XYWH, frames: Sequence[int],
          confidence: float = INTERPOLATED_CONFIDENCE) -> list[PropagatedBox]:
    out = []
    for f in frames:
        out.append(PropagatedBox(f, lerp_xywh(frame_a, a, frame_b, b, f), confidence,
                                 Source.INTERPOLATED))
    return out


def interpolate(start: Box, end: Box) -> list[PropagatedBox]:
    """Linear interpolation of x, y, w, h for the frames strictly between two keyframes."""
    if start.frame >= end.frame:
        raise PropagationError(f"start frame {start.frame} is not before end frame {end.frame}", _where(start))
    for box in (start, end):
        if box.outside:
            raise PropagationError("cannot interpolate from a box marked outside (not in view)", _where(box))
    return _lerp(start.frame, start.xywh, end.frame, end.xywh, range(start.frame + 1, end.frame))


def _blend(f: int, s: int, e: int, fwd: PropagatedBox, bwd: PropagatedBox) -> PropagatedBox:
    """One box from a forward and a backward run on frame `f` between keyframes `s` and `e`.

    Each run's weight is its confidence times its closeness to its own keyframe. When the two
    boxes agree (IoU >= AGREEMENT_IOU) they are averaged and the confidence is the weighted
    mean; when they disagree one of them is on something else, so the better-weighted box is
    kept and the confidence scaled down towards half by the disagreement.
    """
    wf = fwd.confidence * (e - f)
    wb = bwd.confidence * (f - s)
    total = wf + wb
    if total <= 0:
        wf, wb, total = 1.0, 1.0, 2.0
    confidence = (wf * fwd.confidence + wb * bwd.confidence) / total
    agreement = iou_xywh(fwd.xywh, bwd.xywh)
    if agreement >= AGREEMENT_IOU:
        xywh = tuple(float((wf * u + wb * v) / total) for u, v in zip(fwd.xywh, bwd.xywh))
    else:
        xywh = fwd.xywh if wf >= wb else bwd.xywh
        confidence *= 0.5 + 0.5 * agreement / AGREEMENT_IOU
    return PropagatedBox(f, xywh, float(confidence), Source.TRACKER)


ARRIVED, COLLAPSED, MISSED = "arrived", "collapsed", "missed"


def _anchored(run: list[PropagatedBox], origin: Box, target: Box) -> tuple[dict[int, PropagatedBox], str]:
    """A run's trusted boxes strictly between its keyframes, and how it ended.

    A run continued to the other keyframe ends in one of three ways. ARRIVED: it is on the
    object there (IoU >= AGREEMENT_IOU), consistent with both ends, the best evidence there is
    that it never left the object; its remaining error there is a bias the tracker accumulated
    (its box slid or grew against the annotator's idea of the extent), and spreading that
    error linearly along the run, zero at its own keyframe, makes it pass through both
    keyframes. COLLAPSED: its confidence collapsed on the way, an honest stop, so the boxes
    before it are as trustworthy as their confidence. MISSED: it got there confidently but on
    something else, so it drifted somewhere without the confidence showing it.
    """
    by_frame = {b.frame: b for b in run if _trusted(b)}
    arrival = by_frame.pop(target.frame, None)
    if arrival is None:
        return by_frame, COLLAPSED
    if iou_xywh(arrival.xywh, target.xywh) < AGREEMENT_IOU:
        return by_frame, MISSED
    residual = np.subtract(target.xywh, arrival.xywh)
    span = target.frame - origin.frame
    return {f: PropagatedBox(f, tuple(float(v) for v in np.add(b.xywh, residual * (f - origin.frame) / span)),
                             b.confidence, b.source)
            for f, b in by_frame.items()}, ARRIVED


def _agreeing(run: dict[int, PropagatedBox], other: dict[int, PropagatedBox]) -> dict[int, PropagatedBox]:
    """The boxes of `run` that the other run confirms (IoU >= AGREEMENT_IOU on the same frame)."""
    return {f: b for f, b in run.items() if f in other and iou_xywh(b.xywh, other[f].xywh) >= AGREEMENT_IOU}


def _between(video: FrameSource, start: Box, end: Box, tracker: str,
             guide: Mapping[int, Sequence[Detection]] | None = None) -> list[PropagatedBox]:
    """Forward and backward runs, each continued to the other keyframe to see how it ends.

    When exactly one run ARRIVED, only it is used: the other either stopped or drifted. A run
    that MISSED while the other COLLAPSED honestly is kept only where the other confirms it.
    When both MISSED, nothing says which one drifted, or the keyframes may even hold two
    different objects (a linking error): each run is then trusted near its own keyframe, which
    `_blend` does where they disagree, and the lowered confidence sends the stretch to review.
    What remains is blended frame by frame, and what no run covers is interpolated.
    """
    s, e = start.frame, end.frame
    if e - s < 2:
        return []
    forward, fwd_end = _anchored(propagate(video, start, range(s + 1, e + 1), tracker, guide=guide),
                                 start, end)
    backward, bwd_end = _anchored(propagate(video, end, range(e - 1, s - 1, -1), tracker, guide=guide),
                                  end, start)
    if fwd_end == ARRIVED and bwd_end != ARRIVED:
        backward = {}
    elif bwd_end == ARRIVED and fwd_end != ARRIVED:
        forward = {}
    elif fwd_end == MISSED and bwd_end == COLLAPSED:
        forward = _agreeing(forward, backward)
    elif bwd_end == MISSED and fwd_end == COLLAPSED:
        backward = _agreeing(backward, forward)
    trusted: dict[int, PropagatedBox] = {}
    for f in range(s + 1, e):
        fwd, bwd = forward.get(f), backward.get(f)
        if fwd and bwd:
            trusted[f] = _blend(f, s, e, fwd, bwd)
        elif fwd or bwd:
            trusted[f] = fwd or bwd
    # Frames no run trusts (dips, or the stretch where both collapsed) are interpolated
    # between the nearest trusted boxes on either side, the keyframes included.
    anchors = {s: start.xywh, **{f: b.xywh for f, b in trusted.items()}, e: end.xywh}
    keys = sorted(anchors)
    out = dict(trusted)
    for left, right in zip(keys, keys[1:]):
        if right - left > 1:
            for box in _lerp(left, anchors[left], right, anchors[right], range(left + 1, right)):
                out[box.frame] = box
    return _smooth(start, end, [out[f] for f in sorted(out)])


def _smooth(start: Box, end: Box, boxes: list[PropagatedBox]) -> list[PropagatedBox]:
    """A centred moving mean over SMOOTH_WINDOW frames, the keyframes pinned.

    Trackers jitter by a few pixels from frame to frame (their box locks onto texture: a
    swinging arm, a shadow) while objects move smoothly; averaging removes the jitter and
    keeps the path. Near a keyframe the window shrinks symmetrically, so the keyframe's own
    box is never moved and the boxes next to it stay close to it.
    """
    seq = np.array([start.xywh, *[b.xywh for b in boxes], end.xywh], float)
    half = SMOOTH_WINDOW // 2
    out = []
    for k, box in enumerate(boxes, start=1):
        r = min(half, k, len(seq) - 1 - k)
        xywh = seq[k - r:k + r + 1].mean(axis=0)
        out.append(PropagatedBox(box.frame, tuple(float(v) for v in xywh), box.confidence, box.source))
    return out


def _snap(boxes: list[PropagatedBox], snap: Mapping[int, Sequence[Detection]] | None) -> list[PropagatedBox]:
    """Replace each box by the best-overlapping detection of its frame when IoU >= SNAP_IOU."""
    if not snap:
        return boxes
    out = []
    for box in boxes:
        best, best_iou = None, SNAP_IOU
        for det in snap.get(box.frame, ()):
            overlap = iou_xywh(box.xywh, det.xywh)
            if overlap >= best_iou:
                best, best_iou = det, overlap
        if best is not None:
            box = PropagatedBox(box.frame, tuple(float(v) for v in best.xywh), float(best.confidence),
                                Source.DETECTOR)
        out.append(box)
    return out


def track_between(video: FrameSource, start: Box | None, end: Box | None, tracker: str = "auto",
                  snap: Mapping[int, Sequence[Detection]] | None = None,
                  max_span: int = DEFAULT_MAX_SPAN,
                  guide: Mapping[int, Sequence[Detection]] | None = None) -> list[PropagatedBox]:
    """Boxes for the frames strictly between two keyframes of one track (see the module doc).

    `guide` lets detections carry the runs where they continue the box's motion (`propagate`);
    `snap` replaces finished boxes by the detections that overlap them.

    With only one keyframe (the other None) the track is propagated up to `max_span` frames
    towards the video's end (from `start`) or start (from `end`). A keyframe marked outside
    bounds the stretch without being tracked from: the object is not in view there, so the
    other keyframe is propagated towards it (at most `max_span` frames) and nothing is
    interpolated into the frames where the object may already be gone.
    """
    if start is None and end is None:
        raise PropagationError("track_between needs a start or an end keyframe")
    if max_span < 0:
        raise PropagationError(f"max_span must be >= 0, got {max_span}")
    if start is not None and end is not None:
        if start.frame >= end.frame:
            raise PropagationError(f"start keyframe {start.frame} is not before end keyframe {end.frame}",
                                   _where(start))
        if start.track_id != end.track_id:
            raise PropagationError(f"keyframes belong to different tracks ({start.track_id} and {end.track_id})",
                                   f"frames {start.frame} and {end.frame}")
    stop = end.frame if end is not None else video.frame_count
    first = start.frame if start is not None else -1
    if start is not None and not start.outside and end is not None and not end.outside:
        boxes = _between(video, start, end, tracker, guide)
    elif start is not None and not start.outside:
        boxes = propagate(video, start, range(start.frame + 1, min(stop, start.frame + 1 + max_span)), tracker,
                          guide=guide)
    elif end is not None and not end.outside:
        boxes = propagate(video, end, range(end.frame - 1, max(first, end.frame - 1 - max_span), -1), tracker,
                          guide=guide)
        boxes.reverse()
    else:
        resolve_tracker_name(tracker)  # still reject an unknown tracker name
        boxes = []
    return _snap(boxes, snap)
