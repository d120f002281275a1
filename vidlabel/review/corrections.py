"""Human corrections: every edit a person can make, each one undoable action on the project.

The app, the simulator and tests all edit through `Editor`, so they share one meaning of "fix a
box" (docs/adr/0001): an edited or drawn box is `source=human, verified=True` and becomes a
keyframe of its track; accepting a machine box verifies it without changing its geometry or
source; accepting a frame verifies the frame and every box on it.

Each method returns an `Edit` naming the tracks and frames it touched, which is what the
re-propagation scheduler needs to know to repair the stretch of track around the edit.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..datamodel import SAME_OBJECT_IOU, XYWH, Box, EditKind, Source, best_overlap, iou_xywh, keyframes
from ..errors import VidlabelError
from ..propagation.propagate import interpolate, machine_boxes
from ..store.project import HUMAN, Project
from .edits import Edit
from .track_edits import TrackEdits


def take_back_propagation(project: Project, keyframe: Box) -> None:
    """Inside an edit that deletes or moves a keyframe: what re-propagation wrote between the
    track's other keyframes around it goes back to what was there before (the pre-label's box,
    or nothing), so that no ghost of the old keyframe survives; the scheduler then re-propagates
    the stretch from the keyframes that remain (or the moved one). Verified frames stay as they
    are."""
    if not keyframe.verified:
        return
    others = [b.frame for b in keyframes(project.boxes(track_id=keyframe.track_id)) if b.id != keyframe.id]
    lo = max((f for f in others if f < keyframe.frame), default=-1) + 1
    hi = min((f for f in others if f > keyframe.frame), default=1 << 62)
    verified_frames = set(project.verified_frames())
    for box, before in project.propagated_boxes(keyframe.track_id, (lo, hi)):
        if box.frame in verified_frames or box.id == keyframe.id:
            continue
        if before is None:
            project.delete_box(box.id)
        else:
            project.put_box(before)


class Editor(TrackEdits):
    """The correction API over one open project: boxes, frames and classes here, whole tracks
    in `TrackEdits`."""

    # -- boxes --------------------------------------------------------------------------------
    def add_box(self, frame: int, xywh: XYWH, class_id: int, track_id: int | None = None) -> Edit:
        """Draw a box: on a new track, or as the given track's box on this frame. Drawn on an
        object a candidate track follows (its box here overlaps by IoU >= 0.5, same class), the
        box replaces the candidate's and the candidate becomes the object's track: the person
        has just shown it is real, and the rest of it need not be drawn again."""
        self._check_class(class_id)
        if track_id is None:
            track_id = self._adopted(frame, xywh, class_id)
        with self.project.action(EditKind.DRAW, HUMAN, {"frame": frame, "xywh": list(xywh)}) as aid:
            if track_id is None:
                track_id = self.project.new_track()
            else:
                self._check_track(track_id)
            box = self.project.put_box(Box(frame, track_id, class_id, *xywh, confidence=1.0,
                                           source=Source.HUMAN, verified=True))
        self._saw(frame, track_id)
        return self._done(Edit(aid, EditKind.DRAW, frame, (track_id,), (box,)))

    def _adopted(self, frame: int, xywh: XYWH, class_id: int) -> int | None:
        """The candidate track whose box on `frame` a box drawn at `xywh` is meant for, if any."""
        candidates = self.project.candidate_tracks()
        boxes = [b for b in self.project.boxes(frame=frame, include_outside=False)
                 if b.track_id in candidates and b.class_id == class_id]
        best = best_overlap(xywh, boxes, SAME_OBJECT_IOU)
        return best.track_id if best is not None else None

    def move_box(self, box_id: int, xywh: XYWH) -> Edit:
        """Move or resize a box (a fix): its geometry becomes the person's."""
        old = self._box(box_id)
        with self.project.action(EditKind.FIX, HUMAN, {"box": box_id, "from": list(old.xywh),
                                               "to": list(xywh)}) as aid:
            take_back_propagation(self.project, old)
            box = self.project.put_box(old.with_(x=xywh[0], y=xywh[1], w=xywh[2], h=xywh[3],
                                                 source=Source.HUMAN, verified=True,
                                                 outside=False, confidence=1.0))
        self._saw(old.frame, old.track_id)
        return self._done(Edit(aid, EditKind.FIX, old.frame, (old.track_id,), (box,)))

    def accept_box(self, box_id: int) -> Edit:
        """The person confirms a machine box as it is."""
        old = self._box(box_id)
        with self.project.action(EditKind.CHECK, HUMAN, {"box": box_id}) as aid:
            box = self.project.put_box(old.with_(verified=True))
        self._saw(old.frame, old.track_id)
        return self._done(Edit(aid, EditKind.CHECK, old.frame, (old.track_id,), (box,)))

    def delete_box(self, box_id: int) -> Edit:
        """Remove a false box. The track's other boxes stay, except what re-propagation made
        from it when it was a keyframe (`take_back_propagation`), and, when it was a second box
        of an object another track boxes here (IoU >= 0.5), the track's machine boxes that go
        on duplicating that track on the frames before and after (`_duplicates`): two tracks
        on one object stay so until one leaves it, and the person said which one is wrong."""
        old = self._box(box_id)
        twins = self._duplicates(old)
        with self.project.action(EditKind.DELETE, HUMAN, {"box": box_id, "duplicates": len(twins)}) as aid:
            take_back_propagation(self.project, old)
            self.project.delete_box(box_id)
            for b in twins:
                self.project.delete_box(b.id)
        self._saw(old.frame, old.track_id)
        return self._done(Edit(aid, EditKind.DELETE, old.frame, (old.track_id,)))

    def _duplicates(self, box: Box) -> list[Box]:
        """`box`'s track's unverified boxes on the run of frames around `box.frame` on which
        they sit on another track's box, that track the one `box` duplicates most here."""
        here = [b for b in self.project.boxes(frame=box.frame, include_outside=False) if b.track_id != box.track_id]
        other = best_overlap(box.xywh, here, SAME_OBJECT_IOU)
        if other is None:
            return []
        mine = {b.frame: b for b in self.project.boxes(track_id=box.track_id, include_outside=False)}
        theirs = {b.frame: b for b in self.project.boxes(track_id=other.track_id, include_outside=False)}
        out = []
        for step in (-1, 1):
            f = box.frame + step
            while f in mine and f in theirs and not mine[f].verified \
                    and iou_xywh(mine[f].xywh, theirs[f].xywh) >= SAME_OBJECT_IOU:
                out.append(mine[f])
                f += step
        return out

    def set_occluded(self, box_id: int, occluded: bool = True) -> Edit:
        old = self._box(box_id)
        with self.project.action(EditKind.OCCLUDED, HUMAN, {"box": box_id, "occluded": occluded}) as aid:
            box = self.project.put_box(old.with_(occluded=occluded, verified=True))
        self._saw(old.frame, old.track_id)
        return self._done(Edit(aid, EditKind.OCCLUDED, old.frame, (old.track_id,), (box,)))

    # -- frames -------------------------------------------------------------------------------
    def accept_frame(self, frame: int, shown_candidates: Iterable[int] = ()) -> Edit:
        """The person says this frame is complete and right: the frame and its boxes are verified.
        The log records the visible boxes no edit of this visit looked at already (effort.py).
        Candidate tracks' boxes are not shown on a frame, except those in `shown_candidates`
        (the app shows a selected candidate's), which are accepted like the rest; the person saw
        the frame complete without the others, so they go (a candidate on a wanted object would
        have been drawn, and adopted)."""
        candidates = self.project.candidate_tracks() - set(shown_candidates)
        everything = self.project.boxes(frame=frame)
        boxes = [b for b in everything if b.track_id not in candidates]
        looked = self._looked.pop(frame, set())
        visible = [b for b in boxes if not b.outside]
        detail = {"frame": frame, "boxes": len(visible),
                  "looks": sum(b.track_id not in looked for b in visible)}
        with self.project.action(EditKind.ACCEPT, HUMAN, detail) as aid:
            for b in boxes:
                if not b.verified:
                    self.project.put_box(b.with_(verified=True))
            for b in everything:
                if b.track_id in candidates:
                    self.project.delete_box(b.id)
            self.project.set_frame_verified(frame, True)
        return self._done(Edit(aid, EditKind.ACCEPT, frame, tuple(sorted({b.track_id for b in boxes}))))

    def interpolate_track(self, track_id: int, frame_a: int, frame_b: int) -> Edit:
        """Linear interpolation between two keyframes of a track (for objects trackers lose).

        Writes the frames strictly between them as one human action (it was asked for), except
        verified boxes and verified frames; the boxes stay unverified and marked interpolated.
        """
        self._check_track(track_id)
        if frame_a >= frame_b:
            raise VidlabelError(f"interpolation needs frame_a < frame_b, got {frame_a} and {frame_b}",
                                f"track {track_id}")
        boxes = self.project.boxes(track_id=track_id)
        keys = {b.frame: b for b in keyframes(boxes) if not b.outside}
        missing = [f for f in (frame_a, frame_b) if f not in keys]
        if missing:
            raise VidlabelError(f"track {track_id} has no verified visible box on frame(s) {missing}; "
                                "interpolation runs between two keyframes", str(self.project.path))
        start, end = keys[frame_a], keys[frame_b]
        new = machine_boxes(interpolate(start, end), track_id, start.class_id,
                            {b.frame: b for b in boxes}, set(self.project.verified_frames()))
        with self.project.action(EditKind.INTERPOLATE, HUMAN,
                                 {"track": track_id, "frames": [frame_a, frame_b]}) as aid:
            self.project.put_boxes(new)
        return self._done(Edit(aid, EditKind.INTERPOLATE, frame_a, (track_id,)))

    def repropagate(self, track_id: int, frame: int) -> Edit:
        """Ask for the track to be re-propagated from its keyframe on `frame` to its neighbouring
        keyframes ("F"). The edit itself changes no box: a review session carries it out."""
        self._check_track(track_id)
        if not keyframes(self.project.boxes(frame=frame, track_id=track_id)):
            raise VidlabelError(f"track {track_id} has no verified box on frame {frame}; fix or "
                                "accept it first, then propagate from it", str(self.project.path))
        with self.project.action(EditKind.PROPAGATE, HUMAN, {"track": track_id, "frame": frame}) as aid:
            pass
        return self._done(Edit(aid, EditKind.PROPAGATE, frame, (track_id,)))

    # -- classes (project-level) ---------------------------------------------------------------
    def add_class(self, name: str) -> Edit:
        """A new class at the next id (a name the project has already changes nothing; an empty
        one is refused by the store)."""
        with self.project.action(EditKind.ADD_CLASS, HUMAN, {"name": name.strip()}) as aid:
            self.project.add_class(name)
        return self._done(Edit(aid, EditKind.ADD_CLASS, 0))

    def rename_class(self, class_id: int, name: str) -> Edit:
        self._check_class(class_id)
        if not name.strip():
            raise VidlabelError("a class name cannot be empty", str(self.project.path))
        if (other := self.project.class_id(name.strip())) is not None and other != class_id:
            raise VidlabelError(f"class {name.strip()!r} exists already: merge instead",
                                str(self.project.path))
        with self.project.action(EditKind.RENAME_CLASS, HUMAN, {"class": class_id, "name": name}) as aid:
            self.project.rename_class(class_id, name)
        return self._done(Edit(aid, EditKind.RENAME_CLASS, 0))

    def merge_classes(self, source: int, target: int) -> Edit:
        """Every box of class `source` becomes `target`, and `source` is gone (ids stay
        contiguous, so classes after `source` move down by one: docs/adr/0003)."""
        self._check_class(source)
        self._check_class(target)
        if source == target:
            raise VidlabelError("cannot merge a class into itself", str(self.project.path))
        with self.project.action(EditKind.MERGE_CLASS, HUMAN, {"source": source, "target": target}) as aid:
            self.project.merge_class(source, target)
        return self._done(Edit(aid, EditKind.MERGE_CLASS, 0))

    # -- history ------------------------------------------------------------------------------
    def undo(self) -> int | None:
        return self.project.undo()

    def redo(self) -> int | None:
        return self.project.redo()


