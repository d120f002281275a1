"""Stopping guidance: how many errors are probably left.

Human time is counted by `effort.human_seconds`, the same way the simulator counts it.

Remaining errors are the expected wrong unverified boxes, by kind (misplaced, false, wrong
identity: each costs the F1 differently), plus the expected missed objects. A box's probability
of each kind of error is the session's error model's (`error_model.ErrorModel`, learned from the
person's verdicts). Missed objects are what the person drew on the frames they accepted, learned
against each frame's unclaimed detections and distance from a verified frame (`MissedObjects`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..datamodel import EditKind
from .edits import meaning
from .error_model import ERRORS

MISSED_FEATURES = 2   # a frame's unclaimed confident detections, log(1 + frames to a verified frame)


def missed_features(unclaimed: float, distance: float) -> list[float]:
    """What says a frame may hold objects nobody boxed: the confident detections no box claims
    (the sum of their `unmatched_detection` signals), and how far the nearest verified frame is:
    an object drawn there was propagated to the frames around it, so near one, fewer are left."""
    return [float(unclaimed), float(np.log1p(distance))]


class MissedObjects:
    """Expected objects nobody boxed on the unverified frames, learned from what the person drew.

    Each accepted frame is an example: the objects drawn on it, against its `missed_features` at
    the person's first look. A Poisson regression on them (scikit-learn, L2) predicts the missed
    objects of every unverified frame. Draws per verified frame times the unverified frames, the
    estimate before this one, ignored that draws propagate: by the middle of a review it counted
    twice the objects really missed (ADL-Rundle-6 at 584 s: 33 against 17; KITTI at 296 s: 35
    against 18). Until there are an example per coefficient and a draw, that rate is used, and
    before any frame is verified the unclaimed detections."""

    def __init__(self) -> None:
        self.x: list[list[float]] = []
        self.y: list[int] = []
        self._fitted = None

    def observe(self, features: list[float], drawn: int) -> None:
        self.x.append(list(features))
        self.y.append(int(drawn))
        self._fitted = None

    def expected(self, features: np.ndarray) -> float:
        """The expected missed objects over the frames of a (frames, MISSED_FEATURES) array."""
        features = np.asarray(features, dtype=float).reshape(-1, MISSED_FEATURES)
        if not len(features):
            return 0.0
        if not self.y:
            return float(features[:, 0].sum())
        if len(self.y) <= MISSED_FEATURES or not any(self.y):
            return sum(self.y) / len(self.y) * len(features)
        if self._fitted is None:
            from sklearn.linear_model import PoissonRegressor
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler

            # the penalty of the error model's regression (C = 1: one unit against the summed
            # loss); scikit-learn's Poisson alpha weighs it against the mean loss
            poisson = PoissonRegressor(alpha=1.0 / len(self.y))
            self._fitted = make_pipeline(StandardScaler(), poisson).fit(np.array(self.x), np.array(self.y))
        return float(self._fitted.predict(features).sum())


Z90 = 1.645   # a two-sided 90% interval of a normal approximation


def f1(boxes: float, false_boxes: float, identity: float, uncovered: float) -> float:
    """The simulator's quality (F1 at IoU 0.5) from counts of errors among `boxes` produced:
    `false_boxes` match no object (false or misplaced ones), `identity` boxes sit on an object
    under another object's track (matched, so precise, but their object is not covered), and
    `uncovered` objects have no box that matches them (missed ones, and those of misplaced
    boxes). Precision is the matched share of the boxes, recall the covered share of the objects."""
    matched = max(0.0, boxes - false_boxes)
    covered = max(0.0, matched - identity)
    objects = matched + uncovered
    if boxes <= 0 or objects <= 0:
        return 1.0 if boxes <= 0 and objects <= 0 else 0.0
    precision, recall = matched / boxes, covered / objects
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _f1_of(boxes: float, errors: np.ndarray, missed: float, scale: float = 1.0) -> float:
    """F1 with the expected errors by kind (ERRORS order: misplaced, false, identity) and the
    missed objects, all scaled by `scale`."""
    misplaced, false, identity = np.asarray(errors, dtype=float) * scale
    return f1(boxes, misplaced + false, identity, missed * scale + misplaced)


def estimate_quality(boxes: int, p_kinds: np.ndarray, missed: float) -> tuple[float, float, float]:
    """(estimate, low, high): F1 with the expected errors, and at the ends of a 90% interval of
    their count (wrong boxes: a sum of independent Bernoulli(p); missed objects: Poisson).
    `p_kinds`: P(each kind of error) per box, (boxes, len(ERRORS))."""
    errors = p_kinds.sum(axis=0)
    p_wrong = p_kinds.sum(axis=1)
    spread = Z90 * float(np.sqrt(np.sum(p_wrong * (1 - p_wrong)) + missed))
    share = spread / max(float(errors.sum()) + missed, 1e-9)
    return (_f1_of(boxes, errors, missed), _f1_of(boxes, errors, missed, 1 + share),
            _f1_of(boxes, errors, missed, max(0.0, 1 - share)))


def errors_to_remove(boxes: int, errors: np.ndarray, missed: float, target: float) -> float:
    """How many of the estimated errors must go (in proportion, every kind alike) for the
    estimated quality to reach `target` (0 if it already does): F1 falls as the share x of
    errors left grows, so x is found by bisection."""
    total = float(np.sum(errors)) + missed
    if total == 0 or _f1_of(boxes, errors, missed) >= target:
        return 0.0
    low, high = 0.0, 1.0      # F1 reaches the target with x = low errors left, not with high
    for _ in range(40):
        mid = (low + high) / 2
        low, high = (mid, high) if _f1_of(boxes, errors, missed, mid) >= target else (low, mid)
    return (1 - low) * total


def guidance(p_kinds: np.ndarray, boxes: int, missed: float, kinds: Mapping[str, int],
             seconds: float, verified_frames: int, unverified_frames: int, target: float) -> dict:
    """What `ReviewSession.stopping(target)` says: the estimated quality with its 90% interval,
    the errors left by kind, the human seconds to reach `target` and whether to stop. `p_kinds`:
    the error model's P(each kind of error) of every unverified box (`ErrorModel.kinds`);
    `kinds`: the person's actions counted by kind.

    The seconds per error removed are this session's so far; before any correction, a frame
    pick's looks per error on the unverified frames (`boxes` spread over them) plus a fix. Stop
    once the estimate reaches the target and a person has verified something, without which the
    estimate is the uncalibrated score alone."""
    p_kinds = np.asarray(p_kinds, dtype=float).reshape(-1, len(ERRORS))
    corrections = sum(n for k, n in kinds.items() if k == EditKind.DRAW or meaning(k).says_wrong)
    errors = p_kinds.sum(axis=0)
    wrong = float(errors.sum())
    quality, low, high = estimate_quality(boxes, p_kinds, missed)
    to_remove = errors_to_remove(boxes, errors, missed, target)
    if corrections:
        per_error = seconds / corrections
    else:
        per_frame = (wrong + missed) / max(unverified_frames, 1)
        per_error = (boxes / max(unverified_frames, 1) + 4.0 * per_frame) / max(per_frame, 1e-6)
    misplaced, false, identity = (float(v) for v in errors)
    return {"target": target, "estimated_quality": quality, "quality_interval": [low, high],
            "errors_left": {"wrong_boxes": wrong, "misplaced": misplaced, "false": false,
                            "identity": identity, "missed_objects": missed},
            "seconds_to_target": to_remove * per_error,
            "stop": bool(quality >= target and verified_frames > 0)}


def stopping_line(s: dict) -> str:
    """One line for a person, e.g. "est. quality 0.987 (0.981-0.992) · ~4 min to 0.99"."""
    low, high = s["quality_interval"]
    todo = "stop: the target is reached" if s["stop"] else f"~{s['seconds_to_target'] / 60:.0f} min to {s['target']:g}"
    return f"est. quality {s['estimated_quality']:.3f} ({low:.3f}-{high:.3f}) · {todo}"
