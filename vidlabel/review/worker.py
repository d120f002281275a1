"""Rescoring off the person's thread: score updates run in order in one worker, then the queue.

On a 100,000-box project the start-up scoring takes seconds, and rescoring after an edit and
ranking the review queue take up to tenths of a second. The person's thread (the app's UI thread)
must wait for none of them, and must never see their results out of order. A `ScoringWorker`
runs the jobs a review session hands it (the start-up pass, the rescoring of an edit, of an undo,
of what a re-propagation rewrote) one at a time, in the order they were submitted, each numbered
with a revision. Once no job is left it calls `when_drained(revision)`, where the session ranks
the queue for whoever watches it: a burst of edits costs one ranking, and every ranking includes
every job submitted before it started.

With `background=False` a job runs inline before `submit` returns, followed by `when_drained`
(tests, the simulator, the CLI: every call returns with the scores settled).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)


class ScoringWorker:
    """One thread that runs scoring jobs in submission order (or runs them inline)."""

    def __init__(self, when_drained: Callable[[int], None], background: bool = True) -> None:
        self._when_drained = when_drained
        self.background = background
        self._cv = threading.Condition()
        self._jobs: deque[Callable[[], None]] = deque()
        self.submitted = 0     # revision of the newest job submitted
        self.finished = 0      # revision of the newest job done, its `when_drained` included
        self._closed = False
        self.stopping = threading.Event()  # set by close(): a long job stops at its next chunk
        self.errors: list[str] = []
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._loop, name="vidlabel-scoring", daemon=True)
            self._thread.start()

    def submit(self, job: Callable[[], None]) -> int:
        """Queue a job; returns its revision (jobs run, and are reported, in this order)."""
        with self._cv:
            if self._closed:
                return self.submitted
            self.submitted += 1
            revision = self.submitted
            if self.background:
                self._jobs.append(job)
                self._cv.notify_all()
                return revision
        self._run(job)
        self._drained(revision)
        with self._cv:
            self.finished = max(self.finished, revision)  # a job may have submitted another
        return revision

    def in_worker(self) -> bool:
        return threading.current_thread() is self._thread

    def wait(self, timeout: float | None = None) -> bool:
        """True once every job submitted so far is done and reported. Called from a job or a
        report (the worker's own thread) it returns at once: the worker cannot wait for itself;
        inline, everything is done already."""
        if self.in_worker() or not self.background:
            return True
        with self._cv:
            target = self.submitted
            return self._cv.wait_for(lambda: self.finished >= target or self._closed, timeout)

    def close(self) -> None:
        """Drop the jobs not started, let the running one stop at its next check, end the thread."""
        self.stopping.set()
        with self._cv:
            self._closed = True
            self._jobs.clear()
            self._cv.notify_all()
        if self._thread is not None and not self.in_worker():
            self._thread.join()

    # ------------------------------------------------------------------ the worker
    def _loop(self) -> None:
        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._jobs or self._closed)
                if self._closed:
                    return
                job = self._jobs.popleft()
                revision = self.finished + 1
            self._run(job)
            with self._cv:
                drained = not self._jobs
            if drained:
                self._drained(revision)
            with self._cv:
                self.finished = revision
                self._cv.notify_all()

    def _run(self, job: Callable[[], None]) -> None:
        try:
            job()
        except Exception as exc:  # noqa: BLE001 - one failed rescore must not stop the worker
            log.exception("scoring job failed")
            self.errors.append(f"{type(exc).__name__}: {exc}")

    def _drained(self, revision: int) -> None:
        try:
            self._when_drained(revision)
        except Exception as exc:  # noqa: BLE001 - a failed report must not stop the worker
            log.exception("reporting scores failed")
            self.errors.append(f"{type(exc).__name__}: {exc}")
