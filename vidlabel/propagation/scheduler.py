"""Re-propagation of corrections: after a person fixes a box, repair the stretch of track around it.

A human-verified box is a keyframe of its track. After an edit at frame f of track t, the
stretches between f and t's neighbouring keyframes (or up to `max_span` frames where there is no
neighbour on one side) are recomputed by the propagator and written as a *machine* action whose
`parent` is the edit's action, so undoing the edit undoes its re-propagation with it.

The scheduler runs jobs in one worker thread (or inline with `background=False`, for tests and
the simulator). What keeps it correct while the person goes on editing:

* **Cancel and restart.** A newer edit of the same track cancels the running job: the worker's
  frame source raises `Cancelled` at its next frame read, and the unfinished anchors are queued
  again with the new one, so a stretch is never written from keyframes that no longer exist.
* **Stale writes are dropped.** A result is written inside the machine action (which holds the
  project's write lock) only if the parent edit is still done (not undone meanwhile) and the
  stretch's keyframes are still exactly those it was computed from; if they are not, the anchor
  is computed again from the new keyframes.
* **Undo takes back what an edit caused.** A result is filed under the newest edit of its track
  that is still done, not necessarily the one that queued it: a stretch computed after a newer
  edit has seen that edit's keyframe, so undoing the newer edit must take the stretch back too.
* **Human work is never touched.** Verified boxes and boxes on verified frames are skipped (the
  store's triggers would refuse them anyway, docs/adr/0001-box-model.md).
* **Cost is measured.** Each stretch records its frames and seconds; `stats()` gives the cost
  per frame.

The project is shared with the person's thread: its writes are serialised by `Project.lock`, so
the project has one writer at a time and one connection.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..datamodel import (ACCEPT_THRESHOLD, SAME_OBJECT_IOU, Box, Detection, EditKind, best_overlap,
                         iou_matrix, keyframes)
from ..store.project import MACHINE, Project
from ..video import FrameSource, ImageFolder, VideoFile
from .propagate import DEFAULT_MAX_SPAN, SNAP_IOU, PropagatedBox, machine_boxes
from .repair import repair

log = logging.getLogger(__name__)

class Cancelled(Exception):
    """A newer edit of the same track made the running job pointless."""


class _NothingChanged(Exception):
    """Raised inside a machine action to roll it back: the result changes no box, and an action
    that changes nothing is not worth a log entry."""


@dataclass(frozen=True)
class Anchor:
    """Re-propagate track `track_id` around `frame`, as a follow-up of action `parent`."""

    track_id: int
    frame: int
    parent: int


@dataclass(frozen=True)
class StretchCost:
    track_id: int
    frames: int          # frames the propagator filled
    seconds: float       # propagation and writing
    written: int         # boxes actually changed


class _CancellableFrames:
    """The worker's view of the video: every frame read checks the job's cancel flag."""

    def __init__(self, video: FrameSource, cancel: threading.Event) -> None:
        self._video, self._cancel = video, cancel
        self.path, self.frame_count, self.width, self.height = video.path, video.frame_count, video.width, video.height

    def fingerprint(self) -> str:
        """The video's, so that the tracker runs of one job are remembered for the next (memo.py)."""
        return self._video.fingerprint()

    def frame(self, index: int):
        if self._cancel.is_set():
            raise Cancelled()
        return self._video.frame(index)


def worker_video(video: FrameSource) -> FrameSource:
    """A separate decoder for the worker thread: a `VideoFile` keeps decoder state and a cache
    that two threads must not share. Other frame sources are used as they are (they must then be
    safe to read from two threads)."""
    if isinstance(video, VideoFile):
        return VideoFile(video.path, index=video.index_bytes)
    if isinstance(video, ImageFolder):
        return ImageFolder(video.path, fps=video.fps)
    return video


