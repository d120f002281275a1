"""Pre-labelling against what Ultralytics users get: throughput and tracking quality, side by side.

On one video with MOTChallenge ground truth (default: PETS09-S2L1 beside the checkout), prints

* throughput, end to end (model load, decode, detect, store or track, link), in frames/s, of
  `vidlabel prelabel` with its defaults, of plain `YOLO.predict` on the same video with the same
  model and image size (the floor: everything vidlabel adds is the difference), and of
  `YOLO.track` with ByteTrack (what an X-AnyLabeling user gets);
* tracking quality against `gt/gt.txt` with motmetrics (IoU >= 0.5; ground-truth rows with
  conf 0 removed, and hypotheses lying only on them dropped): MOTA, IDF1, ID switches, false
  positives and misses, for vidlabel's pre-labels and for Ultralytics' ByteTrack and BoT-SORT
  and Roboflow's `trackers` (SORT, ByteTrack, OC-SORT, BoT-SORT, C-BIoU) fed the SAME
  detections (vidlabel's stored candidates with conf >= 0.1; package defaults, BoT-SORT with its
  default motion compensation on the real frames), so that the comparison is about linking alone.

    python benchmarks/bench_prelabel.py [--data DIR] [--model PATH] [--classes person] [--repeat 1]

Every class is detected by all three runs unless `--classes` restricts them (the ground truth
here is people only, so quality is scored on the `person` tracks).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("VIDLABEL_OFFLINE", "1")

from vidlabel.datamodel import iou_matrix  # noqa: E402
from vidlabel.prelabelling.linking import LinkParams, tracker_input  # noqa: E402
from vidlabel.prelabelling.pipeline import PrelabelOptions, prelabel  # noqa: E402
from vidlabel.store.project import Project  # noqa: E402
from vidlabel.video import open_video  # noqa: E402
from vidlabel.weights import quiet_ultralytics, resolve_detector  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "PETS09-S2L1"
FEED_CONF = 0.1  # what the online trackers are fed (their own low threshold)


# ---------------------------------------------------------------------------------- scoring
def mot_scores(gt: np.ndarray, hyp: np.ndarray, min_iou: float = 0.5) -> dict[str, float]:
    """MOTA, IDF1 and counts with motmetrics, from our own IoU distance matrix.

    motmetrics 1.4's `iou_matrix` calls `np.asfarray`, which NumPy 2 removed. `gt` and `hyp` are
    MOTChallenge rows (frame 1-based, id, x, y, w, h, conf, ...).
    """
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=False)
    for f in np.unique(gt[:, 0]).astype(int):
        g = gt[gt[:, 0] == f]
        valid, ignored = g[g[:, 6] != 0], g[g[:, 6] == 0]
        h = hyp[hyp[:, 0] == f]
        if len(h) and len(ignored):
            on_valid = iou_matrix(h[:, 2:6], valid[:, 2:6]).max(1) if len(valid) else np.zeros(len(h))
            on_ignored = iou_matrix(h[:, 2:6], ignored[:, 2:6]).max(1)
            h = h[~((on_ignored >= min_iou) & (on_valid < min_iou))]
        dist = 1.0 - iou_matrix(valid[:, 2:6], h[:, 2:6])
        dist[dist > 1.0 - min_iou] = np.nan
        acc.update(valid[:, 1].astype(int).tolist(), h[:, 1].astype(int).tolist(), dist, frameid=int(f))
    names = ["mota", "idf1", "num_switches", "num_false_positives", "num_misses"]
    summary = mm.metrics.create().compute(acc, metrics=names, name="run")
    return {k: float(summary[k].iloc[0]) for k in names}


def project_rows(path: Path, class_name: str, candidates: bool = False) -> np.ndarray:
    """The pre-labels of one class as MOT rows (outside boxes are not boxes; candidate tracks
    are not annotation, as in an export, unless `candidates`)."""
    with Project.open(path, readonly=True) as p:
        cid = p.class_id(class_name)
        rows = [(b.frame + 1, b.track_id, *b.xywh)
                for b in p.boxes(include_outside=False, candidates=candidates) if b.class_id == cid]
    return np.array(rows, float).reshape(-1, 6)


def cached_detections(path: Path, class_name: str) -> dict[int, list]:
    with Project.open(path, readonly=True) as p:
        cid = p.class_id(class_name)
        run = p.detection_runs()[0]["id"]
        out: dict[int, list] = {f: [] for f in p.detected_frames(run)}
        for d in p.detections(run):
            if d.class_id == cid and d.confidence >= FEED_CONF:
                out[d.frame].append(d)
    return out


def online_rows(kind: str, dets: dict[int, list], video_path: Path, fps: float) -> np.ndarray:
    """Ultralytics' tracker `kind` (package defaults) over the cached detections."""
    quiet_ultralytics()
    from ultralytics.trackers.bot_sort import BOTSORT
    from ultralytics.trackers.byte_tracker import BYTETracker
    from ultralytics.utils import YAML, IterableSimpleNamespace
    from ultralytics.utils.checks import check_yaml

    args = IterableSimpleNamespace(**YAML.load(check_yaml(f"{kind}.yaml")))
    tracker = {"bytetrack": BYTETracker, "botsort": BOTSORT}[kind](args)
    rows = []
    with open_video(video_path) as video:
        for f in sorted(dets):
            # BoT-SORT's motion compensation needs the frame; ByteTrack ignores it.
            image = video.frame(f) if kind == "botsort" else None
            out = tracker.update(tracker_input(dets[f]), image)
            rows += [(f + 1, r[4], r[0], r[1], r[2] - r[0], r[3] - r[1]) for r in out.reshape(-1, 8)]
    return np.array(rows, float).reshape(-1, 6)


