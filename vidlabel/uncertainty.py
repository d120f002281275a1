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
| `far_from_keyframe` | 1 - exp(-d / KEYFRAME_TAU), d = frames to the track's nearest verified box |

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

import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from .boxes import Box, Detection, Source, iou_matrix
from .errors import VidlabelError
from .store import Project

# Ultralytics' default `conf`: used when the project does not say which accept threshold it used.
DEFAULT_ACCEPT_THRESHOLD = 0.25
NEAR_BAND = 0.2          # |conf - thr| at or beyond this is "not near the threshold"
MATCH_IOU = 0.1          # below this a box and a detection are not the same object at all
DROP_SCALE = 0.3         # a tracker-confidence fall of this much between frames is a full signal
KEYFRAME_TAU = 30.0      # frames; about a second of video away from a checked box is "far"
AGGREGATES = ("max", "sum", "mean")

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


class ScoringError(VidlabelError):
    """Scoring was asked for with an unknown parameter (aggregate, weight name)."""


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
    reasons: tuple[tuple[float, str], ...] = ()   # (weighted strength, text)


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
    return float(1.0 - math.exp(-distance / KEYFRAME_TAU)) if math.isfinite(distance) else 1.0


@dataclass
class _TrackContext:
    """What a box's temporal signals need to know about its whole track."""

    first: int
    last: int
    keyframes: np.ndarray              # verified frames of the track (visible or outside)
    confidence: dict[int, float]       # frame -> confidence of the track's visible boxes
    gaps: set[int]                     # frames between first and last with no box at all


def _track_context(boxes: list[Box]) -> _TrackContext | None:
    visible = [b for b in boxes if not b.outside]
    if not visible:
        return None
    frames = {b.frame for b in boxes}
    first, last = visible[0].frame, visible[-1].frame
    return _TrackContext(first, last, np.array(sorted(b.frame for b in boxes if b.verified)),
                         {b.frame: b.confidence for b in visible},
                         {f for f in range(first + 1, last) if f not in frames})


