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
