"""P(a machine box is wrong), learned from the person's verdicts in this session.

Every verdict on a machine box is a labelled example: a box checked or on an accepted frame is
right; one fixed, deleted, ended, re-tracked or split off is wrong (`edits.MEANINGS` says which
edit says what). A scikit-learn logistic regression on cheap features of the box (its uncertainty
signals and their hand-weighted noisy-OR, its size, shape and border contact, whether a detector
made it, how long its track is) predicts P(wrong) for every unverified machine box; the stopping
guidance sums these (`stopping.guidance`).

Why features and not the score alone: the queue chooses what the person sees by the score and by
the distance from checked frames, so the verdicts are a sample biased towards uncertain boxes.
Error rates per bin of one score carry that bias over to the boxes nobody was shown (the estimate
under `hybrid` stayed far below the truth); a model of P(wrong | features) that includes every
feature the choice depends on is not biased by a choice made on those features.

Until the person has given at least one verdict per feature of each kind (the least a regression
with this many coefficients can be fitted on; the L2 penalty does the rest) the probability is the
prior: the hand-weighted evidence, calibrated per bin of it (`BinnedErrors`), so the first batch
is scored as before any learning.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ..datamodel import Box, Source
from .signals import BoxScore, noisy_or

SIGNALS = ("least_confidence", "near_threshold", "margin", "entropy", "disagreement", "no_detection",
           "tracker_drop", "tracker_lost", "birth", "death", "far_from_keyframe")
EVIDENCE = len(SIGNALS)        # column of the hand-weighted evidence (what the prior reads)
FEATURES = len(SIGNALS) + 6    # the signals, the evidence, 4 of geometry and track, 1 of source
PRIOR_WEIGHT = 5.0             # pseudo-observations of the score per bin in the prior
BINS = np.linspace(0.0, 1.0, 6)   # evidence bins of width 0.2
BORDER_PX = 2.0                # a box this close to the image edge is cut by it


def error_evidence(box: BoxScore, weights: Mapping[str, float]) -> float:
    """The part of a box's score that says it may be wrong: its noisy-OR without the distance
    from a checked frame, which says where to look, not that a box is wrong."""
    return noisy_or({k: v for k, v in box.signals.items() if k != "far_from_keyframe"}, weights)


def box_features(score: BoxScore, box: Box | None, track_length: int, size: tuple[float, float],
                 weights: Mapping[str, float]) -> list[float]:
    """What the error model knows of one machine box (FEATURES numbers, all cheap)."""
    signals = [float(score.signals.get(s, 0.0)) for s in SIGNALS]
    if box is None:
        geometry = [0.0, 0.0, 0.0]
    else:
        w, h = max(box.w, 1.0), max(box.h, 1.0)
        border = (box.x <= BORDER_PX or box.y <= BORDER_PX or box.x + box.w >= size[0] - BORDER_PX
                  or box.y + box.h >= size[1] - BORDER_PX)
        geometry = [math.log(h), math.log(w / h), float(border)]
    detected = float(box is not None and box.source is Source.DETECTOR)
    return [*signals, error_evidence(score, weights), *geometry, math.log(max(track_length, 1)), detected]


class BinnedErrors:
    """The prior: P(wrong | evidence bin), the verdicts' rate per bin shrunk towards the evidence
    with PRIOR_WEIGHT pseudo-observations, so a few reviews cannot swing it to 0 or 1."""

    def __init__(self) -> None:
        self.seen = np.zeros(len(BINS) - 1)
        self.wrong = np.zeros(len(BINS) - 1)

    @staticmethod
    def _bins(evidence: np.ndarray) -> np.ndarray:
        return np.minimum(np.searchsorted(BINS, evidence, side="right") - 1, len(BINS) - 2)

    def observe(self, evidence: float, wrong: bool) -> None:
        i = int(self._bins(np.array([evidence]))[0])
        self.seen[i] += 1
        self.wrong[i] += float(wrong)

    def probabilities(self, evidence: np.ndarray) -> np.ndarray:
        i = self._bins(evidence)
        return (self.wrong[i] + PRIOR_WEIGHT * evidence) / (self.seen[i] + PRIOR_WEIGHT)


class ErrorModel:
    """P(wrong) of machine boxes from their `box_features`: the prior until enough verdicts of
    both kinds exist, then a logistic regression refitted whenever verdicts were added."""

    def __init__(self) -> None:
        self.prior = BinnedErrors()
        self.x: list[list[float]] = []
        self.y: list[bool] = []
        self._fitted = None
        self._fitted_on = 0

    def observe(self, features: Sequence[float], wrong: bool) -> None:
        self.prior.observe(features[EVIDENCE], wrong)
        self.x.append(list(features))
        self.y.append(bool(wrong))

    @property
    def learned(self) -> bool:
        wrong = sum(self.y)
        return min(wrong, len(self.y) - wrong) >= FEATURES

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """P(wrong) of every row of a (boxes, FEATURES) array."""
        features = np.asarray(features, dtype=float).reshape(-1, FEATURES)
        if not len(features):
            return np.zeros(0)
        if not self.learned:
            return self.prior.probabilities(features[:, EVIDENCE])
        return self._model().predict_proba(features)[:, 1]

    def expected(self, features: np.ndarray) -> float:
        """The expected number of wrong boxes among these."""
        return float(np.sum(self.probabilities(features)))

    def _model(self):
        if self._fitted is None or self._fitted_on != len(self.y):
            from sklearn.linear_model import LogisticRegression
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler

            # features on one scale, so that the L2 penalty weighs them alike
            self._fitted = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(
                np.array(self.x), np.array(self.y))
            self._fitted_on = len(self.y)
        return self._fitted
