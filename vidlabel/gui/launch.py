"""Starting the app: the QApplication, the theme, and opening a video or project into a window.

Kept apart from the window so that tests build windows the same way without an event loop of
their own, and so that File > Open can replace the window with one on another project.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from PyQt6.QtWidgets import QApplication, QFileDialog, QMessageBox, QWidget

from ..errors import VidlabelError
from ..store.files import default_project_path, open_or_create_project, open_project_video
from ..store.schema import is_project_file
from ..video import VIDEO_SUFFIXES
from . import pauses, shortcuts, theme
from .controller import Controller
from .window import MainWindow

# the video files the reader opens (vidlabel.video); no image suffixes: a single image is not a video
OPEN_FILTER = (f"Videos and projects (*.vlp {' '.join(f'*{s}' for s in sorted(VIDEO_SUFFIXES))});;"
               "All files (*)")


def application() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("vidlabel")
    theme.apply(app)
    pauses.set_switch_interval()  # workers run Python while the person steps (see pauses.py)
    return app


def open_window(path: str | Path, project_path: str | Path | None = None,
                classes: tuple[str, ...] = ("person",), keys: dict | None = None) -> MainWindow:
    """A window on `path` (a project, or a video whose project is found or created)."""
    keys = shortcuts.load() if keys is None else keys
    project, video = open_or_create_project(path, project_path, classes)
    # the session re-propagates in a worker thread: it gets a video reader of its own
    window = MainWindow(Controller(project, video, lambda: open_project_video(project, video.path)), keys)
    window.openRequested.connect(lambda: _replace(window, keys))
    where = _places()
    frame = where.get(str(Path(project.path).resolve()))
    if isinstance(frame, int) and 0 <= frame < video.frame_count:
        window.c.seek(frame)   # where this person left off
    window.closing.connect(lambda: _remember(Path(project.path), window.c.frame))
    return window


def _places_file() -> Path:
    """Per-user state, not project data: where each project was left (`$XDG_STATE_HOME`)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "vidlabel" / "last-frames.json"


def _places() -> dict:
    try:
        data = json.loads(_places_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _remember(project: Path, frame: int) -> None:
    where = _places()
    where[str(project.resolve())] = frame
    try:
        _places_file().parent.mkdir(parents=True, exist_ok=True)
        _places_file().write_text(json.dumps(where), encoding="utf-8")
    except OSError:
        pass   # a read-only home only costs the person their place, never the close


def ask_path(parent: QWidget | None = None) -> tuple[Path, Path | None] | None:
    """File dialogs: a video or project to open, and for a new video where its project goes."""
    chosen, _ = QFileDialog.getOpenFileName(parent, "Open a video or a vidlabel project", "", OPEN_FILTER)
    if not chosen:
        return None
    path = Path(chosen)
    if is_project_file(path) or default_project_path(path).exists():
        return path, None
    target, _ = QFileDialog.getSaveFileName(parent, "Save the new project as",
                                            str(default_project_path(path)), "vidlabel project (*.vlp)")
    return (path, Path(target)) if target else None


def _replace(window: MainWindow, keys: dict) -> None:
    asked = ask_path(window)
    if asked is None:
        return
    window.close()  # releases the project's write lock before another may be opened
    try:
        new = open_window(asked[0], asked[1], keys=keys)
    except VidlabelError as exc:
        QMessageBox.critical(None, "vidlabel", str(exc))
        return
    new.show()


def run_app(path: str | None, project_path: str | None, classes: tuple[str, ...]) -> int:
    """Open the window and run the event loop; returns the process exit code."""
    app = application()
    keys = shortcuts.load()
    if path is None:
        asked = ask_path()
        if asked is None:
            return 0
        path, project_path = asked
    window = open_window(path, project_path, classes, keys)
    window.show()
    return app.exec()
