"""The motion model of offline linking: a tracklet's detections, and where they say it is.

Linking (`linking.py`) extends tracklets over unclaimed detections, joins fragments and fills
gaps, and each of those asks the same question: where is the object at frame f, given its
detections on one side? The answer here is a straight-line fit of the box centre over a second
of detections: people and vehicles move smoothly over a second, while single boxes jitter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..datamodel import Detection


@dataclass
class Tracklet:
    """Detector boxes only (frame -> detection); gaps are filled after merging."""

    class_id: int
    dets: dict[int, Detection]

    @property
    def frames(self) -> list[int]:
        return sorted(self.dets)

    @property
    def first_frame(self) -> int:
        return min(self.dets)

    @property
    def last_frame(self) -> int:
        return max(self.dets)


def predict(t: Tracklet, target: int, fps: float, from_end: bool) -> np.ndarray:
    """The tracklet's box at `target`, extrapolated from its last (or first) second of motion
    (`side_motion`)."""
    anchor = t.last_frame if from_end else t.first_frame
    return side_motion(t, anchor, fps, before=from_end)(target)


def side_motion(t: Tracklet, edge: int, fps: float, before: bool) -> Callable[[int], np.ndarray]:
    """The box at any frame from the second of detections ending (`before`) or starting at
    `edge`: a straight-line fit of the box centre, with `edge`'s box size. People and vehicles
    move smoothly over a second, while single boxes jitter."""
    fps = max(1.0, fps)
    window = sorted(f for f in t.dets if (edge - fps <= f <= edge if before else edge <= f <= edge + fps))
    a = np.array([t.dets[f].xywh for f in window], np.float64)
    cx, cy = a[:, 0] + a[:, 2] / 2, a[:, 1] + a[:, 3] / 2
    w, h = t.dets[edge].w, t.dets[edge].h
    if len(window) < 2:
        return lambda f: np.array([cx[0] - w / 2, cy[0] - h / 2, w, h])
    fr = np.array(window, np.float64)
    px, py = np.polyfit(fr, cx, 1), np.polyfit(fr, cy, 1)
    return lambda f: np.array([np.polyval(px, f) - w / 2, np.polyval(py, f) - h / 2, w, h])