ROBOFLOW = {"SORT": "SORTTracker", "ByteTrack": "ByteTrackTracker", "OC-SORT": "OCSORTTracker",
            "BoT-SORT": "BoTSORTTracker", "C-BIoU": "CBIoUTracker"}


def roboflow_rows(kind: str, dets: dict[int, list], video_path: Path) -> np.ndarray:
    """Roboflow `trackers`' tracker `kind` (package defaults) over the cached detections.

    Rows whose `tracker_id` is -1 (a track not yet confirmed) are not output, as in the package's
    own MOT evaluation.
    """
    import supervision as sv
    import trackers

    tracker = getattr(trackers, ROBOFLOW[kind])()
    rows = []
    with open_video(video_path) as video:
        for f in sorted(dets):
            a = np.array([d.xywh for d in dets[f]], float).reshape(-1, 4)
            detections = sv.Detections(xyxy=np.column_stack([a[:, :2], a[:, :2] + a[:, 2:]]),
                                       confidence=np.array([d.confidence for d in dets[f]], float),
                                       class_id=np.zeros(len(a), int))
            # BoT-SORT's motion compensation needs the frame; the others warn when given one.
            out = tracker.update(detections, video.frame(f)) if kind == "BoT-SORT" else tracker.update(detections)
            rows += [(f + 1, t, x1, y1, x2 - x1, y2 - y1)
                     for (x1, y1, x2, y2), t in zip(out.xyxy, out.tracker_id) if t >= 0]
    return np.array(rows, float).reshape(-1, 6)


def roboflow_runs(dets: dict[int, list], video_path: Path) -> dict[str, np.ndarray]:
    """Every Roboflow tracker, or none with the reason when the package is not installed."""
    try:
        import trackers  # noqa: F401
    except ImportError as exc:
        print(f"  (Roboflow trackers skipped: {exc}; `./run.sh install` installs them)")
        return {}
    return {f"Roboflow {kind}": roboflow_rows(kind, dets, video_path) for kind in ROBOFLOW}


