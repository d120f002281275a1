"""P(a machine box is wrong), learned from the person's verdicts in this session.

Every verdict on a machine box is a labelled example: a box checked or on an accepted frame is
right; one fixed, deleted, re-tracked or split off is wrong (`edits.MEANINGS` says which
edit says what). A scikit-learn logistic regression on cheap features of the box (its uncertainty
signals and their hand-weighted noisy-OR, its size, shape and border contact, whether a detector
made it, how long its track is) predicts, for every unverified machine box, the probability of
each kind of error the quality metric tells apart (`ERRORS`, `edits.EditMeaning.error`); the
stopping guidance sums these (`stopping.guidance`). The kinds count differently: a misplaced box
is a false box and a missed object, a false one only a false box, a wrong identity only a missed
object. One share of misplaced among the verdicts, applied to every box, over-stated the missed
objects: late in a review most wrong boxes left are second boxes on an object that already has
one (a tracker drifted onto a neighbour), which cost precision only.

Why features and not the score alone: the queue chooses what the person sees by the score and by
the distance from checked frames, so the verdicts are a sample biased towards uncertain boxes.
Error rates per bin of one score carry that bias over to the boxes nobody was shown (the estimate
under `hybrid` stayed far below the truth); a model of P(wrong | features) that includes every
feature the choice depends on is not biased by a choice made on those features.

Until the person has given at least one verdict per feature of each kind (the least a regression
with this many coefficients can be fitted on; the L2 penalty does the rest) the probability is the
hand-weighted evidence scaled so that, on the boxes with a verdict, it expects as many wrong ones
as the person found (plus one pseudo-count on both sides: calibration in the large, one number,
from the first verdict on), and before any verdict the evidence itself, so the first batch is
scored as before any learning; both split into kinds by the verdicts' shares
(Laplace-smoothed). Per-bin rates shrunk towards the evidence, the calibration before this one,
kept the evidence itself where no verdict fell, and the queue's verdicts fall on uncertain boxes,
so the many sure ones kept an uncalibrated probability. Platt scaling (a logistic regression on
the evidence alone) was measured too: no better after the first batch on four sequences, and one
more stage.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ..datamodel import Box, Source, iou_xywh
from .signals import BoxScore, noisy_or

SIGNALS = ("least_confidence", "near_threshold", "margin", "entropy", "disagreement", "no_detection",
           "tracker_drop", "tracker_lost", "birth", "death", "far_from_keyframe")
EVIDENCE = len(SIGNALS)        # column of the hand-weighted evidence (what the prior reads)
FEATURES = len(SIGNALS) + 10   # the signals, the evidence, 6 of geometry and track, 1 of source, 2 of the frame
BORDER_PX = 2.0                # a box this close to the image edge is cut by it
ERRORS = ("misplaced", "false", "identity")   # what a verdict can say a box was; class 0 is right


def error_evidence(box: BoxScore, weights: Mapping[str, float]) -> float:
    """The part of a box's score that says it may be wrong: its noisy-OR without the distance
    from a checked frame, which says where to look, not that a box is wrong."""
    return noisy_or({k: v for k, v in box.signals.items() if k != "far_from_keyframe"}, weights)


def box_features(score: BoxScore, box: Box | None, track_length: int, size: tuple[float, float],
                 weights: Mapping[str, float], neighbours: Sequence[Box] = (),
                 frame_evidence: float = 0.0) -> list[float]:
    """What the error model knows of one machine box (FEATURES numbers, all cheap).

    Two describe the frame around it: the largest overlap (IoU) with another box there, since
    two overlapping boxes are a duplicate or an occlusion, where boxes go wrong together; and
    the largest score of the other unverified boxes there (`frame_evidence`): a frame pick is
    chosen by its most uncertain box, so the boxes shown beside it were chosen by that, and a
    model conditioned on it is not biased by the choice."""
    signals = [float(score.signals.get(s, 0.0)) for s in SIGNALS]
    if box is None:
        geometry = [0.0, 0.0, 0.0, 0.5, 0.5]
    else:
        w, h = max(box.w, 1.0), max(box.h, 1.0)
        border = (box.x <= BORDER_PX or box.y <= BORDER_PX or box.x + box.w >= size[0] - BORDER_PX
                  or box.y + box.h >= size[1] - BORDER_PX)
        # where in the image, as a share of its size: a guideline often leaves a region out
        # (a shop window, the far end of a street), which the person's deletions teach
        geometry = [math.log(h), math.log(w / h), float(border),
                    (box.x + box.w / 2) / max(size[0], 1.0), (box.y + box.h / 2) / max(size[1], 1.0)]
    detected = float(box is not None and box.source is Source.DETECTOR)
    overlap = max((iou_xywh(box.xywh, o.xywh) for o in neighbours), default=0.0) if box is not None else 0.0
    return [*signals, error_evidence(score, weights), *geometry, math.log(max(track_length, 1)), detected,
            overlap, frame_evidence]


class ErrorModel:
    """P(each kind of error) of machine boxes from their `box_features`: the evidence calibrated
    in the large until enough verdicts of both kinds exist, then a multinomial logistic
    regression on every feature, refitted whenever verdicts were added (module doc)."""

    def __init__(self) -> None:
        self.x: list[list[float]] = []
        self.y: list[int] = []          # 0 right, else 1 + the index of the error in ERRORS
        self._fitted = None

    def observe(self, features: Sequence[float], error: str = "") -> None:
        """One verdict: `error` is "" for a right box, else one of ERRORS."""
        self.x.append(list(features))
        self.y.append(1 + ERRORS.index(error) if error else 0)
        self._fitted = None

    @property
    def learned(self) -> bool:
        """Whether the regression is in use: at least FEATURES verdicts of right and of wrong."""
        wrong = sum(1 for y in self.y if y)
        return min(wrong, len(self.y) - wrong) >= FEATURES

    def kinds(self, features: np.ndarray) -> np.ndarray:
        """(boxes, len(ERRORS)) array: P(the box has each kind of error) for every row of a
        (boxes, FEATURES) array; a row's sum is its P(wrong)."""
        features = np.asarray(features, dtype=float).reshape(-1, FEATURES)
        if not len(features):
            return np.zeros((0, len(ERRORS)))
        if self.learned:
            model = self._model()
            out = np.zeros((len(features), len(ERRORS)))
            for column, p in zip(model.classes_, model.predict_proba(features).T):
                if column:
                    out[:, column - 1] = p
            return out
        evidence = features[:, EVIDENCE]
        if self.y:   # calibration in the large: as many wrong as the verdicts found, plus one
            seen = np.array(self.x)[:, EVIDENCE]
            evidence = np.minimum(1.0, evidence * (sum(1 for y in self.y if y) + 1) / (seen.sum() + 1))
        counts = np.bincount(np.array(self.y, dtype=int), minlength=1 + len(ERRORS))[1:] + 1.0
        return np.outer(evidence, counts / counts.sum())

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """P(wrong) of every row of a (boxes, FEATURES) array."""
        return self.kinds(features).sum(axis=1)

    def expected(self, features: np.ndarray) -> float:
        """The expected number of wrong boxes among these."""
        return float(np.sum(self.probabilities(features)))

    def _model(self):
        if self._fitted is None:
            from sklearn.linear_model import LogisticRegression
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler

            # features on one scale, so that the L2 penalty weighs them alike
            self._fitted = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(
                np.array(self.x), np.array(self.y))
        return self._fitted
