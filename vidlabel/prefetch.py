"""Frames decoded before they are asked for.

A jump to a frame costs a seek and a decode from its keyframe: 30 ms at the median on PETS09,
80 ms at the 95th percentile, which a person feels on every queue item. Yet the app knows what
comes next: the queue's next picks, the neighbours of the current frame, a track pick's crops.
A `Prefetcher` decodes those in a thread of its own, with a reader of its own (`FrameSource.twin`:
a decoder is not shared between threads) that fills the same frame cache the app reads, so the
jump finds its frame decoded. `want()` replaces the list: when the person goes elsewhere, what
was wanted for the old place is dropped, not decoded first. Memory stays within the cache's bound.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from .errors import VidlabelError
from .video import FrameSource

log = logging.getLogger(__name__)


class Prefetcher:
    """Decodes wanted frames into `video`'s cache in the background; does nothing for a source
    without a `twin`."""

    def __init__(self, video: FrameSource) -> None:
        self._reader = video.twin()
        self._wanted: list[int] = []
        self._cond = threading.Condition()
        self._closed = False
        self._busy = False          # a frame is being decoded
        self.decoded = 0            # frames decoded ahead, and the seconds that took (benchmarks)
        self.seconds = 0.0
        self._thread = None
        if self._reader is not None:
            self._thread = threading.Thread(target=self._run, name="vidlabel-prefetch", daemon=True)
            self._thread.start()

    def want(self, frames: Iterable[int]) -> None:
        """Decode these next, in this order, instead of whatever was wanted before."""
        with self._cond:
            self._wanted = list(dict.fromkeys(f for f in frames if 0 <= f < self._count()))
            self._cond.notify()

    def idle(self, timeout: float = 10.0) -> bool:
        """Wait until everything wanted is decoded (tests and benchmarks)."""
        end = time.monotonic() + timeout
        with self._cond:
            while (self._wanted or self._busy) and time.monotonic() < end:
                self._cond.wait(0.01)
            return not self._wanted and not self._busy

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._wanted = []
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._reader.close()

    def _count(self) -> int:
        return self._reader.frame_count if self._reader is not None else 0

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._wanted and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                frame = self._wanted.pop(0)
                self._busy = True
            t = time.perf_counter()
            decoded = not self._reader.cached(frame)
            try:
                if decoded:
                    self._reader.frame(frame)
            except VidlabelError as exc:     # a damaged stretch: the app's own read will say so
                log.debug("prefetch of frame %d failed: %s", frame, exc)
            with self._cond:
                self.decoded += decoded
                self.seconds += time.perf_counter() - t
                self._busy = False
                self._cond.notify_all()
