"""Baselines the review loop must beat, replayed with the same annotator and time model.

* `fully_manual`: every frame in order, every object drawn.
* `fixed_interpolation(n)`: keyframes every n frames (plus the last frame), linear interpolation
  between them; at a keyframe the person sees the previous keyframe's boxes carried over (as in
  CVAT's track mode) and corrects them.
* `adaptive_interpolation`: keyframes at the first and last frame, then the person scans each
  stretch between keyframes (looking at every frame of it), adds a keyframe at the worst frame,
  and repeats until every frame passes.
* `tracker_only`: no detector; the person draws each object on its first frame, a single-object
  tracker carries it, and every frame is checked in order, fixing where IoU < 0.5.
* `detector_only`: the pre-labels reviewed in frame order, with no queue and no re-propagation.

They run on an in-memory `BoxSet` that follows the correction API's rules (docs/adr/0001), not
on a project, because they need none of the loop's machinery and must stay cheap to replay. A
baseline pays the same per-object look as the loop for every frame whose ground truth it looks at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..datamodel import Box, Source, iou_xywh, lerp_xywh
from ..errors import TrackerError
from ..propagation.trackers import SingleObjectTracker, create_tracker
from .annotator import PASS_IOU, Decision, SimulatedAnnotator
from .curves import CurvePoint, LearningCurve
from .groundtruth import GroundTruth, ShownFrames
from .metrics import score


class BoxSet:
    """Boxes by (frame, track) with the correction API's meaning of each human decision."""

    def __init__(self, boxes: Iterable[Box] = ()) -> None:
        self._boxes: dict[tuple[int, int], Box] = {(b.frame, b.track_id): b for b in boxes}
        self._next_track = max((t for _, t in self._boxes), default=0) + 1

    def frame(self, frame: int) -> list[Box]:
        return sorted((b for (f, _), b in self._boxes.items() if f == frame and not b.outside),
                      key=lambda b: b.track_id)

    def all(self) -> list[Box]:
        return [b for b in self._boxes.values() if not b.outside]

    def get(self, frame: int, track: int) -> Box | None:
        return self._boxes.get((frame, track))

    def put(self, box: Box) -> None:
        self._boxes[(box.frame, box.track_id)] = box

    def remove(self, frame: int, track: int) -> None:
        self._boxes.pop((frame, track), None)

    def track(self, track: int) -> list[Box]:
        return sorted((b for (_, t), b in self._boxes.items() if t == track), key=lambda b: b.frame)

    def tracks(self) -> set[int]:
        return {t for _, t in self._boxes}

    def new_track(self) -> int:
        self._next_track += 1
        return self._next_track - 1

    def apply(self, d: Decision, annotator: SimulatedAnnotator) -> int | None:
        """Carry out one decision; returns the track it concerned (None when it no longer applies)."""
        human = dict(source=Source.HUMAN, verified=True, confidence=1.0)
        if d.kind == "accept":
            for b in self.frame(d.frame):
                self.put(b.with_(verified=True))
            annotator.count("accept")
            return None
        if d.kind == "draw":
            track = d.target_track if d.target_track is not None else self.new_track()
            self.put(Box(d.frame, track, d.class_id, *d.xywh, **human))
            annotator.count("draw")
            annotator.remember(track, d.object_id)
            return track
        box = self.get(d.frame, d.track_id)
        if box is None or box.outside:
            return None
        if d.kind == "check":
            self.put(box.with_(verified=True))
        elif d.kind == "fix":
            self.put(box.with_(x=d.xywh[0], y=d.xywh[1], w=d.xywh[2], h=d.xywh[3], **human))
        elif d.kind == "retrack":
            self.remove(d.frame, d.track_id)
            geom = d.xywh if iou_xywh(box.xywh, d.xywh) < PASS_IOU else box.xywh
            self.put(box.with_(track_id=d.target_track, x=geom[0], y=geom[1], w=geom[2], h=geom[3],
                               **human))
        elif d.kind == "delete":
            self.remove(d.frame, d.track_id)
        elif d.kind == "end":
            later = [b for b in self.track(d.track_id) if b.frame > d.frame]
            stop = min((b.frame for b in later if b.verified), default=1 << 62)
            for b in later:
                if b.frame < stop and not b.verified:
                    self.remove(b.frame, b.track_id)
            self.put(box.with_(outside=True, verified=True, source=Source.HUMAN))
        annotator.count(d.kind)
        if d.object_id is not None and d.kind in ("check", "fix", "retrack"):
            annotator.remember(d.target_track if d.kind == "retrack" else d.track_id, d.object_id)
        return d.track_id


