"""Shared fixtures: the bundled sample, generated clips, and the shared PETS09 data."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

os.environ.setdefault("VIDLABEL_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
SAMPLE = ASSETS / "sample.mp4"
SAMPLE_GT = ASSETS / "sample_gt.txt"
PETS = ROOT.parent / "shared" / "data" / "PETS09-S2L1"


def synthetic_frames(n: int, width: int = 160, height: int = 96) -> list[np.ndarray]:
    """Frames that differ visibly from each other: a moving square and the frame number as noise."""
    rng = np.random.default_rng(7)
    frames = []
    for i in range(n):
        img = (rng.integers(0, 40, (height, width, 3))).astype(np.uint8)
        x = (i * 5) % (width - 20)
        img[30:50, x:x + 20] = (255, 128 + i % 100, 40)
        img[:6, : (i % width)] = 200
        frames.append(img)
    return frames


def encode_clip(path: Path, frames: list[np.ndarray], codec: str = "libx264",
                options: dict | None = None, pts: list[int] | None = None,
                time_base: Fraction = Fraction(1, 1000), rate: int = 25,
                pix_fmt: str = "yuv420p") -> Path:
    """Write frames with PyAV; `pts` (in `time_base` units) makes a variable frame rate."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = pix_fmt
        stream.options = options or {}
        if pts is not None:
            stream.codec_context.time_base = time_base
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            if pts is not None:
                frame.pts, frame.time_base = pts[i], time_base
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    """Clips that make seeking hard: B-frames, open GOPs, a variable frame rate, MJPEG in AVI."""
    d = tmp_path_factory.mktemp("clips")
    frames = synthetic_frames(120)
    rng = np.random.default_rng(3)
    vfr_pts = np.cumsum(rng.integers(20, 90, len(frames))).tolist()
    return {
        "bframes": encode_clip(d / "bframes.mp4", frames, options={"bf": "3", "g": "24", "crf": "23"}),
        "opengop": encode_clip(d / "opengop.mkv", frames, options={
            "bf": "3", "g": "20", "x264-params": "open-gop=1:scenecut=0:keyint=20:min-keyint=20"}),
        "vfr": encode_clip(d / "vfr.mp4", frames, options={"bf": "2", "g": "30"}, pts=vfr_pts),
        "mjpeg": encode_clip(d / "mjpeg.avi", frames, codec="mjpeg", pix_fmt="yuvj420p"),
    }


def pets_available() -> bool:
    return (PETS / "video.mp4").is_file()


@pytest.fixture(autouse=True)
def _own_state_folder(tmp_path, monkeypatch):
    """The app remembers per-user state (where each project was left): never in the real home."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


@pytest.fixture(autouse=True)
def _seed_opencv():
    """OpenCV trackers (MIL above all) draw from OpenCV's global RNG: seed it so that a test's
    outcome does not depend on which tests ran before it."""
    import cv2

    cv2.setRNGSeed(0)
