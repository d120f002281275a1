"""The annotation loop replayed with an annotator (any `Annotator`), through the public loop API only.

queue -> the annotator corrects the batch -> re-propagation and re-scoring settle -> quality of the
whole video is recorded -> repeat, until the budget of human seconds is spent or the queue is
empty. Everything here goes through `ReviewSession` (`next_batch`, `boxes`, the correction
methods, `wait_idle`, `all_boxes`): the simulator is one more annotator of the loop API, like the
app or an evaluation script (docs/loop-api.md), so what it measures is what a person would get.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..datamodel import Box, EditKind, iou_xywh
from ..errors import VidlabelError
from .annotator import PASS_IOU, Annotator, Decision
from .curves import CurvePoint, LearningCurve
from .groundtruth import GroundTruth
from .metrics import score


@dataclass
class LoopRun:
    """One replay: its learning curve, the annotator (actions, seconds) and the batches shown."""

    strategy: str
    batch: int
    seed: int
    curve: LearningCurve
    annotator: Annotator
    batches: int


def _current(session, frame: int, track_id: int) -> Box | None:
    """The track's box on the frame now (box ids may change under re-propagation; tracks don't)."""
    return next((b for b in session.boxes(frame, candidates=True) if b.track_id == track_id), None)


def apply_decision(session, d: Decision, annotator: Annotator,
                   frame_review: bool = False) -> None:
    """Carry out one decision with the correction API, and pay for it only if it applied.

    On a frame review a `check` needs no call of its own: the `accept_frame` that ends the review
    verifies every box on the frame, as one Enter press does in the app."""
    if d.kind == EditKind.ACCEPT:
        session.accept_frame(d.frame)
        return
    if d.kind == EditKind.DRAW:
        try:
            edit = session.add_box(d.frame, d.xywh, d.class_id, d.target_track)
        except VidlabelError:   # the remembered track is gone (merged away): draw a new one
            edit = session.add_box(d.frame, d.xywh, d.class_id)
        annotator.count("draw")
        annotator.remember(edit.track_ids[0], d.object_id)
        return
    box = _current(session, d.frame, d.track_id)
    if box is None:
        return
    if d.kind == EditKind.CHECK:
        if not frame_review:
            session.accept_box(box.id)
    elif d.kind == EditKind.FIX:
        session.move_box(box.id, d.xywh)
    elif d.kind == EditKind.RETRACK:   # swaps with the target track's box if it has one here
        session.set_box_track(box.id, d.target_track)
        if iou_xywh(box.xywh, d.xywh) < PASS_IOU:
            session.move_box(_current(session, d.frame, d.target_track).id, d.xywh)
    elif d.kind == EditKind.DELETE:
        session.delete_box(box.id)
    elif d.kind == EditKind.END:
        session.mark_outside(d.track_id, d.frame)
    annotator.count(d.kind)
    if d.object_id is not None and d.kind in (EditKind.CHECK, EditKind.FIX, EditKind.RETRACK):
        annotator.remember(d.target_track if d.kind == EditKind.RETRACK else d.track_id, d.object_id)


CHANGES = (EditKind.SPLIT, EditKind.WRONG_FROM_HERE)


def answer_track(session, pick, annotator: Annotator) -> None:
    """A track pick: the track's boxes on the crop frames, one decision for the track.

    Where the annotator says the track changes object at a crop, the tool narrows down the
    frame it changed on, as the app's filmstrip does (`Controller.narrow_track_pick`): it shows
    the track's box halfway between the last crop still on the object and the first one past
    it, and halves again by the answer, one look per crop, until the two are neighbours; the
    split (or the deletion of the tail) is made there, not at a crop that may lie frames later."""
    track = pick.track_id
    crops = _crops(session, track, pick.crops)
    if not crops:
        return
    decisions = annotator.review_track(track, crops)
    if any(d.kind == EditKind.DELETE_TRACK for d in decisions):
        session.delete_track(track, shown=len(crops))
        annotator.count(EditKind.DELETE_TRACK)
        return
    _carry_out(session, track, crops, decisions, annotator)


def answer_group(session, pick, annotator: Annotator) -> None:
    """A "delete all similar" pick: each track's crops are a track pick to the annotator (the
    protocol has no other question: "is this track on a wanted object?"), and the tracks it
    would delete go in one action, one delete paid, as the app's one key press. The others are
    settled as their track picks would be. The crops of deleted tracks are the action's looks;
    a kept track's are paid by its own accept, fix or split."""
    gone, shown = [], 0
    for track, frames in pick.group:
        crops = _crops(session, track, frames)
        if not crops:
            continue
        decisions = annotator.review_track(track, crops)
        if any(d.kind == EditKind.DELETE_TRACK for d in decisions):
            gone.append(track)
            shown += len(crops)
        else:
            _carry_out(session, track, crops, decisions, annotator)
    if gone:
        session.delete_tracks(gone, shown=shown)
        annotator.count(EditKind.DELETE_TRACK)


def _crops(session, track: int, frames) -> dict[int, Box]:
    """The track's visible boxes on the crop frames, as they are now."""
    return {f: b for f in frames if (b := _current(session, f, track)) is not None and not b.outside}


