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
| `tracker_lost` | the box is interpolated: neither a detection nor a tracker followed the object here |
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

This module holds the signals as pure functions of values; `scorer.py` keeps them current.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from ..datamodel import Box, Detection, Source, iou_matrix
from ..errors import ScoringError
from .mirror import FAR_FRAMES, TrackContext

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


def keyframe_distance(keyframes: list[int], frame: int) -> float:
    i = bisect.bisect_left(keyframes, frame)
    near = [abs(keyframes[j] - frame) for j in (i - 1, i) if 0 <= j < len(keyframes)]
    return float(min(near)) if near else math.inf



def match_boxes(boxes: list[Box], dets: list[Detection]) -> dict[int, tuple[int | None, float]]:
    """One-to-one box-detection matching by IoU (Hungarian). Track -> (detection index, IoU);
    an unmatched box gets (None, its best IoU with any detection)."""
    if not boxes:
        return {}
    if not dets:
        return {b.track_id: (None, 0.0) for b in boxes}
    iou = iou_matrix(np.array([b.xywh for b in boxes]), np.array([d.xywh for d in dets]))
    best = iou.max(axis=1)
    out = {b.track_id: (None, float(best[i])) for i, b in enumerate(boxes)}
    from scipy.optimize import (
        linear_sum_assignment,  # 0.7 s of imports, paid when scoring
    )

    rows, cols = linear_sum_assignment(-iou)
    for r, c in zip(rows, cols):
        if iou[r, c] >= MATCH_IOU:
            out[boxes[r].track_id] = (int(c), float(iou[r, c]))
    return out



def detection_signals(det: Detection, accept_threshold: float) -> dict[str, float]:
    """Signals that depend on the detection alone (the scorer caches them per detection)."""
    p = class_distribution(det.confidence, det.class_scores)
    return {"near_threshold": near_threshold_signal(det.confidence, accept_threshold),
            "margin": margin_signal(p), "entropy": entropy_signal(p)}


def box_score(box: Box, det: Detection | None, overlap: float, detected: bool,
              det_signals: Mapping[str, float], ctx: TrackContext | None, frame_count: int,
              weights: Mapping[str, float]) -> BoxScore:
    """The signals and score of one unverified box (see the module docstring): `det` is the
    detection matched to it (IoU `overlap`), `det_signals` that detection's own signals
    (`detection_signals`), `detected` whether the detector ran on the frame, `ctx` its track."""
    s: dict[str, float] = {"least_confidence": 1.0 - box.confidence}
    named = ["least_confidence"]  # signals that have words (see reason_text)
    if det is not None:
        s.update(det_signals)
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
    if ctx is not None:
        prev = ctx.confidence.get(box.frame - 1)
        if box.source is Source.TRACKER and prev is not None:
            s["tracker_drop"] = min(1.0, max(0.0, prev - box.confidence) / DROP_SCALE)
            named.append("tracker_drop")
        if box.frame == ctx.first and box.frame > 0:
            s["birth"] = 1.0
            named.append("birth")
        if box.frame == ctx.last and box.frame < frame_count - 1:
            s["death"] = 1.0
            named.append("death")
        s["far_from_keyframe"] = keyframe_signal(keyframe_distance(ctx.keyframes, box.frame))
    w = weights
    strength = tuple(sorted(((w[n] * s[n], n) for n in named), reverse=True))
    return BoxScore(box.id, box.frame, box.track_id, box.confidence, False, s, noisy_or(s, w), strength)
