"""Per-box uncertainty signals and frame scores: where a person's attention repairs the most.

Every signal is a number in [0, 1] (1 = "look here"), computed from what the project already
holds (boxes, raw detector candidates, verified keyframes), so scores are recomputed after every
change without running a model:

| signal | meaning |
|---|---|
| `least_confidence` | 1 - the box's confidence (detector's, or tracker's for a propagated box) |
| `near_threshold` | 1 - min(1, |conf - accept threshold| / NEAR_BAND): a detection the accept threshold nearly split (Roboflow's production sampler ranks by |conf - thr|) |
| `margin` | 1 - (p1 - p2) over the matched detection's class scores normalised to sum 1 |
| `entropy` | Shannon entropy of that distribution / log(K) |
| `disagreement` | 1 - IoU between a tracker/interpolated box and the detection it is matched to |
| `no_detection` | the box has no detection at all on a frame the detector saw (its `disagreement` is then 1 - its best IoU with any candidate) |
| `tracker_drop` | fall of the tracker's confidence from the track's previous frame (/ DROP_SCALE) |
| `tracker_lost` | the box was interpolated because trackers lost the object |
| `birth`, `death` | first / last box of a track (not on the video's first / last frame) |
| `far_from_keyframe` | 1 - exp(-d / KEYFRAME_TAU) scaled to 1 at FAR_FRAMES, d = frames to the track's nearest verified box |

Margin and entropy need the per-class score vector. Ultralytics keeps only the top class after
NMS; vidlabel's detector gathers each kept box's class-score row from the raw prediction tensor
(`non_max_suppression(..., return_idxs=True)`) and stores it with the candidate. The scores are
independent sigmoids, so they are normalised to sum 1 before margin and entropy. Where a candidate
has no vector (another model, an import), confidence alone stands in as the two-outcome
distribution (conf, 1 - conf).

Frame-level signals have no box to hang on: `unmatched_detection` (a candidate above the accept
threshold that no track claims: a missed object, or a false one) and `track_gap` (a track has
boxes before and after this frame but none on it). A box's score is the noisy-OR of its weighted
signals, 1 - prod(1 - w_s * s), so one strong signal or several moderate ones both rank it high;
a frame's score aggregates its box scores and frame signals with max, sum or mean (a parameter).
Verified boxes and frames score 0: the person has seen them.
"""

from __future__ import annotations

import bisect
import json
import math
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..datamodel import ACCEPT_THRESHOLD, Box, Detection, Source, iou_matrix
from ..errors import ScoringError
from ..store.project import Project

# Ultralytics' default `conf`: used when the project does not say which accept threshold it used.
PRELABEL_META = "prelabel"  # vidlabel.prelabel.pipeline.META_KEY (not imported: it would load the detector)
NEAR_BAND = 0.2          # |conf - thr| at or beyond this is "not near the threshold"
MATCH_IOU = 0.1          # below this a box and a detection are not the same object at all
DROP_SCALE = 0.3         # a tracker-confidence fall of this much between frames is a full signal
KEYFRAME_TAU = 30.0      # frames; about a second of video away from a checked box is "far"
FAR_FRAMES = 90          # from here on a box is simply far: a keyframe further away changes nothing
AGGREGATES = ("max", "sum", "mean")
RESCORE_CHUNK = 500      # frames per chunk of a full rescore (see `Scorer.rescore_all`)

# Prior weights of the signals in a box's noisy-OR score. Not fitted to any data set: they say
# that a detector-tracker disagreement or a lost track is a likelier error than a box that is
# merely far from a keyframe. Strategies that rank by one signal ignore them.
DEFAULT_WEIGHTS: dict[str, float] = {
    "least_confidence": 0.5,
    "near_threshold": 0.6,
    "margin": 0.3,
    "entropy": 0.3,
    "disagreement": 0.9,
    "no_detection": 0.5,
    "tracker_drop": 0.6,
    "tracker_lost": 0.6,
    "birth": 0.4,
    "death": 0.4,
    "far_from_keyframe": 0.3,
    "unmatched_detection": 0.7,
    "track_gap": 0.6,
}


