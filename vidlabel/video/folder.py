"""A folder of images as a video: one frame per image, in natural file-name order (MOT's `img1/`)."""

from __future__ import annotations

import configparser
import copy
import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..errors import VideoError
from .source import DEFAULT_CACHE_BYTES, IMAGE_SUFFIXES, FrameCache, FrameSource

ORIENTATION = 0x0112   # the EXIF tag


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
        self._cache = FrameCache(cache_bytes)
        first = self._read(0)
        self.height, self.width = first.shape[:2]
        self._cache.put(0, first)
        self._check_sizes()

    def _check_sizes(self) -> None:
        """Every image the size of the first, from the image headers (about 0.1 ms an image),
        at open: boxes on a smaller image would be stored in its own pixels under the folder's
        size, so a mixed folder is refused before anything is written, not at its odd frame."""
        for path in self.files[1:]:
            size = _header_size(path)
            if size is not None and size != (self.width, self.height):
                raise VideoError(f"image is {size[0]}x{size[1]} but the folder's first image is "
                                 f"{self.width}x{self.height}; a video's frames have one size", str(path))

    def check_decodes(self, start: int = 0, end: int | None = None,
                      on_frame: Callable[[int], None] | None = None) -> None:
        """Every image in `start <= i < end` decodes (a JPEG at an eighth of its size, which
        reads all of its data): a damaged file is refused before a job writes anything."""
        end = self.frame_count if end is None else min(end, self.frame_count)
        for i in range(max(start, 0), end):
            try:
                with Image.open(self.files[i]) as image:
                    image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
                    image.load()
            except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
                raise VideoError(f"image {i} does not decode ({exc}); remove or replace it",
                                 str(self.files[i])) from None
            if on_frame is not None:
                on_frame(i)

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
        return copy.copy(self)   # reading an image keeps no state; the cache is shared

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for p in self.files:
            h.update(f"{p.name}:{p.stat().st_size};".encode())
        return h.hexdigest()[:32]


def _header_size(path: Path) -> tuple[int, int] | None:
    """An image's displayed (width, height) from its header, EXIF rotation applied as OpenCV
    applies it when reading; None when the header does not parse (reading it will say why)."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            if image.getexif().get(ORIENTATION, 1) in (5, 6, 7, 8):   # a quarter turn
                width, height = height, width
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    return width, height
