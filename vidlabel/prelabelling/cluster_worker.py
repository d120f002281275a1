"""The detecting half of a cluster run: work units, what crosses the network, and the Ray actor.

A work unit is (video, contiguous frame range); an actor decodes it with vidlabel's exact-index
reader, detects, and sends back compact arrays (`Packed`), never frames. Nothing here writes a
project: that stays with the one driver (`cluster`).
"""

from __future__ import annotations

import math
import os
import time
from contextlib import suppress
from dataclasses import dataclass

import numpy as np

from ..datamodel import Detection
from ..errors import VidlabelError
from ..video import FrameSource, open_video
from .pipeline import PrelabelOptions, make_detector

# A chunk is the unit of loss and of balance. At least CHUNK_MIN frames, so that the seek to its
# first frame (decoding from the keyframe before it: up to one GOP) and Ray's per-call cost stay a
# small share; at most CHUNK_MAX, so that a worker or driver killed loses at most that many frames
# of detection (~10 s of one CPU at 40 ms a frame); in between, CHUNKS_PER_WORKER chunks per worker
# so that the last chunks to finish leave the other workers idle for at most a quarter of a share.
CHUNK_MIN, CHUNK_MAX, CHUNKS_PER_WORKER = 32, 256, 4
READERS_KEPT = 2  # open videos per actor: consecutive chunks are mostly of the same video


# ---------------------------------------------------------------- work units
def chunk_size(frames: int, workers: int) -> int:
    """Frames per work unit for a job of `frames` over `workers` (see CHUNK_MIN above)."""
    return max(CHUNK_MIN, min(CHUNK_MAX, math.ceil(frames / max(1, workers * CHUNKS_PER_WORKER))))


@dataclass(frozen=True)
class Packed:
    """A chunk's detections as arrays (what crosses the network): per frame its count, per
    detection x, y, w, h, confidence (float64, exactly the floats the detector gave), the model's
    class index and the class-score row (float32, as stored), or no scores at all."""

    frames: np.ndarray
    counts: np.ndarray
    boxes: np.ndarray
    classes: np.ndarray
    scores: np.ndarray | None
    seconds: float


def pack(batch: dict[int, list[Detection]], seconds: float) -> Packed:
    dets = [d for f in sorted(batch) for d in batch[f]]
    with_scores = bool(dets) and all(d.class_scores is not None for d in dets)
    return Packed(
        np.array(sorted(batch), np.int64), np.array([len(batch[f]) for f in sorted(batch)], np.int64),
        np.array([(d.x, d.y, d.w, d.h, d.confidence) for d in dets], np.float64).reshape(-1, 5),
        np.array([d.class_id for d in dets], np.int64),
        np.stack([np.asarray(d.class_scores, np.float32) for d in dets]) if with_scores else None,
        seconds)


def unpack(packed: Packed) -> dict[int, list[Detection]]:
    out: dict[int, list[Detection]] = {}
    k = 0
    for frame, n in zip(packed.frames.tolist(), packed.counts.tolist()):
        out[frame] = [Detection(frame, *map(float, packed.boxes[i]), int(packed.classes[i]),
                                None if packed.scores is None else packed.scores[i])
                      for i in range(k, k + n)]
        k += n
    return out


# ---------------------------------------------------------------- the worker
class DetectorWorker:
    """One Ray actor: one detector, loaded on its own share of its node's CPUs, and the videos it
    last read kept open.

    Why a share: an inference engine spreads one image over every core it sees, and two such
    workers on one node then fight over all cores. Measured on 2 cores (PETS09, YOLO11n
    OpenVINO): one process 29 frames/s, two unpinned 27 together, two pinned to a core each 38.
    So the driver gives each worker its slot among the workers of its node (`start`) before the
    model loads. A worker Ray restarts after a crash loads its model unpinned on first use.

    A user's error (no model, an unknown class, a frame that does not decode) is returned as
    `(what, where)` rather than raised, so the driver prints it as one line and not as Ray's
    remote traceback.
    """

    def __init__(self, options: PrelabelOptions) -> None:
        self.options = options
        self.share: list[int] = []
        self.detector = None
        self.error: tuple[str, str | None] | None = None
        self.readers: dict[str, FrameSource] = {}

    def node(self) -> str:
        import ray

        return ray.get_runtime_context().get_node_id()

    def start(self, slot: int, slots: int) -> dict:
        """Pin to CPU share `slot` of `slots` on this node, load the model, say what it is."""
        cpus = sorted(os.sched_getaffinity(0))
        self.share = cpus[slot * len(cpus) // slots:(slot + 1) * len(cpus) // slots] or [cpus[slot % len(cpus)]]
        self._pin()
        return self.describe()

    def _pin(self) -> None:
        """Every thread of this process on the share: Ray may run each call on another of its
        threads, and the engine's thread pool inherits the mask of the thread that starts it."""
        if self.share:
            for tid in os.listdir("/proc/self/task"):
                with suppress(OSError):   # a thread that ended meanwhile
                    os.sched_setaffinity(int(tid), self.share)

    def describe(self) -> dict:
        self._load()
        if self.error:
            return {"error": self.error}
        d = self.detector
        return {"model": d.info.model, "params": {**d.info.params, "names": d.class_names},
                "path": d.path, "names": d.class_names}

    def _load(self) -> None:
        if self.detector is None and self.error is None:
            try:
                self.detector = make_detector(self.options)
            except VidlabelError as exc:
                self.error = (exc.what, exc.where)

    def check(self, videos: list[str]) -> tuple[str, list[int | str]]:
        """This node's address, and per video its frame count or why it does not open."""
        import ray

        seen: list[int | str] = []
        for path in videos:
            try:
                with open_video(path) as video:
                    seen.append(video.frame_count)
            except VidlabelError as exc:
                seen.append(exc.what)
        return ray.util.get_node_ip_address(), seen

    def detect(self, path: str, frames: list[int]) -> Packed | tuple[str, str | None]:
        started = time.perf_counter()
        self._pin()
        self._load()
        if self.error:
            return self.error
        try:
            batch: dict[int, list[Detection]] = {}
            for part in self.detector.run(self._reader(path), frames):
                batch.update(part)
        except VidlabelError as exc:
            return exc.what, exc.where or path
        return pack(batch, time.perf_counter() - started)

    def pid(self) -> int:
        return os.getpid()

    def _reader(self, path: str) -> FrameSource:
        if path not in self.readers:
            while len(self.readers) >= READERS_KEPT:
                self.readers.pop(next(iter(self.readers))).close()
            self.readers[path] = open_video(path)
        return self.readers[path]
