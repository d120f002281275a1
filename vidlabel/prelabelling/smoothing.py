"""Trajectory smoothing of a linked track: the last step of offline linking (`linking.link`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .linking import LinkedTrack


def smooth_track(track: LinkedTrack, fps: float, sigma_seconds: float) -> None:
    """Smooth the track's box centres and sizes over time, weighted by confidence.

    A detector box jitters from frame to frame (a raised arm, a partial occlusion, the grid of the
    detector's anchors), while the object's true extent changes smoothly. Offline, each box can be
    fitted together with its neighbours on both sides, as the Gaussian-smoothed interpolation of
    offline MOT post-processing (StrongSORT's GSI) does. Here each coordinate gets a local linear
    fit (Gaussian weights of sigma `sigma_seconds`, times each box's confidence so that weak and
    interpolated boxes pull less): a local *linear* fit, unlike a plain moving average, does not
    drag the first and last boxes of a moving object back towards the middle of the track.
    Sources and confidences stay: the evidence is unchanged, only its geometry is denoised. The
    sums are 1-D convolutions over every frame from the track's first to its last, a frame the
    track has no box on (a gap in an imported track) weighing nothing.
    """
    sigma = sigma_seconds * fps
    if sigma <= 0 or len(track.frames) < 3:
        return
    at = np.asarray(track.frames) - track.frames[0]
    n = int(at[-1]) + 1
    radius = int(np.ceil(3 * sigma))
    d = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-0.5 * (d / sigma) ** 2)

    def window_sum(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
        """sum over j of x[j] * kernel[j - i] for every i (same length, zero beyond the ends)."""
        return np.convolve(x, kernel[::-1], mode="full")[radius:radius + n]

    b = np.array(track.boxes, np.float64)
    c = np.zeros(n)
    c[at] = track.confidences
    values = np.zeros((n, 4))
    values[at] = np.column_stack([b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2, b[:, 2], b[:, 3]])
    s0, s1, s2 = (window_sum(c, g * d ** k) for k in range(3))
    det = s0 * s2 - s1 ** 2
    fitted = np.empty_like(values)
    for k in range(4):
        t0, t1 = window_sum(c * values[:, k], g), window_sum(c * values[:, k], g * d)
        with np.errstate(divide="ignore", invalid="ignore"):   # only at empty frames, dropped below
            fitted[:, k] = np.where(det > 1e-9 * s0 ** 2, (s2 * t0 - s1 * t1) / det, t0 / s0)
    track.boxes = [(float(cx - w / 2), float(cy - h / 2), float(w), float(h)) for cx, cy, w, h in fitted[at]]
