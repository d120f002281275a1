"""One `vidlabel simulate` experiment: pre-label once, replay every strategy, batch size and seed
on a copy of that project, replay the baselines, and summarise.

Pre-labelling runs once per experiment and every replay starts from a byte copy of the same
project file, so strategies are compared on identical pre-labels and the detector's cost is not
paid again for each of them. Which replays go how far, and in which process, is `lab.py`'s
(successive halving over worker processes; `exhaustive` runs every replay to its end).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from ..errors import CommitteeError, VideoError, VidlabelError
from ..prelabelling.pipeline import PrelabelOptions, prelabel
from ..prelabelling.record import PrelabelRecord
from ..review.committee import Committee
from ..review.effort import EXTREME_CLICKING, TimeModel
from ..review.strategies import STRATEGIES
from ..store.files import create_project
from ..store.project import MACHINE, Project
from ..video import open_video
from . import baselines as B
from .annotator import SimulatedAnnotator
from .groundtruth import GroundTruth, ShownFrames
from .lab import Lab, Outcome, Setup, Spec, Tally, planned, rungs, strategy_params, survivors
from .report import RunRecord, summarise

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
    exhaustive: bool = False               # every replay to its end, no successive halving (lab.py)
    workers: int = 1                       # processes replaying at once

    def annotator(self, view: ShownFrames, class_map: dict[int, int]) -> SimulatedAnnotator:
        return SimulatedAnnotator(view, self.time_model, class_map)


def _base_project(exp: Experiment, video_path: Path, where: Path) -> tuple[Path, dict[int, int]]:
    """The pre-labelled project every replay starts from (`vidlabel.prelabelling.pipeline`, restricted to the
    ground truth's classes) and the map from ground-truth class ids to project class ids (by name,
    docs/adr/0003; a class the detector does not know is added so that it can be drawn)."""
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
    finally:
        project.close()
    return path, class_map


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


def run_experiment(exp: Experiment, progress: Callable[[Tally], None] | None = None) -> dict:
    """Replay everything and return the summary document (see `report.summarise`).

    `progress(tally)` is called after every batch of every replay and when a replay or baseline
    ends (finished, dropped by successive halving, or failed)."""
    factory = lambda view: exp.annotator(view, {})  # noqa: E731 (baselines draw GT class ids)
    manual = B.manual_cost(exp.gt, factory)
    budget = exp.budget or manual
    tick = progress or (lambda tally: None)
    specs = replay_specs(exp)
    baselines = [b for b in exp.baselines if b != "detector-only" or exp.detector]
    with tempfile.TemporaryDirectory(dir=exp.workdir) as tmp:
        tmp = Path(tmp)
        video_path = cut_video(exp.video_path, *exp.cut, tmp / "cut.mp4") if exp.cut else exp.video_path
        with open_video(video_path) as video:
            if video.frame_count != exp.gt.frame_count:
                raise VideoError(f"the video has {video.frame_count} frames, the ground truth "
                                 f"{exp.gt.frame_count}", str(exp.video_path))
        base, class_map = _base_project(exp, video_path, tmp)
        lab = Lab(Setup(exp, base, video_path, class_map), min(exp.workers, len(specs) + len(baselines)))
        try:
            outcomes, baseline_runs = _halving(lab, specs, rungs(budget, exp.exhaustive), baselines, tick)
        finally:
            lab.shutdown()
    skipped: dict[str, str] = {}
    for o in outcomes:
        if o.skipped:
            skipped[o.spec.name] = o.skipped
        elif o.failed:
            skipped[o.spec.label] = o.failed
    records = [RunRecord(o.spec.name, "strategy", o.spec.batch, o.spec.seed, o.points, o.dropped_at)
               for o in outcomes if o.points]
    records += [RunRecord(name, "baseline", None, 0, points) for name, points in baseline_runs.items()]
    meta = {"video": str(exp.video_path), "frames": exp.gt.frame_count,
            "cut": list(exp.cut) if exp.cut else None,
            "gt_boxes": exp.gt.box_count(), "budget": budget, "seeds": exp.seeds,
            "batches": list(exp.batches), "detector": exp.detector,
            "time_model": exp.time_model.__dict__, "skipped": skipped,
            "schedule": {"exhaustive": exp.exhaustive, "rungs": rungs(budget, exp.exhaustive),
                         "workers": exp.workers}}
    return summarise(records, manual, meta)


def replay_specs(exp: Experiment) -> list[Spec]:
    """Every strategy (random first: it normalises the ALC) at every batch size and seed."""
    specs = []
    for name in dict.fromkeys(["random", *exp.strategies]):
        for batch in exp.batches:
            for seed in range(exp.seeds if strategy_params(name)[0] in RANDOMISED else 1):
                specs.append(Spec(name, batch, seed, f"{name} k={batch}" + (f" seed {seed}" if exp.seeds > 1 else "")))
    return specs


def _halving(lab: Lab, specs: list[Spec], budgets: list[float], baselines: list[str],
             progress: Callable[[Tally], None]) -> tuple[list[Outcome], dict[str, list]]:
    """Advance every replay rung by rung, keeping the `survivors` of each; the baselines run
    beside the first rung. `progress` hears of every batch and of every replay that ends."""
    outcomes = {s: Outcome(s) for s in specs}
    baseline_runs: dict[str, list] = {}
    running = list(specs)
    seconds: dict[Spec, float] = {}
    by_label = {s.label: s for s in specs}
    tally = Tally(len(specs) + len(baselines))

    def tell(rung: int, label: str | None = None, at: float = 0.0, quality: float = 0.0) -> None:
        if label is not None:   # a batch of replay `label` ended at `at` human seconds
            spec = by_label[label]
            tally.work_done += at - seconds.get(spec, 0.0)
            seconds[spec] = at
            tally.label, tally.seconds, tally.quality = label, at, quality
        horizon = max((o.points[-1].seconds for o in outcomes.values() if o.finished and o.points), default=None)
        active = [s for s in running if not outcomes[s].ended]
        tally.work_planned = tally.work_done + planned(budgets, rung, active, seconds, horizon)
        progress(tally)

    for i, budget in enumerate(budgets):
        tell(i)
        requests = [("advance", s, budget) for s in running]
        requests += [("baseline", name, 0.0) for name in (baselines if i == 0 else ())]
        for k, result in lab.run(requests, lambda *a, i=i: tell(i, *a)):
            kind, key, _ = requests[k]
            if kind == "advance":
                outcomes[key] = result
                tally.ended += result.ended
            elif result is not None:
                baseline_runs[key] = result
            tally.ended += kind == "baseline"
            tell(i)
        last = i == len(budgets) - 1
        pool = [o for o in outcomes.values() if o.dropped_at is None and (o.spec in running or o.finished)]
        keep = set() if last else survivors(pool, budget)
        for s in running:
            o = outcomes[s]
            if s not in keep:
                if not o.ended:   # the others were counted when they ended
                    tally.ended += 1
                    if not last:
                        o.dropped_at = budget
                lab.close(s)
        running = [s for s in running if s in keep]
    tell(len(budgets) - 1)
    return list(outcomes.values()), baseline_runs


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
