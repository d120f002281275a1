"""Stopping guidance: how many errors are probably left.

Human time is counted by `effort.human_seconds`, the same way the simulator counts it.

Remaining errors are the expected number of wrong unverified boxes plus the expected missed
objects. A box's error probability starts as its evidence of error (`error_evidence`: its
uncertainty score without the distance from a checked frame, which says where to look, not that
a box is wrong) and is calibrated, per bin of that evidence, by what the person found so far in this session (a box checked as right, or fixed / deleted
/ re-tracked as wrong), shrunk towards the score with PRIOR_WEIGHT pseudo-observations so a few
reviews cannot swing it to 0 or 1. Missed objects are estimated from the draws per verified
frame once frames were verified, and before that from the detections no track claims.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .signals import BoxScore, noisy_or

PRIOR_WEIGHT = 5.0
BINS = np.linspace(0.0, 1.0, 6)   # score bins of width 0.2


def error_evidence(box: BoxScore, weights: dict[str, float]) -> float:
    """The part of a box's score that says it may be wrong (see the module docstring)."""
    return noisy_or({k: v for k, v in box.signals.items() if k != "far_from_keyframe"}, weights)


class ErrorModel:
    """P(box is wrong | its uncertainty score), learned from this session's reviews."""

    def __init__(self) -> None:
        self.seen = np.zeros(len(BINS) - 1)
        self.wrong = np.zeros(len(BINS) - 1)

    def _bin(self, score: float) -> int:
        return int(min(np.searchsorted(BINS, score, side="right") - 1, len(BINS) - 2))

    def observe(self, score: float, wrong: bool) -> None:
        i = self._bin(score)
        self.seen[i] += 1
        self.wrong[i] += float(wrong)

    def probability(self, score: float) -> float:
        i = self._bin(score)
        return float((self.wrong[i] + PRIOR_WEIGHT * score) / (self.seen[i] + PRIOR_WEIGHT))

    def expected(self, scores: Iterable[float]) -> float:
        """The sum of `probability` over `scores`, in one numpy pass (100,000 boxes per update)."""
        s = np.fromiter(scores, float)
        i = np.minimum(np.searchsorted(BINS, s, side="right") - 1, len(BINS) - 2)
        return float(np.sum((self.wrong[i] + PRIOR_WEIGHT * s) / (self.seen[i] + PRIOR_WEIGHT)))


def estimate_missed(draws: int, verified_frames: int, unverified_frames: int,
                    unclaimed_detections: float) -> float:
    """Expected objects nobody boxed yet on the unverified frames."""
    if verified_frames:
        return draws / verified_frames * unverified_frames
    return unclaimed_detections