def stretches(keys: Sequence[Box], frame: int, frame_count: int, max_span: int
              ) -> list[tuple[Box | None, Box | None]]:
    """The (start, end) keyframe pairs whose stretch an edit at `frame` changes.

    Where `frame` is itself a keyframe these are (previous, it) and (it, next); where it is not
    (its box was deleted or moved to another track) the one stretch that contains it. A missing
    neighbour is None: the propagator then runs up to `max_span` frames from the other side.
    """
    before = [k for k in keys if k.frame < frame]
    after = [k for k in keys if k.frame > frame]
    here = [k for k in keys if k.frame == frame]
    prev, nxt = (before[-1] if before else None), (after[0] if after else None)
    if here:
        pairs = [(prev, here[0]), (here[0], nxt)]
    else:
        pairs = [(prev, nxt)]
    return [(a, b) for a, b in pairs if (a is not None or b is not None)
            and not (a is not None and a.outside and b is None)       # nothing after an end
            and not (b is not None and b.outside and a is None)]


def _until_taken(boxes: list[PropagatedBox], others: dict[int, list[Box]],
                 backward: bool) -> list[PropagatedBox]:
    """A track carried past its first or last keyframe (`backward`: before its first), cut at
    the first frame, counted from that keyframe, where its box would be the same object as
    another track's box (IoU >= SAME_OBJECT_IOU): there the object is already tracked, and
    going on would make a second box of it on every frame."""
    ordered = sorted(boxes, key=lambda b: b.frame, reverse=backward)
    for i, b in enumerate(ordered):
        if best_overlap(b.xywh, others.get(b.frame, []), SAME_OBJECT_IOU) is not None:
            ordered = ordered[:i]
            break
    return sorted(ordered, key=lambda b: b.frame)


def _span(start: Box | None, end: Box | None, frame_count: int, max_span: int) -> tuple[int, int]:
    """Inclusive frame range a stretch may write to (its keyframes included)."""
    lo = start.frame if start is not None else max(0, end.frame - 1 - max_span)
    hi = end.frame if end is not None else min(frame_count - 1, start.frame + 1 + max_span)
    return lo, hi


def _key(boxes: Sequence[Box]) -> tuple:
    return tuple((b.frame, b.xywh, b.outside, b.class_id) for b in boxes)


