"""Tracker propagation on real pedestrians: cost, accuracy against GT, and how well drift is flagged.

For each available single-object tracker, on a fixed random sample of ground-truth track
segments of N frames (N = 10 and 30 by default; both ends are the keyframes), this prints side
by side:

* cost: milliseconds per box per frame of a propagation run (tracker update plus vidlabel's
  appearance confidence; frames are decoded before timing, so decoding is not counted), the
  median over segments of wall time, and of process CPU time (all threads), which other
  programs on a shared machine inflate less;
* accuracy on the frames strictly between the keyframes, as mean IoU with GT and the share of
  frames with IoU >= 0.5, for (a) one-direction propagation from the first keyframe without
  stopping, (b) `track_between` (both directions blended, collapse gaps interpolated), and
  (c) plain linear interpolation between the two keyframes (tracker-independent);
* drift flagging: on the frames of the unstopped one-direction runs, the mean confidence where
  the box is right (IoU >= 0.5) and where it has drifted (IoU < 0.3), and the ROC AUC of the
  confidence separating the two (0.5 = no signal, 1 = perfect); for NanoTrack also the AUC of
  its own score, which is what one would get by trusting the tracker; and the AUC of the
  confidence `track_between` reports on its output boxes (with the number of output boxes
  that are off, IoU < 0.3), which is what the review queue sees.

    python benchmarks/bench_propagation.py [--data DIR] [--gaps 10 30] [--segments 40]

DIR is a MOTChallenge sequence folder with `video.mp4` (or `img1/`) and `gt/gt.txt`; the default
is PETS09-S2L1 in ../shared/data beside the checkout.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from vidlabel.datamodel import Box, iou_xywh  # noqa: E402
from vidlabel.propagation.propagate import interpolate, propagate, track_between  # noqa: E402
from vidlabel.propagation.trackers import available_trackers, create_tracker  # noqa: E402
from vidlabel.video import open_video  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "PETS09-S2L1"


def load_gt(path: Path) -> dict[int, dict[int, tuple[float, float, float, float]]]:
    """{track: {0-based frame: xywh}} of the visible GT rows (conf 0 rows are ignore regions)."""
    rows = np.loadtxt(path, delimiter=",", ndmin=2)
    out: dict[int, dict[int, tuple]] = {}
    for r in rows[rows[:, 6] != 0]:
        out.setdefault(int(r[1]), {})[int(r[0]) - 1] = tuple(float(v) for v in r[2:6])
    return out


def segments(gt: dict, gap: int, count: int, frame_count: int, seed: int = 0) -> list[tuple[int, int]]:
    """A fixed random sample of (track, start) whose GT covers every frame of [start, start + gap]."""
    pool = []
    for track, boxes in sorted(gt.items()):
        for s in sorted(boxes):
            if s % gap == 0 and s + gap < frame_count and all(f in boxes for f in range(s, s + gap + 1)):
                pool.append((track, s))
    random.Random(seed).shuffle(pool)
    return sorted(pool[:count])


def auc(positive: list[float], negative: list[float]) -> float:
    """ROC AUC by the Mann-Whitney statistic (ties count half)."""
    if not positive or not negative:
        return float("nan")
    p, n = np.asarray(positive)[:, None], np.asarray(negative)[None, :]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (p.size * n.size))


def native_scores(video, start: Box, frames: range) -> list[float]:
    """NanoTrack's own score along an unstopped run (what trusting the tracker would give)."""
    tracker = create_tracker("nano")
    tracker.init(video.frame(start.frame), start.xywh)
    scores = []
    for f in frames:
        xywh, _ = tracker.update(video.frame(f))
        scores.append(float(tracker.native_score()) if xywh is not None else 0.0)
    return scores


