"""How the app scales: open time and per-step render time on a 30,000-frame, 100,000-box project.

Builds a synthetic 30,000-frame video (PyAV, x264) and a project with 100,000 boxes on 40
tracks, then opens it in the real window on Qt's offscreen platform and times:

* opening: the first open of the video (which builds the packet index) against reopening the
  project (index cached in the project: no pass over the video), window and first frame included,
  and when the first review queue arrives (the session scores the whole project in its worker;
  edits work before that);
* one step (seek, decode, boxes from the store, canvas and timeline painted synchronously),
  once the session has scored the project: forward, backward, and random jumps, median and p95,
  next to the same steps on an empty project over the same video, so the cost of 100,000 boxes is
  the difference between the two rows;
* steps while the session still scores the project in its worker, with the app's process
  settings (vidlabel/gui/pauses.py), with them while fixing a box every 25 steps, and, for
  comparison, with CPython's defaults;
* what the UI thread spends on a fix, an accept and going to the next queue item (the edit only:
  rescoring and ranking run in the session's scoring worker), how long after the edit its
  rescored queue arrives, and, for comparison, the scoring worker's share of those edits
  (rescoring; ranking and stopping guidance), which the UI thread used to wait for;
* going to the next queue item once the session is ready, with the next ten items decoded ahead
  while the person looks at the current one (vidlabel/prefetch.py), and without;
* the background refresh (statistics, track list, scores) that runs off the UI thread.

Run: `QT_QPA_PLATFORM=offscreen python benchmarks/bench_app.py [--frames 30000 --boxes 100000]`
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("VIDLABEL_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import av  # noqa: E402
import numpy as np  # noqa: E402

from vidlabel.datamodel import Box, Source  # noqa: E402
from vidlabel.store.files import create_project  # noqa: E402
from vidlabel.store.project import MACHINE  # noqa: E402


def make_video(path: Path, frames: int, width: int = 640, height: int = 360) -> None:
    """A long clip with moving blocks, encoded fast (the content only has to decode like video)."""
    rng = np.random.default_rng(0)
    base = rng.integers(30, 90, (height, width, 3), dtype=np.uint8)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": "50", "bf": "2"}
        for i in range(frames):
            img = base.copy()
            for k in range(4):
                x = (i * (3 + k) + 90 * k) % (width - 40)
                img[60 + 60 * k:100 + 60 * k, x:x + 40] = (60 * k, 200, 255 - 50 * k)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")))
        out.mux(stream.encode())


def fill_project(project, frames: int, boxes: int, tracks: int = 40) -> None:
    """`boxes` machine boxes on `tracks` tracks spread over the video, some verified."""
    per_track = boxes // tracks
    rng = np.random.default_rng(1)
    with project.action("prelabel", MACHINE):
        for t in range(tracks):
            tid = project.new_track()
            start = int(rng.integers(0, max(1, frames - per_track)))
            for f in range(start, start + per_track):
                project.put_box(Box(f, tid, 0, 20 + (f + 13 * t) % 500, 20 + 7 * t % 300, 40, 80,
                                    confidence=float(rng.uniform(0.3, 0.95)), source=Source.DETECTOR))
        project.set_frame_scores([(f, float(s), ["synthetic"]) for f, s in
                                  enumerate(rng.uniform(0, 1, frames))])


def percentiles(samples: list[float]) -> str:
    a = np.asarray(samples) * 1000
    return f"median {np.median(a):6.1f} ms   p95 {np.percentile(a, 95):6.1f} ms   (n={len(a)})"


def time_steps(window, app, frames: int, label: str) -> None:
    c = window.c

    def one(target: int) -> float:
        return step(window, app, target)

    c.seek(frames // 2)
    app.processEvents()
    forward = [one(c.frame + 1) for _ in range(300)]
    backward = [one(c.frame - 1) for _ in range(300)]
    rng = random.Random(2)
    jumps = [one(rng.randrange(frames)) for _ in range(60)]
    print(f"  {label:<30} step forward  {percentiles(forward)}")
    print(f"  {'':<30} step backward {percentiles(backward)}")
    print(f"  {'':<30} random jump   {percentiles(jumps)}")


def step(window, app, target: int) -> float:
    """One step as the person sees it: seek, decode, boxes, canvas and timeline painted."""
    t0 = time.perf_counter()
    window.c.seek(target)
    window.canvas.viewport().repaint()
    window.timeline.repaint()
    app.processEvents()
    return time.perf_counter() - t0


def show(window, app):
    window.resize(1440, 860)
    window.show()
    app.processEvents()
    return window


def wait_ready(window, app) -> None:
    """Until the session's first queue arrived (it scores the project in its worker)."""
    while not window.c.ready:
        app.processEvents()
        time.sleep(0.005)


