"""`vidlabel prelabel VIDEO [VIDEO...]`: detect, store and link into tracks; resumable."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..datamodel import ACCEPT_THRESHOLD
from ..errors import VidlabelError

if TYPE_CHECKING:  # the pipeline loads only when the command runs (tests/test_cli_startup.py)
    from ..prelabelling.pipeline import PrelabelOptions, PrelabelSummary


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prelabel", help="pre-label videos with a YOLO detector and link the boxes into tracks",
        description="Detect objects on every frame (or every K-th), store every candidate in the "
                    "project, and link them offline into tracks. Killed half way, the same command "
                    "continues where it stopped. Frames are 0-based; --end is exclusive.")
    p.add_argument("videos", nargs="+", metavar="VIDEO", help="video files or image folders")
    p.add_argument("-o", "--output", help="the project file for one video (any name), or a folder for "
                   "one project per video (default: <video>.vlp beside each video, the project "
                   "`vidlabel app VIDEO` opens)")
    p.add_argument("--model", help="detector: .pt, .onnx or OpenVINO folder (default: see README, Models)")
    p.add_argument("--classes", help="comma-separated class names to keep, e.g. person,car (default: all)")
    p.add_argument("--conf", type=float, default=ACCEPT_THRESHOLD,
                   help="accept threshold: a detection this confident may start a track "
                        f"(default {ACCEPT_THRESHOLD}); "
                        "weaker candidates are stored and may only continue a track")
    p.add_argument("--start", type=int, default=0, help="first frame (0-based, inclusive)")
    p.add_argument("--end", type=int, help="end frame (0-based, exclusive; default: the last frame + 1)")
    p.add_argument("--detect-every", type=int, default=1, metavar="K",
                   help="detect on every K-th frame and fill the frames between (default 1)")
    p.add_argument("--tracker", metavar="NAME",
                   help="fill the frames between detections with a single-object tracker (csrt, kcf, "
                        "mil, nano or auto) run from both ends; default: linear interpolation")
    p.add_argument("--device", help="inference device, e.g. cpu, 0 or cuda:0 (default: GPU if present)")
    ray = p.add_argument_group("on a Ray cluster (docs/scale.md)")
    ray.add_argument("--ray", nargs="?", const="auto", metavar="ADDRESS",
                     help="detect on Ray workers: local:N starts Ray here with N CPUs; HOST:PORT or "
                          "ray://HOST:PORT joins a cluster; alone, the cluster this machine is part "
                          "of. Workers must read the videos by the same path")
    ray.add_argument("--workers", type=int, metavar="N",
                     help="detector workers (default: one per GPU, else one per CPU, free in the cluster)")
    ray.add_argument("--chunk", type=int, metavar="FRAMES",
                     help="frames per work unit (default: from the job's size and the workers, "
                          "32 to 256)")
    p.set_defaults(func=run)


def project_paths(videos: list[str], output: str | None) -> list[Path]:
    """One project per video. `-o` that is an existing folder, or any `-o` with several videos,
    is a folder of `<video name>.vlp` projects; with one video any other `-o` is the project file,
    whatever its suffix; without `-o`, each video's default project (beside it, see README)."""
    from ..store.files import default_project_path

    if not output:
        return [default_project_path(v) for v in videos]
    out = Path(output)
    if len(videos) == 1 and not out.is_dir():
        return [out]
    if out.is_file() or out.suffix.lower() == ".vlp":
        raise VidlabelError("several videos need a folder for -o (one project each), not a "
                            "project file", output)
    names = [Path(v.rstrip("/")).name for v in videos]
    if len(set(names)) < len(names):
        raise VidlabelError("two videos have the same name, so their projects in one folder would "
                            "collide; pre-label them in separate calls", ", ".join(videos))
    return [out / f"{n}.vlp" for n in names]


def run(args: argparse.Namespace) -> int:
    from ..prelabelling.pipeline import PrelabelOptions, prelabel

    classes = tuple(c.strip() for c in args.classes.split(",") if c.strip()) if args.classes else None
    options = PrelabelOptions(model=args.model, classes=classes, conf=args.conf, start=args.start,
                              end=args.end, detect_every=args.detect_every, device=args.device,
                              tracker=args.tracker)
    projects = project_paths(args.videos, args.output)
    if args.ray:
        return _run_on_ray(args, options, projects)
    if args.workers is not None or args.chunk is not None:
        raise VidlabelError("--workers and --chunk are for --ray")
    for video, project in zip(args.videos, projects):
        report(prelabel(video, project, options))
    return 0


def _run_on_ray(args: argparse.Namespace, options: PrelabelOptions, projects: list[Path]) -> int:
    from tqdm import tqdm

    from ..prelabelling.cluster import ClusterOptions, prelabel_cluster, workers_text

    for name in ("workers", "chunk"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise VidlabelError(f"--{name} must be 1 or more, got {value}")
    run = prelabel_cluster(args.videos, projects, options, ClusterOptions(args.ray, args.workers, args.chunk),
                           on_video=lambda s: report(s, tqdm.write))
    videos = f"{len(run.summaries)} video{'' if len(run.summaries) == 1 else 's'}"
    print(f"{videos} on Ray ({workers_text(run.workers)}) in {run.wall_seconds:.1f} s "
          f"({run.chunks} chunks; start-up {run.startup_seconds:.1f} s)")
    return 0


def report(s: PrelabelSummary, write: Callable[[str], None] = print) -> None:
    """A pre-labelled video's closing lines: what was detected, linked and written."""
    first, end = s.frames
    write(f"{s.project}: frames {first}..{end - 1}, detected on {s.detected_frames} "
          + (f"({s.resumed_frames} already stored) " if s.resumed_frames else "")
          + (f"at {s.detect_fps:.1f} frames/s" if s.detected_frames > s.resumed_frames else ""))
    boxes = ", ".join(f"{k} {v}" for k, v in sorted(s.boxes.items())) or "none"
    classes = ", ".join(f"{k} {v}" for k, v in s.tracks_by_class.most_common()) or "none"
    state = "unchanged (already pre-labelled with these settings)" if s.unchanged else "written"
    write(f"  {s.tracks} tracks by class: {classes}; boxes by source: {boxes}; {state}")
    if s.candidates:
        write(f"  {s.candidates} candidate tracks (the detector was unsure of them): offered to "
              "review, left out of exports until confirmed")
