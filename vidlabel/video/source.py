"""What every frame source offers (`FrameSource`), the frame cache they share, and `SharedFrames`."""

from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from ..datamodel import VideoRef
from ..errors import VideoError

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


class FrameCache:
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

    def check_decodes(self, start: int = 0, end: int | None = None,
                      on_frame: Callable[[int], None] | None = None) -> None:
        """Raise `VideoError` naming the first frame of `start <= i < end` that does not decode,
        before a job writes anything; `on_frame(i)` as each one passes (a progress bar)."""
        for i, _ in self.frames(start, end):
            if on_frame is not None:
                on_frame(i)

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
