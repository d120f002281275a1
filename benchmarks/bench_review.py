"""Review-loop latency: rescoring after a correction, and re-propagation cost per frame.

Part 1, rescoring: a synthetic 1,000-frame project with realistic box counts (about 12 objects
on screen, tracks that begin and end, 80-class score vectors, tracker-made and interpolated
stretches, junk candidates) is opened in a `ReviewSession`. Each correction (fix, accept a box,
delete, accept a whole frame, undo) is timed from the call to its return, which includes the
SQLite commit and the incremental rescoring, and then `next_batch(10)`; re-propagation runs in the
background and is waited for outside the timing. For comparison, the same rescoring done from
scratch (`rescore_all`) is timed in the same run. Target: well under a second per correction.

Part 2, re-propagation: the PETS09-S2L1 video with its ground truth shifted 6 px as machine
tracks and the ground truth of every 5th frame as detections; boxes of several tracks are
accepted as keyframes 60 frames apart and a fix between them re-propagates both stretches.
The cost per propagated frame is reported per tracker, with remembered tracker runs
(propagation/memo.py: `repair`'s rejoin runs are read back by the full recomputation that may
follow) and without them, and linear interpolation as the floor.

    python benchmarks/bench_review.py [--frames 1000] [--pets PATH] [--trackers kcf,nano,csrt]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("VIDLABEL_OFFLINE", "1")
from vidlabel.datamodel import Box, Detection, Source, VideoRef  # noqa: E402
from vidlabel.propagation.memo import MEMO, memo_disabled  # noqa: E402
from vidlabel.review.session import ReviewSession  # noqa: E402
from vidlabel.store.files import create_project  # noqa: E402
from vidlabel.store.project import MACHINE, Project  # noqa: E402
from vidlabel.video import FrameSource  # noqa: E402

PETS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "PETS09-S2L1"


class NoiseFrames(FrameSource):
    """Frames for the synthetic project: the trackers need pixels, not meaningful ones."""

    def __init__(self, n: int, width: int = 960, height: int = 540) -> None:
        self.path = Path("synthetic")
        self.frame_count, self.fps, self.width, self.height = n, 25.0, width, height
        self._img = np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8)

    def frame(self, index: int) -> np.ndarray:
        self._check_index(index)
        return self._img

    def fingerprint(self) -> str:
        return "synthetic"


def synthetic_project(path: Path, frames: int, on_screen: int = 12, seed: int = 0,
                      video: VideoRef | None = None, spacing: tuple[int, int] = (20, 60)) -> Project:
    """Tracks of 50-400 frames, new ones every `spacing` frames (about 10 boxes a frame at the
    default), with raw candidates (on `video`, else on a 960x540 video that does not exist)."""
    rng = np.random.default_rng(seed)
    project = Project.create(path, video or VideoRef(str(path), frames, 25.0, 960, 540, "synthetic"),
                             ["person", "car", "bicycle"])
    run = project.start_detection_run("synthetic", {"imgsz": 640})
    dets: dict[int, list[Detection]] = {f: [] for f in range(frames)}
    with project.action("prelabel", MACHINE):
        active = 0
        f = 0
        while f < frames:
            while active < on_screen:
                length = int(rng.integers(50, 400))
                start = max(0, f - int(rng.integers(0, 50)))
                t = project.new_track()
                x, y = rng.uniform(0, 900), rng.uniform(0, 480)
                vx, vy = rng.normal(0, 1.5), rng.normal(0, 0.5)
                for g in range(start, min(frames, start + length)):
                    conf = float(np.clip(rng.normal(0.6, 0.2), 0.06, 0.98))
                    source = Source.DETECTOR if rng.random() > 0.25 else Source.TRACKER
                    if rng.random() < 0.03:
                        source = Source.INTERPOLATED
                    xywh = (x + vx * (g - start), y + vy * (g - start), 40.0, 90.0)
                    project.put_box(Box(g, t, 0, *xywh, confidence=conf, source=source))
                    scores = rng.dirichlet(np.full(80, 0.05)).astype(np.float32) * conf
                    jitter = rng.normal(0, 3 if source is Source.DETECTOR else 8, 2)
                    dets[g].append(Detection(g, xywh[0] + jitter[0], xywh[1] + jitter[1], 40, 90, conf, 0, scores))
                active += 1
            f += int(rng.integers(*spacing))
            active -= int(rng.integers(1, 4))
        for g in range(frames):  # junk candidates below and around the threshold
            for _ in range(int(rng.integers(0, 6))):
                dets[g].append(Detection(g, rng.uniform(0, 900), rng.uniform(0, 480), 30, 60,
                                         float(rng.uniform(0.05, 0.35)), 0, None))
    project.add_detections(run, dets)
    return project


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def rescoring(frames: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = synthetic_project(Path(tmp) / "synthetic.vlp", frames)
        boxes = project.box_count()
        detections = len(project.detections(1))
        t = time.perf_counter()
        session = ReviewSession(project, NoiseFrames(frames), background=True, tracker="kcf")
        open_ms = (time.perf_counter() - t) * 1000
        print(f"synthetic project: {frames} frames, {boxes} boxes, {len(project.tracks())} tracks, "
              f"{detections} raw candidates")
        print(f"open (full scoring): {open_ms:.0f} ms\n")
        rng = np.random.default_rng(1)
        rows: dict[str, list[float]] = {"fix": [], "check": [], "delete": [], "accept frame": [],
                                        "undo": [], "next_batch(10)": [], "full rescore (comparison)": []}
        for i in range(40):
            frame = int(rng.integers(frames))
            here = [b for b in session.boxes(frame) if not b.verified]
            if not here:
                continue
            b = here[int(rng.integers(len(here)))]
            kind = ("fix", "check", "delete", "accept frame")[i % 4]
            if kind == "fix":
                ms = timed(lambda: session.move_box(b.id, (b.x + 5, b.y, b.w, b.h)))
            elif kind == "check":
                ms = timed(lambda: session.accept_box(b.id))
            elif kind == "delete":
                ms = timed(lambda: session.delete_box(b.id))
            else:
                ms = timed(lambda: session.accept_frame(frame))
            rows[kind].append(ms)
            rows["next_batch(10)"].append(timed(lambda: session.next_batch(10)))
            session.wait_idle()
            if i % 4 == 1:
                rows["undo"].append(timed(session.undo))  # the correction and its re-propagation
                session.wait_idle()
            if i % 4 == 0:
                rows["full rescore (comparison)"].append(timed(session.scorer.rescore_all))
        print(f"{'after a correction (ms)':<28} {'median':>8} {'p95':>8} {'max':>8}  n")
        for name, ms in rows.items():
            a = np.asarray(ms)
            print(f"{name:<28} {np.median(a):8.1f} {np.percentile(a, 95):8.1f} {a.max():8.1f}  {len(a)}")
        print(f"\nbackground re-propagation meanwhile (kcf on synthetic frames): "
              f"{session.propagation_cost()['ms_per_frame']:.2f} ms/frame")
        session.close()
        project.close()


def pets_project(tmp: Path, video: Path, gt: Path, end: int):
    project, frames = create_project(video, tmp / "pets.vlp", ["person"])
    rows = np.loadtxt(gt, delimiter=",")
    rows = rows[(rows[:, 0] <= end) & (rows[:, 6] != 0)]
    tracks: dict[int, int] = {}
    with project.action("import", MACHINE):
        for r in rows:
            obj = int(r[1])
            if obj not in tracks:
                tracks[obj] = project.new_track()
            project.put_box(Box(int(r[0]) - 1, tracks[obj], 0, r[2] + 6, r[3], r[4], r[5],
                                confidence=0.7, source=Source.TRACKER))
    run = project.start_detection_run("ground truth", {})
    project.add_detections(run, {f: [Detection(f, *r[2:6], 0.8, 0) for r in rows if int(r[0]) - 1 == f]
                                 for f in range(0, end, 5)})
    return project, frames, tracks


def repropagation(pets: Path, trackers: list[str], end: int = 200) -> None:
    video, gt = pets / "video.mp4", pets / "gt" / "gt.txt"
    if not video.is_file():
        print(f"\n(PETS09 not found at {pets}: re-propagation part skipped)")
        return
    print(f"\nre-propagation on PETS09-S2L1 frames 0-{end} (keyframes 60 frames apart, a fix "
          "between them, both stretches recomputed):")
    print(f"{'propagator':<22} {'stretches':>9} {'frames':>7} {'ms/frame':>9} {'wall s':>7}")
    runs = [(t, memo) for t in trackers for memo in (True, False)] + [("interpolate", True)]
    for tracker, memo in runs:
        MEMO.clear()   # each row from nothing remembered: the fix's own runs are what it reuses
        with tempfile.TemporaryDirectory() as tmp, (nullcontext() if memo else memo_disabled()):
            project, frames, tracks = pets_project(Path(tmp), video, gt, end)
            session = ReviewSession(project, frames, background=False,
                                    tracker=tracker if tracker != "interpolate" else "kcf")
            long = [t for t in tracks.values()
                    if {40, 100, 160} <= {b.frame for b in project.boxes(track_id=t)}][:4]
            for t in long:  # keyframes at 40, 100 and 160, made as boxes the person accepted
                for f in (40, 100, 160):
                    b = project.boxes(frame=f, track_id=t)[0]
                    with project.action("check", "human"):
                        project.put_box(b.with_(verified=True))
            session.scorer.rescore_all()
            t0 = time.perf_counter()
            if tracker == "interpolate":
                for t in long:
                    session.interpolate_track(t, 40, 100)
                    session.interpolate_track(t, 100, 160)
                stretch_frames = len(long) * 2 * 59
                cost = {"stretches": len(long) * 2, "frames": stretch_frames}
                wall = time.perf_counter() - t0
                cost["ms_per_frame"] = 1000 * wall / stretch_frames
            else:
                for t in long:
                    b = project.boxes(frame=100, track_id=t)[0]
                    session.move_box(b.id, (b.x - 6, b.y, b.w, b.h))
                wall = time.perf_counter() - t0
                cost = session.propagation_cost()
            name = tracker if tracker == "interpolate" else f"{tracker}{'' if memo else ' (no memo)'}"
            print(f"{name:<22} {cost['stretches']:>9} {cost['frames']:>7} "
                  f"{cost['ms_per_frame']:>9.1f} {wall:>7.1f}")
            session.close()
            frames.close()
            project.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--pets", type=Path, default=PETS)
    parser.add_argument("--trackers", default="kcf,nano,csrt")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    rescoring(args.frames)
    repropagation(args.pets, [t for t in args.trackers.split(",") if t])


if __name__ == "__main__":
    main()
