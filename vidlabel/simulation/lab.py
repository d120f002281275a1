"""The strategy lab's schedule: which replays run, how far, and in which process.

"Which strategy for my footage?" needs an answer within minutes, and the exhaustive run (every
strategy at every batch size, each until its queue is dry or the quality reaches 0.995) takes
hours on a 200-frame clip, because every correction re-propagates with a single-object tracker.
Two things make it answer in minutes without changing what a replay measures:

* **Successive halving** (Jamieson & Talwalkar, 2016; the inner loop of Hyperband). Every replay
  runs to the first rung of human seconds; the better half, by area under its learning curve so
  far, goes on to the next rung, `RUNG_FACTOR` times further, and so on up to the budget. The
  area is the ALC's own (over log2 seconds from 8 s, `curves.area`), taken on the same interval
  for every replay, and the first rungs decide most of it: a curve's first 1/64 of the budget is
  more than 40% of the ALC's axis. A dropped replay is reported as dropped at its rung, with its
  curve so far, and is never recommended. `random` is never dropped: it normalises the ALC.
* **Worker processes**, one per core, each keeping its replays' sessions between rungs, so a
  replay that goes on continues where it stopped.
"""

from __future__ import annotations

import logging
import math
import os
import multiprocessing
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path

from ..errors import StrategyError
from ..review.session import ReviewSession
from ..store.project import Project
from ..video import SharedFrames, open_video
from . import baselines as B
from .curves import CurvePoint, area
from .groundtruth import ShownFrames
from .loop import Replay

log = logging.getLogger(__name__)

RUNG_FACTOR = 4      # each rung spends this many times the human seconds of the one before
RUNGS = 4            # rungs up to the budget: budget/64, budget/16, budget/4, budget
KEPT = 0.5           # share of the replays still running that go on at each rung

BatchTick = Callable[[str, float, float], None]   # (label, human seconds, quality) after a batch
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


@dataclass(frozen=True)
class Spec:
    """One replay: a strategy (NAME, NAME:box, NAME@agg), a batch size, a seed."""

    name: str
    batch: int
    seed: int
    label: str


@dataclass
class Outcome:
    """Where a replay stands after a stretch."""

    spec: Spec
    points: list[CurvePoint] = field(default_factory=list)
    finished: bool = False           # queue dry or quality reached: nothing more to run
    failed: str | None = None        # the replay raised: why
    skipped: str | None = None       # the strategy cannot run on this project: why
    dropped_at: float | None = None  # successive halving stopped it at this rung (human seconds)

    @property
    def ended(self) -> bool:
        """Nothing more to replay: the quality reached, the queue dry, or the replay failed."""
        return self.finished or self.failed is not None or self.skipped is not None


@dataclass
class Setup:
    """What every host needs to start a replay (picklable: it is sent to worker processes)."""

    experiment: object               # experiment.Experiment
    base: Path                       # the pre-labelled project every replay copies
    video_path: Path
    class_map: dict[int, int]


@dataclass
class Tally:
    """How far the lab has come, for a progress bar with an ETA. Work is counted in simulated
    human seconds, which the wall time follows (each batch's corrections, re-propagation and
    scoring); what is planned shrinks as replays finish early or are dropped."""

    replays: int                     # replays and baselines in all
    ended: int = 0                   # of them, finished, dropped or failed
    work_done: float = 0.0
    work_planned: float = 0.0
    label: str = ""                  # the latest batch's replay, its human seconds and quality
    seconds: float = 0.0
    quality: float = 0.0


def planned(budgets: Sequence[float], rung: int, running: Sequence[Spec], seconds: dict[Spec, float],
            horizon: float | None = None) -> float:
    """Human seconds still to replay: the running replays to this rung, then as many as
    successive halving will keep of them through the rungs after it. `horizon`: where replays
    have been seen to finish (the quality reached): none is expected to run past it."""
    cap = [min(b, horizon) if horizon else b for b in budgets]
    left = sum(max(0.0, cap[rung] - seconds.get(s, 0.0)) for s in running)
    randoms = sum(1 for s in running if s.name == "random")
    others = len(running) - randoms
    for j in range(rung + 1, len(budgets)):
        others = math.ceil(others * KEPT)
        left += (others + randoms) * max(0.0, cap[j] - cap[j - 1])
    return left


