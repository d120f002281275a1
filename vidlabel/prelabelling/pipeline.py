"""Pre-labelling: detect on a video's frames, store every candidate, link them into tracks.

The two halves are deliberately different in kind. Detection is slow and is stored frame by frame
as it goes (one transaction per batch), keyed by model and settings, so a killed run loses at most
one batch and the next run continues where it stopped. Linking is fast and deterministic, so it is
simply re-run from the stored detections every time; a resumed run therefore writes exactly the
tracks an uninterrupted one would. The tracks are written in one machine action, so one undo
removes a whole pre-labelling.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from ..datamodel import ACCEPT_THRESHOLD, Detection
from ..errors import PrelabelError
from ..propagation.trackers import resolve_tracker_name
from ..store.files import open_or_create_project, open_project_video
from ..store.project import MACHINE, Project
from ..video import FrameSource, open_video
from .detector import CANDIDATE_CONF, DEFAULT_BATCH, Detector
from .linking import GapFiller, LinkParams, link
from .record import PrelabelRecord


@dataclass(frozen=True)
class PrelabelOptions:
    """What `vidlabel prelabel` can be asked; frames are 0-based, `end` exclusive (docs/adr/0002)."""

    model: str | None = None
    classes: tuple[str, ...] | None = None
    conf: float = ACCEPT_THRESHOLD
    start: int = 0
    end: int | None = None
    detect_every: int = 1
    device: str | None = None
    tracker: str | None = None
    candidate_conf: float = CANDIDATE_CONF
    batch: int = DEFAULT_BATCH


@dataclass
class PrelabelSummary:
    """What a run did, for the command's closing lines and for tests."""

    project: Path
    frames: tuple[int, int]
    detected_frames: int
    resumed_frames: int
    detect_seconds: float
    tracks: int = 0      # confirmed tracks: the annotation
    candidates: int = 0  # candidate tracks: questions for review (`linking`, step 4)
    boxes: Counter = field(default_factory=Counter)
    tracks_by_class: Counter = field(default_factory=Counter)
    model: str = ""
    unchanged: bool = False

    @property
    def detect_fps(self) -> float:
        new = self.detected_frames - self.resumed_frames
        return new / self.detect_seconds if self.detect_seconds > 0 else 0.0


def schedule(start: int, end: int, every: int) -> list[int]:
    """The frames to detect on: every `every`-th from `start`, and always the range's last frame
    so that tracks reach the end of the range instead of stopping up to `every - 1` frames short."""
    frames = list(range(start, end, every))
    if frames and frames[-1] != end - 1:
        frames.append(end - 1)
    return frames


def check_options(options: PrelabelOptions) -> None:
    """The settings that need no video, checked before anything is opened or written."""
    if options.start < 0:
        raise PrelabelError(f"--start must be 0 or more, got {options.start}")
    if options.end is not None and options.end <= options.start:
        raise PrelabelError(f"--end {options.end} must be after --start {options.start} (end is exclusive)")
    if options.detect_every < 1:
        raise PrelabelError(f"--detect-every must be at least 1, got {options.detect_every}")
    if not 0 < options.conf < 1:   # also refuses nan
        raise PrelabelError(f"--conf must be between 0 and 1, got {options.conf}")
    if options.tracker:
        resolve_tracker_name(options.tracker)


def make_detector(options: PrelabelOptions) -> Detector:
    """The detector these options ask for (loads the model: seconds, so only once checks passed)."""
    return Detector(options.model, device=options.device, candidate_conf=options.candidate_conf,
                    classes=options.classes, batch=options.batch)


def _frame_range(options: PrelabelOptions, video: FrameSource) -> tuple[int, int]:
    check_options(options)
    n = video.frame_count
    end = n if options.end is None else options.end
    if options.start >= n:
        raise PrelabelError(f"--start {options.start} is outside the video's frames 0..{n - 1}", str(video.path))
    if end > n:
        raise PrelabelError(f"--end {end} is past the video's frame count {n} (end is exclusive)",
                            str(video.path))
    return options.start, end


def store_detections(project: Project, run_id: int, batch: dict[int, list[Detection]],
                     names: list[str]) -> None:
    """Store one batch with class ids mapped by name to the project's classes (docs/adr/0003).

    A class the project lacks is not added here: most of a detector's 80 classes appear only
    among weak candidates, and a project whose palette lists every one of them is noise. Such
    candidates keep `-(model index + 1)` until a track uses the class (`write_tracks`).
    """
    ids = {k: project.class_id(n) for k, n in enumerate(names)}
    project.add_detections(run_id, {
        f: [replace(d, class_id=ids[d.class_id] if ids[d.class_id] is not None else -(d.class_id + 1))
            for d in dets] for f, dets in batch.items()})


