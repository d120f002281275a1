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

import configparser
import hashlib
import io
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from pathlib import Path

import av
import cv2
import numpy as np

from .datamodel import VideoRef
from .errors import VideoError

VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
DEFAULT_CACHE_BYTES = 512 * 1024 * 1024


def fingerprint_file(path: Path) -> str:
    """Cheap identity of a large file: its size and its first and last MiB."""
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with path.open("rb") as f:
        h.update(f.read(1 << 20))
        if size > 2 << 20:
            f.seek(-(1 << 20), io.SEEK_END)
            h.update(f.read(1 << 20))
    return h.hexdigest()[:32]


class _LRU:
    """Decoded frames by index, bounded in bytes; shared by a reader and its `twin`."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[int, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: int) -> np.ndarray | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: int, value: np.ndarray) -> None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return
            self._items[key] = value
            self._bytes += value.nbytes
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._bytes -= old.nbytes


class FrameSource:
    """What every frame source offers: a count, a size, a rate, and exact frames by index."""

    path: Path
    frame_count: int
    fps: float
    width: int
    height: int
    rotation: int = 0

    def frame(self, index: int) -> np.ndarray:
        raise NotImplementedError

    def frames(self, start: int = 0, end: int | None = None, step: int = 1) -> Iterator[tuple[int, np.ndarray]]:
        """Frames `start <= i < end` in order (sequential decoding, no per-frame seeks)."""
        end = self.frame_count if end is None else min(end, self.frame_count)
        for i in range(max(start, 0), end, step):
            yield i, self.frame(i)

    def frames_at(self, indices: Iterable[int]) -> Iterator[tuple[int, np.ndarray]]:
        """The frames at `indices` (ascending), for a reader that wants a few of many (an export
        with `--every N`): a video file decodes each from the nearer of the previous one and its
        keyframe, and converts and caches none of the frames between."""
        for i in indices:
            yield i, self.frame(i)

    def fingerprint(self) -> str:
        raise NotImplementedError

    def cached(self, index: int) -> bool:
        """Whether frame `index` is decoded already (reading it costs a lookup)."""
        return False

    def twin(self) -> "FrameSource | None":
        """A second reader of the same frames for another thread, filling the same frame cache
        (`vidlabel.prefetch`); None when this source has none."""
        return None

    def ref(self) -> VideoRef:
        return VideoRef(str(self.path.resolve()), self.frame_count, self.fps, self.width,
                        self.height, self.fingerprint(), self.rotation)

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.frame_count:
            raise VideoError(f"frame {index} is out of range 0..{self.frame_count - 1}", str(self.path))

    def close(self) -> None:
        pass

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class VideoFile(FrameSource):
    """A video file decoded with PyAV (FFmpeg), with exact random access."""

    def __init__(self, path: str | Path, index: bytes | None = None,
                 cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.path = Path(path)
        self._fingerprint: str | None = None
        if not self.path.is_file():
            raise VideoError("video file not found", str(self.path))
        try:
            self._container = av.open(str(self.path))
        except (av.error.FFmpegError, UnicodeDecodeError) as exc:
            raise VideoError(f"not a readable video: {exc}", str(self.path)) from None
        if not self._container.streams.video:
            self._container.close()
            raise VideoError("file has no video stream", str(self.path))
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        loaded = self._load_index(index) if index is not None else None
        self._pts, self._key_pts = loaded if loaded is not None else self._build_index()
        if len(self._pts) == 0:
            self.close()
            raise VideoError("video has no frames", str(self.path))
        self._index_of = {int(p): i for i, p in enumerate(self._pts)}
        ctx = self._stream.codec_context
        self.frame_count = len(self._pts)
        rate = self._stream.average_rate or self._stream.guessed_rate
        self.fps = float(rate) if rate else 25.0
        self.rotation = 0
        self.width, self.height = ctx.width, ctx.height
        self._cache = _LRU(cache_bytes)
        self._decoder: Iterator[av.VideoFrame] | None = None
        self._floor_pts = 0  # frames below this timestamp after the last seek are discarded
        self._last = -1  # index of the last frame the running decoder produced
        first = self.frame(0)
        self.height, self.width = first.shape[:2]

    # -- index --------------------------------------------------------------------------------
    def _build_index(self) -> tuple[np.ndarray, np.ndarray]:
        pts, keys = [], []
        try:
            for packet in self._container.demux(self._stream):
                if packet.size == 0:
                    continue
                stamp = packet.pts if packet.pts is not None else packet.dts
                if stamp is None:
                    continue
                pts.append(stamp)
                if packet.is_keyframe:
                    keys.append(stamp)
        except av.error.FFmpegError as exc:
            raise VideoError(f"video is damaged, demuxing failed: {exc}", str(self.path)) from None
        return np.unique(np.asarray(pts, np.int64)), np.unique(np.asarray(keys, np.int64))

    @property
    def index_bytes(self) -> bytes:
        """The packet index, to cache in a project so reopening skips the demux pass."""
        buf = io.BytesIO()
        np.savez(buf, pts=self._pts, keys=self._key_pts)
        return buf.getvalue()

    @staticmethod
    def _load_index(data: bytes) -> tuple[np.ndarray, np.ndarray] | None:
        """A cached index, or None when it is unreadable or not an index (a damaged or altered
        project): it is only a cache, so the video is indexed again instead of failing."""
        try:
            with np.load(io.BytesIO(data)) as z:
                pts, keys = np.asarray(z["pts"]), np.asarray(z["keys"])
        except Exception:  # noqa: BLE001 - numpy raises many types for bytes that are no .npz
            return None
        ok = (pts.dtype == np.int64 and keys.dtype == np.int64 and pts.ndim == keys.ndim == 1
              and len(pts) > 0 and bool(np.all(np.diff(pts) > 0)) and bool(np.isin(keys, pts).all()))
        return (pts, keys) if ok else None

    def fingerprint(self) -> str:
        if self._fingerprint is None:   # read once: the file does not change while it is open
            self._fingerprint = fingerprint_file(self.path)
        return self._fingerprint

    def cached(self, index: int) -> bool:
        return self._cache.get(index) is not None

    def twin(self) -> "VideoFile":
        """Its own decoder (decoder state cannot be shared between threads), the same cache."""
        other = VideoFile(self.path, index=self.index_bytes, cache_bytes=0)
        other._cache, other._fingerprint = self._cache, self._fingerprint
        return other

    # -- decoding -----------------------------------------------------------------------------
    def frame(self, index: int) -> np.ndarray:
        self._check_index(index)
        cached = self._cache.get(index)
        if cached is not None:
            return cached
        return self._decode(index, keep=True)

    def frames_at(self, indices: Iterable[int]) -> Iterator[tuple[int, np.ndarray]]:
        for i in indices:
            self._check_index(i)
            cached = self._cache.get(i)
            yield i, cached if cached is not None else self._decode(i, keep=False)

    def _decode(self, index: int, keep: bool) -> np.ndarray:
        """Frame `index`, going on from the running decoder when it has passed the frame's
        keyframe, else seeking to it; `keep`: convert and cache the frames on the way too."""
        key = self._keyframe_for(index)
        if self._decoder is None or not (self._last < index and self._last >= self._index_of.get(key, 0) - 1
                                         and key >= self._floor_pts):
            self._seek(key)
        return self._decode_until(index, keep)

    def _keyframe_for(self, index: int) -> int:
        pos = np.searchsorted(self._key_pts, self._pts[index], side="right") - 1
        return int(self._key_pts[max(pos, 0)]) if len(self._key_pts) else int(self._pts[0])

    def _seek(self, key_pts: int) -> None:
        self._container.seek(key_pts, stream=self._stream, backward=True, any_frame=False)
        self._decoder = self._container.decode(self._stream)
        self._floor_pts = key_pts if key_pts > self._pts[0] else -(1 << 62)
        self._last = -1

    def _decode_until(self, index: int, keep: bool = True) -> np.ndarray:
        target = int(self._pts[index])
        for attempt in range(3):
            try:
                for frame in self._decoder:
                    stamp = frame.pts if frame.pts is not None else frame.dts
                    if stamp is None or stamp < self._floor_pts or stamp not in self._index_of:
                        continue
                    i = self._index_of[stamp]
                    self._last = i
                    if stamp == target:
                        image = self._to_bgr(frame)
                        self._cache.put(i, image)
                        return image
                    if keep:
                        self._cache.put(i, self._to_bgr(frame))
                    if stamp > target and self._cache.get(index) is None and i > index:
                        break  # the seek landed past the target: go further back
            except av.error.FFmpegError as exc:
                raise VideoError(f"decoding failed near frame {index}: {exc}", str(self.path)) from None
            cached = self._cache.get(index)
            if cached is not None:
                return cached
            # Seek landed too late (inexact container index): restart from further back.
            earlier = self._key_pts[self._key_pts < self._floor_pts]
            self._seek(int(earlier[-1]) if attempt == 0 and len(earlier) else int(self._pts[0]))
        raise VideoError(f"frame {index} could not be decoded", str(self.path))

    def _to_bgr(self, frame: av.VideoFrame) -> np.ndarray:
        image = frame.to_ndarray(format="bgr24")
        rotation = int(getattr(frame, "rotation", 0) or 0) % 360
        if rotation:
            self.rotation = rotation
            # FFmpeg's rotation is counter-clockwise degrees to apply for display.
            image = np.ascontiguousarray(np.rot90(image, k=rotation // 90))
        return image

    def close(self) -> None:
        if getattr(self, "_container", None) is not None:
            self._container.close()
            self._container = None


def _natural_key(path: Path) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


class ImageFolder(FrameSource):
    """A folder of images, one frame each, in natural file-name order (MOT's `img1/`)."""

    def __init__(self, path: str | Path, fps: float | None = None,
                 cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.path = Path(path)
        self.files = sorted((p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES),
                            key=_natural_key)
        if not self.files:
            raise VideoError("folder holds no images", str(self.path))
        self.frame_count = len(self.files)
        self.fps = fps or self._seqinfo_fps() or 25.0
        self._cache = _LRU(cache_bytes)
        first = self._read(0)
        self.height, self.width = first.shape[:2]
        self._cache.put(0, first)

    def _read(self, index: int) -> np.ndarray:
        image = cv2.imread(str(self.files[index]), cv2.IMREAD_COLOR)
        if image is None:
            raise VideoError("image cannot be read", str(self.files[index]))
        return image

    def _seqinfo_fps(self) -> float | None:
        ini = self.path.parent / "seqinfo.ini"
        if not ini.is_file():
            return None
        parser = configparser.ConfigParser()
        parser.read(ini)
        return parser.getfloat("Sequence", "frameRate", fallback=None)

    def frame(self, index: int) -> np.ndarray:
        self._check_index(index)
        cached = self._cache.get(index)
        if cached is None:
            cached = self._read(index)
            if cached.shape[:2] != (self.height, self.width):
                # boxes on it would be stored in its own pixels under the folder's size
                raise VideoError(f"image is {cached.shape[1]}x{cached.shape[0]} but the folder's first "
                                 f"image is {self.width}x{self.height}; a video's frames have one size",
                                 str(self.files[index]))
            self._cache.put(index, cached)
        return cached

    def cached(self, index: int) -> bool:
        return self._cache.get(index) is not None

    def twin(self) -> "ImageFolder":
        other = ImageFolder(self.path, self.fps, cache_bytes=0)
        other._cache = self._cache
        return other

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for p in self.files:
            h.update(f"{p.name}:{p.stat().st_size};".encode())
        return h.hexdigest()[:32]


class SharedFrames(FrameSource):
    """One frame source read by many, one at a time: one decoder and one frame cache instead of
    one per reader. The strategy lab's replays in one process all read the same clip; each with
    its own `VideoFile` would hold its own cache (up to `DEFAULT_CACHE_BYTES`) and decoder threads."""

    def __init__(self, video: FrameSource) -> None:
        self._video = video
        self._lock = threading.Lock()
        self.path, self.frame_count, self.fps = video.path, video.frame_count, video.fps
        self.width, self.height, self.rotation = video.width, video.height, video.rotation

    def frame(self, index: int) -> np.ndarray:
        with self._lock:
            return self._video.frame(index)

    def fingerprint(self) -> str:
        with self._lock:
            return self._video.fingerprint()

    def close(self) -> None:
        self._video.close()


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
