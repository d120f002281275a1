"""Pre-labelling many videos on a Ray cluster: actors detect, one driver stores and links.

Why this shape. Detection is the slow half and needs no project, so it is farmed out as work
units of (video, contiguous frame range) to Ray actors that each load the model once (one model
per actor, as Ultralytics advises for thread-safe inference) and decode their range with
vidlabel's exact-index reader. They send back compact arrays, never frames. Everything that
writes stays in the driver: one writer per project (SQLite allows no other), each chunk stored in
one transaction as it arrives, a video linked as soon as its last chunk is stored while the
workers go on with the next videos. Stored frames are skipped by the next run, so a killed driver
resumes; an actor that dies is restarted by Ray and its chunk retried. Linking reads only the
store (`pipeline.link_run`), so the tracks equal those of the single-process command.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PrelabelError, one_line
from ..store.files import open_or_create_project
from .detector import runs
from .cluster_worker import DetectorWorker, Packed, chunk_size, unpack
from .pipeline import PrelabelOptions, PrelabelSummary, check_inputs, link_run, schedule, store_detections

# Chunks queued on each actor: one running, one waiting, so a worker never idles while the driver
# stores or links.
IN_FLIGHT = 2
RETRIES = 3  # restarts of a dead actor, and retries of its chunk, before the job gives up
ROOM_WAIT = 10.0  # seconds to wait for free CPUs or GPUs before saying the cluster is full


@dataclass(frozen=True)
class ClusterOptions:
    """Where to run: `address` is `local:N` (start Ray here with N CPUs), `auto` (the cluster this
    machine belongs to, or RAY_ADDRESS), `HOST:PORT` of a head node, or a `ray://` client address.
    A Ray the caller has already connected (`ray.init`) is used as it is."""

    address: str = "auto"
    workers: int | None = None  # detector actors; default one per free GPU, else per free CPU
    chunk: int | None = None    # frames per work unit; default `chunk_size`


@dataclass
class ClusterReport:
    """What a cluster run did: per video its summary, and where the time went (`bench_cluster`)."""

    summaries: list[PrelabelSummary]
    workers: int
    chunks: int = 0
    wall_seconds: float = 0.0
    startup_seconds: float = 0.0   # connecting, starting actors, loading models, checking videos
    store_seconds: float = 0.0     # the driver's writing of detections
    link_seconds: float = 0.0      # the driver's linking
    worker_seconds: float = 0.0    # summed over chunks: decoding and detecting inside the actors
    detect_wall_seconds: float = 0.0  # from the first chunk sent to the last one stored


def workers_text(n: int) -> str:
    """How the bar and the closing line count workers: 1 worker, 2 workers."""
    return f"{n} worker{'' if n == 1 else 's'}"


# ---------------------------------------------------------------- connecting
def _import_ray():
    try:
        import ray
    except ImportError:
        raise PrelabelError("--ray needs Ray, which is not installed here: pip install 'ray==2.60.0' "
                            "(./run.sh installs it)") from None
    return ray


@contextmanager
def connected(address: str) -> Iterator[object]:
    """Ray, connected as `address` says for the duration (see `ClusterOptions`); a local Ray this
    started is shut down after, a cluster is only disconnected from."""
    ray = _import_ray()
    kwargs = dict(logging_level=logging.WARNING, log_to_driver=False)
    if address.startswith("local:"):
        cpus = address.removeprefix("local:")
        if not cpus.isdigit() or int(cpus) < 1:
            raise PrelabelError(f"--ray local:N needs a number of CPUs of 1 or more, got {cpus!r}")
        kwargs.update(num_cpus=int(cpus), include_dashboard=False)
    else:
        _reachable(address)
        kwargs.update(address=address)
    if ray.is_initialized():
        yield ray
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no network calls nobody asked for
    try:
        ray.init(**kwargs)
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError here
        raise PrelabelError(f"cannot connect to Ray: {one_line(exc)}", address) from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _reachable(address: str) -> None:
    """A head node's HOST:PORT that does not answer fails in seconds, not after Ray's own long
    retries."""
    host, _, port = address.rpartition(":")
    if address == "auto" or "://" in address or not port.isdigit():
        return
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=5).close()
    except OSError as exc:
        raise PrelabelError(f"no Ray cluster answers at this address ({exc.strerror or exc})",
                            address) from None


def _start_workers(ray, options: PrelabelOptions, wanted: int | None) -> list:
    """`wanted` actors, by default one per GPU or else per CPU that is free: another driver's
    workers keep theirs, and an actor asking for more than the cluster has would wait forever.
    Resources of actors just ended come back within moments (Ray frees them asynchronously), so
    room is awaited for up to ROOM_WAIT seconds before refusing."""
    gpu = str(options.device or "").lower() != "cpu" and ray.cluster_resources().get("GPU", 0) > 0
    each = {"num_gpus": 1, "num_cpus": 1} if gpu else {"num_cpus": 1}
    deadline = time.monotonic() + ROOM_WAIT
    while True:
        free = ray.available_resources()
        room = int(min(free.get("GPU", 0), free.get("CPU", 0)) if gpu else free.get("CPU", 0))
        n = wanted or room
        if 1 <= n <= room:
            break
        if time.monotonic() > deadline:
            raise PrelabelError(f"the Ray cluster has room for {room} detector workers now "
                                f"({'GPUs' if gpu else 'CPUs'} free), not {max(n, 1)}: other jobs hold the "
                                "rest; ask for fewer, wait, or add nodes")
        time.sleep(0.1)
    actor = ray.remote(max_restarts=RETRIES, max_task_retries=RETRIES, **each)(DetectorWorker)
    return [actor.remote(options) for _ in range(n)]


# ---------------------------------------------------------------- the driver
@dataclass
class _Job:
    """One video's part of the run: its project, and its chunks still out."""

    video: str
    project: Path
    frames: list[int]
    run_id: int
    resumed: int
    todo: list[int]
    out: int = 0
    started: float = 0.0
    seconds: float = 0.0
    opened: tuple | None = field(default=None, repr=False)  # (project, video) while chunks arrive


