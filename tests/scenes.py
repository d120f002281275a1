"""Synthetic scenes for tracker and propagation tests: a textured object moving over noise.

The truth is known exactly, so a test can say how close a tracker stays, and the object can be
swapped for a different one or covered mid-clip to check that drift is detected, not trusted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from vidlabel.video import open_video

from .conftest import encode_clip

WIDTH, HEIGHT = 320, 240
OBJECT_W, OBJECT_H = 28, 44


def texture(seed: int, w: int = OBJECT_W, h: int = OBJECT_H) -> np.ndarray:
    """A coarse random colour pattern: trackable, and unlike any other seed's pattern."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (h // 4 + 1, w // 4 + 1, 3)).astype(np.uint8)
    return np.kron(coarse, np.ones((4, 4, 1), np.uint8))[:h, :w]


def scene(n: int, path: Callable[[int], tuple[float, float]],
          swap_from: int | None = None, cover_from: int | None = None,
          cover_until: int | None = None) -> tuple[list[np.ndarray], list[tuple[float, float, float, float]]]:
    """Frames and true boxes of one object whose top-left corner follows `path(i)`.

    From `swap_from` on, the object is replaced by a different pattern at the same place (a
    tracker keeps following "something", but not the object it started on); between
    `cover_from` and `cover_until` it is covered by a flat grey block (an occlusion).
    """
    rng = np.random.default_rng(11)
    background = rng.integers(40, 120, (HEIGHT, WIDTH, 3)).astype(np.uint8)
    frames, truth = [], []
    for i in range(n):
        img = background.copy()
        x, y = path(i)
        xi, yi = int(round(x)), int(round(y))
        swapped = swap_from is not None and i >= swap_from
        img[yi:yi + OBJECT_H, xi:xi + OBJECT_W] = texture(2 if swapped else 1)
        if cover_from is not None and cover_from <= i < (cover_until if cover_until is not None else n):
            img[yi - 6:yi + OBJECT_H + 6, xi - 6:xi + OBJECT_W + 6] = 128
        frames.append(img)
        truth.append((float(xi), float(yi), float(OBJECT_W), float(OBJECT_H)))
    return frames, truth


def scene_video(tmp_path: Path, name: str, frames: list[np.ndarray]):
    """The frames as an H.264 file opened with vidlabel's exact reader (what propagation reads)."""
    path = encode_clip(tmp_path / f"{name}.mp4", frames, options={"crf": "12", "g": "30"})
    return open_video(path)


def straight(i: int) -> tuple[float, float]:
    return 40.0 + 4.0 * i, 60.0 + 1.5 * i


def arc(i: int, n: int = 21) -> tuple[float, float]:
    """Half a circle: far from the straight line between its two ends."""
    t = np.pi * i / (n - 1)
    return 146.0 - 90.0 * np.cos(t), 150.0 - 90.0 * np.sin(t)
