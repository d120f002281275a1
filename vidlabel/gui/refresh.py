"""Background refresh of everything the docks and the timeline show about the whole project.

Statistics, the track list and the per-frame scores need a pass over all boxes: on a
100,000-box project that is long enough to stutter stepping if it ran on the UI thread. A worker
thread reads them through its own read-only connection (SQLite in WAL mode lets it read while the
window writes) and hands back one immutable `Snapshot` through a queued signal. Requests made
while a pass runs collapse into one more pass, so a burst of edits costs two passes, not twenty.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QObject, QThread, QTimer, pyqtSignal, pyqtSlot

from ..errors import VidlabelError
from ..review.stats import ProjectStats, TrackSummary, summarize
from ..store.project import Project


@dataclass(frozen=True)
class Snapshot:
    """What the docks and the timeline show. The per-frame arrays are built here, in the worker:
    on 30,000 frames building them on the UI thread cost 5 ms of whatever step it landed in."""

    stats: ProjectStats
    tracks: list[TrackSummary]
    scores: np.ndarray    # per frame, 0 where unscored
    verified: np.ndarray  # per frame, bool


class _Worker(QObject):
    ready = pyqtSignal(object)

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._project: Project | None = None

    failed = pyqtSignal(str)

    @pyqtSlot()
    def compute(self) -> None:
        try:
            if self._project is None:  # opened here so the connection lives in this thread
                self._project = Project.open(self.path, readonly=True)
            p = self._project
            stats, tracks = summarize(p)
            frames = p.video.frame_count if p.video else 0
            scores, verified = np.zeros(frames), np.zeros(frames, bool)
            for frame, (score, _) in p.frame_scores().items():
                if 0 <= frame < frames:
                    scores[frame] = score
            listed = np.asarray(p.verified_frames(), int)
            verified[listed[(listed >= 0) & (listed < frames)]] = True
        except (VidlabelError, sqlite3.Error) as exc:
            self.failed.emit(f"cannot read project statistics: {exc}")
            return
        self.ready.emit(Snapshot(stats, tracks, scores, verified))

    @pyqtSlot()
    def close(self) -> None:
        if self._project is not None:
            self._project.close()
            self._project = None


class Refresher(QObject):
    """Debounced, coalescing refresh: `request()` as often as you like, get `ready(Snapshot)`."""

    ready = pyqtSignal(object)
    failed = pyqtSignal(str)
    _compute = pyqtSignal()

    def __init__(self, path: Path, parent: QObject | None = None, delay_ms: int = 120) -> None:
        super().__init__(parent)
        self._thread = QThread(self)
        self._worker = _Worker(path)
        self._worker.moveToThread(self._thread)
        self._compute.connect(self._worker.compute)
        self._worker.ready.connect(self._done)
        self._worker.failed.connect(self._failed)
        self._busy = self._again = False
        self._timer = QTimer(self, singleShot=True, interval=delay_ms)
        self._timer.timeout.connect(self._start)
        self._thread.start()

    def request(self) -> None:
        self._timer.start()

    def _start(self) -> None:
        if self._busy:
            self._again = True
            return
        self._busy = True
        self._compute.emit()

    def _done(self, snapshot: Snapshot) -> None:
        self._busy = False
        self.ready.emit(snapshot)
        if self._again:
            self._again = False
            self._start()

    def _failed(self, message: str) -> None:
        self._busy = self._again = False
        self.failed.emit(message)

    def stop(self) -> None:
        """End the thread, then close the worker's connection.

        Not by a queued signal: `quit()` may end the thread's event loop before a queued close
        runs, and a reader left open keeps the project's WAL from being folded into the file.
        Once the thread has ended, nothing else uses the connection, so closing it here is safe."""
        self._timer.stop()
        self._thread.quit()
        self._thread.wait()
        self._worker.close()