def prelabel_cluster(videos: list[str], projects: list[Path], options: PrelabelOptions = PrelabelOptions(),
                     cluster: ClusterOptions = ClusterOptions(), progress: bool = True,
                     on_video: Callable[[PrelabelSummary], None] | None = None,
                     on_chunk: Callable[[int, int], None] | None = None) -> ClusterReport:
    """Pre-label each video into its project on Ray; the projects equal `prelabel`'s.

    Nothing is written before every video opens here and on every worker, Ray answers and the
    model loads. `on_video(summary)` is called as each video is linked (others still detecting),
    `on_chunk(frames stored, frames in all)` after each stored chunk.
    """
    started = time.perf_counter()
    ranges = [check_inputs(v, p, options) for v, p in zip(videos, projects)]
    paths = [str(Path(v).resolve()) for v in videos]
    jobs: list[_Job] = []
    with connected(cluster.address) as ray:
        workers = _start_workers(ray, options, cluster.workers)
        try:
            model = _describe(ray, workers)
            _check_on_workers(ray, workers, paths, [n for *_, n in ranges])
            jobs = [_open_job(p, v, proj, options, r, model) for p, v, proj, r in zip(paths, videos, projects, ranges)]
            report = ClusterReport([], len(workers), startup_seconds=time.perf_counter() - started)
            size = cluster.chunk or chunk_size(sum(len(j.todo) for j in jobs), len(workers))
            units: deque = deque()
            for j in jobs:
                parts = list(runs(j.todo, size))
                j.out = len(parts)
                units.extend((j, part) for part in parts)
            _drive(ray, workers, units, jobs, report, options, model, progress, on_video, on_chunk)
        finally:
            for w in workers:
                ray.kill(w)
            for j in jobs:
                if j.opened is not None:
                    for part in j.opened:
                        part.close()
    order = {j.project: k for k, j in enumerate(jobs)}
    report.summaries.sort(key=lambda s: order[s.project])
    report.wall_seconds = time.perf_counter() - started
    return report


def _describe(ray, workers: list) -> dict:
    """Start every worker on its share of its node (see `DetectorWorker`); the model as they
    loaded it: its key for the detection run, its class names."""
    nodes = _get(ray, [w.node.remote() for w in workers], "starting the Ray workers")
    slots = [nodes[:k].count(n) for k, n in enumerate(nodes)]
    models = _get(ray, [w.start.remote(k, nodes.count(n)) for w, k, n in zip(workers, slots, nodes)],
                  "loading the model on the Ray workers")
    for model in models:
        if "error" in model:
            raise PrelabelError(*model["error"])
    return models[0]


