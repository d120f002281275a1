"""Recreate docs/screenshot.png: the app on the bundled sample, pre-labelled, a few frames reviewed.

Needs a real X server for the window manager-free look of a desktop session; on a headless
machine run it under Xvfb (Debian package `xvfb`; Qt's xcb plugin also needs `libxcb-icccm4`,
`libxcb-keysyms1` and `libxcb-cursor0`):

    xvfb-run -a -s "-screen 0 1920x1080x24" python docs/screenshot.py [OUT.png] [--filmstrip]

Nothing here is staged by hand: the sample is pre-labelled with the default detector, the first
queue items are accepted through the window's own controller, and the window is grabbed after a
jump to the next item of the review queue (N): the box it is about selected, its row marked, the
reason and score in the status bar. With `--filmstrip` (docs/screenshot-filmstrip.png) nothing is
accepted first and the grab follows the first jump to a track pick: its crops in the filmstrip.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VIDLABEL_OFFLINE", "1")


def main(out: Path, filmstrip: bool = False) -> int:
    from PyQt6.QtCore import QTimer

    from vidlabel.gui.launch import application, open_window
    from vidlabel.prelabelling.pipeline import PrelabelOptions, prelabel

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_CONFIG_HOME"] = tmp  # default keys, whatever this machine's user set
        video = Path(shutil.copy(ROOT / "assets" / "sample.mp4", Path(tmp) / "sample.mp4"))
        project = Path(tmp) / "sample.vlp"
        prelabel(video, project, PrelabelOptions(classes=("person", "car")), progress=False)
        app = application()
        window = open_window(project)
        window.resize(1600, 900)
        window.show()
        steps = iter(range(4))
        jumps = iter(range(25))

        def to_track_pick() -> None:
            """Walk the queue (N) until a jump lands on a track pick, as a person would."""
            if window.c.track_pick is None and window.c.ready and next(jumps, None) is not None:
                window.walker.next()
            if window.c.track_pick is None and next(jumps, None) is not None:
                QTimer.singleShot(300, to_track_pick)
                return
            QTimer.singleShot(800, grab)

        def review() -> None:
            """Accept the first queue items one by one, as a person pressing Enter would."""
            if next(steps, None) is None:
                window.walker.next()   # selects the box the pick is about; the status bar says why
                QTimer.singleShot(1500, grab)
                return
            if window.picks:
                window.c.seek(window.picks[0].frame)
                window.accept_and_next()
            QTimer.singleShot(700, review)

        def grab() -> None:
            window.grab().save(str(out))
            print(f"wrote {out} ({window.width()}x{window.height()})")
            window.close()
            app.quit()

        QTimer.singleShot(1500, to_track_pick if filmstrip else review)
        return app.exec()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--filmstrip"]
    raise SystemExit(main(Path(args[0]) if args else ROOT / "docs" / "screenshot.png", "--filmstrip" in sys.argv))