class Scorer:
    """Box and frame scores of one project, kept current incrementally.

    `rescore(tracks, frames)` recomputes only the frames those tracks and frames touch (a box's
    signals depend on its own track and on its frame's detections), writes the box scores and
    the frame scores to the project, and keeps everything in memory for the review queue.
    Thread-safe: the re-propagation worker rescored what it rewrote while the person edits.
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
        self.accept_threshold = accept_threshold if accept_threshold is not None else \
            float(project.meta("accept_conf", str(DEFAULT_ACCEPT_THRESHOLD)))
        runs = project.detection_runs()
        self.run_id = run_id if run_id is not None else (runs[0]["id"] if runs else None)
        ref = project.video
        self.frame_count = ref.frame_count if ref is not None else 0
        self._lock = threading.RLock()
        self._frames: dict[int, FrameState] = {}
        self._tracks: dict[int, _TrackContext | None] = {}
        self._dets: dict[int, list[Detection]] = {}
        self._detected: set[int] = set()
        self._load_detections()

    def _load_detections(self) -> None:
        if self.run_id is None:
            return
        for d in self.project.detections(self.run_id):
            self._dets.setdefault(d.frame, []).append(d)
        self._detected = self.project.detected_frames(self.run_id)

    def detections(self, frame: int) -> list[Detection]:
        """The primary run's raw candidates on a frame (cached: they never change)."""
        return self._dets.get(frame, [])

    # ------------------------------------------------------------------ recomputation
    def rescore_all(self) -> None:
        with self._lock, self.project.lock:
            boxes = self.project.boxes()
            verified = set(self.project.verified_frames())
        by_track: dict[int, list[Box]] = {}
        for b in boxes:
            by_track.setdefault(b.track_id, []).append(b)
        with self._lock:
            self._tracks = {t: _track_context(bs) for t, bs in by_track.items()}
            frames = set(range(self.frame_count)) | {b.frame for b in boxes}
            by_frame: dict[int, list[Box]] = {f: [] for f in frames}
            for b in boxes:
                by_frame[b.frame].append(b)
            self._frames = {}
            self._recompute(by_frame, verified, all_box_scores=True)

    def rescore(self, tracks: Iterable[int] = (), frames: Iterable[int] = ()) -> set[int]:
        """Recompute what `tracks` and `frames` affect; returns the frames whose scores changed."""
        tracks, frames = set(tracks), set(frames)
        with self._lock:
            with self.project.lock:  # a consistent snapshot: no other thread is mid-write
                track_boxes = {t: self.project.boxes(track_id=t) for t in tracks}
                verified = set(self.project.verified_frames())
            for t in tracks:
                old = self._tracks.get(t)
                if old is not None:
                    frames.update(range(old.first, old.last + 1))
                    frames.update(int(f) for f in old.keyframes)
                frames.update(b.frame for b in track_boxes[t])
                self._tracks[t] = _track_context(track_boxes[t])
            if not frames:
                return set()
            lo, hi = min(frames), max(frames)
            with self.project.lock:
                span = self.project.boxes(frames=(lo, hi + 1))
            by_frame: dict[int, list[Box]] = {f: [] for f in frames}
            for b in span:
                if b.frame in by_frame:
                    by_frame[b.frame].append(b)
            new_tracks = {b.track_id for bs in by_frame.values() for b in bs} - set(self._tracks)
            for t in new_tracks:  # a track this scorer has not seen yet (created meanwhile)
                self._tracks[t] = _track_context(self.project.boxes(track_id=t))
            return self._recompute(by_frame, verified)

    def _recompute(self, by_frame: dict[int, list[Box]], verified: set[int],
                   all_box_scores: bool = False) -> set[int]:
        changed: set[int] = set()
        box_rows: list[tuple[int, float, dict]] = []
        for f, boxes in by_frame.items():
            state = self._frame_state(f, boxes, f in verified)
            old = self._frames.get(f)
            if old is None or old.score != state.score or old.reasons != state.reasons:
                changed.add(f)
            if state.boxes or f in self._frames or f < self.frame_count:
                self._frames[f] = state
            box_rows += [(b.box_id, b.score, dict(b.signals)) for b in state.boxes]
        self.project.set_box_scores(box_rows)
        self.project.set_frame_scores(
            [(f, s.score, s.reasons) for f, s in sorted(self._frames.items()) if s.score > 0])
        return changed

    def _frame_state(self, frame: int, boxes: list[Box], frame_verified: bool) -> FrameState:
        state = FrameState(frame, frame_verified)
        visible = [b for b in boxes if not b.outside]
        dets = self._dets.get(frame, [])
        match, best = self._match(visible, dets)
        claimed = {j for j, _ in match.values()}
        for i, b in enumerate(visible):
            if b.verified or frame_verified:
                state.boxes.append(BoxScore(b.id, frame, b.track_id, b.confidence, True, {}, 0.0))
                continue
            det, overlap = (dets[match[i][0]], match[i][1]) if i in match else (None, best[i])
            state.boxes.append(self._box_score(b, det, overlap, frame in self._detected))
        if not frame_verified:
            for j, d in enumerate(dets):
                if j not in claimed and d.confidence >= self.accept_threshold:
                    state.extra.append(FrameSignal("unmatched_detection", d.confidence,
                                                   f"detection without a track (conf {d.confidence:.2f})"))
            for t, ctx in self._tracks.items():
                if ctx is not None and frame in ctx.gaps:
                    state.extra.append(FrameSignal("track_gap", 1.0, f"track {t} has no box here", t))
        values = [b.score for b in state.boxes if not b.verified]
        values += [self.weights[s.name] * s.value for s in state.extra]
        state.score = 0.0 if frame_verified else aggregate(values, self.how)
        state.reasons = self._reasons(state)
        return state

    @staticmethod
    def _match(boxes: list[Box], dets: list[Detection]) -> tuple[dict[int, tuple[int, float]], list[float]]:
        """One-to-one box-detection matching by IoU (Hungarian): box index -> (det index, IoU),
        and each box's best IoU with any detection."""
        if not boxes or not dets:
            return {}, [0.0] * len(boxes)
        iou = iou_matrix(np.array([b.xywh for b in boxes]), np.array([d.xywh for d in dets]))
        rows, cols = linear_sum_assignment(-iou)
        return ({int(r): (int(c), float(iou[r, c])) for r, c in zip(rows, cols) if iou[r, c] >= MATCH_IOU},
                iou.max(axis=1).tolist())

    def _box_score(self, box: Box, det: Detection | None, overlap: float, detected: bool) -> BoxScore:
        s: dict[str, float] = {"least_confidence": 1.0 - box.confidence}
        t = box.track_id
        reasons: list[tuple[str, str]] = []
        if det is not None:
            s["near_threshold"] = near_threshold_signal(det.confidence, self.accept_threshold)
            p = class_distribution(det.confidence, det.class_scores)
            s["margin"], s["entropy"] = margin_signal(p), entropy_signal(p)
            s["disagreement"] = 1.0 - overlap
            reasons.append(("disagreement", f"track {t} disagrees with its detection (IoU {overlap:.2f})"))
        elif detected:  # the tracker's box is where no detection is: the strongest disagreement
            s["no_detection"] = 1.0
            s["disagreement"] = 1.0 - overlap
            reasons.append(("disagreement", f"track {t} has no detection here"))
        if box.source is Source.INTERPOLATED:
            s["tracker_lost"] = 1.0
            reasons.append(("tracker_lost", f"tracker lost track {t}"))
        ctx = self._tracks.get(t)
        if ctx is not None:
            prev = ctx.confidence.get(box.frame - 1)
            if box.source is Source.TRACKER and prev is not None:
                drop = max(0.0, prev - box.confidence)
                s["tracker_drop"] = min(1.0, drop / DROP_SCALE)
                reasons.append(("tracker_drop", f"tracker confidence of track {t} fell by {drop:.2f}"))
            if box.frame == ctx.first and box.frame > 0:
                s["birth"] = 1.0
                reasons.append(("birth", f"track {t} begins"))
            if box.frame == ctx.last and box.frame < self.frame_count - 1:
                s["death"] = 1.0
                reasons.append(("death", f"track {t} ends"))
            d = float(np.min(np.abs(ctx.keyframes - box.frame))) if len(ctx.keyframes) else math.inf
            s["far_from_keyframe"] = keyframe_signal(d)
            reasons.append(("far_from_keyframe", f"track {t} is "
                            + (f"{d:.0f} frames from a checked box" if math.isfinite(d) else "unchecked")))
        reasons.append(("least_confidence", f"low confidence ({box.confidence:.2f}) on track {t}"))
        if det is not None and det.class_scores is not None:
            reasons.append(("margin", f"track {t}: two classes nearly tied"))
        strength = tuple(sorted(((self.weights[n] * s[n], text) for n, text in reasons if n in s),
                                reverse=True))
        return BoxScore(box.id, box.frame, t, box.confidence, False, s, noisy_or(s, self.weights),
                        strength)

    def _reasons(self, state: FrameState, limit: int = 4) -> list[str]:
        """The strongest few reasons in words; boxes near the threshold are counted together."""
        items: list[tuple[float, str]] = []
        near = [b.signals["near_threshold"] for b in state.boxes
                if b.signals.get("near_threshold", 0.0) >= 0.5]
        if near:
            items.append((self.weights["near_threshold"] * max(near),
                          f"{len(near)} box{'es' if len(near) > 1 else ''} near threshold"))
        for b in state.boxes:
            items += [r for r in b.reasons[:2] if r[0] >= 0.15]
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

    def frame_scores(self) -> dict[int, float]:
        with self._lock:
            return {f: s.score for f, s in self._frames.items()}
