"""Exact frame access to a video file or a folder of images, without extracting frames.

Why not `cv2.VideoCapture.set(CAP_PROP_POS_FRAMES)`: it can land on the wrong frame (opencv
#9053) and its frame count is a container guess. Here frame `i` is, by definition, the `i`-th
frame in presentation order of a plain sequential decode, and `frame(i)` returns exactly those
pixels for any access order:

* A demux-only pass (no decoding, milliseconds for thousands of frames) lists every packet's
  timestamp and keyframe flag. The sorted timestamps are the frames; their count is the real
  decodable count. The index can be cached in the project (`VideoFile.index_bytes`).
* To reach frame `i` we seek to the last keyframe whose timestamp is <= frame `i`'s, decode
  forward and keep only frames at or after that keyframe (in an open GOP the leading frames
  decoded right after a keyframe reference the previous GOP and would be wrong). Stepping
  forward continues the running decoder instead of seeking, and every frame decoded on the way
  goes into an LRU cache, so stepping backward costs one seek per GOP, not one per frame.

Frames are BGR `uint8` arrays (OpenCV's and Ultralytics' convention), rotation metadata applied.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import VideoError
from .file import VideoFile
from .folder import ImageFolder
from .source import (
    DEFAULT_CACHE_BYTES,
    IMAGE_SUFFIXES,
    VIDEO_SUFFIXES,
    FrameSource,
    SharedFrames,
)

__all__ = ["DEFAULT_CACHE_BYTES", "IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "FrameSource", "ImageFolder",
           "SharedFrames", "VideoFile", "open_video"]


def open_video(path: str | Path, index: bytes | None = None) -> FrameSource:
    """Open a video file or an image folder by path; one clear error when it cannot be read."""
    path = Path(path)
    if not path.exists():
        raise VideoError("video not found", str(path))
    if path.is_dir():
        return ImageFolder(path)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        raise VideoError("a single image is not a video; pass its folder", str(path))
    return VideoFile(path, index=index)
