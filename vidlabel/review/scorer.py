"""The scorer: box and frame uncertainty scores of one project, kept current after every edit.

What the signals mean is in `signals.py`; the words shown for them in `reasons.py`; the
in-memory copy of the project's boxes that makes rescoring incremental in `mirror.py`. The
scorer ties them together and writes the scores to the project.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping

from ..datamodel import ACCEPT_THRESHOLD, Box, Detection
from ..errors import ScoringError
from ..prelabelling.record import PrelabelRecord
from ..store.project import Project
from .mirror import BoxMirror, context_changes
from .reasons import frame_reasons
from .signals import (
    DEFAULT_WEIGHTS,
    BoxScore,
    FrameSignal,
    FrameState,
    aggregate,
    box_score,
    detection_signals,
    match_boxes,
)

RESCORE_CHUNK = 500      # frames per chunk of a full rescore (see `Scorer.rescore_all`)


class Scorer:
    """Box and frame scores of one project, kept current incrementally.

    The scorer mirrors the project's boxes in memory. `rescore(tracks, frames)` re-reads only
    those tracks and frames, then recomputes a frame in full (matching boxes to detections)
    only where a box on it changed, and elsewhere on the tracks' frames only the boxes whose
    temporal context moved (a new keyframe changes every distance along its track). It writes
    the box scores it recomputed and the scores of the frames whose score changed to the
    project. Thread-safe: rescoring may run in a worker thread while the person edits.
    """

    def __init__(self, project: Project, accept_threshold: float | None = None,
                 how: str = "max", weights: Mapping[str, float] | None = None,
                 run_id: int | None = None) -> None:
        aggregate((), how)  # validates `how`
        unknown = set(weights or ()) - set(DEFAULT_WEIGHTS)
        if unknown:
            raise ScoringError(f"unknown signal weight(s) {sorted(unknown)}; signals are "
                               f"{sorted(DEFAULT_WEIGHTS)}")
        self.project = project
        self.how = how
        self.weights = {**DEFAULT_WEIGHTS, **(weights or {})}
        # Pre-labelling records its accept threshold and detection run.
        record = PrelabelRecord.read(project)
        self.accept_threshold = float(
            accept_threshold if accept_threshold is not None
            else (record.accept_conf if record else ACCEPT_THRESHOLD))
        runs = project.detection_runs()
        self.run_id = run_id if run_id is not None else (
            record.run if record else (runs[0]["id"] if runs else None))
        ref = project.video
        self.frame_count = ref.frame_count if ref is not None else 0
        self._lock = threading.RLock()
        self.mirror = BoxMirror()
        self._verified: set[int] = set()
        self._candidate_tracks: set[int] = set()   # candidate tracks: they claim detections, not a look
        self._frames: dict[int, FrameState] = {}
        self._dets: dict[int, list[Detection]] = {}
        self._det_signals: dict[int, dict[str, float]] = {}
        self._detected: set[int] = set()
        self._dets_lock = threading.Lock()
        self._dets_loaded = False

    def _load_detections(self) -> None:
        """Read the primary run's candidates once, on first use: a pre-labelled long video holds
        hundreds of thousands, and a session that scores in a worker must not read them in the
        thread that created it."""
        with self._dets_lock:
            if self._dets_loaded:
                return
            if self.run_id is not None:
                for d in self.project.detections(self.run_id):
                    self._dets.setdefault(d.frame, []).append(d)
                self._detected = self.project.detected_frames(self.run_id)
            self._dets_loaded = True

    def detections(self, frame: int) -> list[Detection]:
        """The primary run's raw candidates on a frame (cached: they never change)."""
        self._load_detections()
        return self._dets.get(frame, [])

    # ------------------------------------------------------------------ recomputation
    def rescore_all(self, stop: Callable[[], bool] = lambda: False) -> bool:
        """Read everything again and recompute every frame (opening a session).

        Boxes are read, and frames scored and stored, RESCORE_CHUNK frames at a time, each chunk
        under the project's lock or in its own short transaction: on a 100,000-box project the
        pass takes seconds, and an edit made meanwhile (from another thread) waits for one chunk,
        not for the pass. Such an edit may fall between two chunks: its own rescore must follow
        this pass (the review session queues it behind). `stop()` is asked between the scored
        chunks; returns False if it said stop (the scores are then incomplete).
        """
        self._load_detections()
        with self._lock:
            boxes: list[Box] = []
            for lo in range(0, max(self.frame_count, 1), RESCORE_CHUNK):
                hi = lo + RESCORE_CHUNK if lo + RESCORE_CHUNK < self.frame_count else 1 << 62
                with self.project.lock:  # whole actions only: an edit is never read half-done
                    boxes += self.project.boxes(frames=(lo, hi))
            with self.project.lock:
                self._verified = set(self.project.verified_frames())
                self._candidate_tracks = self.project.candidate_tracks()
            self.mirror.load(boxes)
            self._frames = {}
            frames = sorted(set(range(self.frame_count)) | set(self.mirror.boxes))
            for i in range(0, len(frames), RESCORE_CHUNK):
                if stop():
                    return False
                self._recompute(set(frames[i:i + RESCORE_CHUNK]), {}, store_frames=False)
            self.project.set_frame_scores(
                [(f, st.score, st.reasons) for f, st in sorted(self._frames.items()) if st.score > 0])
            return True

    def rescore(self, tracks: Iterable[int] = (), frames: Iterable[int] = ()) -> set[int]:
        """Bring the scores up to date after a change; returns the frames whose scores changed.

        `frames`: frames whose boxes may have changed (re-read from the project). `tracks`:
        tracks that may have changed anywhere (re-read whole: a class change, a merge, a split).
        A correction on one frame passes only its frame; the contexts of the tracks it touched
        are updated from the scorer's own mirror without reading the tracks again.
        """
        tracks, frames = set(tracks), set(frames)
        self._load_detections()
        with self._lock:
            with self.project.lock:  # a consistent snapshot: no other thread is mid-write
                frame_boxes = {f: self.project.boxes(frame=f) for f in frames}
                track_boxes = {t: self.project.boxes(track_id=t) for t in tracks}
                verified = set(self.project.verified_frames())
                candidate_tracks = self.project.candidate_tracks()
            full = frames | (verified ^ self._verified)
            self._verified = verified
            for t in candidate_tracks ^ self._candidate_tracks:   # confirmed (or undone): now shown, or not
                full |= self.mirror.track_frames.get(t, set())
            self._candidate_tracks = candidate_tracks
            touched: dict[int, set[int]] = {t: set() for t in tracks}
            for f, bs in frame_boxes.items():
                self.mirror.apply(f, {b.track_id: b for b in bs}, touched)
            for t, bs in track_boxes.items():
                now = {b.frame: b for b in bs}
                for f in self.mirror.track_frames.get(t, set()) | now.keys():
                    row = dict(self.mirror.boxes.get(f, {}))
                    if now.get(f) is None:
                        row.pop(t, None)
                    else:
                        row[t] = now[f]
                    self.mirror.apply(f, row, touched, only=t)
            context: dict[int, set[int]] = {}   # frame -> tracks whose box needs rescoring only
            for t, changed in touched.items():
                full |= changed
                old = self.mirror.tracks.get(t)
                new = self.mirror.context_of(t)
                moved = context_changes(old, new, changed)
                for f in self.mirror.track_frames.get(t, set()) - changed:
                    if moved(f):
                        context.setdefault(f, set()).add(t)
                self.mirror.set_context(t, new)
                for f in (old.gaps if old else set()) ^ (new.gaps if new else set()):
                    context.setdefault(f, set())
            return self._recompute(full, context)

    def _recompute(self, full: set[int], context: dict[int, set[int]],
                   store_frames: bool = True) -> set[int]:
        changed: set[int] = set()
        box_rows: list[tuple[int, float, dict]] = []
        for f in full | context.keys():
            old = self._frames.get(f)
            if f in full or old is None:
                state = self._frame_state(f)
                fresh = state.boxes
            else:
                state = self._frame_state(f, old, context[f])
                before = {b.track_id: b for b in old.boxes}
                fresh = [b for b in state.boxes if b.track_id in context[f] and b != before.get(b.track_id)]
            if old is None or old.score != state.score or old.reasons != state.reasons:
                changed.add(f)
            self._frames[f] = state
            box_rows += [(b.box_id, b.score, dict(b.signals)) for b in fresh]
        self.project.set_box_scores(box_rows)
        if store_frames:
            self.project.update_frame_scores([(f, self._frames[f].score, self._frames[f].reasons)
                                              for f in sorted(changed)])
        return changed

    def _frame_state(self, frame: int, old: FrameState | None = None,
                     rescore: set[int] = frozenset()) -> FrameState:
        """A frame's state: in full, or (given `old`) reusing its matching and untouched boxes."""
        verified = frame in self._verified
        state = FrameState(frame, verified)
        visible = [b for b in self.mirror.boxes.get(frame, {}).values() if not b.outside]
        visible.sort(key=lambda b: b.track_id)
        dets = self._dets.get(frame, [])
        if old is None:
            state.match = match_boxes(visible, dets)
        else:
            state.match = old.match
        previous = {b.track_id: b for b in old.boxes} if old is not None else {}
        for b in (b for b in visible if b.track_id not in self._candidate_tracks):
            if b.verified or verified:
                state.boxes.append(BoxScore(b.id, frame, b.track_id, b.confidence, True, {}, 0.0))
            elif old is not None and b.track_id not in rescore and b.track_id in previous:
                state.boxes.append(previous[b.track_id])
            else:
                j, overlap = state.match.get(b.track_id, (None, 0.0))
                det = dets[j] if j is not None else None
                state.boxes.append(box_score(b, det, overlap, frame in self._detected,
                                             self._detection_signals(det) if det else {},
                                             self.mirror.tracks.get(b.track_id), self.frame_count,
                                             self.weights))
        if not verified:
            claimed = {j for j, _ in state.match.values() if j is not None}
            for j, d in enumerate(dets):
                if j not in claimed and d.confidence >= self.accept_threshold:
                    state.extra.append(FrameSignal("unmatched_detection", d.confidence,
                                                   f"detection without a track (conf {d.confidence:.2f})"))
            for t in sorted(self.mirror.gaps.get(frame, set()) - self._candidate_tracks):
                state.extra.append(FrameSignal("track_gap", 1.0, f"track {t} has no box here", t))
        values = [b.score for b in state.boxes if not b.verified]
        values += [self.weights[s.name] * s.value for s in state.extra]
        state.score = 0.0 if verified else aggregate(values, self.how)
        state.reasons = frame_reasons(state, self.weights)
        return state

    def _detection_signals(self, det: Detection) -> dict[str, float]:
        """A detection's own signals, computed once per detection (they never change)."""
        key = det.id if det.id is not None else id(det)
        cached = self._det_signals.get(key)
        if cached is None:
            cached = self._det_signals[key] = detection_signals(det, self.accept_threshold)
        return cached

    # ------------------------------------------------------------------ reading
    def frames(self) -> dict[int, FrameState]:
        with self._lock:
            return dict(self._frames)

    def frame_state(self, frame: int) -> FrameState | None:
        """One frame's current state, without waiting for a rescore in progress (states are
        replaced whole, never changed in place, so a lone lookup needs no lock)."""
        return self._frames.get(frame)

    def frame_scores(self) -> dict[int, float]:
        with self._lock:
            return {f: s.score for f, s in self._frames.items()}