@dataclass
class BaselineRun:
    """A baseline's learning curve and the annotator that paid for it."""

    name: str
    curve: LearningCurve
    annotator: SimulatedAnnotator


class _Recorder:
    """Scores the box set every `every` reviewed frames (and at the end) into a learning curve."""

    def __init__(self, gt: GroundTruth, annotator: SimulatedAnnotator, boxes: BoxSet,
                 every: int) -> None:
        self.gt, self.annotator, self.boxes, self.every = gt, annotator, boxes, max(1, every)
        self.curve = LearningCurve()
        self._since = 0
        self.record()

    def step(self) -> None:
        self._since += 1
        if self._since >= self.every:
            self.record()

    def record(self) -> None:
        q = score(self.gt, self.boxes.all())
        self.curve.add(CurvePoint(self.annotator.seconds, q.quality, q.recall_50, q.recall_70,
                                  q.precision_50, q.id_switches, dict(self.annotator.actions)))
        self._since = 0


def _review(view: ShownFrames, annotator: SimulatedAnnotator, boxes: BoxSet, frame: int) -> None:
    view.show(frame)
    for d in annotator.review_frame(frame, boxes.frame(frame)):
        boxes.apply(d, annotator)


def _setup(gt: GroundTruth, annotator_factory, prelabels: Iterable[Box] = ()):
    view = ShownFrames(gt)
    annotator = annotator_factory(view)
    return view, annotator, BoxSet(prelabels)


def fully_manual(gt: GroundTruth, annotator_factory: Callable[[ShownFrames], SimulatedAnnotator],
                 record_every: int = 10) -> BaselineRun:
    """Every frame in order, every object drawn by hand."""
    return _every_frame_in_order("manual", gt, annotator_factory, (), record_every)


def _every_frame_in_order(name: str, gt: GroundTruth, annotator_factory, prelabels: Iterable[Box],
                          record_every: int) -> BaselineRun:
    """Review every frame in order, starting from `prelabels`; no correction spreads."""
    view, annotator, boxes = _setup(gt, annotator_factory, prelabels)
    rec = _Recorder(gt, annotator, boxes, record_every)
    for f in gt.frames():
        _review(view, annotator, boxes, f)
        rec.step()
    rec.record()
    return BaselineRun(name, rec.curve, annotator)


def manual_cost(gt: GroundTruth, annotator_factory) -> float:
    """Human seconds of fully manual annotation: the right end of the ALC's x-axis."""
    view, annotator, boxes = _setup(gt, annotator_factory)
    for f in gt.frames():
        _review(view, annotator, boxes, f)
    return annotator.seconds


def _interpolate(boxes: BoxSet, a: int, b: int) -> None:
    """Linear interpolation of every track visible and verified at keyframes a and b; tracks not
    visible at both lose their unverified boxes in between."""
    for t in boxes.tracks():
        ka, kb = boxes.get(a, t), boxes.get(b, t)
        for f in range(a + 1, b):
            cur = boxes.get(f, t)
            if cur is not None and cur.verified:
                continue
            if ka is None or kb is None or ka.outside or kb.outside:
                if cur is not None:
                    boxes.remove(f, t)
                continue
            boxes.put(Box(f, t, ka.class_id, *lerp_xywh(a, ka.xywh, b, kb.xywh, f), confidence=1.0,
                          source=Source.INTERPOLATED))


def _carry(boxes: BoxSet, src: int, dst: int) -> None:
    """Show the previous keyframe's boxes on a new keyframe, as a track-mode tool does."""
    for b in boxes.frame(src):
        if boxes.get(dst, b.track_id) is None:
            boxes.put(b.with_(frame=dst, verified=False, source=Source.INTERPOLATED))