def steps_while_scoring(app, path: Path, frames: int, label: str, fix_every: int = 0) -> None:
    """Step forward from the middle of the video until the session's first queue arrives; with
    `fix_every`, also fix a box every that many steps (an edit waits for the project's lock,
    which the scoring takes a chunk at a time, and its re-propagation adds a busy thread)."""
    from vidlabel.gui.launch import open_window

    window = show(open_window(path, keys={}), app)
    c = window.c
    t0 = time.perf_counter()
    samples, fixes = [step(window, app, frames // 2)], []
    while not c.ready and len(samples) < 5000:
        samples.append(step(window, app, c.frame + 1))
        box = next((b for b in c.boxes() if not b.verified), None)
        if fix_every and len(samples) % fix_every == 0 and box is not None:
            t1 = time.perf_counter()
            c.move_box(box.id, (box.x + 2, box.y, box.w, box.h))
            fixes.append(time.perf_counter() - t1)
    scored = time.perf_counter() - t0
    print(f"  {label:<30} step forward  {percentiles(samples)}   max {max(samples) * 1000:4.0f} ms")
    if fixes:
        print(f"  {'':<30} fix a box     {percentiles(fixes)}   max {max(fixes) * 1000:4.0f} ms")
    print(f"  {'':<30} (first queue after {scored:.1f} s)")
    window.close()


def after_edit(window, app, arrivals: list, edit) -> tuple[float, float]:
    """UI-thread seconds of `edit()`, and seconds until the queue that includes it arrives
    (`arrivals`: (time, revision) of every queue the window received)."""
    t0 = time.perf_counter()
    edit()
    ui = time.perf_counter() - t0
    target = window.c.session.revision
    while not any(revision >= target for _, revision in arrivals):
        app.processEvents()
        time.sleep(0.001)
    return ui, next(t for t, revision in arrivals if revision >= target) - t0


def timed(into: list, fn):
    """`fn`, recording how long each call takes (the scoring worker's share of an edit)."""
    def run(*args, **kw):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            into.append(time.perf_counter() - t0)
    return run


def ui_thread_costs(window, app, frames: int) -> None:
    c, session = window.c, window.c.session
    rng = random.Random(3)
    rescores, reports = [], []
    session._rescore_edit = timed(rescores, session._rescore_edit)
    session._report = timed(reports, session._report)
    session.scoring._when_drained = session._report
    arrivals: list[tuple[float, int]] = []
    c.queueChanged.connect(lambda update: arrivals.append((time.perf_counter(), update.revision)))
    fixes, accepts, queue_after_fix, queue_after_accept, nexts = [], [], [], [], []
    for i in range(20):
        c.seek(rng.randrange(frames))
        box = next((b for b in c.boxes() if not b.verified), None)
        if box is not None:
            fix = lambda: c.move_box(box.id, (box.x + 2, box.y, box.w, box.h))  # noqa: E731
            ui, queued = after_edit(window, app, arrivals, fix)
            fixes.append(ui), queue_after_fix.append(queued)
        c.seek(rng.randrange(frames))
        ui, queued = after_edit(window, app, arrivals, c.accept_frame)
        accepts.append(ui), queue_after_accept.append(queued)
        t0 = time.perf_counter()
        window.walker.next()
        nexts.append(time.perf_counter() - t0)
    print(f"  {'fix a box':<34} {percentiles(fixes)}")
    print(f"  {'accept a frame':<34} {percentiles(accepts)}")
    print(f"  {'go to the next queue item (N)':<34} {percentiles(nexts)}")
    print("  until the rescored queue arrives (scoring worker; re-propagation of the edits runs too)")
    print(f"  {'after a fix':<34} {percentiles(queue_after_fix)}")
    print(f"  {'after an accept':<34} {percentiles(queue_after_accept)}")
    print("  for comparison, the scoring worker's share of those edits (the UI thread waited for it")
    print("  before this worker existed)")
    print(f"  {'rescore an edit':<34} {percentiles(rescores)}")
    print(f"  {'rank the queue, stopping guidance':<34} {percentiles(reports)}")


def dwell(app, seconds: float = 1.0) -> None:
    """The person's seconds on an item, during which the event loop runs as it would: the
    queue panel's rebuilt rows, the timeline and the background refresh of the docks that the
    accept asked for (120 ms of debounce, then a pass over every box) land then, not at the
    next key press. One second, under the 2-10 s a person looks at an item."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.005)


def next_items(app, path: Path, prefetch: bool, n: int = 30) -> None:
    """Going to the next queue item (N) as the person sees it (seek, decode, boxes, canvas and
    timeline painted), once the session is ready: the person spends their seconds on an item
    (the prefetcher decodes the next ones meanwhile), accepts it, and presses N. Without
    prefetching for comparison, on a window of its own so that no frame was decoded ahead."""
    from vidlabel.gui.launch import open_window

    window = show(open_window(path, keys={}), app)
    c = window.c
    if not prefetch:
        c.prefetcher.want = lambda frames: None
    wait_ready(window, app)
    samples = []
    for _ in range(n):
        c.accept_frame()
        while not c.session.wait_idle(0.001):   # its rescored queue, delivered to the window
            app.processEvents()
        dwell(app)
        c.prefetcher.idle()     # the person's seconds on the item
        t0 = time.perf_counter()
        window.walker.next()
        window.canvas.viewport().repaint()
        window.timeline.repaint()
        app.processEvents()
        samples.append(time.perf_counter() - t0)
    label = "next ten queue items prefetched" if prefetch else "nothing decoded ahead"
    print(f"  {label:<34} {percentiles(samples)}")
    window.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=30000)
    parser.add_argument("--boxes", type=int, default=100000)
    args = parser.parse_args()

    from vidlabel.gui import pauses
    from vidlabel.gui.launch import application, open_window
    from vidlabel.gui.refresh import Refresher

    app = application()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        video = tmp / "long.mp4"
        t0 = time.perf_counter()
        make_video(video, args.frames)
        print(f"synthetic video: {args.frames} frames 640x360 encoded in {time.perf_counter() - t0:.0f} s")

        t0 = time.perf_counter()
        project, source = create_project(video, tmp / "big.vlp", ["person"])
        first_open = time.perf_counter() - t0
        t0 = time.perf_counter()
        fill_project(project, source.frame_count, args.boxes)
        print(f"project: {project.box_count():,} boxes written in {time.perf_counter() - t0:.1f} s")
        project.close(), source.close()
        empty, source = create_project(video, tmp / "empty.vlp", ["person"])
        empty.close(), source.close()
        big = f"{args.boxes:,} boxes"

        print("\nopening (window shown, first frame painted)")
        print(f"  first open of the video (builds the packet index)   {first_open * 1000:7.0f} ms  (without window)")
        for name in ("big.vlp", "empty.vlp"):
            t0 = time.perf_counter()
            window = show(open_window(tmp / name, keys={}), app)
            window.repaint()
            print(f"  reopen {name:<12} (index cached, no video pass)    "
                  f"{(time.perf_counter() - t0) * 1000:7.0f} ms")
            wait_ready(window, app)
            print(f"    first queue (project scored in the background)   "
                  f"{(time.perf_counter() - t0) * 1000:7.0f} ms")
            window.close()

        print("\nper step while the session scores the project (its first queue not there yet)")
        steps_while_scoring(app, tmp / "big.vlp", args.frames, f"{big}, app settings")
        steps_while_scoring(app, tmp / "big.vlp", args.frames, "  fixing a box every 25 steps", 25)
        hold, resume = pauses.hold_collections, pauses.resume_collections
        pauses.hold_collections = pauses.resume_collections = lambda: None
        gc.unfreeze()
        sys.setswitchinterval(0.005)
        steps_while_scoring(app, tmp / "big.vlp", args.frames, f"{big}, CPython defaults")
        pauses.hold_collections, pauses.resume_collections = hold, resume
        pauses.set_switch_interval()

        print("\nper step once the session is ready: seek + decode + boxes + canvas and timeline painted")
        for name, label in (("big.vlp", big), ("empty.vlp", "empty project")):
            window = show(open_window(tmp / name, keys={}), app)
            wait_ready(window, app)
            time_steps(window, app, args.frames, label)
            window.close()

        print(f"\non the UI thread, {big} (edit only; rescoring and ranking in the scoring worker)")
        window = show(open_window(tmp / "big.vlp", keys={}), app)
        wait_ready(window, app)
        ui_thread_costs(window, app, args.frames)
        window.close()

        print(f"\ngoing to the next queue item after accepting one, {big}, session ready")
        for prefetch in (True, False):
            next_items(app, tmp / "big.vlp", prefetch)

        print("\nbackground refresh (statistics, track list, scores; worker thread, not the UI)")
        refresher = Refresher(tmp / "big.vlp", delay_ms=0)
        done: list = []
        refresher.ready.connect(done.append)
        for label in ("first (opens its connection)", "later (after an edit)"):
            t0 = time.perf_counter()
            refresher.request()
            while len(done) < (1 if label.startswith("first") else 2):
                app.processEvents()
                time.sleep(0.002)
            print(f"  {label:<30} {(time.perf_counter() - t0) * 1000:7.0f} ms")
        refresher.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
