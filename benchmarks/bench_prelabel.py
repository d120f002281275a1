"""Pre-labelling against what Ultralytics users get: tracking quality and throughput, side by side.

For every sequence it finds (default: each folder of `../shared/data` with `video.mp4` and
`gt/gt.txt`), and for annotation-guideline variants of each, prints

* tracking quality against the ground truth with motmetrics (IoU >= 0.5; ground-truth rows with
  conf 0 removed, and hypotheses lying only on them dropped): MOTA, IDF1, ID switches, false
  positives and misses, for vidlabel's pre-labels and for Ultralytics' ByteTrack and BoT-SORT and
  Roboflow's `trackers` (SORT, ByteTrack, OC-SORT, BoT-SORT, C-BIoU) fed the SAME detections
  (vidlabel's stored candidates of the scored class with conf >= 0.1; package defaults, BoT-SORT
  with its motion compensation on the real frames), so that the comparison is about linking alone.
  The variants of a sequence of people keep the detections and change only what the guideline
  wants boxed: "no one under 60 px" drops ground truth shorter than 60 px, "left third out"
  drops ground truth centred in the left third of the image; a box there is then a false
  positive, as it is for an annotator.
* throughput as a user runs it: whole processes on the same video with the same weights,
  started one after the other and alternated `--repeat` times (the order rotates every round),
  of `vidlabel prelabel VIDEO -o P.vlp --model M`, of a four-line `YOLO(M).track(VIDEO,
  stream=True)` script (ByteTrack; what an X-AnyLabeling user gets) and of the same script with
  `predict` (the floor: everything tracking adds is the difference). Median and best wall time.

    python benchmarks/bench_prelabel.py [--data DIR ...] [--model PATH] [--repeat 3]

Every class is detected by all runs unless `--classes` restricts them. Each sequence is scored
on the COCO class its `info.json` names (pedestrian: person; car: car); other ground-truth
classes (KITTI's cyclists and tram) are left out of both sides.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("VIDLABEL_OFFLINE", "1")

from vidlabel.datamodel import iou_matrix  # noqa: E402
from vidlabel.prelabelling.linking import LinkParams, tracker_input  # noqa: E402
from vidlabel.store.project import Project  # noqa: E402
from vidlabel.video import open_video  # noqa: E402
from vidlabel.weights import quiet_ultralytics, resolve_detector  # noqa: E402

DATA_ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
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


def online_rows(kind: str, dets: dict[int, list], video_path: Path) -> np.ndarray:
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


# ---------------------------------------------------------------------------------- sequences
COCO_CLASS = {"pedestrian": "person", "person": "person", "car": "car"}  # ground-truth name -> COCO
MIN_HEIGHT = 60  # the "no one under 60 px" guideline


@dataclass
class Sequence:
    name: str
    video: Path
    gt: np.ndarray       # MOTChallenge rows of the scored class only
    score_class: str     # the COCO class scored
    width: int


def sequence(folder: Path) -> Sequence | None:
    """A folder with video.mp4 and gt/gt.txt, scored on the first ground-truth class that is a COCO
    class (info.json's `class_names`; without one, every row is a person)."""
    video, gt_path = folder / "video.mp4", folder / "gt" / "gt.txt"
    if not video.is_file() or not gt_path.is_file():
        return None
    gt = np.loadtxt(gt_path, delimiter=",", ndmin=2)
    info = folder / "info.json"
    names = json.loads(info.read_text()).get("class_names", {}) if info.is_file() else {}
    coco = {int(k): COCO_CLASS.get(v.split()[0].lower()) for k, v in names.items()}
    scored = sorted(k for k, c in coco.items() if c)
    if scored:
        gt = gt[gt[:, 7] == scored[0]]
    with open_video(video) as v:
        width = v.width
    return Sequence(folder.name, video, gt, coco[scored[0]] if scored else "person", width)


def guideline_variants(seq: Sequence) -> dict[str, np.ndarray]:
    """The ground truth as written, and for people as two other guidelines would have it."""
    gt = seq.gt
    if seq.score_class != "person":
        return {seq.name: gt}
    centre_x = gt[:, 2] + gt[:, 4] / 2
    out = {seq.name: gt,
           f"{seq.name}, no one under {MIN_HEIGHT} px": gt[gt[:, 5] >= MIN_HEIGHT],
           f"{seq.name}, left third out": gt[centre_x >= seq.width / 3]}
    return {k: v for k, v in out.items() if len(v) and (k == seq.name or len(v) < len(gt))}


def quality_rows(seq: Sequence, project: Path) -> dict[str, np.ndarray]:
    """Every tracker's hypotheses of the scored class, from the same detections."""
    dets = cached_detections(project, seq.score_class)
    return {
        "vidlabel (offline linking)": project_rows(project, seq.score_class),
        "  with its candidate tracks": project_rows(project, seq.score_class, candidates=True),
        "Ultralytics ByteTrack": online_rows("bytetrack", dets, seq.video),
        "Ultralytics BoT-SORT": online_rows("botsort", dets, seq.video),
        **roboflow_runs(dets, seq.video),
    }


def print_quality(title: str, gt: np.ndarray, runs: dict[str, np.ndarray]) -> dict[str, dict]:
    scores = {name: mot_scores(gt, rows) for name, rows in runs.items()}
    online = {k: v for k, v in scores.items() if not k.startswith(("vidlabel", " "))}
    print(f"\n{title}: {len(gt)} ground-truth boxes", flush=True)
    print(f"  {'':<30} {'MOTA':>7} {'IDF1':>7} {'IDsw':>6} {'FP':>6} {'FN':>6}")
    for name, s in scores.items():
        print(f"  {name:<30} {s['mota']:7.3f} {s['idf1']:7.3f} {s['num_switches']:6.0f} "
              f"{s['num_false_positives']:6.0f} {s['num_misses']:6.0f}")
    if online:
        ours = scores["vidlabel (offline linking)"]
        for metric in ("mota", "idf1"):
            best = max(online, key=lambda k: online[k][metric])
            verdict = "above" if ours[metric] > online[best][metric] else "NOT above"
            print(f"  vidlabel {metric.upper()} {ours[metric]:.3f} is {verdict} the best online "
                  f"tracker's ({best}, {online[best][metric]:.3f})")
    return scores


# ---------------------------------------------------------------------------------- throughput
CHILD = """import sys
from ultralytics import YOLO
model = YOLO(sys.argv[2], task="detect")
for result in getattr(model, sys.argv[3])(source=sys.argv[1], stream=True, verbose=False{extra}):
    pass
"""


def commands(video: Path, model: str, classes: tuple[str, ...] | None, out: Path) -> dict[str, list[str]]:
    """The three processes timed, as a user would type them."""
    exe = Path(sys.executable).with_name("vidlabel")
    vidlabel = [str(exe)] if exe.is_file() else [sys.executable, "-m", "vidlabel"]
    vidlabel += ["prelabel", str(video), "-o", str(out), "--model", model]
    extra = ""
    if classes:
        vidlabel += ["--classes", ",".join(classes)]
        extra = f", classes=[i for i, n in model.names.items() if n in {list(classes)!r}]"
    script = CHILD.format(extra=extra)
    return {"vidlabel prelabel (defaults)": vidlabel,
            "YOLO.track (ByteTrack)": [sys.executable, "-c", script, str(video), model, "track"],
            "YOLO.predict": [sys.executable, "-c", script, str(video), model, "predict"]}


def child_env() -> dict[str, str]:
    """The same environment for every process: offline, no run-time installs, quiet."""
    env = dict(os.environ)
    env.update(VIDLABEL_OFFLINE="1", YOLO_OFFLINE="1", YOLO_AUTOINSTALL="False", YOLO_VERBOSE="False")
    return env


def time_processes(seq: Sequence, model: str, classes: tuple[str, ...] | None, repeat: int,
                   tmp: Path) -> tuple[dict[str, list[float]], Path]:
    """Wall seconds of each process, alternated `repeat` times; and the first vidlabel project."""
    seconds: dict[str, list[float]] = {}
    first = tmp / f"{seq.name}-0.vlp"
    for r in range(repeat):
        cmds = list(commands(seq.video, model, classes, tmp / f"{seq.name}-{r}.vlp").items())
        for name, cmd in cmds[r % len(cmds):] + cmds[:r % len(cmds)]:
            start = time.perf_counter()
            done = subprocess.run(cmd, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True)
            took = time.perf_counter() - start
            if done.returncode:
                raise SystemExit(f"{name} failed ({' '.join(cmd)}):\n{done.stderr[-2000:]}")
            seconds.setdefault(name, []).append(took)
    return seconds, first


def print_throughput(seq: Sequence, seconds: dict[str, list[float]], frames: int) -> float:
    """The table; returns vidlabel's median time as a share of YOLO.track's (< 1 is faster)."""
    track = statistics.median(seconds["YOLO.track (ByteTrack)"])
    print(f"\n{seq.name}: whole processes, {frames} frames, alternated {len(seconds['YOLO.track (ByteTrack)'])}x")
    print(f"  {'':<30} {'median s':>9} {'best s':>7} {'frames/s':>9} {'speed vs track':>15}")
    for name, secs in seconds.items():
        med = statistics.median(secs)
        print(f"  {name:<30} {med:9.1f} {min(secs):7.1f} {frames / med:9.2f} {track / med:14.0%}")
    return statistics.median(seconds["vidlabel prelabel (defaults)"]) / track


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, nargs="+",
                    help="sequence folders with video.mp4 and gt/gt.txt (default: every one in "
                         f"{DATA_ROOT})")
    ap.add_argument("--model", help="detector (default: vidlabel's default resolution)")
    ap.add_argument("--classes", default="", help="comma-separated classes for all runs (default: all)")
    ap.add_argument("--repeat", type=int, default=3, help="timing rounds, alternated (default 3)")
    args = ap.parse_args()
    folders = args.data or sorted(p for p in DATA_ROOT.iterdir() if p.is_dir())
    sequences = [s for s in map(sequence, folders) if s is not None]
    if not sequences:
        print(f"no folder with video.mp4 and gt/gt.txt among {', '.join(map(str, folders))}", file=sys.stderr)
        return 2
    model = resolve_detector(args.model)
    classes = tuple(c for c in args.classes.split(",") if c) or None
    print(f"model {model}; classes {classes or 'all'}; vidlabel accept conf {LinkParams().accept_conf}; "
          f"trackers fed conf >= {FEED_CONF}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    ratios, verdicts = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for seq in sequences:
            with open_video(seq.video) as v:
                frames = v.frame_count
            seconds, project = time_processes(seq, model, classes, args.repeat, Path(tmp))
            ratios[seq.name] = print_throughput(seq, seconds, frames)
            runs = quality_rows(seq, project)
            for title, gt in guideline_variants(seq).items():
                scores = print_quality(f"{title} (scored on {seq.score_class})", gt, runs)
                online = [v for k, v in scores.items() if not k.startswith(("vidlabel", " "))]
                ours = scores["vidlabel (offline linking)"]
                verdicts.append((title, all(ours[m] > max(o[m] for o in online) for m in ("mota", "idf1"))
                                 if online else None))
    print("\nsummary")
    for name, ratio in ratios.items():
        print(f"  {name}: vidlabel prelabel takes {ratio:.0%} of YOLO.track's time")
    for title, ok in verdicts:
        print(f"  {title}: MOTA and IDF1 above every online tracker: {'yes' if ok else 'no' if ok is not None else 'n/a'}")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