# ---------------------------------------------------------------------------------- throughput
def time_vidlabel(video: Path, model: str, classes: tuple[str, ...] | None, out: Path) -> float:
    start = time.perf_counter()
    prelabel(video, out, PrelabelOptions(model=model, classes=classes), progress=False)
    return time.perf_counter() - start


def time_ultralytics(video: Path, model: str, classes: tuple[str, ...] | None, track: bool) -> float:
    quiet_ultralytics()
    from ultralytics import YOLO

    start = time.perf_counter()
    m = YOLO(model, task="detect")
    names = m.names
    ids = [i for i, n in names.items() if n in classes] if classes else None
    kwargs = dict(source=str(video), stream=True, verbose=False, classes=ids)
    results = m.track(tracker="bytetrack.yaml", **kwargs) if track else m.predict(**kwargs)
    for _ in results:
        pass
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with video.mp4 and gt/gt.txt")
    ap.add_argument("--model", help="detector (default: vidlabel's default resolution)")
    ap.add_argument("--classes", default="", help="comma-separated classes for all runs (default: all)")
    ap.add_argument("--score-class", default="person", help="class the ground truth annotates")
    ap.add_argument("--repeat", type=int, default=1, help="timing rounds (the best is reported)")
    args = ap.parse_args()
    video, gt_path = args.data / "video.mp4", args.data / "gt" / "gt.txt"
    if not video.is_file() or not gt_path.is_file():
        print(f"no video.mp4 and gt/gt.txt in {args.data}", file=sys.stderr)
        return 2
    model = resolve_detector(args.model)
    classes = tuple(c for c in args.classes.split(",") if c) or None
    with open_video(video) as v:
        n, fps = v.frame_count, v.fps
    print(f"video {video} ({n} frames, {fps:g} fps); model {model}; classes {classes or 'all'}; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

    with tempfile.TemporaryDirectory() as tmp:
        best = {"vidlabel prelabel (defaults)": [], "YOLO.predict": [], "YOLO.track (ByteTrack)": []}
        project = Path(tmp) / "bench.vlp"
        for r in range(args.repeat):
            out = Path(tmp) / f"round{r}.vlp"
            best["vidlabel prelabel (defaults)"].append(time_vidlabel(video, model, classes, out))
            project = out
            best["YOLO.predict"].append(time_ultralytics(video, model, classes, track=False))
            best["YOLO.track (ByteTrack)"].append(time_ultralytics(video, model, classes, track=True))
        print("\nthroughput, end to end (load, decode, detect, link/track), best of", args.repeat)
        floor = n / min(best["YOLO.predict"])
        for name, secs in best.items():
            rate = n / min(secs)
            print(f"  {name:<30} {rate:7.2f} frames/s  {min(secs):7.1f} s  {rate / floor:6.1%} of predict")

        gt = np.loadtxt(gt_path, delimiter=",", ndmin=2)
        dets = cached_detections(project, args.score_class)
        runs = {
            "vidlabel (offline linking)": project_rows(project, args.score_class),
            "  with its candidate tracks": project_rows(project, args.score_class, candidates=True),
            "Ultralytics ByteTrack": online_rows("bytetrack", dets, video, fps),
            "Ultralytics BoT-SORT": online_rows("botsort", dets, video, fps),
            **roboflow_runs(dets, video),
        }
        print(f"\ntracking quality vs {gt_path} (motmetrics, IoU >= 0.5, same detections, "
              f"conf >= {FEED_CONF}; vidlabel accept conf {LinkParams().accept_conf})")
        print(f"  {'':<30} {'MOTA':>7} {'IDF1':>7} {'IDsw':>6} {'FP':>6} {'FN':>6}")
        for name, rows in runs.items():
            s = mot_scores(gt, rows)
            print(f"  {name:<30} {s['mota']:7.3f} {s['idf1']:7.3f} {s['num_switches']:6.0f} "
                  f"{s['num_false_positives']:6.0f} {s['num_misses']:6.0f}")
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