def rungs(budget: float, exhaustive: bool = False) -> list[float]:
    """The human-second budgets replays are advanced to, ending at `budget`."""
    if exhaustive:
        return [budget]
    return [budget / RUNG_FACTOR ** k for k in range(RUNGS - 1, -1, -1)]


def survivors(outcomes: Sequence[Outcome], rung: float) -> set[Spec]:
    """The unfinished replays that go on past `rung`: the better `KEPT` share by area so far,
    ranked together with the finished ones (which cost nothing more) and never `random`."""
    ranked = [o for o in outcomes if o.failed is None and o.skipped is None and o.spec.name != "random"]
    ranked.sort(key=lambda o: -area([(p.seconds, p.quality) for p in o.points], rung))
    kept = ranked[:math.ceil(len(ranked) * KEPT)]
    keep = {o.spec for o in kept} | {o.spec for o in outcomes if o.spec.name == "random"}
    return {o.spec for o in outcomes if o.spec in keep and not o.ended}


class ReplayHost:
    """Replays on copies of the base project, advanced stretch by stretch (in a worker process
    or in the calling one)."""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self._replays: dict[Spec, tuple[Replay, Path]] = {}
        self._started = 0
        self._video: SharedFrames | None = None   # opened on first use, read by every replay here

    def advance(self, spec: Spec, budget: float, on_batch: BatchTick) -> Outcome:
        try:
            replay = self._replay(spec)
            replay.advance(budget, lambda p: on_batch(spec.label, p.seconds, p.quality))
        except StrategyError as exc:    # e.g. committee without a second detector pass
            self.close(spec)
            return Outcome(spec, skipped=str(exc))
        except Exception as exc:  # noqa: BLE001 - one failed replay must not lose the others
            log.exception("replay %s failed", spec.label)
            self.close(spec)
            return Outcome(spec, failed=f"failed: {type(exc).__name__}: {exc}")
        return Outcome(spec, list(replay.curve.points), replay.finished)

    def _replay(self, spec: Spec) -> Replay:
        if spec not in self._replays:
            exp = self.setup.experiment
            path = self.setup.base.with_name(f"run-{os.getpid()}-{self._started}.vlp")
            self._started += 1
            shutil.copyfile(self.setup.base, path)
            if self._video is None:
                self._video = SharedFrames(open_video(self.setup.video_path))
            project = Project.open(path)
            session = ReviewSession(project, self._video, tracker=exp.tracker, background=False)
            strategy, params = strategy_params(spec.name)
            annotator = exp.annotator(ShownFrames(exp.gt), self.setup.class_map)
            try:
                replay = Replay(session, annotator, exp.gt, strategy, spec.batch, spec.seed, **params)
            except BaseException:
                session.close()
                project.close()
                path.unlink()
                raise
            self._replays[spec] = (replay, path)
        return self._replays[spec][0]

    def close(self, spec: Spec) -> None:
        replay, path = self._replays.pop(spec, (None, None))
        if replay is not None:
            replay.session.close()
            replay.session.project.close()
            path.unlink(missing_ok=True)

    def close_all(self) -> None:
        for spec in list(self._replays):
            self.close(spec)
        if self._video is not None:
            self._video.close()
            self._video = None

    def baseline(self, name: str) -> list[CurvePoint] | None:
        """A baseline's learning curve (None: not applicable, detector-only without a detector)."""
        exp = self.setup.experiment
        factory = lambda view: exp.annotator(view, {})  # noqa: E731 (baselines draw GT class ids)
        gt = exp.gt
        if name == "manual":
            run = B.fully_manual(gt, factory)
        elif name.startswith("interpolation-"):
            run = B.fixed_interpolation(gt, factory, int(name.split("-")[1]))
        elif name == "adaptive-interpolation":
            run = B.adaptive_interpolation(gt, factory)
        elif name == "tracker-only":
            with open_video(self.setup.video_path) as video:
                run = B.tracker_only(gt, factory, video, exp.tracker)
        elif name == "detector-only":
            if not exp.detector:
                return None
            with Project.open(self.setup.base, readonly=True) as project:
                run = B.detector_only(gt, factory, project.boxes(include_outside=False))
        else:
            raise ValueError(f"unknown baseline {name!r}")
        return run.curve.points