def evaluate(video, gt: dict, name: str, gap: int, segs: list[tuple[int, int]]) -> dict:
    one, between, linear, costs, cpu_costs = [], [], [], [], []
    right, drifted, native_right, native_drifted = [], [], [], []
    between_right, between_drifted = [], []
    for track, s in segs:
        e = s + gap
        boxes = gt[track]
        start, end = Box(s, track, 0, *boxes[s]), Box(e, track, 0, *boxes[e])
        for f in range(s, e + 1):
            video.frame(f)  # decode now, so that the timing below is the tracker's alone
        t, cpu = time.perf_counter(), time.process_time()
        run = {b.frame: b for b in propagate(video, start, range(s + 1, e), name, min_confidence=0.0)}
        costs.append((time.perf_counter() - t) * 1000 / (gap - 1))
        cpu_costs.append((time.process_time() - cpu) * 1000 / (gap - 1))
        native = native_scores(video, start, range(s + 1, e)) if name == "nano" else None
        for k, f in enumerate(range(s + 1, e)):
            iou = iou_xywh(run[f].xywh, boxes[f]) if f in run else 0.0
            one.append(iou)
            confidence = run[f].confidence if f in run else 0.0
            if iou >= 0.5:
                right.append(confidence)
                if native:
                    native_right.append(native[k])
            elif iou < 0.3:
                drifted.append(confidence)
                if native:
                    native_drifted.append(native[k])
        for b in track_between(video, start, end, name):
            iou = iou_xywh(b.xywh, boxes[b.frame])
            between.append(iou)
            if iou >= 0.5:
                between_right.append(b.confidence)
            elif iou < 0.3:
                between_drifted.append(b.confidence)
        linear += [iou_xywh(b.xywh, boxes[b.frame]) for b in interpolate(start, end)]
    return {"cost": float(np.median(costs)), "cpu": float(np.median(cpu_costs)),
            "one": np.asarray(one), "between": np.asarray(between),
            "linear": np.asarray(linear), "right": right, "drifted": drifted,
            "auc": auc(right, drifted), "between_auc": auc(between_right, between_drifted),
            "between_drifted": len(between_drifted), "native_auc": auc(native_right, native_drifted) if native_right else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--gaps", type=int, nargs="+", default=[10, 30])
    ap.add_argument("--segments", type=int, default=40, help="segments per gap (fixed random sample)")
    ap.add_argument("--trackers", nargs="+", default=None, help="default: every available tracker")
    args = ap.parse_args()

    source = args.data / "video.mp4" if (args.data / "video.mp4").is_file() else args.data / "img1"
    video = open_video(source)
    gt = load_gt(args.data / "gt" / "gt.txt")
    names = args.trackers or [n for n, ok in available_trackers().items() if ok]
    print(f"{source}: {video.frame_count} frames, {len(gt)} GT tracks; trackers: {', '.join(names)}")
    header = (f"{'tracker':<7} {'N':>3} {'segs':>4} {'ms/box/frame':>12} {'cpu ms':>6} | {'one-way IoU':>11} {'>=0.5':>6} | "
              f"{'between IoU':>11} {'>=0.5':>6} | {'linear IoU':>10} {'>=0.5':>6} | "
              f"{'conf ok':>7} {'conf drift':>10} {'AUC':>5} {'native AUC':>10} | {'between AUC (n<0.3)':>19}")
    print(header)
    print("-" * len(header))
    for gap in args.gaps:
        segs = segments(gt, gap, args.segments, video.frame_count)
        for name in names:
            r = evaluate(video, gt, name, gap, segs)
            native = f"{r['native_auc']:.3f}" if r["native_auc"] is not None else "-"
            print(f"{name:<7} {gap:>3} {len(segs):>4} {r['cost']:>12.1f} {r['cpu']:>6.1f} | "
                  f"{r['one'].mean():>11.3f} {np.mean(r['one'] >= 0.5):>6.2f} | "
                  f"{r['between'].mean():>11.3f} {np.mean(r['between'] >= 0.5):>6.2f} | "
                  f"{r['linear'].mean():>10.3f} {np.mean(r['linear'] >= 0.5):>6.2f} | "
                  f"{np.mean(r['right']) if r['right'] else float('nan'):>7.2f} "
                  f"{np.mean(r['drifted']) if r['drifted'] else float('nan'):>10.2f} "
                  f"{r['auc']:>5.3f} {native:>10} | {r['between_auc']:>11.3f} ({r['between_drifted']:>4})", flush=True)


if __name__ == "__main__":
    main()
