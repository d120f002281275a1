"""One exception type for every failure a user can cause.

The command line prints a `VidlabelError` as one line (what went wrong, and where) and exits
non-zero; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class VidlabelError(Exception):
    """A user-facing error: `what` happened at `where` (a file, a frame, an entry)."""

    def __init__(self, what: str, where: str | None = None) -> None:
        self.what = what
        self.where = where
        super().__init__(f"{what} ({where})" if where else what)


def one_line(exc: BaseException, limit: int = 200) -> str:
    """A library's error text folded into one line for a `VidlabelError` that quotes it: the
    command line promises one line per error, and Ultralytics' or OpenCV's texts span several."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit - 1] + "…"


class InvalidBoxError(VidlabelError, ValueError):
    """A box or region with impossible geometry (not finite, or no width or height).

    Also a `ValueError`, which it is: code that validates numbers may catch either.
    """


class ProjectError(VidlabelError):
    """The project file cannot be opened or written as asked."""


class ProjectInUseError(ProjectError):
    """Another process holds the project open for writing."""


class VideoError(VidlabelError):
    """The video is missing, unreadable, empty, or a frame index is out of range."""


class ModelNotFoundError(VidlabelError):
    """No detector or tracker weights were found in any of the places searched."""


class FormatError(VidlabelError):
    """An annotation file (COCO, MOT, YOLO) is malformed."""


class DetectorError(VidlabelError):
    """The detector cannot be loaded or was asked for something its model cannot do."""


class PrelabelError(VidlabelError):
    """Pre-labelling was asked for something it cannot do."""


class TrackerError(VidlabelError):
    """A tracker is unknown, unavailable in this OpenCV build, or cannot start on a box."""


class PropagationError(VidlabelError):
    """Propagation was asked for something inconsistent (order, direction, missing keyframes)."""


class ScoringError(VidlabelError):
    """Scoring was asked for with an unknown parameter (aggregate, weight name)."""


class StrategyError(VidlabelError):
    """An unknown strategy, or parameters a strategy cannot use."""


class CommitteeError(StrategyError):
    """The committee strategy cannot run on this project: no first run, or no second detector."""


# Not a user's error: a guard of the simulator's honesty (it must never read unseen ground truth).
class UnshownFrameError(RuntimeError):
    """Ground truth of a frame the tool never showed was read: a bug in the simulation."""