def detect_frames(project: Project, video: FrameSource, detector: Detector, frames: list[int],
                  progress: bool = True, on_batch: Callable[[int, int], None] | None = None
                  ) -> tuple[int, int, float]:
    """Detect on the frames not yet stored; returns (run id, frames already stored, seconds).

    `on_batch(done, total)` is called after each batch is stored; an exception it raises stops
    the run there, with every stored frame whole (the app's Cancel button works this way).
    """
    from tqdm import tqdm

    info = detector.info
    run_id = project.start_detection_run(info.model, {**info.params, "names": detector.class_names})
    done = project.detected_frames(run_id)
    todo = [f for f in frames if f not in done]
    resumed = len(frames) - len(todo)
    started = time.perf_counter()
    with tqdm(total=len(frames), initial=resumed, unit="frame", desc=f"detect {video.path.name}",
              disable=not progress, file=sys.stderr, dynamic_ncols=True) as bar:
        stored = resumed
        if on_batch is not None:
            on_batch(stored, len(frames))
        for batch in detector.run(video, todo):
            store_detections(project, run_id, batch, detector.class_names)
            bar.update(len(batch))
            stored += len(batch)
            if on_batch is not None:
                on_batch(stored, len(frames))
    return run_id, resumed, time.perf_counter() - started


def check_replaceable(project: Project) -> None:
    """Re-linking replaces the machine's tracks; it never touches a person's work. Checked before
    detecting, too, so that a refusal costs nothing (not a whole detection run first)."""
    previous = PrelabelRecord.read(project)
    own = set(previous.tracks) if previous else set()
    others = [t.id for t in project.tracks() if t.id not in own]
    if others or project.verified_frames() or any(b.verified for b in project.boxes()):
        raise PrelabelError(
            "the project already holds tracks or verified work that pre-labelling did not make, "
            "and pre-labelling would replace them; pre-label into a new project instead",
            str(project.path))


def write_tracks(project: Project, tracks, end: int, record: PrelabelRecord, names: list[str]) -> int:
    """Replace the previous pre-labelling's tracks with these, in one machine action.

    A track of a class the project lacks (`-(model index + 1)`, see `store_detections`) adds
    that class by its model name, in the same action, so one undo takes both back.
    """
    check_replaceable(project)
    previous = PrelabelRecord.read(project)
    with project.action("prelabel", MACHINE, record.settings):
        for tid in previous.tracks if previous else []:
            project.delete_track(tid)
        added: dict[int, int] = {}
        for cls in sorted({t.class_id for t in tracks if t.class_id < 0}, reverse=True):
            added[cls] = project.add_class(names[-cls - 1])
        ids = []
        for t in tracks:
            tid = project.new_track(candidate=t.candidate)
            ids.append(tid)
            t.class_id = added.get(t.class_id, t.class_id)
            project.put_boxes(t.to_boxes(tid, end))
        replace(record, tracks=tuple(ids)).write(project)
    return len(ids)


def tracker_gaps(video: FrameSource, tracker: str) -> GapFiller:
    """Fill a track's gaps with a single-object tracker run from both ends and blended.

    Only gaps are tracked: a detector box carries its track wherever it matched, so the tracker's
    cost (2-25 ms a box a frame) is spent only where the detector missed or did not run.
    """
    from ..propagation.propagate import track_between

    def fill(a, b, candidates):
        return track_between(video, a, b, tracker, snap=candidates)

    return fill


def check_inputs(video_path: str | Path, project_path: str | Path,
                 options: PrelabelOptions = PrelabelOptions()) -> tuple[int, int, int]:
    """Everything that can refuse without the model, cheapest first: the settings, the video and
    the frame range, an existing project's human work. Writes nothing; returns (start, end, the
    video's frame count) so that a caller can compare what other machines see."""
    check_options(options)
    if Path(project_path).exists():
        project = Project.open(project_path, readonly=True)   # a refusal must not touch the file
        with project, open_project_video(project, video_path) as video:
            start, end = _frame_range(options, video)
            check_replaceable(project)
            return start, end, video.frame_count
    with open_video(video_path) as video:
        return (*_frame_range(options, video), video.frame_count)


class _Stopped(Exception):
    """The decode check was stopped because the model failed to load."""