def _check_on_workers(ray, workers: list, paths: list[str], counts: list[int]) -> None:
    """Every worker must read every video by the same path and see the same frames as here."""
    for node, seen in _get(ray, [w.check.remote(paths) for w in workers], "checking the videos"):
        for path, expected, got in zip(paths, counts, seen):
            if isinstance(got, str):
                raise PrelabelError(f"the video does not open on Ray node {node}: {got}; workers "
                                    "read videos by the same path (a shared folder)", path)
            if got != expected:
                raise PrelabelError(f"Ray node {node} sees {got} frames in this video, this machine "
                                    f"{expected}: not the same file", path)


def _open_job(path: str, video: str, project_path: Path, options: PrelabelOptions,
              frame_range: tuple[int, int, int], model: dict) -> _Job:
    """Create (or reopen) the project and find which of its frames are already stored."""
    start, end, _ = frame_range
    frames = schedule(start, end, options.detect_every)
    project, source = open_or_create_project(video, project_path)
    with project, source:
        run_id = project.start_detection_run(model["model"], model["params"])
        done = project.detected_frames(run_id)
    todo = [f for f in frames if f not in done]
    return _Job(path, Path(project_path), frames, run_id, len(frames) - len(todo), todo)


def _drive(ray, workers: list, units: deque, jobs: list[_Job], report: ClusterReport,
           options: PrelabelOptions, model: dict, progress: bool, on_video, on_chunk) -> None:
    """Keep IN_FLIGHT chunks on every worker; store each as it comes back; link finished videos."""
    from tqdm import tqdm

    pending: dict = {}
    stored, total = sum(j.resumed for j in jobs), sum(len(j.frames) for j in jobs)

    def submit(worker) -> None:
        if units:
            job, frames = units.popleft()
            job.started = job.started or time.perf_counter()
            pending[worker.detect.remote(job.video, frames)] = (worker, job, frames)

    with tqdm(total=total, initial=stored, unit="frame", desc=f"detect on Ray ({workers_text(len(workers))})",
              disable=not progress, file=sys.stderr, dynamic_ncols=True) as bar:
        for job in [j for j in jobs if not j.todo]:
            _finish(job, options, model, report, on_video)
        for _ in range(IN_FLIGHT):
            for w in workers:
                submit(w)
        first = time.perf_counter()
        while pending:
            [ready], _ = ray.wait(list(pending), num_returns=1)
            worker, job, frames = pending.pop(ready)
            result = _get(ray, ready, f"detecting frames {frames[0]}..{frames[-1]} of {job.video}")
            submit(worker)
            if isinstance(result, tuple):
                raise PrelabelError(*result)
            _store(job, result, model, report)
            stored += len(frames)
            bar.update(len(frames))
            report.detect_wall_seconds = time.perf_counter() - first
            if on_chunk is not None:
                on_chunk(stored, total)
            job.out -= 1
            if job.out == 0:
                job.seconds = time.perf_counter() - job.started
                _finish(job, options, model, report, on_video)


def _store(job: _Job, packed: Packed, model: dict, report: ClusterReport) -> None:
    """One chunk, one transaction: a kill leaves it whole or absent."""
    t = time.perf_counter()
    if job.opened is None:
        job.opened = open_or_create_project(job.video, job.project)
    store_detections(job.opened[0], job.run_id, unpack(packed), model["names"])
    report.store_seconds += time.perf_counter() - t
    report.worker_seconds += packed.seconds
    report.chunks += 1


def _finish(job: _Job, options: PrelabelOptions, model: dict, report: ClusterReport, on_video) -> None:
    t = time.perf_counter()
    project, video = job.opened or open_or_create_project(job.video, job.project)
    job.opened = None
    with project, video:
        summary = link_run(project, video, options, job.run_id, _summary(job, model), model["names"])
    report.link_seconds += time.perf_counter() - t
    report.summaries.append(summary)
    if on_video is not None:
        on_video(summary)


def _summary(job: _Job, model: dict) -> PrelabelSummary:
    start, end = job.frames[0], job.frames[-1] + 1
    return PrelabelSummary(job.project, (start, end), len(job.frames), job.resumed, job.seconds,
                           model=model["path"])


def _get(ray, refs, doing: str):
    """`ray.get`, with a worker that died past its retries, or a lost node, as one line."""
    try:
        return ray.get(refs)
    except ray.exceptions.RayError as exc:
        raise PrelabelError(f"a Ray worker failed while {doing}: {one_line(exc)}") from None