@dataclass(frozen=True)
class BoxScore:
    """The signals of one current box and their combined score."""

    box_id: int
    frame: int
    track_id: int
    confidence: float
    verified: bool
    signals: Mapping[str, float]
    score: float
    reasons: tuple[tuple[float, str], ...] = ()   # (weighted strength, signal), strongest first

    def reason_texts(self, n: int = 3, at_least: float = 0.0) -> list[str]:
        """The `n` strongest reasons in words (formatted only when asked: most are never shown)."""
        return [reason_text(self, name) for strength, name in self.reasons[:n] if strength >= at_least]


def reason_text(box: BoxScore, signal: str) -> str:
    t, s = box.track_id, box.signals
    if signal == "disagreement":
        if s.get("no_detection"):
            return f"track {t} has no detection here"
        return f"track {t} disagrees with its detection (IoU {1 - s['disagreement']:.2f})"
    return {
        "margin": f"track {t}: two classes nearly tied",
        "tracker_lost": f"tracker lost track {t}",
        "tracker_drop": f"tracker confidence of track {t} fell by {s.get('tracker_drop', 0) * DROP_SCALE:.2f}",
        "birth": f"track {t} begins",
        "death": f"track {t} ends",
        "least_confidence": f"low confidence ({box.confidence:.2f}) on track {t}",
    }[signal]


@dataclass(frozen=True)
class FrameSignal:
    """A signal that belongs to a frame, not to a box (a detection nobody claims, a track gap)."""

    name: str
    value: float
    reason: str
    track_id: int | None = None


@dataclass
class FrameState:
    frame: int
    verified: bool
    boxes: list[BoxScore] = field(default_factory=list)
    extra: list[FrameSignal] = field(default_factory=list)
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    match: dict[int, tuple[int | None, float]] = field(default_factory=dict, repr=False)


def aggregate(values: Iterable[float], how: str) -> float:
    """Combine box-level scores into one frame score (`max`, `sum` or `mean`; 0 for none)."""
    values = list(values)
    if how not in AGGREGATES:
        raise ScoringError(f"unknown aggregate {how!r}; use one of {', '.join(AGGREGATES)}")
    if not values:
        return 0.0
    if how == "max":
        return float(max(values))
    if how == "sum":
        return float(sum(values))
    return float(sum(values) / len(values))


def noisy_or(signals: Mapping[str, float], weights: Mapping[str, float]) -> float:
    keep = 1.0
    for name, value in signals.items():
        keep *= 1.0 - weights.get(name, 0.0) * min(max(value, 0.0), 1.0)
    return 1.0 - keep


def class_distribution(confidence: float, class_scores: np.ndarray | None) -> np.ndarray:
    """The class distribution margin and entropy are taken over (see the module docstring)."""
    if class_scores is not None and len(class_scores) >= 2 and float(np.sum(class_scores)) > 0:
        p = np.asarray(class_scores, dtype=float)
        return p / p.sum()
    c = min(max(confidence, 1e-6), 1 - 1e-6)
    return np.array([c, 1 - c])


def margin_signal(p: np.ndarray) -> float:
    top = np.sort(p)[::-1]
    return float(1.0 - (top[0] - top[1]))


def entropy_signal(p: np.ndarray) -> float:
    q = p[p > 0]
    return float(-(q * np.log(q)).sum() / math.log(len(p)))


def near_threshold_signal(confidence: float, threshold: float) -> float:
    return float(max(0.0, 1.0 - abs(confidence - threshold) / NEAR_BAND))


def keyframe_signal(distance: float) -> float:
    """1 - exp(-d / KEYFRAME_TAU), stretched to reach 1 at FAR_FRAMES (so a new keyframe changes
    the scores of the boxes within FAR_FRAMES of it only, which keeps rescoring incremental)."""
    if distance >= FAR_FRAMES:
        return 1.0
    return float((1.0 - math.exp(-distance / KEYFRAME_TAU)) / (1.0 - math.exp(-FAR_FRAMES / KEYFRAME_TAU)))


@dataclass
class _TrackContext:
    """What a box's temporal signals need to know about its whole track."""

    first: int
    last: int
    keyframes: list[int]               # verified frames of the track (visible or outside), sorted
    confidence: dict[int, float]       # frame -> confidence of the track's visible boxes
    gaps: set[int]                     # frames between first and last with no box at all


