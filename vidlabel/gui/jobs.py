"""Long jobs off the UI thread: run a function in a worker thread, report progress, allow cancel.

A `Job` lives in the UI thread; its function runs in a Python thread and reports through the
job's signals, which Qt queues to the UI thread because they are emitted from another thread.
The function checks `job.cancelled` between steps: cancelling is cooperative, so a job stops at a
point where what it wrote is whole (a stored batch, a finished file), never in the middle.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from PyQt6.QtCore import QObject, pyqtSignal

from ..errors import VidlabelError

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """Raised inside a job's function to stop at a safe point after `cancel()`."""


class Job(QObject):
    progress = pyqtSignal(int, int, str)  # done, total, what is happening
    finished = pyqtSignal(object)         # the function's result
    failed = pyqtSignal(str)              # a user-facing error
    cancelled_ = pyqtSignal()             # stopped at a safe point after cancel()

    def __init__(self, work: Callable[["Job"], object], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._work = work
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="vidlabel-job")
        self.result: object = None  # the function's result once it returned

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        """Call between steps: raises `Cancelled` once the person asked to stop."""
        if self._cancel.is_set():
            raise Cancelled

    def report(self, done: int, total: int, what: str = "") -> None:
        self.progress.emit(done, total, what)

    def wait(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            result = self._work(self)
        except Cancelled:
            self.cancelled_.emit()
        except VidlabelError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # a bug: keep its traceback in the log, tell the person anyway
            log.exception("job failed")
            self.failed.emit(f"internal error: {type(exc).__name__}: {exc} (details in the log)")
        else:
            self.result = result
            self.finished.emit(result)
