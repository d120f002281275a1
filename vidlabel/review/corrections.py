"""Human corrections: every edit a person can make, each one undoable action on the project.

The app, the simulator and tests all edit through `Editor`, so they share one meaning of "fix a
box" (docs/adr/0001): an edited or drawn box is `source=human, verified=True` and becomes a
keyframe of its track; accepting a machine box verifies it without changing its geometry or
source; accepting a frame verifies the frame and every box on it.

Each method returns an `Edit` naming the tracks and frames it touched, which is what the
re-propagation scheduler needs to know to repair the stretch of track around the edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..datamodel import XYWH, Box, EditKind, Source, keyframes
from ..errors import VidlabelError
from ..propagation.propagate import interpolate, machine_boxes
from ..store.project import HUMAN, Project


@dataclass(frozen=True)
class Edit:
    """What one correction changed: the action id (for undo), and the tracks and frames touched."""

    action_id: int
    kind: EditKind
    frame: int
    track_ids: tuple[int, ...] = ()
    boxes: tuple[Box, ...] = field(default=(), compare=False)


class Editor:
    """The correction API over one open project."""

    def __init__(self, project: Project) -> None:
        self.project = project

    # -- helpers ------------------------------------------------------------------------------
    def _box(self, box_id: int) -> Box:
        box = self.project.box(box_id)
        if box is None:
            raise VidlabelError(f"no box with id {box_id}", str(self.project.path))
        return box

    def _check_class(self, class_id: int) -> None:
        if not 0 <= class_id < len(self.project.class_names()):
            raise VidlabelError(f"unknown class id {class_id}; classes are "
                                f"{self.project.class_names()}", str(self.project.path))

    def _check_track(self, track_id: int) -> None:
        if track_id not in self.project.track_ids():
            raise VidlabelError(f"no track with id {track_id}", str(self.project.path))

    def _done(self, edit: Edit) -> Edit:
        """Called after every committed correction; a review session hooks re-propagation here."""
        return edit

    # -- boxes --------------------------------------------------------------------------------
    def add_box(self, frame: int, xywh: XYWH, class_id: int, track_id: int | None = None) -> Edit:
        """Draw a box: on a new track, or as the given track's box on this frame."""
        self._check_class(class_id)
        with self.project.action(EditKind.DRAW, HUMAN, {"frame": frame, "xywh": list(xywh)}) as aid:
            if track_id is None:
                track_id = self.project.new_track()
            else:
                self._check_track(track_id)
            box = self.project.put_box(Box(frame, track_id, class_id, *xywh, confidence=1.0,
                                           source=Source.HUMAN, verified=True))
        return self._done(Edit(aid, EditKind.DRAW, frame, (track_id,), (box,)))

    def move_box(self, box_id: int, xywh: XYWH) -> Edit:
        """Move or resize a box (a fix): its geometry becomes the person's."""
        old = self._box(box_id)
        with self.project.action(EditKind.FIX, HUMAN, {"box": box_id, "from": list(old.xywh),
                                               "to": list(xywh)}) as aid:
            box = self.project.put_box(old.with_(x=xywh[0], y=xywh[1], w=xywh[2], h=xywh[3],
                                                 source=Source.HUMAN, verified=True,
                                                 outside=False, confidence=1.0))
        return self._done(Edit(aid, EditKind.FIX, old.frame, (old.track_id,), (box,)))

    def accept_box(self, box_id: int) -> Edit:
        """The person confirms a machine box as it is."""
        old = self._box(box_id)
        with self.project.action(EditKind.CHECK, HUMAN, {"box": box_id}) as aid:
            box = self.project.put_box(old.with_(verified=True))
        return self._done(Edit(aid, EditKind.CHECK, old.frame, (old.track_id,), (box,)))

    def delete_box(self, box_id: int) -> Edit:
        """Remove a false box. The track's other boxes stay."""
        old = self._box(box_id)
        with self.project.action(EditKind.DELETE, HUMAN, {"box": box_id}) as aid:
            self.project.delete_box(box_id)
        return self._done(Edit(aid, EditKind.DELETE, old.frame, (old.track_id,)))

    def set_occluded(self, box_id: int, occluded: bool = True) -> Edit:
        old = self._box(box_id)
        with self.project.action(EditKind.OCCLUDED, HUMAN, {"box": box_id, "occluded": occluded}) as aid:
            box = self.project.put_box(old.with_(occluded=occluded, verified=True))
        return self._done(Edit(aid, EditKind.OCCLUDED, old.frame, (old.track_id,), (box,)))

    # -- tracks -------------------------------------------------------------------------------
    def set_class(self, track_id: int, class_id: int) -> Edit:
        """Change the class of a whole track (a track is one object, so one class)."""
        self._check_track(track_id)
        self._check_class(class_id)
        boxes = self.project.boxes(track_id=track_id)
        with self.project.action(EditKind.CLASS, HUMAN, {"track": track_id, "class": class_id}) as aid:
            for b in boxes:
                self.project.put_box(b.with_(class_id=class_id))
        return self._done(Edit(aid, EditKind.CLASS, boxes[0].frame if boxes else 0, (track_id,)))

    def set_box_track(self, box_id: int, track_id: int) -> Edit:
        """Give one box another track id (fixing an identity switch on one frame)."""
        old = self._box(box_id)
        self._check_track(track_id)
        if self.project.boxes(frame=old.frame, track_id=track_id):
            raise VidlabelError(f"track {track_id} already has a box on frame {old.frame}")
        with self.project.action(EditKind.RETRACK, HUMAN, {"box": box_id, "track": track_id}) as aid:
            self.project.delete_box(box_id)
            box = self.project.put_box(old.with_(track_id=track_id, id=None, verified=True))
        return self._done(Edit(aid, EditKind.RETRACK, old.frame, (old.track_id, track_id), (box,)))

    def merge_tracks(self, keep: int, other: int) -> Edit:
        """Join `other` into `keep`. Where both have a box on a frame, a verified box wins, then `keep`'s."""
        self._check_track(keep)
        self._check_track(other)
        if keep == other:
            raise VidlabelError(f"cannot merge track {keep} with itself")
        kept = {b.frame: b for b in self.project.boxes(track_id=keep)}
        moved = self.project.boxes(track_id=other)
        with self.project.action(EditKind.MERGE, HUMAN, {"keep": keep, "other": other}) as aid:
            for b in moved:
                self.project.delete_box(b.id)
                mine = kept.get(b.frame)
                if mine is None or (b.verified and not mine.verified):
                    self.project.put_box(b.with_(track_id=keep, id=None))
            self.project.delete_track(other)
        return self._done(Edit(aid, EditKind.MERGE, min([b.frame for b in moved] or [0]), (keep, other)))

    def split_track(self, track_id: int, frame: int) -> Edit:
        """Boxes of the track from `frame` on become a new track (fixing an identity switch)."""
        self._check_track(track_id)
        later = self.project.boxes(track_id=track_id, frames=(frame, 1 << 62))
        with self.project.action(EditKind.SPLIT, HUMAN, {"track": track_id, "frame": frame}) as aid:
            new = self.project.new_track()
            for b in later:
                self.project.delete_box(b.id)
                self.project.put_box(b.with_(track_id=new, id=None))
        return self._done(Edit(aid, EditKind.SPLIT, frame, (track_id, new)))

    def mark_outside(self, track_id: int, frame: int) -> Edit:
        """The object leaves view at `frame`: an outside keyframe, and the machine's boxes after it
        (up to the next verified box of the track) are removed."""
        self._check_track(track_id)
        boxes = self.project.boxes(track_id=track_id)
        next_key = min((b.frame for b in boxes if b.verified and b.frame > frame), default=1 << 62)
        here = next((b for b in boxes if b.frame == frame), None)
        cls = here.class_id if here else (boxes[-1].class_id if boxes else 0)
        with self.project.action(EditKind.END, HUMAN, {"track": track_id, "frame": frame}) as aid:
            for b in boxes:
                if frame < b.frame < next_key and not b.verified:
                    self.project.delete_box(b.id)
            box = self.project.put_box(Box(frame, track_id, cls, *(here.xywh if here else (0, 0, 0, 0)),
                                           confidence=1.0, source=Source.HUMAN, verified=True,
                                           outside=True))
        return self._done(Edit(aid, EditKind.END, frame, (track_id,), (box,)))

    # -- frames -------------------------------------------------------------------------------
    def accept_frame(self, frame: int) -> Edit:
        """The person says this frame is complete and right: the frame and its boxes are verified."""
        boxes = self.project.boxes(frame=frame)
        with self.project.action(EditKind.ACCEPT, HUMAN, {"frame": frame, "boxes": len(boxes)}) as aid:
            for b in boxes:
                if not b.verified:
                    self.project.put_box(b.with_(verified=True))
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


