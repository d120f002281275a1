"""Corrections of whole tracks: the track-level half of the correction API (`Editor`).

A track is one object over time, so the edits that say a track is wrong as a whole (a false
track, a track that jumped to a neighbour, two tracks swapped) are single actions here, not one
delete per frame: the person pays for one decision, and one undo restores all of it. None of
them touches a verified box (docs/adr/0001).

`TrackEdits` is `Editor`'s base: it also holds the checks both halves use.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..datamodel import Box, EditKind, Source
from ..errors import VidlabelError
from ..store.project import HUMAN, Project
from .edits import Edit


class TrackEdits:
    """Track corrections over one open project (see `corrections.Editor` for the rest)."""

    def __init__(self, project: Project) -> None:
        self.project = project
        # Tracks whose box on a frame the person has looked at since last accepting that frame:
        # an accept pays a look only for the boxes no edit of this visit paid for (effort.py).
        self._looked: dict[int, set[int]] = {}

    def _saw(self, frame: int, *track_ids: int) -> None:
        self._looked.setdefault(frame, set()).update(track_ids)

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
        """Give one box another track id (fixing an identity switch). Where that track already
        has a box on the frame, the two tracks swapped objects here: the two boxes swap tracks,
        and so do the two tracks' machine boxes after this frame up to the next verified box of
        either (an identity switch persists until something switches it back, so a person
        swapping ids once should not meet the same swap on every later frame), in the same
        action. A verified box is not moved off its track."""
        old = self._box(box_id)
        self._check_track(track_id)
        there = self.project.boxes(frame=old.frame, track_id=track_id)
        if there and there[0].verified:
            raise VidlabelError(f"track {track_id} has a verified box on frame {old.frame}; "
                                "move or delete that one first", str(self.project.path))
        tails = self._tails(old.frame, old.track_id, track_id) if there else []
        with self.project.action(EditKind.RETRACK, HUMAN, {"box": box_id, "track": track_id,
                                                           "swapped": bool(there),
                                                           "tails": len(tails)}) as aid:
            for b in [old, *there, *tails]:
                self.project.delete_box(b.id)
            box = self.project.put_box(old.with_(track_id=track_id, id=None, verified=True))
            swap = {old.track_id: track_id, track_id: old.track_id}
            for b in [*there, *tails]:
                self.project.put_box(b.with_(track_id=swap[b.track_id], id=None))
        self._saw(old.frame, old.track_id, track_id)
        return self._done(Edit(aid, EditKind.RETRACK, old.frame, (old.track_id, track_id), (box,)))

    def _tails(self, frame: int, a: int, b: int) -> list[Box]:
        """The machine boxes of tracks `a` and `b` after `frame`, before either's next verified box."""
        later = [x for t in (a, b) for x in self.project.boxes(track_id=t, frames=(frame + 1, 1 << 62))]
        stop = min((x.frame for x in later if x.verified), default=1 << 62)
        return [x for x in later if x.frame < stop]

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

    def split_track(self, track_id: int, frame: int, shown: int = 1) -> Edit:
        """Boxes of the track from `frame` on become a new track (fixing an identity switch).
        `shown`: the boxes the person looked at to see that it changed there (a track pick's
        crops from the change on), one look each."""
        self._check_track(track_id)
        later = self.project.boxes(track_id=track_id, frames=(frame, 1 << 62))
        candidate = track_id in self.project.candidate_tracks()   # a split says nothing of that
        with self.project.action(EditKind.SPLIT, HUMAN, {"track": track_id, "frame": frame,
                                                         "shown": shown}) as aid:
            new = self.project.new_track(candidate=candidate)
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
        self._saw(frame, track_id)
        return self._done(Edit(aid, EditKind.END, frame, (track_id,), (box,)))

    def delete_track(self, track_id: int, shown: int = 1) -> Edit:
        """A false track (on nothing, or on what the guideline does not want): every machine box
        of it goes at once; its verified boxes stay (the track with them), else the track goes.
        `shown`: the crops the person looked at to decide (a track pick's), one look each."""
        return self.delete_stretch(track_id, 0, 1 << 62, shown, EditKind.DELETE_TRACK)

    def delete_tracks(self, track_ids: Sequence[int], shown: int = 1) -> Edit:
        """Several false tracks in one action ("delete all similar": one key press, one undo).
        `shown`: the crops the person looked at of the tracks deleted."""
        track_ids = list(dict.fromkeys(track_ids))
        if not track_ids:
            raise VidlabelError("delete_tracks needs at least one track", str(self.project.path))
        for track_id in track_ids:
            self._check_track(track_id)
        frames = []
        with self.project.action(EditKind.DELETE_TRACKS, HUMAN, {"tracks": track_ids, "shown": shown}) as aid:
            for track_id in track_ids:
                boxes = self.project.boxes(track_id=track_id)
                gone = [b for b in boxes if not b.verified]
                self._delete_machine_boxes(track_id, boxes, gone)
                frames += [b.frame for b in gone]
        return self._done(Edit(aid, EditKind.DELETE_TRACKS, min(frames, default=0), tuple(track_ids)))

    def delete_stretch(self, track_id: int, first: int, last: int, shown: int = 1,
                       kind: EditKind = EditKind.DELETE_STRETCH) -> Edit:
        """Delete the track's machine boxes on frames `first`..`last` (inclusive)."""
        self._check_track(track_id)
        boxes = self.project.boxes(track_id=track_id)
        gone = [b for b in boxes if first <= b.frame <= last and not b.verified]
        with self.project.action(kind, HUMAN, {"track": track_id, "frames": [first, min(last, 1 << 31)],
                                               "boxes": len(gone), "shown": shown}) as aid:
            self._delete_machine_boxes(track_id, boxes, gone)
        return self._done(Edit(aid, kind, min((b.frame for b in gone), default=first), (track_id,)))

    def _delete_machine_boxes(self, track_id: int, boxes: list[Box], gone: list[Box]) -> None:
        """Inside an action: `gone` (unverified boxes among the track's `boxes`) are deleted, and
        the track with them if nothing is left of it."""
        for b in gone:
            self.project.delete_box(b.id)
        if len(gone) == len(boxes):
            self.project.delete_track(track_id)

    def accept_stretch(self, track_id: int, frames: list[int]) -> Edit:
        """The person looked at the track's boxes on `frames` (a track pick's crops) and they are
        right: those boxes are verified, as `accept_box` would, in one action (a candidate track
        is thereby confirmed: schema 6)."""
        self._check_track(track_id)
        shown = [b for b in self.project.boxes(track_id=track_id) if b.frame in set(frames) and not b.outside]
        with self.project.action(EditKind.ACCEPT_STRETCH, HUMAN, {"track": track_id, "shown": len(shown),
                                                                  "frames": sorted(frames)}) as aid:
            for b in shown:
                if not b.verified:
                    self.project.put_box(b.with_(verified=True))
        return self._done(Edit(aid, EditKind.ACCEPT_STRETCH, min(frames, default=0), (track_id,)))

    def wrong_from_here(self, track_id: int, frame: int, to_track: int | None = None,
                        shown: int = 1) -> Edit:
        """The track leaves its object at `frame` (it jumped to a neighbour): its machine boxes
        from there on are deleted, or, with `to_track`, moved to that track where it has no box
        (the object they follow is that track's). Verified boxes stay where they are."""
        self._check_track(track_id)
        if to_track is not None:
            self._check_track(to_track)
        tail = [b for b in self.project.boxes(track_id=track_id, frames=(frame, 1 << 62)) if not b.verified]
        taken = {b.frame for b in self.project.boxes(track_id=to_track)} if to_track is not None else set()
        with self.project.action(EditKind.WRONG_FROM_HERE, HUMAN,
                                 {"track": track_id, "frame": frame, "to": to_track, "shown": shown}) as aid:
            self.project.confirm_track(track_id)   # up to `frame` it is on a real object
            for b in tail:
                self.project.delete_box(b.id)
                if to_track is not None and b.frame not in taken:
                    self.project.put_box(b.with_(track_id=to_track, id=None))
        touched = (track_id,) if to_track is None else (track_id, to_track)
        return self._done(Edit(aid, EditKind.WRONG_FROM_HERE, frame, touched))