def _track_context(boxes: Iterable[Box]) -> _TrackContext | None:
    boxes = sorted(boxes, key=lambda b: b.frame)
    visible = [b for b in boxes if not b.outside]
    if not visible:
        return None
    frames = {b.frame for b in boxes}
    first, last = visible[0].frame, visible[-1].frame
    return _TrackContext(first, last, [b.frame for b in boxes if b.verified],
                         {b.frame: b.confidence for b in visible},
                         {f for f in range(first + 1, last) if f not in frames})


def _context_changes(old: _TrackContext | None, new: _TrackContext | None,
                     changed: set[int]) -> Callable[[int], bool]:
    """Which unchanged boxes of a track need their temporal signals recomputed.

    A box's temporal signals change only if the track's first or last frame moved (birth, death),
    the box before it changed (tracker drop), or a keyframe appeared or vanished between the
    box's neighbouring keyframes (distance from the nearest keyframe); everything else is kept.
    """
    if old is None or new is None:
        return lambda f: True
    singles = {f + 1 for f in changed}
    if (old.first, old.last) != (new.first, new.last):
        singles |= {old.first, old.last, new.first, new.last}
    union = sorted(set(old.keyframes) | set(new.keyframes))
    spans = []
    for k in set(old.keyframes) ^ set(new.keyframes):
        i = bisect.bisect_left(union, k)
        spans.append((max(union[i - 1] if i > 0 else -math.inf, k - FAR_FRAMES),
                      min(union[i + 1] if i + 1 < len(union) else math.inf, k + FAR_FRAMES)))
    return lambda f: f in singles or any(lo < f < hi for lo, hi in spans)


def _keyframe_distance(keyframes: list[int], frame: int) -> float:
    i = bisect.bisect_left(keyframes, frame)
    near = [abs(keyframes[j] - frame) for j in (i - 1, i) if 0 <= j < len(keyframes)]
    return float(min(near)) if near else math.inf