def _serve(conn: Connection, setup: Setup) -> None:
    """A worker process: advance, close and baseline requests until told to stop (None)."""
    import cv2

    cv2.setNumThreads(1)    # one core per worker: OpenCV's own threads would only contend
    host = ReplayHost(setup)
    try:
        while (request := conn.recv()) is not None:
            kind, key, budget = request
            if kind == "close":
                host.close(key)
                continue
            if kind == "advance":
                result = host.advance(key, budget, lambda *a: conn.send(("batch", a)))
            else:
                result = host.baseline(key)
            conn.send(("done", result))
    finally:
        host.close_all()


class Lab:
    """Runs requests on `workers` processes (or in this one for a single worker), each replay
    always on the process that holds it."""

    def __init__(self, setup: Setup, workers: int) -> None:
        self._local = ReplayHost(setup) if workers <= 1 else None
        self._conns: list[Connection] = []
        self._procs = []
        self._home: dict[Spec, int] = {}
        self._name_home: dict[str, int] = {}
        if self._local is None:
            ctx = multiprocessing.get_context("spawn")   # no fork of a process holding OpenVINO threads
            for _ in range(workers):
                mine, theirs = ctx.Pipe()
                proc = ctx.Process(target=_serve, args=(theirs, setup), daemon=True)
                proc.start()
                self._conns.append(mine)
                self._procs.append(proc)

    def run(self, requests: Sequence[tuple[str, object, float]], tick: BatchTick) -> Iterator[tuple[int, object]]:
        """Carry out ("advance", spec, budget) and ("baseline", name, 0) requests, yielding
        (request index, result) as each is done."""
        if self._local is not None:
            for i, (kind, key, budget) in enumerate(requests):
                yield i, self._local.advance(key, budget, tick) if kind == "advance" else self._local.baseline(key)
            return
        queues: list[list[int]] = [[] for _ in self._conns]
        for i, (kind, key, _) in enumerate(requests):
            queues[self._worker(key) if kind == "advance" else self._idlest(queues)].append(i)
        busy: dict[Connection, int] = {}
        for w in range(len(self._conns)):
            self._send_next(w, queues, requests, busy)
        while busy:
            for conn in wait(list(busy)):
                kind, payload = conn.recv()
                if kind == "batch":
                    tick(*payload)
                    continue
                i = busy.pop(conn)
                self._send_next(self._conns.index(conn), queues, requests, busy)
                yield i, payload

    def close(self, spec: Spec) -> None:
        if self._local is not None:
            self._local.close(spec)
        elif spec in self._home:
            self._conns[self._home.pop(spec)].send(("close", spec, 0))

    def shutdown(self) -> None:
        if self._local is not None:
            self._local.close_all()
        for conn in self._conns:
            conn.send(None)
        for proc in self._procs:
            proc.join(timeout=60)

    def _worker(self, spec: Spec) -> int:
        """A replay's process: chosen by strategy name, round robin, so that the names spread
        evenly and one strategy's batch sizes share a process and its remembered tracker runs."""
        w = self._name_home.setdefault(spec.name, len(self._name_home) % len(self._conns))
        return self._home.setdefault(spec, w)

    @staticmethod
    def _idlest(queues: list[list[int]]) -> int:
        return min(range(len(queues)), key=lambda w: len(queues[w]))

    def _send_next(self, w: int, queues: list[list[int]], requests, busy: dict) -> None:
        if queues[w]:
            i = queues[w].pop(0)
            self._conns[w].send(requests[i])
            busy[self._conns[w]] = i
