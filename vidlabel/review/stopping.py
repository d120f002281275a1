"""Stopping guidance: how many errors are probably left.

Human time is counted by `effort.human_seconds`, the same way the simulator counts it.

Remaining errors are the expected number of wrong unverified boxes plus the expected missed
objects. A box's error probability is the session's error model's (`error_model.ErrorModel`,
learned from the person's verdicts). Missed objects are estimated from the draws per verified
frame once frames were verified, and before that from the detections no track claims.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..datamodel import EditKind
from .edits import meaning

def estimate_missed(draws: int, verified_frames: int, unverified_frames: int,
                    unclaimed_detections: float) -> float:
    """Expected objects nobody boxed yet on the unverified frames."""
    if verified_frames:
        return draws / verified_frames * unverified_frames
    return unclaimed_detections


Z90 = 1.645   # a two-sided 90% interval of a normal approximation


def f1(boxes: float, wrong: float, missed: float, misplaced_share: float) -> float:
    """The simulator's quality (F1 at IoU 0.5) from estimated errors: of `boxes` shown, `wrong`
    are false or misplaced (each a false positive; a misplaced one's object is missed too, the
    share `misplaced_share` of them), and `missed` objects have no box."""
    tp = max(0.0, boxes - wrong)
    denominator = 2 * tp + wrong + missed + misplaced_share * wrong
    return 1.0 if denominator == 0 else 2 * tp / denominator


def estimate_quality(boxes: int, p_wrong: np.ndarray, missed: float, misplaced_share: float
                     ) -> tuple[float, float, float]:
    """(estimate, low, high): F1 with the expected errors, and at the ends of a 90% interval of
    their count (wrong boxes: a sum of independent Bernoulli(p); missed objects: Poisson)."""
    wrong = float(np.sum(p_wrong))
    spread = Z90 * float(np.sqrt(np.sum(p_wrong * (1 - p_wrong)) + missed))
    share = spread / max(wrong + missed, 1e-9)
    q = f1(boxes, wrong, missed, misplaced_share)
    low = f1(boxes, wrong * (1 + share), missed * (1 + share), misplaced_share)
    high = f1(boxes, max(0.0, wrong * (1 - share)), max(0.0, missed * (1 - share)), misplaced_share)
    return q, low, high


def errors_to_remove(boxes: int, wrong: float, missed: float, misplaced_share: float,
                     target: float) -> float:
    """How many of the estimated errors must go (in proportion, wrong and missed alike) for the
    estimated quality to reach `target` (0 if it already does). With a share x of them left,
    F1 = 2(N - Wx) / (2(N - Wx) + (W + M + sW)x), so F1 >= t exactly when
    x <= 2N(1 - t) / (2W(1 - t) + t(W + M + sW))."""
    errors = wrong + missed
    if errors == 0 or f1(boxes, wrong, missed, misplaced_share) >= target:
        return 0.0
    left = 2 * boxes * (1 - target) / (2 * wrong * (1 - target) + target * (errors + misplaced_share * wrong))
    return (1 - min(1.0, left)) * errors


def guidance(p_wrong: np.ndarray, boxes: int, missed: float, kinds: Mapping[str, int],
             seconds: float, verified_frames: int, unverified_frames: int, target: float) -> dict:
    """What `ReviewSession.stopping(target)` says: the estimated quality with its 90% interval,
    the errors left by kind, the human seconds to reach `target` and whether to stop. `kinds`:
    the person's actions counted by kind.

    A misplaced box's share of the wrong ones is what the person's fixes and deletes say
    (Laplace-smoothed). The seconds per error removed are this session's so far; before any
    correction, a frame pick's looks per error on the unverified frames (`boxes` spread over
    them) plus a fix. Stop once the estimate reaches the target and a person has verified
    something, without which the estimate is the uncalibrated score alone."""
    fixes, deletes = kinds.get(EditKind.FIX, 0), kinds.get(EditKind.DELETE, 0)
    corrections = sum(n for k, n in kinds.items() if k == EditKind.DRAW or meaning(k).says_wrong)
    share = (fixes + 1) / (fixes + deletes + 2)
    wrong = float(np.sum(p_wrong))
    quality, low, high = estimate_quality(boxes, p_wrong, missed, share)
    to_remove = errors_to_remove(boxes, wrong, missed, share, target)
    if corrections:
        per_error = seconds / corrections
    else:
        per_frame = (wrong + missed) / max(unverified_frames, 1)
        per_error = (boxes / max(unverified_frames, 1) + 4.0 * per_frame) / max(per_frame, 1e-6)
    return {"target": target, "estimated_quality": quality, "quality_interval": [low, high],
            "errors_left": {"wrong_boxes": wrong, "misplaced": wrong * share,
                            "false": wrong * (1 - share), "missed_objects": missed},
            "seconds_to_target": to_remove * per_error,
            "stop": bool(quality >= target and verified_frames > 0)}


def stopping_line(s: dict) -> str:
    """One line for a person, e.g. "est. quality 0.987 (0.981-0.992) · ~4 min to 0.99"."""
    low, high = s["quality_interval"]
    todo = "stop: the target is reached" if s["stop"] else f"~{s['seconds_to_target'] / 60:.0f} min to {s['target']:g}"
    return f"est. quality {s['estimated_quality']:.3f} ({low:.3f}-{high:.3f}) · {todo}"