class Scorer:
    """Box and frame scores of one project, kept current incrementally.

    The scorer mirrors the project's boxes in memory. `rescore(tracks, frames)` re-reads only
    those tracks and frames, then recomputes a frame in full (matching boxes to detections)
    only where a box on it changed, and elsewhere on the tracks' frames only the boxes whose
    temporal context moved (a new keyframe changes every distance along its track). It writes
    the box scores it recomputed and the scores of the frames whose score changed to the
    project. Thread-safe: rescoring may run in a worker thread while the person edits.
    """

    def __init__(self, project: Project, accept_threshold: float | None = None,
                 how: str = "max", weights: Mapping[str, float] | None = None,
                 run_id: int | None = None) -> None:
        aggregate((), how)  # validates `how`
        unknown = set(weights or ()) - set(DEFAULT_WEIGHTS)
        if unknown:
            raise ScoringError(f"unknown signal weight(s) {sorted(unknown)}; signals are "
                               f"{sorted(DEFAULT_WEIGHTS)}")
        self.project = project
        self.how = how
        self.weights = {**DEFAULT_WEIGHTS, **(weights or {})}
        # Pre-labelling records its accept threshold and detection run (vidlabel/prelabel.py).
        prelabel = json.loads(project.meta(PRELABEL_META) or "{}")
        self.accept_threshold = float(
            accept_threshold if accept_threshold is not None
            else prelabel.get("link", {}).get("accept_conf", ACCEPT_THRESHOLD))
        runs = project.detection_runs()
        self.run_id = run_id if run_id is not None else prelabel.get("run", runs[0]["id"] if runs else None)
        ref = project.video
        self.frame_count = ref.frame_count if ref is not None else 0
        self._lock = threading.RLock()
        self._boxes: dict[int, dict[int, Box]] = {}          # frame -> track -> box
        self._track_frames: dict[int, set[int]] = {}         # track -> frames with a box
        self._tracks: dict[int, _TrackContext | None] = {}
        self._gaps: dict[int, set[int]] = {}                 # frame -> tracks with a gap there
        self._verified: set[int] = set()
        self._frames: dict[int, FrameState] = {}
        self._dets: dict[int, list[Detection]] = {}
        self._det_signals: dict[int, dict[str, float]] = {}
        self._detected: set[int] = set()
        self._dets_lock = threading.Lock()
        self._dets_loaded = False

    def _load_detections(self) -> None:
        """Read the primary run's candidates once, on first use: a pre-labelled long video holds
        hundreds of thousands, and a session that scores in a worker must not read them in the
        thread that created it."""
        with self._dets_lock:
            if self._dets_loaded:
                return
            if self.run_id is not None:
                for d in self.project.detections(self.run_id):
                    self._dets.setdefault(d.frame, []).append(d)
                self._detected = self.project.detected_frames(self.run_id)
            self._dets_loaded = True

    def detections(self, frame: int) -> list[Detection]:
        """The primary run's raw candidates on a frame (cached: they never change)."""
        self._load_detections()
        return self._dets.get(frame, [])

    # ------------------------------------------------------------------ recomputation
    def rescore_all(self, stop: Callable[[], bool] = lambda: False) -> bool:
        """Read everything again and recompute every frame (opening a session).

        Boxes are read, and frames scored and stored, RESCORE_CHUNK frames at a time, each chunk
        under the project's lock or in its own short transaction: on a 100,000-box project the
        pass takes seconds, and an edit made meanwhile (from another thread) waits for one chunk,
        not for the pass. Such an edit may fall between two chunks: its own rescore must follow
        this pass (the review session queues it behind). `stop()` is asked between the scored
        chunks; returns False if it said stop (the scores are then incomplete).
        """
        self._load_detections()
        with self._lock:
            boxes: list[Box] = []
            for lo in range(0, max(self.frame_count, 1), RESCORE_CHUNK):
                hi = lo + RESCORE_CHUNK if lo + RESCORE_CHUNK < self.frame_count else 1 << 62
                with self.project.lock:  # whole actions only: an edit is never read half-done
                    boxes += self.project.boxes(frames=(lo, hi))
            with self.project.lock:
                self._verified = set(self.project.verified_frames())
            self._boxes, self._track_frames, self._frames = {}, {}, {}
            by_track: dict[int, list[Box]] = {}
            for b in boxes:
                self._boxes.setdefault(b.frame, {})[b.track_id] = b
                self._track_frames.setdefault(b.track_id, set()).add(b.frame)
                by_track.setdefault(b.track_id, []).append(b)
            self._tracks, self._gaps = {}, {}
            for t, bs in by_track.items():
                self._set_context(t, _track_context(bs))
            frames = sorted(set(range(self.frame_count)) | set(self._boxes))
            for i in range(0, len(frames), RESCORE_CHUNK):
                if stop():
                    return False
                self._recompute(set(frames[i:i + RESCORE_CHUNK]), {}, store_frames=False)
            self.project.set_frame_scores(
                [(f, st.score, st.reasons) for f, st in sorted(self._frames.items()) if st.score > 0])
            return True

    def rescore(self, tracks: Iterable[int] = (), frames: Iterable[int] = ()) -> set[int]:
        """Bring the scores up to date after a change; returns the frames whose scores changed.

        `frames`: frames whose boxes may have changed (re-read from the project). `tracks`:
        tracks that may have changed anywhere (re-read whole: a class change, a merge, a split).
        A correction on one frame passes only its frame; the contexts of the tracks it touched
        are updated from the scorer's own mirror without reading the tracks again.
        """
        tracks, frames = set(tracks), set(frames)
        self._load_detections()
        with self._lock:
            with self.project.lock:  # a consistent snapshot: no other thread is mid-write
                frame_boxes = {f: self.project.boxes(frame=f) for f in frames}
                track_boxes = {t: self.project.boxes(track_id=t) for t in tracks}
                verified = set(self.project.verified_frames())
            full = frames | (verified ^ self._verified)
            self._verified = verified
            touched: dict[int, set[int]] = {t: set() for t in tracks}
            for f, bs in frame_boxes.items():
                self._apply(f, {b.track_id: b for b in bs}, touched)
            for t, bs in track_boxes.items():
                now = {b.frame: b for b in bs}
                for f in self._track_frames.get(t, set()) | now.keys():
                    row = dict(self._boxes.get(f, {}))
                    if now.get(f) is None:
                        row.pop(t, None)
                    else:
                        row[t] = now[f]
                    self._apply(f, row, touched, only=t)
            context: dict[int, set[int]] = {}   # frame -> tracks whose box needs rescoring only
            for t, changed in touched.items():
                full |= changed
                old = self._tracks.get(t)
                new = _track_context(self._boxes[f][t] for f in self._track_frames.get(t, ()))
                moved = _context_changes(old, new, changed)
                for f in self._track_frames.get(t, set()) - changed:
                    if moved(f):
                        context.setdefault(f, set()).add(t)
                self._set_context(t, new)
                for f in (old.gaps if old else set()) ^ (new.gaps if new else set()):
                    context.setdefault(f, set())
            return self._recompute(full, context)

    def _apply(self, frame: int, now: dict[int, Box], touched: dict[int, set[int]],
               only: int | None = None) -> None:
        """Mirror a frame's current boxes (or one track's box on it), noting what changed."""
        was = self._boxes.setdefault(frame, {})
        for t in ({only} if only is not None else now.keys() | was.keys()):
            if now.get(t) == was.get(t):
                continue
            touched.setdefault(t, set()).add(frame)
            if t in now:
                was[t] = now[t]
                self._track_frames.setdefault(t, set()).add(frame)
            else:
                was.pop(t, None)
                self._track_frames.get(t, set()).discard(frame)

    def _set_context(self, track: int, ctx: _TrackContext | None) -> None:
        old = self._tracks.get(track)
        for f in old.gaps if old else ():
            self._gaps.get(f, set()).discard(track)
        self._tracks[track] = ctx
        for f in ctx.gaps if ctx else ():
            self._gaps.setdefault(f, set()).add(track)

    def _recompute(self, full: set[int], context: dict[int, set[int]],
                   store_frames: bool = True) -> set[int]:
        changed: set[int] = set()
        box_rows: list[tuple[int, float, dict]] = []
        for f in full | context.keys():
            old = self._frames.get(f)
            if f in full or old is None:
                state = self._frame_state(f)
                fresh = state.boxes
            else:
                state = self._frame_state(f, old, context[f])
                before = {b.track_id: b for b in old.boxes}
                fresh = [b for b in state.boxes if b.track_id in context[f] and b != before.get(b.track_id)]
            if old is None or old.score != state.score or old.reasons != state.reasons:
                changed.add(f)
            self._frames[f] = state
            box_rows += [(b.box_id, b.score, dict(b.signals)) for b in fresh]
        self.project.set_box_scores(box_rows)
        if store_frames:
            self.project.update_frame_scores([(f, self._frames[f].score, self._frames[f].reasons)
                                              for f in sorted(changed)])
        return changed

    def _frame_state(self, frame: int, old: FrameState | None = None,
                     rescore: set[int] = frozenset()) -> FrameState:
        """A frame's state: in full, or (given `old`) reusing its matching and untouched boxes."""
        verified = frame in self._verified
        state = FrameState(frame, verified)
        visible = [b for b in self._boxes.get(frame, {}).values() if not b.outside]
        visible.sort(key=lambda b: b.track_id)
        dets = self._dets.get(frame, [])
        if old is None:
            state.match = self._match(visible, dets)
        else:
            state.match = old.match
        previous = {b.track_id: b for b in old.boxes} if old is not None else {}
        for b in visible:
            if b.verified or verified:
                state.boxes.append(BoxScore(b.id, frame, b.track_id, b.confidence, True, {}, 0.0))
            elif old is not None and b.track_id not in rescore and b.track_id in previous:
                state.boxes.append(previous[b.track_id])
            else:
                j, overlap = state.match.get(b.track_id, (None, 0.0))
                state.boxes.append(self._box_score(b, dets[j] if j is not None else None, overlap,
                                                   frame in self._detected))
        if not verified:
            claimed = {j for j, _ in state.match.values() if j is not None}
            for j, d in enumerate(dets):
                if j not in claimed and d.confidence >= self.accept_threshold:
                    state.extra.append(FrameSignal("unmatched_detection", d.confidence,
                                                   f"detection without a track (conf {d.confidence:.2f})"))
            for t in sorted(self._gaps.get(frame, ())):
                state.extra.append(FrameSignal("track_gap", 1.0, f"track {t} has no box here", t))
        values = [b.score for b in state.boxes if not b.verified]
        values += [self.weights[s.name] * s.value for s in state.extra]
        state.score = 0.0 if verified else aggregate(values, self.how)
        state.reasons = self._reasons(state)
        return state

    @staticmethod
    def _match(boxes: list[Box], dets: list[Detection]) -> dict[int, tuple[int | None, float]]:
        """One-to-one box-detection matching by IoU (Hungarian). Track -> (detection index, IoU);
        an unmatched box gets (None, its best IoU with any detection)."""
        if not boxes:
            return {}
        if not dets:
            return {b.track_id: (None, 0.0) for b in boxes}
        iou = iou_matrix(np.array([b.xywh for b in boxes]), np.array([d.xywh for d in dets]))
        best = iou.max(axis=1)
        out = {b.track_id: (None, float(best[i])) for i, b in enumerate(boxes)}
        rows, cols = linear_sum_assignment(-iou)
        for r, c in zip(rows, cols):
            if iou[r, c] >= MATCH_IOU:
                out[boxes[r].track_id] = (int(c), float(iou[r, c]))
        return out

    def _detection_signals(self, det: Detection) -> dict[str, float]:
        """Signals that depend on the detection alone, computed once per detection."""
        key = det.id if det.id is not None else id(det)
        cached = self._det_signals.get(key)
        if cached is None:
            p = class_distribution(det.confidence, det.class_scores)
            cached = {"near_threshold": near_threshold_signal(det.confidence, self.accept_threshold),
                      "margin": margin_signal(p), "entropy": entropy_signal(p)}
            self._det_signals[key] = cached
        return cached

    def _box_score(self, box: Box, det: Detection | None, overlap: float, detected: bool) -> BoxScore:
        s: dict[str, float] = {"least_confidence": 1.0 - box.confidence}
        named = ["least_confidence"]  # signals that have words (see reason_text)
        if det is not None:
            s.update(self._detection_signals(det))
            s["disagreement"] = 1.0 - overlap
            named.append("disagreement")
            if det.class_scores is not None:
                named.append("margin")
        elif detected:  # the tracker's box is where no detection is: the strongest disagreement
            s["no_detection"] = 1.0
            s["disagreement"] = 1.0 - overlap
            named.append("disagreement")
        if box.source is Source.INTERPOLATED:
            s["tracker_lost"] = 1.0
            named.append("tracker_lost")
        ctx = self._tracks.get(box.track_id)
        if ctx is not None:
            prev = ctx.confidence.get(box.frame - 1)
            if box.source is Source.TRACKER and prev is not None:
                s["tracker_drop"] = min(1.0, max(0.0, prev - box.confidence) / DROP_SCALE)
                named.append("tracker_drop")
            if box.frame == ctx.first and box.frame > 0:
                s["birth"] = 1.0
                named.append("birth")
            if box.frame == ctx.last and box.frame < self.frame_count - 1:
                s["death"] = 1.0
                named.append("death")
            s["far_from_keyframe"] = keyframe_signal(_keyframe_distance(ctx.keyframes, box.frame))
        w = self.weights
        strength = tuple(sorted(((w[n] * s[n], n) for n in named), reverse=True))
        return BoxScore(box.id, box.frame, box.track_id, box.confidence, False, s, noisy_or(s, w), strength)

    def _reasons(self, state: FrameState, limit: int = 4) -> list[str]:
        """The strongest few reasons in words; boxes near the threshold, and boxes far from any
        checked frame, are counted together."""
        items: list[tuple[float, str]] = []
        for signal, text in (("near_threshold", "near threshold"),
                             ("far_from_keyframe", "far from a checked frame")):
            values = [b.signals[signal] for b in state.boxes if b.signals.get(signal, 0.0) >= 0.5]
            if values:
                items.append((self.weights[signal] * max(values),
                              f"{len(values)} box{'es' if len(values) > 1 else ''} {text}"))
        for b in state.boxes:
            items += [(strength, reason_text(b, name)) for strength, name in b.reasons[:2] if strength >= 0.15]
        items += [(self.weights[s.name] * s.value, s.reason) for s in state.extra]
        seen, out = set(), []
        for _, text in sorted(items, key=lambda r: -r[0]):
            if text not in seen:
                seen.add(text)
                out.append(text)
        return out[:limit]

    # ------------------------------------------------------------------ reading
    def frames(self) -> dict[int, FrameState]:
        with self._lock:
            return dict(self._frames)

    def frame_state(self, frame: int) -> FrameState | None:
        """One frame's current state, without waiting for a rescore in progress (states are
        replaced whole, never changed in place, so a lone lookup needs no lock)."""
        return self._frames.get(frame)

    def frame_scores(self) -> dict[int, float]:
        with self._lock:
            return {f: s.score for f, s in self._frames.items()}
