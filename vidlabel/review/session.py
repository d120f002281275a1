"""The review session: the loop API the app and the simulator drive.

A `ReviewSession` is the correction API (`Editor`) plus everything that follows a correction:
the edited track is re-propagated around the edit in the background
(`propagation/scheduler.py`), the uncertainty scores of what changed are recomputed at once
(`scorer.py`), and the review queue (`next_batch`, `strategies.py`) and stopping guidance (`stopping.py`) read those scores.

Threads (`background=True`): the person's thread only writes the correction itself (one small
SQLite transaction) and returns. Everything that follows runs in two workers:

* the re-propagation worker (`propagation/scheduler.py`) rewrites the stretches around an edit;
* the scoring worker (`worker.py`) runs, in submission order, the start-up scoring of the
  whole project, the rescoring of each edit, undo and re-propagated stretch, and, whenever it has
  caught up, ranks the queue for the watchers (`watch_queue`) and calls them with a
  `QueueUpdate`. It also calls the `on_change` callbacks once a re-propagation's frames are
  rescored.

Callbacks come from the scoring thread: a GUI hands them over to its own thread, and a callback
must not edit through the session. The constructor returns before the start-up scoring is done
(`scored` says when it is): edits and undo work at once, their rescoring queues behind it. The
blocking readers (`next_batch`, `pool`, `frame_scores`, `stopping`) first wait until every
rescore submitted so far is done, so a script sees the scores of its own edits. Every revision
(each job submitted to the scoring worker) is numbered: `revision` is the newest, and each
`QueueUpdate` names the one it includes, so a caller can tell a queue that predates its latest
edit. The project has one connection whose writes are serialised by `Project.lock`.

`background=False` runs re-propagation and rescoring inline, so every call returns with the
project settled (tests, the simulator, the CLI).
"""

from __future__ import annotations

import functools
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..datamodel import Box, EditKind
from ..propagation.scheduler import Anchor, Repropagator
from ..store.files import open_project_video
from ..store.project import HUMAN, Project
from ..video import FrameSource
from .committee import Committee
from .corrections import Editor
from .edits import Edit, meaning
from .effort import human_seconds
from .error_model import FEATURES, ErrorModel, box_features
from .scorer import Scorer
from .signals import BoxScore, FrameState
from .stopping import MissedObjects, guidance, missed_features
from .strategies import STRATEGIES, Pick, Pool, Strategy, make_strategy, queue
from .track_review import LearnsTracks, similar_false
from .worker import ScoringWorker

__all__ = ["ReviewSession", "Pick", "QueueUpdate", "STRATEGIES"]


@dataclass(frozen=True)
class QueueUpdate:
    """The review queue and stopping guidance as of one scoring revision (see `watch_queue`)."""

    revision: int              # every scoring job up to this one is included
    picks: tuple[Pick, ...]
    stopping: dict
    problem: str = ""          # scoring failures since the last update, in words ("" if none)


def _unclaimed(state: FrameState) -> float:
    """The frame's confident detections that no box claims (sum of their signals)."""
    return sum(sig.value for sig in state.extra if sig.name == "unmatched_detection")


def _distance(checked: np.ndarray, frame: int, frame_count: int) -> float:
    """Frames from `frame` to the nearest of the sorted verified frames `checked`."""
    if not len(checked):
        return float(frame_count)
    i = int(np.searchsorted(checked, frame))
    return float(min(abs(int(checked[j]) - frame) for j in (i - 1, i) if 0 <= j < len(checked)))


