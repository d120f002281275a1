"""A video file decoded with PyAV, with exact random access (see the package's docstring)."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import av
import numpy as np

from ..errors import VideoError
from .source import DEFAULT_CACHE_BYTES, FrameCache, FrameSource, fingerprint_file

log = logging.getLogger(__name__)


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
        self._cache = FrameCache(cache_bytes)
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
        pts = np.unique(np.asarray(pts, np.int64))
        declared = self._stream.frames   # the container's own count; 0 where it keeps none
        if declared > len(pts):
            # A truncated file keeps its header: it says 60 frames and holds 44. Said once, when
            # the index is built (a project caches it), since the missing frames cannot be labelled.
            log.warning("%s: the container declares %d frames but only %d are in the file: it is "
                        "truncated or damaged, and only those %d can be annotated", self.path,
                        declared, len(pts), len(pts))
        return pts, np.unique(np.asarray(keys, np.int64))

    def check_decodes(self, start: int = 0, end: int | None = None,
                      on_frame: Callable[[int], None] | None = None) -> None:
        """Decode frames `start <= i < end` without converting them (1.6-5.4 ms a frame from
        768x576 to 1080p on 2 cores), so that a damaged stretch is refused before a job writes
        anything rather than at the frame where it fails. Uses its own container: the reader's
        decoder position and cache are untouched."""
        end = self.frame_count if end is None else min(end, self.frame_count)
        if start >= end:
            return
        wanted = self._pts[start:end]
        good = start - 1   # the last frame decoded
        with av.open(str(self.path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            container.seek(self._keyframe_for(start), stream=stream, backward=True, any_frame=False)
            try:
                for frame in container.decode(stream):
                    stamp = frame.pts if frame.pts is not None else frame.dts
                    if stamp is None or stamp < wanted[0]:
                        continue
                    good = self._index_of.get(stamp, good)
                    if on_frame is not None:
                        on_frame(good)
                    if stamp >= wanted[-1]:
                        return
            except av.error.FFmpegError as exc:
                raise VideoError(f"the video is damaged: frame {good + 1} does not decode ({exc.strerror or exc});"
                                 f" {_around(good + 1)}", str(self.path)) from None
        raise VideoError(f"the video is damaged: it stops decoding after frame {good} of "
                         f"{self.frame_count}; {_around(good + 1)}", str(self.path))

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


def _around(bad: int) -> str:
    """What a person can do about a video that stops decoding at frame `bad`."""
    return (f"pre-label the frames before it with --end {bad}, or repair the file" if bad > 0
            else "repair or re-encode the file")
