"""The window's one link to the core: the current frame, the selection, and every edit.

Widgets never touch the project. They read through this controller and ask it to change things;
it calls the review session (`vidlabel.review.session.ReviewSession`, the correction API plus background
re-propagation, scores and the queue), turns a `VidlabelError` into a status message instead of a
crash, and tells every view what changed through signals. That keeps the window the project's
single writer and each widget small. Moving through the video and reading what is on a frame
come from its base class, `Navigator` (navigation.py), which needs no session.

What runs where: an edit is one small SQLite write on the UI thread; the session's workers do
the rest (see vidlabel/review/session.py). Its re-propagation worker has its own video reader
(a decoder is not shared between threads); its scoring worker scores the whole project when the
session starts (seconds on 100,000 boxes), rescores after every edit, undo and re-propagated
stretch, and ranks the queue whenever it has caught up. Both report through callbacks from their threads,
which the controller re-emits as Qt signals; Qt delivers those in the UI thread. So the window
opens at once, the person can step, edit and undo while the project is scored, and the queue
appears (`ready`) and follows the edits (`queueChanged`) as the results arrive. A queue
ranked before the person's latest edit is dropped on arrival: the ranking that includes the edit
is already on its way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from PyQt6.QtCore import QObject, pyqtSignal

from ..datamodel import Box, keyframes
from ..errors import VidlabelError
from ..review.edits import Edit
from ..review.session import Pick, QueueUpdate, ReviewSession
from ..store.project import Project
from ..video import FrameSource
from . import pauses
from .navigation import Navigator

QUEUE_SIZE = 25  # picks ranked for the queue panel after every edit


class Controller(Navigator):
    """The navigator (frame, selection, playing, reading) plus the session and every edit."""

    boxesChanged = pyqtSignal()         # the current frame's boxes may differ: redraw boxes
    projectChanged = pyqtSignal()       # the store changed: docks and timeline refresh
    classesChanged = pyqtSignal()       # the class list changed
    message = pyqtSignal(str)           # a one-line status for the person
    machineWrote = pyqtSignal(object)   # frames a background re-propagation rewrote (any thread)
    queueChanged = pyqtSignal(object)   # a QueueUpdate newer than the person's latest edit
    trackPickChanged = pyqtSignal(object)  # the track pick being answered (the filmstrip's), or None
    _queueRanked = pyqtSignal(object, object)  # (session, QueueUpdate) from the scoring thread

    def __init__(self, project: Project, video: FrameSource, session_video: Callable[[], FrameSource],
                 parent: QObject | None = None) -> None:
        super().__init__(project, video, parent)
        self.session: ReviewSession | None = None
        self.picks: list[Pick] = []      # the latest queue (best first)
        self.track_pick: Pick | None = None  # the queue's track pick the person is answering
        self.ready = False               # the first queue of this session arrived
        self._edit_revision = 0          # the scoring revision of the person's latest edit
        self._no_session = ""            # why there is no session, if starting it failed
        self.machineWrote.connect(self._machine_wrote)
        self._queueRanked.connect(self._queue_ranked)
        self.current_class = 0
        self._start_session(session_video)
        self.prefetch()

    # -- the review session -------------------------------------------------------------------
    def _start_session(self, session_video: Callable[[], FrameSource]) -> None:
        """Start the review session; it returns at once and scores the project in its worker."""
        self.ready, self.picks, self._edit_revision = False, [], 0
        pauses.hold_collections()  # until its mirror of the project is built (see pauses.py)
        try:
            session = ReviewSession(self.project, session_video())
        except VidlabelError as exc:
            pauses.resume_collections()
            self._no_session = f"no review session, edits are off: {exc}"
            self.message.emit(self._no_session)
            return
        self.session = session
        session.on_change(self.machineWrote.emit)
        session.watch_queue(lambda update: self._queueRanked.emit(session, update), QUEUE_SIZE)
        self.message.emit("scoring the project for the review queue … (you can edit meanwhile)")

    def _queue_ranked(self, session: ReviewSession, update: QueueUpdate) -> None:
        if session is not self.session:
            return  # from a session closed since (restart after pre-labelling)
        if update.revision < self._edit_revision:
            return  # ranked before the person's latest edit; the one after it follows
        self.picks = list(update.picks)
        if not self.ready:
            self.ready = True
            pauses.resume_collections()
            self.message.emit("")
        if update.problem:
            self.message.emit(update.problem)
        self.queueChanged.emit(update)
        self.projectChanged.emit()  # the scores behind the timeline changed too
        self.prefetch()

    def upcoming(self) -> list[int]:
        """The queue's frames in order, a track pick's crops with them (the filmstrip's)."""
        return [f for p in self.picks for f in (p.frame, *p.crops)]

    def restart_session(self) -> None:
        """A new session after a job wrote outside it (pre-labelling): scores start fresh."""
        old, self.session = self.session, None
        if old is not None:
            old.close()
            self._start_session(lambda: old.video)

    def _machine_wrote(self, frames: set[int]) -> None:
        if self.frame in frames:
            self.boxesChanged.emit()
        self.projectChanged.emit()

    def close(self) -> None:
        """Stop the session's workers first, so nothing writes while the project closes."""
        session, self.session = self.session, None
        if session is not None:
            session.close()  # a start-up scoring in progress stops at its next chunk
            session.video.close()
        pauses.resume_collections()
        super().close()

    # -- the class for new boxes --------------------------------------------------------------
    def set_current_class(self, class_id: int) -> None:
        """With a box selected, its track's class; otherwise the class new boxes get. One key
        does one thing: changing a track's class does not change what the next drawn box is."""
        if not 0 <= class_id < len(self.class_names()):
            self.message.emit(f"no class {class_id + 1}: the project has {len(self.class_names())}")
            return
        if self.selected_track is not None:
            track = self.selected_track
            if self._edit(lambda: self.session.set_class(track, class_id)) is not None:
                self.message.emit(f"track {track} is now {self.class_names()[class_id]}")
            return
        self.current_class = class_id
        self.classesChanged.emit()

    # -- edits: each one is one undoable action through the correction API -------------------
    def _edit(self, do: Callable[[], Edit | int | None]) -> Edit | int | None:
        """One edit on the UI thread (a small write); its rescoring is queued in the session."""
        if self.session is None:
            self.message.emit(self._no_session or "no review session is open")
            return None
        try:
            result = do()
        except VidlabelError as exc:
            self.message.emit(str(exc))
            return None
        self._edit_revision = self.session.revision
        self.boxesChanged.emit()
        self.projectChanged.emit()
        return result

    def _need_box(self) -> Box | None:
        box = self.selected_box()
        if box is None:
            self.message.emit("select a box first (click it)")
        return box

    def draw_box(self, xywh: tuple[float, float, float, float]) -> None:
        if not self.class_names():
            self.message.emit("add a class first (Classes panel)")
            return
        class_id = min(self.current_class, len(self.class_names()) - 1)
        edit = self._edit(lambda: self.session.add_box(self.frame, xywh, class_id))
        if isinstance(edit, Edit):
            self.select(edit.track_ids[0])
            self.boxesChanged.emit()

    def move_box(self, box_id: int, xywh: tuple[float, float, float, float]) -> None:
        self._edit(lambda: self.session.move_box(box_id, xywh))

    def delete_selected(self) -> None:
        if (box := self._need_box()) is not None:
            self._edit(lambda: self.session.delete_box(box.id))
            self.select(None)

    # -- a track pick: its crops, and the answers that settle it ------------------------------
    def set_track_pick(self, pick: Pick | None) -> None:
        """The queue item being answered, when it is a track pick or a "delete all similar" one
        (None ends it)."""
        pick = pick if pick is not None and (pick.crops or pick.group) else None
        if pick != self.track_pick:
            self.track_pick = pick
            self.trackPickChanged.emit(pick)

    def _pick_crops(self) -> list[tuple[int, tuple[int, ...]]]:
        """(track, crop frames) of the pick being answered: one track, or a group of them."""
        pick = self.track_pick
        if pick is None:
            return []
        return list(pick.group) or [(pick.track_id, pick.crops)]

    def track_pick_boxes(self, track_id: int | None = None) -> list[Box]:
        """The pick's boxes on its crop frames (a candidate track's too), track by track in
        frame order; only `track_id`'s if given."""
        return [b for t, frames in self._pick_crops() if track_id in (None, t) for f in frames
                for b in self.project.boxes(frame=f, track_id=t, include_outside=False)]

    def _looked_at(self, track_id: int) -> int:
        """How many of the track's boxes the person looked at to decide: every crop of it in the
        pick they answer, else the one box on screen (what `human_seconds` charges)."""
        return max(1, len(self.track_pick_boxes(track_id)))

    def accept_track_pick(self) -> None:
        """Every crop of the pick is right: those boxes are verified, one action a track."""
        if self.track_pick is None:
            self.message.emit("no track pick to accept: N goes to the next queue item")
            return
        crops = {t: [b.frame for b in self.track_pick_boxes(t)] for t, _ in self._pick_crops()}
        if all(self._edit(lambda t=t, frames=frames: self.session.accept_stretch(t, frames)) is not None
               for t, frames in crops.items() if frames):
            self.message.emit(f"{', '.join(f'track {t}' for t in crops)}: "
                              f"{sum(map(len, crops.values()))} crops accepted")
            self.set_track_pick(None)

    def delete_similar(self) -> None:
        """The tracks of a "delete all similar" pick that the person accepted no crop of are
        false: all their machine boxes go, in one action that pays the crops looked at of them
        and one delete."""
        pick = self.track_pick
        if pick is None or not pick.group:
            self.message.emit("no similar tracks in the filmstrip: Shift+Delete deletes the selected track")
            return
        boxes = self.track_pick_boxes()
        kept = {b.track_id for b in boxes if b.verified}
        live = set(self.project.track_ids())
        gone = [t for t, _ in pick.group if t not in kept and t in live]
        if gone:
            shown = sum(b.track_id in gone for b in boxes)
            if self._edit(lambda: self.session.delete_tracks(gone, shown=shown)) is None:
                return
        self.message.emit(f"deleted {len(gone)} similar tracks" + (f", kept {len(kept)}" if kept else ""))
        self.set_track_pick(None)
        self.select(None)

    def _settles_track_pick(self, track_id: int) -> None:
        if self.track_pick is not None and not self.track_pick.group and self.track_pick.track_id == track_id:
            self.set_track_pick(None)

    def delete_selected_track(self) -> None:
        """The selected track is false as a whole: all its machine boxes go, in one action."""
        if (box := self._need_box()) is not None:
            shown = self._looked_at(box.track_id)
            if self._edit(lambda: self.session.delete_track(box.track_id, shown=shown)) is not None:
                self.message.emit(f"deleted track {box.track_id} (its verified boxes stay)")
                self._settles_track_pick(box.track_id)
            self.select(None)

    def wrong_from_here(self) -> None:
        """The selected track left its object on this frame: its machine boxes from here go."""
        if (box := self._need_box()) is not None:
            shown = self._looked_at(box.track_id)
            if self._edit(lambda: self.session.wrong_from_here(box.track_id, self.frame, shown=shown)) is not None:
                self.message.emit(f"track {box.track_id}: machine boxes from frame {self.frame} on deleted")
                self._settles_track_pick(box.track_id)
            self.select(None)

    def move_tail(self, to_track: int) -> None:
        """The selected track follows track `to_track`'s object from this frame on (two tracks
        that took over each other's object): its machine boxes from here move to that track
        where it has no box, in one action."""
        if (box := self._need_box()) is not None:
            shown = self._looked_at(box.track_id)
            edit = self._edit(lambda: self.session.wrong_from_here(box.track_id, self.frame, to_track, shown=shown))
            if edit is not None:
                self.message.emit(f"track {box.track_id}: machine boxes from frame {self.frame} on moved to track {to_track}")
                self._settles_track_pick(box.track_id)
                self.select(to_track)

    def accept_selected(self) -> None:
        """The selected box is right; in a "delete all similar" pick, the selected track is kept:
        its crops there are accepted (the person looked at each of them)."""
        if (box := self._need_box()) is None:
            return
        if self.track_pick is not None and self.track_pick.group and (crops := self.track_pick_boxes(box.track_id)):
            frames = [b.frame for b in crops]
            if self._edit(lambda: self.session.accept_stretch(box.track_id, frames)) is not None:
                self.message.emit(f"track {box.track_id} kept")
            return
        self._edit(lambda: self.session.accept_box(box.id))

    def toggle_occluded(self) -> None:
        if (box := self._need_box()) is not None:
            self._edit(lambda: self.session.set_occluded(box.id, not box.occluded))

    def set_box_track(self, track_id: int) -> None:
        if (box := self._need_box()) is not None:
            if self._edit(lambda: self.session.set_box_track(box.id, track_id)) is not None:
                self.select(track_id)

    def merge_into(self, keep: int) -> None:
        """Join the selected track into track `keep` (one object that got two ids)."""
        if (box := self._need_box()) is not None:
            if self._edit(lambda: self.session.merge_tracks(keep, box.track_id)) is not None:
                self.select(keep)

    def split_here(self) -> None:
        """The selected track is on another object from this frame on: the rest is a new track."""
        if (box := self._need_box()) is not None:
            shown = self._looked_at(box.track_id)
            edit = self._edit(lambda: self.session.split_track(box.track_id, self.frame, shown=shown))
            if isinstance(edit, Edit):
                self._settles_track_pick(box.track_id)
                self.select(edit.track_ids[-1])

    def narrow_track_pick(self) -> None:
        """Where did the track change object? The open crop is past the change: the track's box
        halfway between the crop before it and this one joins the filmstrip (one more look).
        Open it and narrow again from whichever crop is the first one past the change, until
        the change lies between neighbouring frames; then split (X) or delete from there."""
        pick = self.track_pick
        if pick is None or pick.group:
            self.message.emit("no track pick: open one from the queue, then a crop past the change")
            return
        before = max((f for f in pick.crops if f < self.frame), default=-1)
        frames = [b.frame for b in self.session.track_boxes(pick.track_id, before + 1, self.frame - 1)]
        if not frames:
            self.message.emit(f"track {pick.track_id} changes at frame {self.frame}: X splits it "
                              "here, Ctrl+Delete deletes it from here")
            return
        middle = frames[len(frames) // 2]
        self.set_track_pick(replace(pick, crops=tuple(sorted({*pick.crops, middle}))))
        self.message.emit(f"track {pick.track_id} on frame {middle} added to the filmstrip: open "
                          "the first crop past the change and narrow again")

    def mark_outside(self) -> None:
        if (box := self._need_box()) is not None:
            self._edit(lambda: self.session.mark_outside(box.track_id, self.frame))
            self.select(None)

    def repropagate(self) -> None:
        """Re-propagate the selected track from its box here (which a person verified)."""
        if (box := self._need_box()) is not None:
            self._edit(lambda: self.session.repropagate(box.track_id, self.frame))
            self.message.emit(f"re-propagating track {box.track_id} from frame {self.frame}")

    def interpolate(self) -> None:
        """Fill the selected track linearly between its keyframes around the current frame."""
        if self.selected_track is None:
            self.message.emit("select a box first (click it)")
            return
        keys = sorted(b.frame for b in keyframes(self.project.boxes(track_id=self.selected_track))
                      if not b.outside)
        before = [f for f in keys if f <= self.frame]
        after = [f for f in keys if f > self.frame]
        if not before or not after:
            self.message.emit(f"track {self.selected_track} needs a verified box before and after "
                              "this frame to interpolate between")
            return
        self._edit(lambda: self.session.interpolate_track(self.selected_track, before[-1], after[0]))

    def accept_frame(self) -> None:
        """Accept what the person sees: the frame's boxes and a selected candidate track's box."""
        self._edit(lambda: self.session.accept_frame(self.frame, shown_candidates=(
            {self.selected_track} if self.selected_track is not None else set())))

    def undo(self) -> None:
        self._replay("undo")

    def redo(self) -> None:
        self._replay("redo")

    def _replay(self, which: str) -> None:
        """Undo or redo; works while the session still scores (the rescoring queues behind)."""
        if self.session is None:
            self.message.emit(self._no_session or "no review session is open")
            return
        action_id = self._edit(getattr(self.session, which))
        if action_id is None:
            self.message.emit(f"nothing to {which}")
        else:
            self._show_replayed(which, action_id)
        self.classesChanged.emit()  # the action may have been a class edit

    def _show_replayed(self, which: str, action_id: int) -> None:
        """Go to the frame an undo or redo changed (if this one is not among them) and say what
        it was, as CVAT does: an undo that changes a frame out of sight looks like nothing."""
        action = self.project.logged(action_id)
        frames = sorted(self.project.touched_frames(action_id, follow_ups=False))
        if frames and self.frame not in frames:
            self.seek(min(frames, key=lambda f: abs(f - self.frame)))
        where = f" on frame {frames[0]}" if len(frames) == 1 else \
            f" on frames {frames[0]}..{frames[-1]}" if frames else ""
        self.message.emit(f"{which} {action.kind if action else 'edit'}{where}")

    # -- classes (project-level edits, one action each) ---------------------------------------
    def _class_edit(self, do: Callable[[], object]) -> None:
        if self._edit(do) is None:
            return
        self.current_class = min(self.current_class, max(0, len(self.class_names()) - 1))
        self.classesChanged.emit()

    def add_class(self, name: str) -> None:
        self._class_edit(lambda: self.session.add_class(name))

    def rename_class(self, class_id: int, name: str) -> None:
        self._class_edit(lambda: self.session.rename_class(class_id, name))

    def merge_class(self, source: int, target: int) -> None:
        self._class_edit(lambda: self.session.merge_classes(source, target))
