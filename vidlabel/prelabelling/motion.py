"""The motion model of offline linking: a tracklet's detections, and where they say it is.

Linking (`linking.py`) extends tracklets over unclaimed detections and joins fragments, and both
ask the same question: where is the object at frame f, given the detections at one end of a
tracklet? `predict` answers it.
"""

from __future__ import annotations

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
    """The tracklet's box at `target`, extrapolated from its last (or first) second of
    detections: a straight-line fit of the box centre, with the box size of that end's
    detection. People and vehicles move smoothly over a second, while single boxes jitter."""
    anchor = t.last_frame if from_end else t.first_frame
    second = max(1.0, fps)
    window = [f for f in t.frames if abs(f - anchor) <= second]
    a = np.array([t.dets[f].xywh for f in window], np.float64)
    cx, cy = a[:, 0] + a[:, 2] / 2, a[:, 1] + a[:, 3] / 2
    w, h = t.dets[anchor].w, t.dets[anchor].h
    if len(window) >= 2:
        fr = np.array(window, np.float64)
        x, y = np.polyval(np.polyfit(fr, cx, 1), target), np.polyval(np.polyfit(fr, cy, 1), target)
    else:
        x, y = cx[0], cy[0]
    return np.array([x - w / 2, y - h / 2, w, h])
