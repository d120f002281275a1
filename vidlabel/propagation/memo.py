"""Tracker runs remembered: a run made once is read back, not made again.

A single-object tracker started on the same box of the same frame of the same video and fed the
same frames returns the same boxes (CSRT, KCF, NanoTrack and VitTrack have no randomness; MIL,
whose sampler is seeded from the clock, is never remembered). Re-propagation asks for the same
runs again and again: `repair` first runs each keyframe until it rejoins the track and, when one
does not, `track_between` makes both runs again from the start; a keyframe added between two
others repeats, from each of them, the start of a run made when it was set; replays of a
simulation start from the same keyframes. Each tracker step costs 2-75 ms and a decoded frame,
a remembered one a dictionary lookup, so a correction's re-propagation costs what is new in it.

A remembered run keeps its boxes (a few hundred bytes a step) and, for the most recently used
runs, the tracker itself, so that a longer run goes on from where the last one stopped instead
of starting over. Both are bounded (least recently used first out).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..datamodel import XYWH
from ..video import FrameSource
from .trackers import SingleObjectTracker, create_tracker

# Trackers whose run is a function of the start box and the frames (tests/test_memo.py checks).
REPRODUCIBLE = frozenset({"csrt", "kcf", "nano", "vit"})
MAX_RUNS = 2048        # remembered runs (boxes only: about 40 KB for a 200-frame run)
MAX_LIVE = 16          # of them, the ones whose tracker is kept to go on from (CSRT: ~1 MB each)

Step = tuple[XYWH | None, float]


@dataclass
class _Remembered:
    frames: list[int] = field(default_factory=list)      # the frames fed, in order
    steps: list[Step] = field(default_factory=list)      # the tracker's answer for each
    live: SingleObjectTracker | None = None              # a tracker that has been fed all of `frames`


class RunMemo:
    """Every remembered run, by (video, tracker, start frame, start box, direction)."""

    def __init__(self) -> None:
        self._runs: OrderedDict[tuple, _Remembered] = OrderedDict()
        self._live: OrderedDict[tuple, None] = OrderedDict()
        self._lock = threading.Lock()
        self._videos: weakref.WeakKeyDictionary[FrameSource, str | None] = weakref.WeakKeyDictionary()
        self.enabled = True
        self.hits = self.misses = 0

    def video_key(self, video: FrameSource) -> str | None:
        """What identifies the frames: the file's fingerprint (None: a source without one)."""
        with self._lock:
            if video in self._videos:
                return self._videos[video]
        try:
            key = f"{video.path}:{video.fingerprint()}:{video.frame_count}"
        except (NotImplementedError, AttributeError, OSError):
            key = None
        with self._lock:
            self._videos[video] = key
        return key

    def remembered(self, key: tuple) -> _Remembered:
        with self._lock:
            run = self._runs.get(key)
            if run is None:
                run = self._runs[key] = _Remembered()
                while len(self._runs) > MAX_RUNS:
                    old, _ = self._runs.popitem(last=False)
                    self._live.pop(old, None)
            self._runs.move_to_end(key)
            return run

    def take_live(self, key: tuple, run: _Remembered, position: int) -> SingleObjectTracker | None:
        """The run's kept tracker if it stands at `position`; it is the caller's until given back."""
        with self._lock:
            tracker = run.live if len(run.frames) == position else None
            run.live = None
            self._live.pop(key, None)
            return tracker

    def give_back(self, key: tuple, run: _Remembered, tracker: SingleObjectTracker, position: int) -> None:
        with self._lock:
            if len(run.frames) != position or key not in self._runs:
                return
            run.live = tracker
            self._live[key] = None
            while len(self._live) > MAX_LIVE:
                old, _ = self._live.popitem(last=False)
                if old in self._runs:
                    self._runs[old].live = None

    def record(self, run: _Remembered, position: int, frame: int, step: Step) -> bool:
        """Append a computed step; False when another run got there first (nothing to do)."""
        with self._lock:
            if len(run.frames) != position:
                return False
            run.frames.append(frame)
            run.steps.append(step)
            return True

    def clear(self) -> None:
        with self._lock:
            self._runs.clear()
            self._live.clear()
            self.hits = self.misses = 0


MEMO = RunMemo()


@contextmanager
def memo_disabled() -> Iterator[None]:
    """Every run computed afresh (benchmarks compare both; tests check they agree)."""
    was, MEMO.enabled = MEMO.enabled, False
    try:
        yield
    finally:
        MEMO.enabled = was


class TrackerRun:
    """One run of a tracker from a start box: `update(frame)` frame by frame, as a tracker is
    fed, answered from the memo where the same run was made before. `close()` when done."""

    def __init__(self, video: FrameSource, tracker: str, frame: int, xywh: XYWH) -> None:
        self.video, self.name, self.frame, self.xywh = video, tracker, frame, tuple(xywh)
        video_key = MEMO.video_key(video) if MEMO.enabled and tracker in REPRODUCIBLE else None
        self._base = None if video_key is None else (video_key, tracker, frame, self.xywh)
        self._key: tuple | None = None
        self._run: _Remembered | None = None
        self._live: SingleObjectTracker | None = None
        self._fed: list[int] = []     # the frames fed so far

    def update(self, frame: int) -> Step:
        run = self._remembered(frame)
        k = len(self._fed)
        if run is not None and k < len(run.frames):
            if run.frames[k] == frame:
                self._fed.append(frame)
                MEMO.hits += 1
                return run.steps[k]
            self._run = run = None    # fed differently from the remembered run: on its own from here
        step = self._tracker().update(self.video.frame(frame))
        MEMO.misses += 1
        if run is not None and not MEMO.record(run, k, frame, step):
            self._run = None
        self._fed.append(frame)
        return step

    def close(self) -> None:
        """Leave the tracker with the memo, so that a longer run goes on from here."""
        if self._run is not None and self._live is not None:
            MEMO.give_back(self._key, self._run, self._live, len(self._fed))
        self._live = self._run = None

    def _remembered(self, frame: int) -> _Remembered | None:
        if self._base is not None and self._key is None:   # the direction is known at the first frame
            self._key = (*self._base, 1 if frame > self.frame else -1)
            self._run = MEMO.remembered(self._key)
        return self._run

    def _tracker(self) -> SingleObjectTracker:
        """The tracker that has been fed every frame so far: this run's own, the memo's kept one,
        or a new one fed those frames again."""
        if self._live is None and self._run is not None:
            self._live = MEMO.take_live(self._key, self._run, len(self._fed))
        if self._live is None:   # kept only once it has been fed everything: a read that
            tracker = create_tracker(self.name)   # fails half way (a cancelled job) leaves nothing
            tracker.init(self.video.frame(self.frame), self.xywh)
            for f in self._fed:
                tracker.update(self.video.frame(f))
            self._live = tracker
        return self._live
