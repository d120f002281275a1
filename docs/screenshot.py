"""Recreate docs/screenshot.png: the app on the bundled sample, pre-labelled, a few frames reviewed.

Needs a real X server for the window manager-free look of a desktop session; on a headless
machine run it under Xvfb (Debian package `xvfb`; Qt's xcb plugin also needs `libxcb-icccm4`,
`libxcb-keysyms1` and `libxcb-cursor0`):

    xvfb-run -a -s "-screen 0 1920x1080x24" python docs/screenshot.py [OUT.png] [--filmstrip | --similar]

Nothing here is staged by hand: the sample is pre-labelled with the default detector, the first
queue items are accepted through the window's own controller, and the window is grabbed after a
jump to the next item of the review queue (N): the box it is about selected, its row marked, the
reason and score in the status bar. With `--filmstrip` (docs/screenshot-filmstrip.png) nothing is
accepted first and the grab follows the first jump to a track pick: its crops in the filmstrip.
With `--similar` (docs/screenshot-similar.png) the video is ADL-Rundle-6 from ../shared/data,
whose guideline leaves far-away people and people behind shop windows out: the person deletes
three tracks on nobody its ground truth wants and accepts two on people (through the
controller, as the keys do), and the grab follows the jump to the pick that offers the tracks
like the deleted ones at once.
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


def main(out: Path, mode: str = "") -> int:
    from PyQt6.QtCore import QTimer

    from vidlabel.gui.launch import application, open_window
    from vidlabel.prelabelling.pipeline import PrelabelOptions, prelabel

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_CONFIG_HOME"] = tmp  # default keys, whatever this machine's user set
        if mode == "--similar":
            project = similar_scene(Path(tmp))
        else:
            video = Path(shutil.copy(ROOT / "assets" / "sample.mp4", Path(tmp) / "sample.mp4"))
            project = Path(tmp) / "sample.vlp"
            prelabel(video, project, PrelabelOptions(classes=("person", "car")), progress=False)
        app = application()
        window = open_window(project)
        window.resize(1600, 900)
        window.show()
        steps = iter(range(4))
        if mode == "--similar":
            teach(window)
        jumps = iter(range(25))

        def to_track_pick() -> None:
            """Walk the queue (N) until a jump lands on a track pick, as a person would."""
            wanted = (lambda p: p is not None and bool(p.group)) if mode == "--similar" else (lambda p: p is not None)
            if not wanted(window.c.track_pick) and window.c.ready and next(jumps, None) is not None:
                window.walker.next()
            if not wanted(window.c.track_pick) and next(jumps, None) is not None:
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

        QTimer.singleShot(1500, to_track_pick if mode else review)
        return app.exec()


ADL = ROOT.parent / "shared" / "data" / "ADL-Rundle-6"   # the --similar scene: a real guideline


def similar_scene(tmp: Path) -> Path:
    """ADL-Rundle-6's first 150 frames, pre-labelled; its ground truth leaves far-away people and
    people behind the shop windows out."""
    from vidlabel.prelabelling.pipeline import PrelabelOptions, prelabel
    from vidlabel.simulation.experiment import cut_video

    video = cut_video(ADL / "video.mp4", 0, 150, tmp / "adl.mp4")
    prelabel(video, tmp / "adl.vlp", PrelabelOptions(classes=("person",)), progress=False)
    return tmp / "adl.vlp"


def teach(window) -> None:
    """The person applies the guideline: the three longest tracks on no annotated person are
    deleted and the two longest on one accepted at their ends, each one action through the
    controller, as Shift+Delete and the filmstrip's accept do."""
    from vidlabel.datamodel import iou_matrix
    from vidlabel.simulation.groundtruth import load_ground_truth

    c = window.c
    c.session.wait_idle()
    gt = load_ground_truth(ADL / "gt" / "gt.txt", 525).cut(0, 150)
    tracks = {t: boxes for t in c.project.track_ids() if (boxes := c.project.boxes(track_id=t))}

    def on_people(boxes) -> float:
        return sum(bool(objs := gt.objects(b.frame)) and iou_matrix([b.xywh], [o.xywh for o in objs]).max() >= 0.5
                   for b in boxes) / len(boxes)

    longest = sorted(tracks, key=lambda t: -len(tracks[t]))
    for t in [t for t in longest if on_people(tracks[t]) < 0.2][:3]:
        c._edit(lambda t=t: c.session.delete_track(t, shown=2))
    for t in [t for t in longest if on_people(tracks[t]) > 0.8][:2]:
        c._edit(lambda t=t: c.session.accept_stretch(t, [tracks[t][0].frame, tracks[t][-1].frame]))


if __name__ == "__main__":
    modes = [a for a in sys.argv[1:] if a in ("--filmstrip", "--similar")]
    args = [a for a in sys.argv[1:] if a not in modes]
    raise SystemExit(main(Path(args[0]) if args else ROOT / "docs" / "screenshot.png", modes[0] if modes else ""))