class Repropagator:
    """The background scheduler of re-propagation jobs over one project."""

    def __init__(self, project: Project, video: FrameSource, *, tracker: str = "auto",
                 background: bool = True, max_span: int = DEFAULT_MAX_SPAN,
                 detections: Callable[[int], list[Detection]] = lambda f: [],
                 accept_threshold: float = ACCEPT_THRESHOLD,
                 on_written: Callable[[int, set[int]], None] = lambda t, frames: None) -> None:
        self.project = project
        self.tracker = tracker
        self.background = background
        self.max_span = max_span
        self.frame_count = project.video.frame_count if project.video else video.frame_count
        self._detections = detections
        self._accept = accept_threshold
        self._on_written = on_written
        self._cv = threading.Condition()
        self._pending: dict[int, list[Anchor]] = {}
        self._running: int | None = None
        self._cancel = threading.Event()
        self._closed = False
        self._costs: list[StretchCost] = []
        self._latest: dict[int, int] = {}   # track -> newest edit submitted for it
        self.errors: list[str] = []
        if background:
            self._video = worker_video(video)
            self._thread = threading.Thread(target=self._loop, name="vidlabel-repropagate", daemon=True)
            self._thread.start()
        else:
            self._video = video
            self._thread = None

    # ------------------------------------------------------------------ scheduling
    def submit(self, anchors: Sequence[Anchor], persist: bool = True) -> None:
        """Queue anchors; a running job on one of their tracks is cancelled and restarted.

        Each anchor is also stored in the project until its stretch is written (or void), so a
        session killed first leaves it for the next one (`resume`)."""
        if not anchors:
            return
        if persist:
            self.project.add_pending_repairs((a.track_id, a.frame, a.parent) for a in anchors)
        with self._cv:
            for a in anchors:
                self._latest[a.track_id] = max(a.parent, self._latest.get(a.track_id, 0))
        if not self.background:
            for a in anchors:
                self._run(a.track_id, [a], threading.Event())
            return
        replaced: list[Anchor] = []
        with self._cv:
            for a in anchors:
                queue = self._pending.setdefault(a.track_id, [])
                replaced += [q for q in queue if q.frame == a.frame and q != a]
                queue[:] = [q for q in queue if q.frame != a.frame] + [a]
                if self._running == a.track_id:
                    self._cancel.set()
            self._cv.notify_all()
        for q in replaced:   # a newer anchor on the same frame does its work
            self.project.drop_pending_repair(q.track_id, q.frame, q.parent)

    def resume(self) -> int:
        """Queue the re-propagations an earlier session asked for and never wrote (it was killed
        or closed first); an anchor whose edit has been undone since is void and just dropped."""
        pending = [Anchor(*row) for row in self.project.pending_repairs()]
        self.submit(pending, persist=False)
        return len(pending)

    def cancel_all(self) -> list[Anchor]:
        """Stop everything (before an undo): returns the anchors that were not done, for requeueing."""
        if not self.background:
            return []
        with self._cv:
            if self._running is not None:
                self._cancel.set()
            self._cv.wait_for(lambda: self._running is None)
            left = [a for queue in self._pending.values() for a in queue]
            self._pending.clear()
            return left

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once nothing is queued or running (results written and rescored)."""
        with self._cv:
            return self._cv.wait_for(lambda: not self._pending and self._running is None, timeout)

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._pending.clear()
            self._cancel.set()
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join()
            if self._video is not None:
                self._video.close()

    def stats(self) -> dict:
        """Cost of re-propagation so far: stretches, frames, seconds and milliseconds per frame."""
        with self._cv:
            costs = list(self._costs)
        frames = sum(c.frames for c in costs)
        seconds = sum(c.seconds for c in costs)
        return {"stretches": len(costs), "frames": frames, "seconds": seconds,
                "ms_per_frame": 1000 * seconds / frames if frames else 0.0,
                "boxes_written": sum(c.written for c in costs)}

    # ------------------------------------------------------------------ the worker
    def _loop(self) -> None:
        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._pending or self._closed)
                if self._closed:
                    return
                track = next(iter(self._pending))
                anchors = self._pending.pop(track)
                self._running, self._cancel = track, threading.Event()
                cancel = self._cancel
            left: list[Anchor] = []
            try:
                left = self._run(track, anchors, cancel)
            finally:
                with self._cv:
                    if left and not self._closed:  # cancelled: run again with the newer anchors
                        newer = self._pending.pop(track, [])
                        frames = {a.frame for a in newer}
                        self._pending[track] = [a for a in left if a.frame not in frames] + newer
                    self._running = None
                    self._cv.notify_all()

    def _run(self, track: int, anchors: list[Anchor], cancel: threading.Event) -> list[Anchor]:
        """Process anchors in order; returns those left undone because the job was cancelled."""
        done: set[tuple] = set()
        for i, anchor in enumerate(anchors):
            try:
                self._anchor(anchor, cancel, done)
            except Cancelled:
                return anchors[i:]
            except Exception as exc:  # noqa: BLE001 - one bad stretch must not stop the worker
                log.exception("re-propagation of track %s around frame %s failed", track, anchor.frame)
                self.errors.append(f"track {track} frame {anchor.frame}: {exc}")
            self.project.drop_pending_repair(anchor.track_id, anchor.frame, anchor.parent)
        return []

    def _anchor(self, anchor: Anchor, cancel: threading.Event, done: set[tuple]) -> None:
        keys = keyframes(self.project.boxes(track_id=anchor.track_id))
        for start, end in stretches(keys, anchor.frame, self.frame_count, self.max_span):
            lo, hi = _span(start, end, self.frame_count, self.max_span)
            signature = (lo, hi, _key([b for b in keys if lo <= b.frame <= hi]))
            if signature in done:
                continue
            done.add(signature)
            t0 = time.perf_counter()
            others = self._other_boxes(anchor.track_id, lo, hi)
            snap = self._free_detections(others, lo, hi)
            existing = {b.frame: b for b in self.project.boxes(track_id=anchor.track_id, frames=(lo, hi + 1))
                        if not b.verified}
            boxes = repair(_CancellableFrames(self._video, cancel), start, end, existing, self.tracker,
                           snap=snap, max_span=self.max_span, guide=snap)
            if cancel.is_set():
                raise Cancelled()
            if start is None or end is None:
                boxes = _until_taken(boxes, others, backward=start is None)
            cls = (end if start is None or start.outside else start).class_id
            written = self._write(anchor, lo, hi, signature[2], cls, boxes)
            seconds = time.perf_counter() - t0
            with self._cv:
                self._costs.append(StretchCost(anchor.track_id, len(boxes), seconds, len(written)))
            if written:
                self._on_written(anchor.track_id, written)

    def _other_boxes(self, track_id: int, lo: int, hi: int) -> dict[int, list[Box]]:
        """Every other track's visible boxes on frames `lo`..`hi`, by frame."""
        others: dict[int, list[Box]] = {}
        for b in self.project.boxes(frames=(lo, hi + 1), include_outside=False):
            if b.track_id != track_id:
                others.setdefault(b.frame, []).append(b)
        return others

    def _free_detections(self, others: dict[int, list[Box]], lo: int, hi: int) -> dict[int, list[Detection]]:
        """The confident detections of frames `lo`..`hi` that no other track's box sits on
        (IoU >= SNAP_IOU): one detection is one object, so a track re-propagated near another
        must not snap onto the other's detection and become a second box of that object."""
        free = {}
        for f in range(lo, hi + 1):
            dets = [d for d in self._detections(f) if d.confidence >= self._accept]
            taken = others.get(f)
            if dets and taken:
                iou = iou_matrix(np.array([d.xywh for d in dets]), np.array([b.xywh for b in taken]))
                dets = [d for d, row in zip(dets, iou) if row.max() < SNAP_IOU]
            free[f] = dets
        return free

    def _write(self, anchor: Anchor, lo: int, hi: int, key: tuple, class_id: int,
               boxes: list[PropagatedBox]) -> set[int]:
        """Write the changed boxes as one machine action; nothing if the result went stale."""
        with self._cv:
            latest = self._latest.get(anchor.track_id, anchor.parent)
        with self.project.lock:  # the parent's state cannot change before the write
            parent = next((a for a in (latest, anchor.parent) if self.project.action_state(a) == "done"), None)
            if parent is None:
                return set()  # the edit was undone meanwhile: its follow-up is void
            return self._write_as(parent, anchor, lo, hi, key, class_id, boxes)

    def _write_as(self, parent: int, anchor: Anchor, lo: int, hi: int, key: tuple, class_id: int,
                  boxes: list[PropagatedBox]) -> set[int]:
        t = anchor.track_id
        try:
            with self.project.action(EditKind.PROPAGATE, MACHINE, {"track": t, "frames": [lo, hi]},
                                     parent=parent):
                current = self.project.boxes(track_id=t, frames=(lo, hi + 1))
                if _key(keyframes(current)) != key:
                    raise Cancelled()  # keyframes moved since the computation: compute again
                new = machine_boxes(boxes, t, class_id, {b.frame: b for b in current},
                                    set(self.project.verified_frames()))
                if not new:
                    raise _NothingChanged()
                self.project.put_boxes(new)
        except _NothingChanged:
            return set()
        return {b.frame for b in new}
