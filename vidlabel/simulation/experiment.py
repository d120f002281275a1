"""One `vidlabel simulate` experiment: pre-label once, replay every strategy, batch size and seed
on a copy of that project, replay the baselines, and summarise.

Pre-labelling runs once per experiment and every replay starts from a byte copy of the same
project file, so strategies are compared on identical pre-labels and the detector's cost is not
paid again for each of them.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from ..datamodel import Box
from ..errors import CommitteeError, StrategyError, VideoError, VidlabelError
from ..prelabelling.pipeline import PrelabelOptions, prelabel
from ..prelabelling.record import PrelabelRecord
from ..review.committee import Committee
from ..review.effort import EXTREME_CLICKING, TimeModel
from ..review.session import ReviewSession
from ..review.strategies import STRATEGIES
from ..store.files import create_project
from ..store.project import MACHINE, Project
from ..video import FrameSource, open_video
from . import baselines as B
from .annotator import SimulatedAnnotator
from .groundtruth import GroundTruth, ShownFrames
from .loop import run_loop
from .report import RunRecord, summarise

log = logging.getLogger(__name__)

BASELINES = ("manual", "interpolation-5", "interpolation-10", "interpolation-30",
             "adaptive-interpolation", "tracker-only", "detector-only")
# strategies whose picks depend on a seed; the others are replayed once whatever --seeds says
RANDOMISED = frozenset({"random", "mixed"})


@dataclass
class Experiment:
    video_path: Path
    gt: GroundTruth
    strategies: Sequence[str] = tuple(STRATEGIES)
    batches: Sequence[int] = (5, 10, 20)
    budget: float | None = None            # human seconds; default the fully manual cost
    seeds: int = 1
    detector: bool = True
    baselines: Sequence[str] = BASELINES
    time_model: TimeModel = EXTREME_CLICKING
    model: str | None = None
    tracker: str = "auto"
    cut: tuple[int, int] | None = None     # replay frames [start, end) of the video only
    workdir: Path | None = None

    def annotator(self, view: ShownFrames, class_map: dict[int, int]) -> SimulatedAnnotator:
        return SimulatedAnnotator(view, self.time_model, class_map)


def _copy_project(src: Path, dst: Path) -> Path:
    shutil.copyfile(src, dst)
    return dst


def _base_project(exp: Experiment, video_path: Path, where: Path
                  ) -> tuple[Path, dict[int, int], list[Box]]:
    """The pre-labelled project every replay starts from (`vidlabel.prelabelling.pipeline`, restricted to the
    ground truth's classes), the map from ground-truth class ids to project class ids (by name,
    docs/adr/0003; a class the detector does not know is added so that it can be drawn), and the
    pre-labels themselves."""
    path = where / "base.vlp"
    if exp.detector:
        prelabel(video_path, path, PrelabelOptions(model=exp.model, classes=_detectable(exp)),
                 progress=False)
    else:
        project, video = create_project(video_path, path, classes=exp.gt.class_names)
        project.close()
        video.close()
    project = Project.open(path)
    try:
        if exp.detector and "committee" in exp.strategies:
            _second_pass(project, video_path)
        with project.action("simulation classes", MACHINE):
            class_map = {i: project.add_class(n) for i, n in enumerate(exp.gt.class_names)}
        prelabels = project.boxes(include_outside=False)
    finally:
        project.close()
    return path, class_map, prelabels


def _detectable(exp: Experiment) -> tuple[str, ...]:
    """The ground truth's classes that its objects use and the detector knows. A MOT file's
    class list names every MOTChallenge class up to the highest id used, most of which ("static
    person", "occluder") no COCO detector has; the others are drawn by the annotator."""
    from ..prelabelling.detector import Detector

    used = {o.class_id for f in exp.gt.frames() for o in exp.gt.objects(f)}
    known = {n.lower() for n in Detector(exp.model).class_names}
    names = tuple(n for i, n in enumerate(exp.gt.class_names) if i in used and n.lower() in known)
    if not names:
        raise VidlabelError(f"none of the ground truth's classes ({', '.join(exp.gt.class_names)}) is "
                            "a class of the detector, so there is nothing to pre-label; pass "
                            "--no-detector to simulate drawing everything")
    return names


def _second_pass(project: Project, video_path: Path) -> None:
    """The committee's second detector pass, paid once in the base project that every replay
    copies; without a second detector, committee is skipped with the reason the session gives."""
    with open_video(video_path) as video:
        try:
            committee = Committee(project, video, PrelabelRecord.read(project).run)
        except CommitteeError:
            return
        committee.ensure(list(range(video.frame_count)))


def run_experiment(exp: Experiment, progress: Callable[[str, float, float], None] | None = None
                   ) -> dict:
    """Replay everything and return the summary document (see `report.summarise`).

    `progress(label, human_seconds, quality)` is called after every batch of every replay and
    with seconds -1 when a replay ends."""
    factory = lambda view: exp.annotator(view, {})  # noqa: E731 (baselines draw GT class ids)
    manual = B.manual_cost(exp.gt, factory)
    budget = exp.budget or manual
    tick = progress or (lambda label, seconds, quality: None)
    with tempfile.TemporaryDirectory(dir=exp.workdir) as tmp:
        tmp = Path(tmp)
        video_path = cut_video(exp.video_path, *exp.cut, tmp / "cut.mp4") if exp.cut else exp.video_path
        with open_video(video_path) as video:
            if video.frame_count != exp.gt.frame_count:
                raise VideoError(f"the video has {video.frame_count} frames, the ground truth "
                                 f"{exp.gt.frame_count}", str(exp.video_path))
            base, class_map, prelabels = _base_project(exp, video_path, tmp)
            skipped: dict[str, str] = {}
            records = _replay_strategies(exp, budget, base, video_path, class_map, tick, skipped)
            records += _replay_baselines(exp, video, prelabels, factory, tick)
    meta = {"video": str(exp.video_path), "frames": exp.gt.frame_count,
            "cut": list(exp.cut) if exp.cut else None,
            "gt_boxes": exp.gt.box_count(), "budget": budget, "seeds": exp.seeds,
            "batches": list(exp.batches), "detector": exp.detector,
            "time_model": exp.time_model.__dict__, "skipped": skipped}
    return summarise(records, manual, meta)


BOX_SUFFIX = ":box"   # "hybrid:box": the strategy's single-box picks (`unit="box"`) instead of frames


def strategy_params(name: str) -> tuple[str, dict]:
    """A replay's strategy name and `next_batch` parameters: `NAME:box` asks for box picks,
    `NAME@AGG` ranks frames by another aggregate of their boxes' scores (max, sum, mean)."""
    params: dict = {}
    if name.endswith(BOX_SUFFIX):
        name, params["unit"] = name[:-len(BOX_SUFFIX)], "box"
    if "@" in name:
        name, params["aggregate"] = name.split("@", 1)
    return name, params


def replay_count(exp: Experiment) -> int:
    """How many replays `run_experiment` makes (for a progress bar)."""
    names = dict.fromkeys(["random", *exp.strategies])
    runs = sum(len(exp.batches) * (exp.seeds if strategy_params(n)[0] in RANDOMISED else 1) for n in names)
    return runs + sum(1 for b in exp.baselines if b != "detector-only" or exp.detector)


def _replay_strategies(exp: Experiment, budget: float, base: Path, video_path: Path,
                       class_map: dict[int, int], tick, skipped: dict[str, str]) -> list[RunRecord]:
    """Every strategy at every batch size (and seed); a strategy this project cannot run is
    recorded in `skipped` with the reason instead of stopping the experiment."""
    records = []
    for name in dict.fromkeys(["random", *exp.strategies]):   # random normalises the ALC
        for batch in exp.batches:
            strategy, params = strategy_params(name)
            for seed in range(exp.seeds if strategy in RANDOMISED else 1):
                label = f"{name} k={batch}" + (f" seed {seed}" if exp.seeds > 1 else "")
                path = _copy_project(base, base.with_name("run.vlp"))
                session = ReviewSession.open(path, video_path, tracker=exp.tracker,
                                             background=False)
                try:
                    annotator = exp.annotator(ShownFrames(exp.gt), class_map)
                    run = run_loop(session, annotator, exp.gt, strategy, batch, budget, seed,
                                   on_batch=lambda p, label=label: tick(label, p.seconds, p.quality),
                                   **params)
                except StrategyError as exc:   # e.g. committee without a second detector pass
                    skipped[name] = str(exc)
                    tick(label, -1, 0.0)
                    break
                except Exception as exc:  # noqa: BLE001 - one failed replay must not lose the others
                    log.exception("replay %s failed", label)
                    skipped[label] = f"failed: {type(exc).__name__}: {exc}"
                    tick(label, -1, 0.0)
                    continue
                finally:
                    session.close()
                    path.unlink()
                records.append(RunRecord(name, "strategy", batch, seed, run.curve.points))
                tick(label, -1, run.curve.final.quality)
            if name in skipped:
                break
    return records


def _replay_baselines(exp: Experiment, video: FrameSource, prelabels: list[Box], factory,
                      tick) -> list[RunRecord]:
    records = []
    for name in exp.baselines:
        run = _baseline(name, exp, factory, video, prelabels)
        if run is not None:
            records.append(RunRecord(name, "baseline", None, 0, run.curve.points))
            tick(name, -1, run.curve.final.quality)
    return records


def _baseline(name: str, exp: Experiment, factory, video: FrameSource, prelabels: list[Box]):
    gt = exp.gt
    if name == "manual":
        return B.fully_manual(gt, factory)
    if name.startswith("interpolation-"):
        return B.fixed_interpolation(gt, factory, int(name.split("-")[1]))
    if name == "adaptive-interpolation":
        return B.adaptive_interpolation(gt, factory)
    if name == "tracker-only":
        return B.tracker_only(gt, factory, video, exp.tracker)
    if name == "detector-only":
        return B.detector_only(gt, factory, prelabels) if exp.detector else None
    raise ValueError(f"unknown baseline {name!r}")


def cut_video(src: Path, start: int, end: int, dst: Path) -> Path:
    """Frames [start, end) of a video as a new clip numbered from 0 (libx264, crf 16: visually
    lossless), so that a replay on a cut has the same frame numbers as its cut ground truth."""
    with open_video(src) as video:
        if not 0 <= start < end <= video.frame_count:
            raise VideoError(f"cut {start}..{end} is outside the video's {video.frame_count} frames",
                             str(src))
        with av.open(str(dst), "w") as out:
            stream = out.add_stream("libx264", rate=Fraction(video.fps).limit_denominator(1001))
            stream.width, stream.height, stream.pix_fmt = video.width, video.height, "yuv420p"
            stream.options = {"crf": "16", "bf": "0"}
            for _, image in video.frames(start, end):
                out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
            out.mux(stream.encode())
    return dst
