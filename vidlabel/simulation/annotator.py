"""The simulated careful annotator.

On every frame the tool shows it, the annotator does what a careful person does: it looks at each
box shown, accepts the right ones (`check`), moves the ones whose IoU with their true box is below
0.5 (`fix`), deletes duplicate boxes (`delete`), ends the track of a box that stands on nothing
(`end`: the object has left, or the track never was one; the machine's continuation of it goes
too), draws the objects nobody boxed (`draw`) and accepts the frame. On a single-box pick it looks at that one box
only and draws nothing, because it did not look at the rest of the frame.

Decisions are plain values (`Decision`) computed from the boxes shown and the ground truth of the
shown frame, so the same person can answer the review session (`loop.py`) and the in-memory
baselines (`baselines.py`). The annotator remembers which object each track it has seen stands
for, as a person remembers "track 7 is the man in red", and uses it to repair identity.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..datamodel import XYWH, Box, EditKind, iou_matrix
from ..review.effort import ACTION_KINDS, EXTREME_CLICKING, TimeModel
from .groundtruth import GTBox, ShownFrames

PASS_IOU = 0.5          # a box at or above this IoU with its true box needs no fix
MEANT_FOR_IOU = 0.1     # below this overlap a box is not "a bad box of that object" but a false one


@dataclass(frozen=True)
class Decision:
    """One correction the annotator wants: `kind` in check, fix, retrack, delete, end, draw, accept.

    `track_id` names the box (a track has one box per frame), so a decision survives box ids
    changing under re-propagation. `target_track` is set for a retrack (and for a draw that
    continues a known track). `object_id` is the ground-truth object the decision is about.
    `shown_as` is the track the box had when it was shown (a swap earlier in the same review
    may have given the box another track since).
    """

    kind: EditKind
    frame: int
    track_id: int | None = None
    xywh: XYWH | None = None
    class_id: int = 0
    object_id: int | None = None
    target_track: int | None = None
    shown_as: int | None = None


@runtime_checkable
class Annotator(Protocol):
    """What the annotation loop asks of a person (docs/loop-api.md, "Your own annotator").

    The loop (`loop.run_loop`) shows a pick by calling one `review_*` method with the boxes the
    tool shows, carries out the returned decisions through `ReviewSession`, and calls `count`
    for each one that applied (a box may be gone by then), so an annotator pays for its edits by
    its own prices, and for its looks in the `review_*` call that looked. `seconds` is what it has
    spent: the loop's budget and every learning curve read it. `remember` tells it which track now
    stands for the ground-truth object of a decision (it may ignore it). `SimulatedAnnotator` is
    one implementation; an evaluation written elsewhere can bring its own, with its own prices
    and judgement, and still use vidlabel's queue, track picks and stopping unchanged.
    """

    @property
    def seconds(self) -> float: ...

    @property
    def actions(self) -> Mapping[str, int]: ...

    def review_frame(self, frame: int, boxes: list[Box]) -> list[Decision]:
        """Every box of a shown frame: corrections, draws, then an `accept` of the frame."""

    def review_box(self, frame: int, track_id: int, boxes: list[Box]) -> list[Decision]:
        """One box of a frame (`track_id`'s); `boxes` is the whole frame, for context."""

    def review_track(self, track_id: int, crops: Mapping[int, Box]) -> list[Decision]:
        """A track's box on a few frames: delete the track, wrong from a frame, or per crop."""

    def count(self, kind: str) -> None:
        """One decision of this kind was carried out: pay for it."""

    def remember(self, track_id: int, object_id: int) -> None:
        """`track_id` now stands for the object `object_id` of a decision."""


class SimulatedAnnotator:
    """A careful person answering picks from ground truth of shown frames only (an `Annotator`)."""

    def __init__(self, view: ShownFrames, time_model: TimeModel = EXTREME_CLICKING,
                 class_map: Mapping[int, int] | None = None) -> None:
        self.view = view
        self.time_model = time_model
        self.class_map = dict(class_map or {})
        self.actions: Counter = Counter({k: 0 for k in ACTION_KINDS})
        self.object_of: dict[int, int] = {}   # produced track -> ground-truth object it stands for
        self.track_of: dict[int, int] = {}    # ground-truth object -> its track, as remembered

    @property
    def seconds(self) -> float:
        return self.time_model.seconds(self.actions)

    def remember(self, track_id: int, object_id: int) -> None:
        """Record that a track stands for an object (after a check, fix, retrack or draw)."""
        old = self.track_of.get(object_id)
        if old is not None and self.object_of.get(old) == object_id and old != track_id:
            del self.object_of[old]
        self.object_of[track_id] = object_id
        self.track_of[object_id] = track_id

    def count(self, kind: str) -> None:
        """Pay for one applied decision (`accept` and `retrack` map to no or to `fix` cost)."""
        if kind in (EditKind.RETRACK, EditKind.WRONG_FROM_HERE, EditKind.SPLIT):
            kind = EditKind.FIX
        elif kind == EditKind.DELETE_TRACK:
            kind = EditKind.DELETE
        if kind in ACTION_KINDS:
            self.actions[kind] += 1

    # -- answers --------------------------------------------------------------------------------
    def review_frame(self, frame: int, boxes: list[Box]) -> list[Decision]:
        """Everything a careful person does on a shown frame; pays a look per box shown and per
        object drawn. Ends with `accept` (the frame is complete and right)."""
        self.view.show(frame)
        objs, ignore = self.view.objects(frame), self.view.ignore(frame)
        boxes = [b for b in boxes if not b.outside]
        decisions = self._judge(frame, boxes, objs, ignore)
        # tracks that will still have a box here once the decisions are applied
        taken = ({b.track_id for b in boxes}
                 - {d.track_id for d in decisions if d.kind in (EditKind.RETRACK, EditKind.DELETE)}
                 | {d.target_track for d in decisions if d.kind == EditKind.RETRACK})
        for o in self._missed(boxes, objs, decisions):
            track = self.track_of.get(o.object_id)
            if track is not None and track in taken:
                track = None
            if track is not None:
                taken.add(track)
            decisions.append(Decision(EditKind.DRAW, frame, None, o.xywh, self._cls(o), o.object_id, track))
        self.actions["look"] += len(boxes) + sum(d.kind == EditKind.DRAW for d in decisions)
        decisions.append(Decision(EditKind.ACCEPT, frame))
        return decisions

    def review_box(self, frame: int, track_id: int, boxes: list[Box]) -> list[Decision]:
        """A single-box pick: look at this one box (1 s) and fix, delete or end it if needed."""
        boxes = [b for b in boxes if not b.outside]
        if not any(b.track_id == track_id for b in boxes):
            return []
        self.view.show(frame)
        self.actions["look"] += 1
        decisions = self._judge(frame, boxes, self.view.objects(frame), self.view.ignore(frame))
        return [d for d in decisions if d.shown_as == track_id]

    def review_track(self, track_id: int, crops: Mapping[int, Box]) -> list[Decision]:
        """A track pick: look at the track's box on each crop frame (1 s each), then one decision
        for the track. On no wanted object in any crop (and standing for none it remembers):
        delete the track. Otherwise the crops on the track's object (the one it remembers the
        track for, else the first crop's) are accepted or fixed, up to the first crop where the
        track is on another object (`split` there: the tail is a real object under the wrong id)
        or on nothing (`wrong from here`: the tail goes). Crops before the track's object first
        appears are left to the frame review. A single crop answers "still the same object?"
        while the tool narrows down where a track changed (`loop.answer_track`)."""
        self.actions["look"] += len(crops)
        on = {frame: self._under(frame, box) for frame, box in sorted(crops.items())}
        seen = self.object_of.get(track_id)
        known = seen is not None
        if not known:
            if all(o is None for o in on.values()):
                return [Decision(EditKind.DELETE_TRACK, min(on), track_id)]
            seen = next(o for o in on.values() if o is not None).object_id
        out = []
        for frame, o in on.items():
            if o is not None and o.object_id == seen:
                kind = EditKind.CHECK if iou_matrix([crops[frame].xywh], [o.xywh])[0, 0] >= PASS_IOU else EditKind.FIX
                out.append(Decision(kind, frame, track_id, o.xywh, self._cls(o), o.object_id))
            elif out or known:
                kind = EditKind.WRONG_FROM_HERE if o is None else EditKind.SPLIT
                out.append(Decision(kind, frame, track_id, object_id=seen))
                break
        return out

    def _under(self, frame: int, box: Box) -> GTBox | None:
        """The wanted object a box is meant for on a shown frame (overlap at least
        MEANT_FOR_IOU), or None."""
        self.view.show(frame)
        objs = self.view.objects(frame)
        if not objs:
            return None
        iou = iou_matrix([box.xywh], [o.xywh for o in objs])[0]
        return objs[int(iou.argmax())] if iou.max() >= MEANT_FOR_IOU else None

    def inspect(self, frame: int, boxes: list[Box]) -> tuple[int, int]:
        """Look at a shown frame without correcting it (a baseline scanning for its worst frame):
        returns (boxes needing a correction plus objects missing, objects looked at). Not paid
        here: the caller pays the looks."""
        objs, ignore = self.view.objects(frame), self.view.ignore(frame)
        boxes = [b for b in boxes if not b.outside]
        decisions = self._judge(frame, boxes, objs, ignore)
        missed = len(self._missed(boxes, objs, decisions))
        return sum(d.kind != EditKind.CHECK for d in decisions) + missed, len(boxes) + missed

    # -- judgement ------------------------------------------------------------------------------
    def _cls(self, o: GTBox) -> int:
        return self.class_map.get(o.class_id, o.class_id)

    def _pairs(self, boxes: list[Box], objs: list[GTBox]) -> list[tuple[int, int]]:
        """Which box is meant for which object. A box that sits on an object (IoU >= PASS_IOU)
        is that object's, whatever its track stood for before (two swapped ids are swapped
        back, not two boxes dragged across the image); a loose box is meant for the object
        its track stands for, else for the object it overlaps most."""
        if not boxes or not objs:
            return []
        iou = iou_matrix([b.xywh for b in boxes], [o.xywh for o in objs])
        known = np.array([[self.object_of.get(b.track_id) == o.object_id for o in objs]
                          for b in boxes], dtype=bool)
        allowed = (iou >= MEANT_FOR_IOU) | known
        weight = np.where(allowed, iou + known, 0.0)
        rows, cols = linear_sum_assignment(weight, maximize=True)
        return [(int(r), int(c)) for r, c in zip(rows, cols) if allowed[r, c]]

    def _judge(self, frame: int, boxes: list[Box], objs: list[GTBox],
               ignore: list[XYWH]) -> list[Decision]:
        """Decisions for the boxes shown (check, fix, retrack, delete, end); draws come after."""
        pairs = self._pairs(boxes, objs)
        iou = iou_matrix([b.xywh for b in boxes], [o.xywh for o in objs]) if objs else None
        on_frame = {b.track_id for b in boxes}
        present = {o.object_id for o in objs}
        out: list[Decision] = []
        swapped: dict[int, int] = {}   # track -> the track whose box it took by a swap on this frame
        for i, j in pairs:
            b, o = boxes[i], objs[j]
            track = swapped.get(b.track_id, b.track_id)   # the box's track once earlier swaps are made
            known = self.object_of.get(track)
            if known is not None and known != o.object_id:
                # the box is on object o but its track stands for another object: give the box
                # to o's track; where that track has a box here, the two swap (set_box_track)
                target = self.track_of.get(o.object_id)
                if target is not None and target != track and target not in swapped:
                    out.append(Decision(EditKind.RETRACK, frame, track, o.xywh, self._cls(o),
                                        o.object_id, target, b.track_id))
                    if target in on_frame:
                        swapped.update({target: track, track: target})
                    on_frame.add(target)
                    continue
            kind = EditKind.CHECK if iou[i, j] >= PASS_IOU else EditKind.FIX
            out.append(Decision(kind, frame, track, o.xywh, self._cls(o), o.object_id, shown_as=b.track_id))
        matched = {i for i, _ in pairs}
        ign = np.array(ignore, dtype=float).reshape(-1, 4)
        for i, b in enumerate(boxes):
            if i in matched:
                continue
            if len(ign) and iou_matrix([b.xywh], ign).max() >= PASS_IOU:
                continue   # a box on an ignore region is neither right nor wrong: leave it
            # on an object another box already covers, or standing for an object that is here:
            # a duplicate, delete this box; on nothing: its track ends here, which also removes
            # the machine's continuation of it up to its next verified box
            track = swapped.get(b.track_id, b.track_id)
            known = self.object_of.get(track)
            duplicate = (known in present) or (iou is not None and iou[i].max() >= MEANT_FOR_IOU)
            out.append(Decision(EditKind.DELETE if duplicate else EditKind.END, frame, track, shown_as=b.track_id))
        return out

    @staticmethod
    def _missed(boxes: list[Box], objs: list[GTBox], decisions: list[Decision]) -> list[GTBox]:
        covered = {d.object_id for d in decisions if d.object_id is not None}
        return [o for o in objs if o.object_id not in covered]
