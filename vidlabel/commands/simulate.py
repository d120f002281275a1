"""`vidlabel simulate VIDEO --gt GT`: replay the review loop against ground truth with a simulated
annotator, compare query strategies, batch sizes and baselines by measured human seconds, and
recommend a strategy and batch size for this video."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..errors import VidlabelError
from ..review.strategies import STRATEGIES, make_strategy


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"batch sizes must be positive integers, got {text!r}")
    return values


def _names(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate", help="measure strategies and batch sizes against ground truth, recommend one",
        description="Pre-label the video, then replay the review loop with a simulated careful "
                    "annotator for every strategy, batch size and baseline; report learning "
                    "curves, seconds to quality 0.95/0.99 and normalised ALC, and recommend a "
                    "strategy and batch size. See docs/BENCHMARKS.md.")
    p.add_argument("video", help="the video (or image folder) the ground truth belongs to")
    p.add_argument("--gt", required=True, help="ground truth: MOTChallenge gt.txt or COCO json")
    p.add_argument("--gt-format", choices=("mot", "coco"),
                   help="ground truth format (default: from the file name, .json is COCO)")
    p.add_argument("--strategies", type=_names, default=list(STRATEGIES),
                   help=f"comma-separated strategies (default all: {','.join(STRATEGIES)}); "
                        "random is always run, the ALC is normalised against it; NAME:box "
                        "replays a strategy's single-box picks (e.g. hybrid:box); NAME@max|sum|mean "
                        "ranks frames by that aggregate of their boxes' scores (e.g. hybrid@mean)")
    p.add_argument("--baselines", type=_names, default=None,
                   help="comma-separated baselines (default all); 'none' for none")
    p.add_argument("--batch", type=_int_list, default=[5, 10, 20],
                   help="comma-separated batch sizes in frames (default 5,10,20)")
    p.add_argument("--budget", type=float, default=None,
                   help="human seconds per replay (default: the fully manual cost)")
    p.add_argument("--seeds", type=int, default=1, help="repeats of randomised strategies (default 1)")
    p.add_argument("--no-detector", action="store_true",
                   help="no pre-labels: the annotator draws first boxes and trackers carry them")
    p.add_argument("--start", type=int, default=None, help="first frame of a cut (0-based, inclusive)")
    p.add_argument("--end", type=int, default=None, help="end of a cut (0-based, exclusive)")
    p.add_argument("--model", help="detector weights (default: found by vidlabel.weights)")
    p.add_argument("--tracker", default="auto", help="single-object tracker (default auto)")
    p.add_argument("--draw-seconds", type=float, default=7.0,
                   help="seconds per drawn box (default 7, extreme clicking; 35 conventional)")
    p.add_argument("--exhaustive", action="store_true",
                   help="run every replay to its end (by default, successive halving stops the "
                        "replays that are clearly behind after the first part of their curve)")
    p.add_argument("--workers", type=int, default=None,
                   help="processes replaying at once (default: one per core)")
    p.add_argument("--json", type=Path, help="write the full results as JSON here")
    p.add_argument("--plot", type=Path, help="write learning-curve PNGs into this folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..review.effort import TimeModel
    from ..simulation.experiment import BASELINES, Experiment, run_experiment
    from ..simulation.lab import BOX_SUFFIX, strategy_params
    from ..simulation.groundtruth import load_ground_truth
    from ..simulation.report import (
        batch_table,
        markdown_table,
        plot,
        recommendation_line,
        write_json,
    )
    from ..video import open_video

    video_path = Path(args.video)
    unknown = [s for s in args.strategies if strategy_params(s)[0] not in STRATEGIES]
    if unknown:
        raise VidlabelError(f"unknown strategies {unknown}; choose from {', '.join(STRATEGIES)} "
                            f"(NAME{BOX_SUFFIX} for single-box picks, NAME@max|sum|mean for a frame aggregate)")
    for spec in args.strategies:   # a wrong parameter fails here, before the pre-labelling
        name, params = strategy_params(spec)
        make_strategy(name, **params)
    baselines = BASELINES if args.baselines is None else [b for b in args.baselines if b != "none"]
    bad = [b for b in baselines if b not in BASELINES]
    if bad:
        raise VidlabelError(f"unknown baselines {bad}; choose from {', '.join(BASELINES)}")
    if args.seeds < 1:
        raise VidlabelError(f"--seeds must be at least 1, got {args.seeds}")
    workers = len(os.sched_getaffinity(0)) if args.workers is None else args.workers
    if workers < 1:
        raise VidlabelError(f"--workers must be at least 1, got {workers}")
    with open_video(video_path) as video:
        frame_count, size = video.frame_count, (video.width, video.height)
    gt = load_ground_truth(args.gt, frame_count, args.gt_format, size)
    cut = None
    if args.start is not None or args.end is not None:
        cut = (args.start or 0, args.end if args.end is not None else frame_count)
        if not 0 <= cut[0] < cut[1] <= frame_count:
            raise VidlabelError(f"--start/--end {cut[0]}..{cut[1]} outside the video's "
                                f"{frame_count} frames", str(video_path))
        gt = gt.cut(*cut)
    exp = Experiment(video_path, gt, args.strategies, args.batch, args.budget, args.seeds,
                     not args.no_detector, baselines, TimeModel(draw=args.draw_seconds),
                     args.model, args.tracker, cut, exhaustive=args.exhaustive, workers=workers)
    # The bar counts simulated human seconds (what the wall time follows), so its ETA holds.
    with tqdm(total=1, unit="s", unit_scale=True, desc="simulate",
              bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining} {postfix}") as bar:
        def progress(t) -> None:
            bar.total, bar.n = max(t.work_planned, 1.0), t.work_done
            bar.set_postfix_str(f"{t.ended}/{t.replays} replays done · {t.label}: {t.seconds:,.0f} s, "
                                f"quality {t.quality:.3f}")
        doc = run_experiment(exp, progress)
    if args.json:
        write_json(doc, args.json)
    if args.plot:
        for path in plot(doc, args.plot):
            print(f"plot: {path}")
    print(markdown_table(doc))
    print()
    print(batch_table(doc))
    print()
    print(recommendation_line(doc))
    return 0
