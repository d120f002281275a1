"""How the app scales: open time and per-step render time on a 30,000-frame, 100,000-box project.

Builds a synthetic 30,000-frame video (PyAV, x264) and a project with 100,000 boxes on 40
tracks, then opens it in the real window on Qt's offscreen platform and times:

* opening: the first open of the video (which builds the packet index) against reopening the
  project (index cached in the project: no pass over the video), window and first frame included,
  and when the review session, which scores the whole project in a worker, is ready for edits;
* one step (seek, decode, boxes from the store, canvas and timeline painted synchronously):
  forward, backward, and random jumps, median and p95, next to the same steps on an empty project
  over the same video, so the cost of 100,000 boxes is the difference between the two rows;
* what an edit costs the UI thread (the correction, its rescoring and the re-propagation handed to
  the session's worker) and one ranking of the review queue (`next_batch`), on the big project;
* the background refresh (statistics, track list, scores) that runs off the UI thread.

Run: `QT_QPA_PLATFORM=offscreen python benchmarks/bench_app.py [--frames 30000 --boxes 100000]`
"""

from __future__ import annotations

import argparse
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

from vidlabel.boxes import Box, Source  # noqa: E402
from vidlabel.projects import create_project  # noqa: E402
from vidlabel.store import MACHINE  # noqa: E402


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
        t0 = time.perf_counter()
        c.seek(target)
        window.canvas.viewport().repaint()
        window.timeline.repaint()
        app.processEvents()
        return time.perf_counter() - t0

    c.seek(frames // 2)
    app.processEvents()
    forward = [one(c.frame + 1) for _ in range(300)]
    backward = [one(c.frame - 1) for _ in range(300)]
    rng = random.Random(2)
    jumps = [one(rng.randrange(frames)) for _ in range(60)]
    print(f"  {label:<26} step forward   {percentiles(forward)}")
    print(f"  {'':<26} step backward  {percentiles(backward)}")
    print(f"  {'':<26} random jump    {percentiles(jumps)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=30000)
    parser.add_argument("--boxes", type=int, default=100000)
    args = parser.parse_args()

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

        print("\nopening (window shown, first frame painted)")
        print(f"  first open of the video (builds the packet index)   {first_open * 1000:7.0f} ms  (without window)")
        for name in ("big.vlp", "empty.vlp"):
            t0 = time.perf_counter()
            window = open_window(tmp / name, keys={})
            window.resize(1440, 860)
            window.show()
            app.processEvents()
            window.repaint()
            print(f"  reopen {name:<12} (index cached, no video pass)    "
                  f"{(time.perf_counter() - t0) * 1000:7.0f} ms")
            while not window.c.ready:  # the review session scores the project in the background
                app.processEvents()
                time.sleep(0.005)
            print(f"    review session ready (scored in the background)  "
                  f"{(time.perf_counter() - t0) * 1000:7.0f} ms")
            window.close()

        print("\nper step: seek + decode + boxes from the store + canvas and timeline painted")
        for name, label in (("big.vlp", f"{args.boxes:,} boxes"), ("empty.vlp", "empty project")):
            window = open_window(tmp / name, keys={})
            window.resize(1440, 860)
            window.show()
            app.processEvents()
            time_steps(window, app, args.frames, label)
            window.close()

        print("\non the UI thread, 100,000-box project")
        window = open_window(tmp / "big.vlp", keys={})
        window.show()
        while not window.c.ready:
            app.processEvents()
            time.sleep(0.005)
        c = window.c
        edits, queues = [], []
        for i in range(20):
            c.seek(1000 + 97 * i)
            box = next((b for b in c.boxes() if not b.verified), None)
            if box is None:
                continue
            t0 = time.perf_counter()
            c.move_box(box.id, (box.x + 2, box.y, box.w, box.h))
            edits.append(time.perf_counter() - t0)
            app.processEvents()
        for _ in range(10):
            t0 = time.perf_counter()
            c.queue(25)
            queues.append(time.perf_counter() - t0)
        print(f"  {'fix a box (edit + rescore)':<26} {percentiles(edits)}")
        print(f"  {'rank the review queue':<26} {percentiles(queues)}")
        window.close()

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
