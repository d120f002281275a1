"""Frame access latency: vidlabel's exact reader against a plain sequential decode and OpenCV seeking.

Prints, for one video (default: the PETS09-S2L1 video beside the checkout), the per-frame cost of
a plain sequential PyAV decode (the floor), vidlabel's stepping forward and backward, random
seeks (median and p95), jumps to queue items with and without the app's prefetching of the next
ten, plus OpenCV's `CAP_PROP_POS_FRAMES` seeking with how often it returned the wrong pixels.

    python benchmarks/bench_video.py [VIDEO] [--seeks 200]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from vidlabel.prefetch import Prefetcher  # noqa: E402
from vidlabel.video import VideoFile  # noqa: E402

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "PETS09-S2L1" / "video.mp4"


def timed(fn, items) -> np.ndarray:
    out = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - t) * 1000)
    return np.asarray(out)


def row(name: str, ms: np.ndarray, note: str = "") -> None:
    print(f"{name:<38} {np.median(ms):8.2f} {np.percentile(ms, 95):8.2f} {ms.mean():8.2f}  {note}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", nargs="?", default=str(DEFAULT))
    ap.add_argument("--seeks", type=int, default=200)
    args = ap.parse_args()

    with av.open(args.video) as c:
        n = sum(1 for p in c.demux(video=0) if p.size)
    rng = random.Random(0)
    targets = [rng.randrange(n) for _ in range(args.seeks)]
    checked = set(targets[:50])
    reference: dict[int, np.ndarray] = {}
    t = time.perf_counter()
    with av.open(args.video) as c:
        c.streams.video[0].thread_type = "AUTO"
        for i, f in enumerate(c.decode(video=0)):
            image = f.to_ndarray(format="bgr24")
            if i in checked:
                reference[i] = image
    seq_ms = (time.perf_counter() - t) * 1000 / n

    t = time.perf_counter()
    v = VideoFile(args.video, cache_bytes=0)  # no cache: every figure below is real decoding
    open_ms = (time.perf_counter() - t) * 1000
    print(f"video: {args.video}  frames: {n}  size: {v.width}x{v.height}  keyframes: {len(v._key_pts)}")
    print(f"open (demux index, no decode): {open_ms:.1f} ms\n")
    print(f"{'access':<38} {'median':>8} {'p95':>8} {'mean':>8}  (ms per frame)")
    print(f"{'plain sequential PyAV decode':<38} {seq_ms:8.2f} {seq_ms:8.2f} {seq_ms:8.2f}  floor")
    row("vidlabel step forward", timed(v.frame, range(n)))
    v.close()
    v = VideoFile(args.video, cache_bytes=0)
    row("vidlabel step backward (no cache)", timed(v.frame, range(n - 1, n - 201, -1)))
    v.close()
    v = VideoFile(args.video)  # default cache, as the app uses it
    row("vidlabel step backward (cache)", timed(v.frame, range(n - 1, n - 201, -1)))
    v.close()
    v = VideoFile(args.video, cache_bytes=0)
    wrong = sum(not np.array_equal(v.frame(i), reference[i]) for i in targets[:50])
    row("vidlabel random seek", timed(v.frame, targets), f"wrong frames: {wrong}/50")
    v.close()

    prefetched_jumps(args.video, n)

    cap = cv2.VideoCapture(args.video)

    def cv_seek(i: int) -> np.ndarray:
        cap.set(cv2.CAP_PROP_POS_FRAMES, i)
        return cap.read()[1]

    ms = timed(cv_seek, targets)
    wrong = sum(not np.array_equal(cv_seek(i), reference[i]) for i in targets[:50])
    row("OpenCV CAP_PROP_POS_FRAMES seek", ms, f"wrong frames: {wrong}/50")


def prefetched_jumps(video: str, n: int, rounds: int = 30, queue: int = 10) -> None:
    """A person on a queue: while they look at one item, the app decodes the next `queue` items
    ahead (vidlabel.prefetch); then they jump to one of them. Beside it, the same jumps with
    nothing decoded ahead, in the same run, on a reader with the app's cache."""
    rng = random.Random(1)
    rounds_of = [rng.sample(range(n), queue) for _ in range(rounds)]
    jumps = [(q, rng.choice(q)) for q in rounds_of]
    with VideoFile(video) as v:
        plain = timed(v.frame, [j for _, j in jumps])
    with VideoFile(video) as v:
        prefetcher = Prefetcher(v)
        ahead, ms = [], []
        for q, j in jumps:
            t = time.perf_counter()
            prefetcher.want(q)
            prefetcher.idle()     # the person's seconds on the current item
            ahead.append((time.perf_counter() - t) * 1000)
            ms += list(timed(v.frame, [j]))
        per_frame = 1000 * prefetcher.seconds / max(prefetcher.decoded, 1)
        prefetcher.close()
    row("jump to a queue item, nothing ahead", plain, "the same jumps as below")
    row(f"jump to a queue item, next {queue} prefetched", np.asarray(ms),
        f"prefetch: {per_frame:.1f} ms per frame, {np.median(ahead):.0f} ms for {queue} (median)")


if __name__ == "__main__":
    main()