def fixed_interpolation(gt: GroundTruth, annotator_factory, every: int,
                        record_every: int = 1) -> BaselineRun:
    """Keyframes every `every` frames and the last frame, linear interpolation in between."""
    view, annotator, boxes = _setup(gt, annotator_factory)
    rec = _Recorder(gt, annotator, boxes, record_every)
    keys = sorted(set(range(0, gt.frame_count, every)) | {gt.frame_count - 1})
    prev = None
    for k in keys:
        if prev is not None:
            _carry(boxes, prev, k)
        _review(view, annotator, boxes, k)
        if prev is not None:
            _interpolate(boxes, prev, k)
        prev = k
        rec.step()
    rec.record()
    return BaselineRun(f"interpolation-{every}", rec.curve, annotator)


def adaptive_interpolation(gt: GroundTruth, annotator_factory,
                           record_every: int = 1) -> BaselineRun:
    """Keyframes at both ends, then a keyframe at the worst frame of each stretch until all pass.

    Finding the worst frame means looking at every frame of the stretch: each scan pays one look
    per object on each frame it looks at (boxes shown plus objects missing)."""
    view, annotator, boxes = _setup(gt, annotator_factory)
    rec = _Recorder(gt, annotator, boxes, record_every)
    first, last = 0, gt.frame_count - 1
    _review(view, annotator, boxes, first)
    if last > first:
        _carry(boxes, first, last)
        _review(view, annotator, boxes, last)
        _interpolate(boxes, first, last)
    rec.step()
    stretches = [(first, last)] if last - first > 1 else []
    while stretches:
        a, b = stretches.pop(0)
        scan: dict[int, tuple[int, int]] = {}
        for f in range(a + 1, b):
            view.show(f)
            scan[f] = annotator.inspect(f, boxes.frame(f))
            annotator.actions["look"] += scan[f][1]
        worst = max(scan, key=lambda f: (scan[f][0], -f))
        if scan[worst][0] == 0:
            continue
        annotator.actions["look"] -= scan[worst][1]   # looked at again, and paid, in its review
        _review(view, annotator, boxes, worst)
        _interpolate(boxes, a, worst)
        _interpolate(boxes, worst, b)
        stretches += [s for s in ((a, worst), (worst, b)) if s[1] - s[0] > 1]
        rec.step()
    rec.record()
    return BaselineRun("adaptive-interpolation", rec.curve, annotator)


def detector_only(gt: GroundTruth, annotator_factory, prelabels: Iterable[Box],
                  record_every: int = 10) -> BaselineRun:
    """The pre-labels reviewed frame by frame in order; corrections do not spread."""
    return _every_frame_in_order("detector-only", gt, annotator_factory, prelabels, record_every)


def tracker_only(gt: GroundTruth, annotator_factory, video, tracker: str = "auto",
                 record_every: int = 10) -> BaselineRun:
    """No detector: each object is drawn on its first frame and a single-object tracker carries
    it (`vidlabel.propagation.trackers`, CSRT by default); every frame is checked in order and a box is fixed,
    and its tracker restarted, whenever its IoU with the true box falls below 0.5."""
    view, annotator, boxes = _setup(gt, annotator_factory)
    rec = _Recorder(gt, annotator, boxes, record_every)
    running: dict[int, SingleObjectTracker] = {}
    for f in gt.frames():
        image = video.frame(f)
        for t, follower in running.items():
            xywh, conf = follower.update(image)
            prev = boxes.get(f - 1, t)
            if xywh is not None and boxes.get(f, t) is None:
                boxes.put(Box(f, t, prev.class_id if prev else 0, *xywh, confidence=conf,
                              source=Source.TRACKER))
        _review(view, annotator, boxes, f)
        running = {t: r for t, r in running.items() if boxes.get(f, t) is not None
                   and not boxes.get(f, t).outside}
        for b in boxes.frame(f):
            if b.source == Source.HUMAN:
                follower = create_tracker(tracker)
                try:
                    follower.init(image, b.xywh)
                except TrackerError:     # a sliver at the border: nothing to follow
                    running.pop(b.track_id, None)
                    continue
                running[b.track_id] = follower
        rec.step()
    rec.record()
    return BaselineRun("tracker-only", rec.curve, annotator)
