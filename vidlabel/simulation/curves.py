"""Learning curves (quality against human seconds), seconds to a quality, and normalised ALC.

The area under the learning curve follows the active learning challenge of Guyon et al. (2011):
x = log2 of human seconds, from 8 s (one drawn box and its look) to the fully manual cost, so that
the first minutes weigh as much as the last hours; the curve is interpolated linearly in x between
measured points and extended flat after the last one; points below 8 s collapse onto x = 3 (the
latest of them counts: it is what 8 s buys at least). The area is normalised as
`(ALC - A_random) / (A_max - A_random)`, `A_max` being a curve at quality 1 from the start: 0 is
as good as picking frames at random, 1 is perfect from the first second, below 0 is worse than
random.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..review.effort import TimeModel

ALC_START_SECONDS = 8.0


@dataclass
class CurvePoint:
    seconds: float
    quality: float
    recall_50: float = 0.0
    recall_70: float = 0.0
    precision_50: float = 0.0
    id_switches: int = 0
    actions: dict[str, int] = field(default_factory=dict)
    estimated: float | None = None   # the session's own estimate of `quality` (stopping())
    stop: bool = False               # whether stopping() said stop here


@dataclass
class LearningCurve:
    """Quality after each batch, with the cumulative action counts that produced it."""

    points: list[CurvePoint] = field(default_factory=list)

    def add(self, point: CurvePoint) -> None:
        self.points.append(point)

    def xy(self, time_model: TimeModel | None = None) -> list[tuple[float, float]]:
        """`[seconds, quality]` pairs; with a time model, seconds recomputed from the actions."""
        return [(time_model.seconds(p.actions) if time_model else p.seconds, p.quality)
                for p in self.points]

    @property
    def final(self) -> CurvePoint:
        return self.points[-1]


def seconds_to(curve: Sequence[tuple[float, float]], quality: float) -> float | None:
    """Human seconds at the first measured point reaching `quality` (None: never reached)."""
    return next((s for s, q in curve if q >= quality), None)


def area(curve: Sequence[tuple[float, float]], max_seconds: float,
         start_seconds: float = ALC_START_SECONDS) -> float:
    """Area under quality over x = log2(seconds) on [log2(start), log2(max_seconds)]."""
    x0, x1 = math.log2(start_seconds), math.log2(max_seconds)
    if x1 <= x0 or not curve:
        return 0.0
    pts = sorted(curve, key=lambda p: p[0])
    xs, ys = [], []
    for s, q in pts:
        x = math.log2(max(s, start_seconds))
        if xs and x == xs[-1]:
            ys[-1] = q            # several points at or below 8 s: the latest counts
        else:
            xs.append(x)
            ys.append(q)
    if xs[0] > x0:                # nothing measured by 8 s: nothing is reached before the first point
        xs.insert(0, x0)
        ys.insert(0, 0.0)
    grid = np.array([x for x in xs if x0 < x < x1] + [x0, x1])
    grid.sort()
    values = np.interp(grid, xs, ys)   # np.interp extends flat beyond the last point
    return float(np.trapezoid(values, grid))


def normalised_alc(curve: Sequence[tuple[float, float]], random_area: float,
                   max_seconds: float, start_seconds: float = ALC_START_SECONDS) -> float:
    """`(ALC - A_random) / (A_max - A_random)` with `A_max` the area of quality 1 throughout."""
    a_max = math.log2(max_seconds) - math.log2(start_seconds)
    if a_max - random_area <= 1e-12:
        return 0.0
    return (area(curve, max_seconds, start_seconds) - random_area) / (a_max - random_area)


def mean_curve(curves: Sequence[Sequence[tuple[float, float]]]) -> list[tuple[float, float]]:
    """Average of several seeds' curves on the union of their seconds (each extended flat)."""
    if len(curves) == 1:
        return list(curves[0])
    grid = sorted({s for c in curves for s, _ in c})
    cols = [np.interp(grid, [s for s, _ in c], [q for _, q in c]) for c in curves]
    return [(float(s), float(q)) for s, q in zip(grid, np.mean(cols, axis=0))]


def mean_actions(runs: Sequence[Mapping[str, int]]) -> dict[str, float]:
    keys = sorted({k for r in runs for k in r})
    return {k: float(np.mean([r.get(k, 0) for r in runs])) for k in keys}