class ReviewSession(LearnsTracks, Editor):
    """Corrections, background re-propagation, live scores and the review queue of one project."""

    def __init__(self, project: Project, video: FrameSource, *, background: bool = True,
                 tracker: str = "auto", accept_threshold: float | None = None,
                 aggregate: str = "max", weights: dict[str, float] | None = None,
                 max_span: int | None = None) -> None:
        super().__init__(project)
        self.video = video
        self.tracker = tracker
        self.scorer = Scorer(project, accept_threshold, aggregate, weights)
        self.errors = ErrorModel()
        self.missed = MissedObjects()
        self._visits: dict[int, list] = {}   # frame: [its missed_features at the first look, draws]
        self._callbacks: list[Callable[[set[int]], None]] = []
        self._watchers: list[tuple[Callable[[QueueUpdate], None], int | None, str, dict]] = []
        self._owned: list = []
        self._committees: dict[str | None, Committee] = {}
        self._scored = threading.Event()
        self._told_errors = 0   # scoring failures already passed on to the watchers
        self._evidence: dict[int, tuple[FrameState, np.ndarray]] = {}  # see _frame_features
        self.scoring = ScoringWorker(self._report, background=background)
        kw = {} if max_span is None else {"max_span": max_span}
        self.repropagator = Repropagator(project, video, tracker=tracker, background=background,
                                      detections=self.scorer.detections,
                                      accept_threshold=self.scorer.accept_threshold,
                                      on_written=self._machine_wrote, **kw)
        self.scoring.submit(self._score_all)
        self.repropagator.resume()   # what a killed session left pending

    @classmethod
    def open(cls, project_path: str | Path, video_path: str | Path | None = None, **kw) -> "ReviewSession":
        """Open a project for writing with its video; `close()` closes both."""
        project = Project.open(project_path)
        try:
            video = open_project_video(project, video_path)
        except BaseException:
            project.close()
            raise
        session = cls(project, video, **kw)
        session._owned = [video, project]
        return session

    def close(self) -> None:
        """Stop the workers (queued work is dropped, written work stays), close what `open` opened.

        Scores not yet recomputed are not lost: they are derived, and the next session scores
        the whole project again."""
        self.repropagator.close()
        self.scoring.close()
        for thing in self._owned:
            thing.close()
        self._owned = []

    def __enter__(self) -> "ReviewSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ scoring (scoring worker)
    @property
    def scored(self) -> bool:
        """Whether the start-up scoring of the whole project is done (the queue means something)."""
        return self._scored.is_set()

    @property
    def revision(self) -> int:
        """The newest scoring revision submitted: an edit's rescoring gets the next one."""
        return self.scoring.submitted

    def _score_all(self) -> None:
        if self.scorer.rescore_all(stop=self.scoring.stopping.is_set):
            self._scored.set()

    def _rescore_edit(self, edit: Edit) -> None:
        """Runs after the rescoring of every earlier edit and before this one's, so the scores
        `_observe` reads are those from just before this edit."""
        self._observe(edit)
        tracks = () if meaning(edit.kind).one_frame else edit.track_ids
        self.scorer.rescore(tracks=tracks, frames={edit.frame})

    def _report(self, revision: int) -> None:
        """The scoring worker caught up: rank the queue for every watcher, and pass on failures
        (a failed start-up scoring gets an empty queue and says why, instead of silence)."""
        if not self._watchers:
            return
        errors = self.scoring.errors[self._told_errors:]
        self._told_errors += len(errors)
        problem = "; ".join(f"scoring failed: {e} (details in the log)" for e in errors)
        if not self.scored:
            if problem:
                for callback, *_ in list(self._watchers):
                    callback(QueueUpdate(revision, (), {}, problem))
            return  # no start-up scoring (yet): nothing to rank
        stopping = self._stopping()
        for callback, k, strategy, params in list(self._watchers):
            picks = self._queue(make_strategy(strategy, **params), k)
            callback(QueueUpdate(revision, tuple(picks), stopping, problem))

    def watch_queue(self, callback: Callable[[QueueUpdate], None], k: int | None = 10,
                    strategy: str = "hybrid", **params) -> None:
        """Call `callback(QueueUpdate)` with the next `k` picks and the stopping guidance each
        time the scoring worker has caught up with the edits (the first time once the start-up
        scoring is done). It is called from the scoring worker; the ranking never runs in the
        caller's thread."""
        make_strategy(strategy, **params)  # a wrong name or parameter fails here, not in the worker
        self._watchers.append((callback, k, strategy, params))
        self.scoring.submit(lambda: None)  # a report follows, with the current queue

    # ------------------------------------------------------------------ after each correction
    def _done(self, edit: Edit) -> Edit:
        self.scoring.submit(lambda: self._rescore_edit(edit))
        if meaning(edit.kind).repropagates:
            live = self.project.track_ids()
            self.repropagator.submit([Anchor(t, edit.frame, edit.action_id)
                                   for t in edit.track_ids if t in live])
        return edit

    def _observe(self, edit: Edit) -> None:
        """Feed the error model with what this correction says about the boxes' old scores."""
        state = self.scorer.frame_state(edit.frame)
        if state is None:
            return
        touched = [b for b in state.boxes if not b.verified and
                   (edit.kind == EditKind.ACCEPT or b.track_id in edit.track_ids[:1])]
        verdict = meaning(edit.kind)
        if verdict.says_wrong or verdict.says_right:
            for row in self._features(state, touched):
                self.errors.observe(row, verdict.error)
        self._observe_visit(edit, state)

    def _observe_visit(self, edit: Edit, state: FrameState) -> None:
        """The missed-objects model's example of a frame: what the frame looked like at the first
        edit on it, and how many objects the person drew there before accepting it."""
        visit = self._visits.get(edit.frame)
        if visit is None:
            others = np.array(sorted(f for f in self.project.verified_frames() if f != edit.frame), dtype=int)
            distance = _distance(others, edit.frame, self.scorer.frame_count)
            visit = self._visits[edit.frame] = [missed_features(_unclaimed(state), distance), 0]
        if edit.kind == EditKind.DRAW:
            visit[1] += 1
        elif edit.kind == EditKind.ACCEPT:
            self.missed.observe(*self._visits.pop(edit.frame))

    def _machine_wrote(self, track_id: int, frames: set[int]) -> None:
        """A re-propagation wrote `frames` (in its worker): rescore them, then say so."""
        def rescore() -> None:
            self.scorer.rescore(frames=frames)
            for callback in list(self._callbacks):
                callback(set(frames))
        self.scoring.submit(rescore)

    def undo(self) -> int | None:
        """Undo the latest edit with its re-propagation; work in flight for other edits restarts."""
        return self._replay(self.project.undo)

    def redo(self) -> int | None:
        return self._replay(self.project.redo)

    def _replay(self, step: Callable[[], int | None]) -> int | None:
        left = self.repropagator.cancel_all()
        action_id = step()
        if action_id is not None:
            self.scoring.submit(lambda: self.scorer.rescore(frames=self.project.touched_frames(action_id)))
        self.repropagator.submit([a for a in left if self.project.action_state(a.parent) == "done"])
        return action_id

    # ------------------------------------------------------------------ requests
    # ------------------------------------------------------------------ reading
    def boxes(self, frame: int, candidates: bool = False) -> list[Box]:
        """What a person sees on `frame`: its annotation, and with `candidates` also the boxes
        of candidate tracks (a track pick's crops)."""
        return self.project.boxes(frame=frame, include_outside=False, candidates=candidates)

    def track_boxes(self, track_id: int, first: int = 0, last: int = 1 << 62) -> list[Box]:
        """The track's visible boxes on frames `first`..`last` (inclusive), in frame order: what
        a tool narrowing down where a track changed can show of it."""
        return self.project.boxes(track_id=track_id, frames=(first, last + 1), include_outside=False)

    def all_boxes(self) -> list[Box]:
        """The annotation: every visible box except those of unconfirmed candidate tracks."""
        return self.project.boxes(include_outside=False, candidates=False)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once re-propagation is idle and everything it and the edits changed is rescored
        and reported."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self.repropagator.wait_idle(timeout):
            return False
        return self.scoring.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def on_change(self, callback: Callable[[set[int]], None]) -> None:
        """`callback(frames)` after a re-propagation rewrote `frames` and they are rescored."""
        self._callbacks.append(callback)

    def propagation_cost(self) -> dict:
        """Re-propagation cost so far (stretches, frames, seconds, ms per frame)."""
        return self.repropagator.stats()

    # ------------------------------------------------------------------ the queue
    def frame_scores(self) -> dict[int, float]:
        self.scoring.wait()
        return self.scorer.frame_scores()

    def pool(self) -> Pool:
        """The unverified frames and their signals, as strategies see them (after every rescore
        submitted so far)."""
        self.scoring.wait()
        return self._pool()

    def _pool(self) -> Pool:
        frames = {f: s for f, s in self.scorer.frames().items()
                  if not s.verified and f < self.scorer.frame_count}
        # ranked once a pool: the "delete all similar" pick and tracks-first both read it
        tracks = functools.cache(lambda: self._rank_tracks(frames))
        return Pool(frames, self.scorer.frame_count, self.scorer.how, self.scorer.accept_threshold,
                    self._committee, self.scorer.weights, tracks)


    def next_batch(self, k: int | None = 10, strategy: str = "hybrid", **params) -> list[Pick]:
        """The next k frames (or boxes, `unit="box"`) to review; `threshold=` streams instead.

        Blocks until the scores are current; a GUI subscribes with `watch_queue` instead."""
        threshold = params.pop("threshold", None)
        chosen = make_strategy(strategy, **params)
        self.scoring.wait()
        return self._queue(chosen, k, threshold)

    def _queue(self, strategy: Strategy, k: int | None, threshold: float | None = None) -> list[Pick]:
        """`strategies.queue` with what the track verdicts taught: the candidate tracks, and,
        once the track model has learned from both kinds of verdict, the tracks like the ones
        deleted as one "delete all similar" pick."""
        pool = self._pool()
        candidates = self._rank_candidates()
        similar = similar_false(pool.tracks(), candidates) if self.track_model.learned else ()
        return queue(strategy, pool, k, candidates, threshold, similar)

    def _committee(self, frames: list[int], model: str | None) -> dict[int, tuple[float, list[str]]]:
        """Two-detector disagreement; the second pass runs on first use (vidlabel/committee.py)."""
        if model not in self._committees:
            self._committees[model] = Committee(self.project, self.video, self.scorer.run_id, model)
        return self._committees[model].scores(frames, self.scorer.accept_threshold)

    def stopping(self, target: float = 0.99) -> dict:
        """Human seconds, errors left, estimated quality and seconds to `target` (stopping.py)."""
        self.scoring.wait()
        return self._stopping(target)

    def _stopping(self, target: float = 0.99) -> dict:
        states = self.scorer.frames()
        frames = self.scorer.frame_count
        checked = np.array(sorted(self.project.verified_frames()), dtype=int)
        verified = len(checked)
        unverified = [self._frame_features(s) for s in states.values() if not s.verified]
        features = np.vstack(unverified) if unverified else np.zeros((0, FEATURES))
        kinds = Counter(a.kind for a in self.project.actions(actor=HUMAN))
        missed = self.missed.expected(np.array(
            [missed_features(_unclaimed(s), _distance(checked, s.frame, frames)) for s in states.values()
             if not s.verified], dtype=float))
        seconds = human_seconds(self.project)
        g = guidance(self.errors.kinds(features), sum(len(s.boxes) for s in states.values()),
                     missed, kinds, seconds, verified, frames - verified, target)
        wrong = g["errors_left"]["wrong_boxes"]
        return {**g, "human_seconds": seconds,
                "estimated_remaining_errors": wrong + missed,
                "estimated_wrong_boxes": wrong,
                "estimated_missed_objects": missed,
                "unverified_boxes": len(features),
                "verified_frames": verified,
                "frames": frames}

    def _features(self, state: FrameState, scores: Sequence[BoxScore]) -> np.ndarray:
        """`box_features` of some scored boxes of a frame, from the scorer's mirror of the
        project's boxes (the image size from the open video, not the project: this runs for
        every box), with the frame's other boxes as their neighbours."""
        mirror = self.scorer.mirror
        here = mirror.boxes.get(state.frame, {})
        evidence = {b.track_id: b.score for b in state.boxes if not b.verified}
        rows = []
        for score in scores:
            others = [b for t, b in here.items() if t != score.track_id and not b.outside]
            rows.append(box_features(score, here.get(score.track_id), len(mirror.track_frames.get(score.track_id, ())),
                                     (self.video.width, self.video.height), self.scorer.weights, others,
                                     max((v for t, v in evidence.items() if t != score.track_id), default=0.0)))
        return np.array(rows, dtype=float).reshape(-1, FEATURES)

    def _frame_features(self, state: FrameState) -> np.ndarray:
        """The error model's features of a frame's unverified boxes, remembered for as long as
        the frame's state object stays the same: after an edit all but a few hundred of 30,000
        do, so the guidance after each edit does not recompute 100,000 boxes."""
        cached = self._evidence.get(state.frame)
        if cached is not None and cached[0] is state:
            return cached[1]
        values = self._features(state, [b for b in state.boxes if not b.verified])
        self._evidence[state.frame] = (state, values)
        return values