class DecodeCheck:
    """A new project's frames decode: a damaged stretch is refused before a half project is
    written, not where detection reaches it (a decode pass costs 4-15% of detecting).

    It runs in a thread while the model loads: loading is mostly importing torch and compiling
    the model on one core, decoding is FFmpeg's work outside the GIL, so together they take the
    time of the longer one (PETS09: 3.0 s instead of 4.4). Its progress bar appears only once the
    model is loaded, so that a model error stays the one line printed.
    """

    def __init__(self, video_path: str | Path, start: int, end: int) -> None:
        self.start, self.end, self.done = start, end, 0
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._future = self._pool.submit(self._run, video_path)

    def _run(self, video_path: str | Path) -> None:
        def seen(i: int) -> None:
            if self._stop.is_set():
                raise _Stopped
            self.done = i + 1 - self.start

        with open_video(video_path) as video:
            video.check_decodes(self.start, self.end, seen)

    def stop(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True)

    def wait(self, progress: bool, name: str) -> None:
        """Until every frame decoded; raises the check's `VideoError`."""
        from tqdm import tqdm

        with self._pool, tqdm(total=self.end - self.start, initial=self.done, unit="frame",
                              desc=f"check {name}", disable=not progress, file=sys.stderr,
                              dynamic_ncols=True, leave=False) as bar:
            while True:
                try:
                    return self._future.result(timeout=0.2)
                except FutureTimeout:
                    bar.update(self.done - bar.n)


def load_checked(video_path: str | Path, start: int, end: int, options: PrelabelOptions,
                 check: bool, progress: bool) -> Detector:
    """The detector, with a new project's decode check (`DecodeCheck`) run meanwhile. The
    model's error comes first: it is the one a person fixes before anything else matters."""
    if not check:
        return make_detector(options)
    decoding = DecodeCheck(video_path, start, end)
    try:
        detector = make_detector(options)
    except BaseException:
        decoding.stop()
        raise
    decoding.wait(progress, Path(video_path).name)
    return detector


def prelabel(video_path: str | Path, project_path: str | Path, options: PrelabelOptions = PrelabelOptions(),
             progress: bool = True) -> PrelabelSummary:
    """Pre-label one video into one project (created if missing, resumed if present).

    Everything that can refuse is checked before anything is written (`check_inputs`, the
    model and, for a new project, every frame's decoding). A refusal therefore leaves no project
    behind and no detections in an existing one.
    """
    start, end, _ = check_inputs(video_path, project_path, options)
    detector = load_checked(video_path, start, end, options, not Path(project_path).exists(), progress)
    if progress:
        print(f"model {detector.path}", file=sys.stderr)
    project, video = open_or_create_project(video_path, project_path)
    with project, video:
        return prelabel_project(project, video, options, progress, detector=detector)


def prelabel_project(project: Project, video: FrameSource, options: PrelabelOptions = PrelabelOptions(),
                     progress: bool = False, on_batch: Callable[[int, int], None] | None = None,
                     detector: Detector | None = None) -> PrelabelSummary:
    """Pre-label an open project (the app's job: the window holds the project open for writing).

    `on_batch` reports detection progress and may stop the run by raising (see `detect_frames`).
    """
    start, end = _frame_range(options, video)
    check_replaceable(project)
    if detector is None:
        detector = make_detector(options)
    frames = schedule(start, end, options.detect_every)
    run_id, resumed, seconds = detect_frames(project, video, detector, frames, progress, on_batch)
    summary = PrelabelSummary(Path(project.path), (start, end), len(frames), resumed, seconds,
                              model=detector.path)
    return link_run(project, video, options, run_id, summary, detector.class_names, progress)


def link_run(project: Project, video: FrameSource, options: PrelabelOptions, run_id: int,
             summary: PrelabelSummary, names: list[str], progress: bool = False) -> PrelabelSummary:
    """The second half: link a detection run whose frames are all stored into tracks, and count
    what the project now holds into `summary`. `names` are the model's class names.

    Separate from detecting because detections may come from elsewhere (`cluster.py`: Ray
    workers); linking reads only the store, so the tracks are the same wherever they were detected.
    """
    start, end = summary.frames
    frames = schedule(start, end, options.detect_every)
    params = LinkParams(accept_conf=options.conf)
    record = PrelabelRecord(run_id, (start, end), options.detect_every, asdict(params), options.tracker)
    previous = PrelabelRecord.read(project)
    if previous == record:
        summary.unchanged = True
    else:
        wanted = set(frames)
        dets: dict[int, list[Detection]] = {}
        for d in project.detections(run_id):
            if d.frame in wanted:
                dets.setdefault(d.frame, []).append(d)
        if progress:
            print(f"linking {sum(map(len, dets.values()))} detections of {len(frames)} frames into "
                  "tracks", file=sys.stderr, flush=True)
        tracks = link(dets, frames, video.fps, params,
                      tracker_gaps(video, options.tracker) if options.tracker else None)
        write_tracks(project, tracks, end, record, names)
    made = set(PrelabelRecord.read(project).tracks)
    own = made - project.candidate_tracks()
    summary.tracks, summary.candidates = len(own), len(made - own)
    classes = project.class_names()
    summary.tracks_by_class = Counter(classes[t.class_id] for t in project.tracks()
                                      if t.id in own and 0 <= t.class_id < len(classes))
    summary.boxes = Counter(b.source.value for b in project.boxes(frames=(start, end), include_outside=False)
                            if b.track_id in own)
    return summary