def _carry_out(session, track: int, crops: dict[int, Box], decisions: list[Decision],
               annotator: Annotator) -> None:
    """A track pick's answer short of deleting the track: crops accepted or fixed, and a split
    (or the tail deleted) where the track changed, found by halving between two crops."""
    change = next((d for d in decisions if d.kind in CHANGES), None)
    _settle_crops(session, track, [d for d in decisions if d.kind in (EditKind.CHECK, EditKind.FIX)], annotator)
    if change is None:
        return
    last_right = max((d.frame for d in decisions if d.kind in (EditKind.CHECK, EditKind.FIX)), default=-1)
    shown = len([f for f in crops if f >= change.frame])
    while between := [b.frame for b in session.track_boxes(track, last_right + 1, change.frame - 1)]:
        middle = between[len(between) // 2]
        answer = annotator.review_track(track, {middle: _current(session, middle, track)})
        if answer and answer[0].kind in CHANGES:
            change, shown = answer[0], shown + 1
        else:
            _settle_crops(session, track, answer, annotator)
            last_right = middle
    if change.kind == EditKind.SPLIT:
        session.split_track(track, change.frame, shown=shown)
    else:
        session.wrong_from_here(track, change.frame, shown=shown)
    annotator.count(change.kind)


def _settle_crops(session, track: int, decisions: list[Decision], annotator: Annotator) -> None:
    """The crops on the track's own object: fixed where the box is off, the rest accepted."""
    for d in decisions:
        if d.kind == EditKind.FIX:
            session.move_box(_current(session, d.frame, track).id, d.xywh)
            annotator.count(d.kind)
        if d.object_id is not None:
            annotator.remember(track, d.object_id)
    checks = [d.frame for d in decisions if d.kind == EditKind.CHECK]
    if checks:
        session.accept_stretch(track, checks)


def answer(session, pick, annotator: Annotator) -> None:
    """The annotator's answer to one pick: similar tracks, a track's crops, the whole frame, or
    one box."""
    if pick.group:
        answer_group(session, pick, annotator)
        return
    if pick.crops:
        answer_track(session, pick, annotator)
        return
    boxes = session.boxes(pick.frame)
    if pick.track_id is not None:
        decisions = annotator.review_box(pick.frame, pick.track_id, boxes)
    else:
        decisions = annotator.review_frame(pick.frame, boxes)
    for d in decisions:
        apply_decision(session, d, annotator, frame_review=pick.track_id is None)


def _point(gt: GroundTruth, session, annotator: Annotator) -> CurvePoint:
    """The true quality after a batch, beside what the session estimates it is (at target 0.99)."""
    q = score(gt, session.all_boxes())
    guess = session.stopping(0.99)
    return CurvePoint(annotator.seconds, q.quality, q.recall_50, q.recall_70, q.precision_50,
                      q.id_switches, dict(annotator.actions), guess["estimated_quality"], guess["stop"])


# A replay stops once the whole video scores this well: the table's targets are 0.95 and 0.99,
# and the learning curve is extended flat after its last point, so going on only costs time.
QUALITY_STOP = 0.995


class Replay:
    """The loop of one strategy on one session, run in stretches: `advance(budget)` goes on until
    `budget` human seconds are spent, the queue runs dry, or the quality reaches `QUALITY_STOP`,
    and can be called again with a larger budget (the strategy lab drops replays that are
    clearly behind after the first stretch, `experiment.py`).

    `gt` is used only to score the whole video after each batch; the annotator sees ground truth
    only through its own `ShownFrames` view, for the frames the queue shows it. A batch whose
    picks were all answered before (a box the annotator left as it was, e.g. on an ignore region,
    comes back unverified) ends the run: the queue has nothing new to show."""

    def __init__(self, session, annotator: Annotator, gt: GroundTruth, strategy: str,
                 batch: int, seed: int = 0, **params) -> None:
        self.session, self.annotator, self.gt = session, annotator, gt
        self.strategy, self.batch, self.seed, self.params = strategy, batch, seed, params
        session.wait_idle()
        self.curve = LearningCurve([_point(gt, session, annotator)])
        self.batches = 0
        self.dry = False     # the queue had nothing new to show
        self._answered: set[tuple[int, int | None]] = set()

    @property
    def finished(self) -> bool:
        return self.dry or self.curve.final.quality >= QUALITY_STOP

    def advance(self, budget: float, on_batch: Callable[[CurvePoint], None] | None = None) -> LoopRun:
        while self.annotator.seconds < budget and not self.finished:
            picks = self.session.next_batch(self.batch, self.strategy, seed=self.seed, **self.params)
            keys = {(p.frame, p.track_id) for p in picks}
            if not picks or keys <= self._answered:
                self.dry = True
                break
            self._answered |= keys
            for pick in picks:
                answer(self.session, pick, self.annotator)
            self.session.wait_idle()
            self.batches += 1
            self.curve.add(_point(self.gt, self.session, self.annotator))
            if on_batch:
                on_batch(self.curve.final)
        return LoopRun(self.strategy, self.batch, self.seed, self.curve, self.annotator, self.batches)


def run_loop(session, annotator: Annotator, gt: GroundTruth, strategy: str,
             batch: int, budget: float, seed: int = 0,
             on_batch: Callable[[CurvePoint], None] | None = None, **params) -> LoopRun:
    """Replay the loop until `budget` human seconds are spent, the queue runs dry, or the
    quality reaches `QUALITY_STOP` (`Replay`, in one stretch)."""
    return Replay(session, annotator, gt, strategy, batch, seed, **params).advance(budget, on_batch)
