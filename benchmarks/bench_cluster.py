"""Pre-labelling on Ray against the single-process command, same clips, same run.

Four clips (the bundled sample and the first `--frames` frames of every shared sequence) go through
`vidlabel prelabel` in one process, then through `--ray local:1` and `--ray local:2` (a fresh local
Ray each, start-up included): first inside this process for the breakdown, then as whole `vidlabel
prelabel` processes, the way a user runs them. Printed per run: wall time and frames/s, the start-up
(Ray, actors, model loads, the video check on every worker), the driver's share (its storing and
linking, and the store cost per frame), and the idle time per chunk: what a worker spends per chunk
not detecting (Ray's call, the seek to the chunk's first frame, waiting for the driver, the tail),
`(workers x detect wall - worker seconds) / chunks`. A Ray round trip of a chunk's typical payload
to an idle actor is measured on its own. `docs/scale.md` builds its throughput model on these
figures.

    python benchmarks/bench_cluster.py [--frames 150] [--model PATH] [--chunk N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("VIDLABEL_OFFLINE", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from vidlabel.prelabelling.cluster import ClusterOptions, prelabel_cluster  # noqa: E402
from vidlabel.prelabelling.cluster_worker import pack  # noqa: E402
from vidlabel.prelabelling.pipeline import PrelabelOptions, prelabel  # noqa: E402
from vidlabel.video import open_video  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"


def make_clips(folder: Path, frames: int) -> list[Path]:
    """The sample as it is, and each shared sequence's first `frames` frames as an H.264 clip."""
    import av

    clips = [ROOT / "assets" / "sample.mp4"]
    for seq in sorted(p for p in DATA.iterdir() if (p / "video.mp4").is_file()):
        out = folder / f"{seq.name}.mp4"
        with open_video(seq / "video.mp4") as video, av.open(str(out), "w") as dst:
            stream = dst.add_stream("libx264", rate=round(video.fps))
            stream.width, stream.height, stream.pix_fmt = video.width, video.height, "yuv420p"
            for _, img in video.frames_at(range(min(frames, video.frame_count))):
                dst.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")))
            dst.mux(stream.encode())
        clips.append(out)
    return clips


def frame_count(clips: list[Path]) -> int:
    total = 0
    for c in clips:
        with open_video(c) as v:
            total += v.frame_count
    return total


def single_process(clips: list[Path], out: Path, options: PrelabelOptions) -> dict:
    started = time.perf_counter()
    detect = sum(prelabel(c, out / f"{c.name}.vlp", options, progress=False).detect_seconds for c in clips)
    return {"wall": time.perf_counter() - started, "detect": detect}


def whole_process(clips: list[Path], out: Path, extra: list[str]) -> float:
    """Wall seconds of the command as a user runs it: a fresh process, imports included."""
    import subprocess

    out.mkdir()
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "vidlabel", "prelabel", *map(str, clips), "-o", str(out),
                    "--classes", "person,car", *extra], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def ray_round_trip(calls: int = 50) -> float:
    """Median seconds of one call to an idle actor returning a chunk's typical payload (64
    frames of 20 candidates with 80 class scores each)."""
    import numpy as np
    import ray

    from vidlabel.datamodel import Detection

    rng = np.random.default_rng(0)
    batch = {f: [Detection(f, *rng.random(4).tolist(), 0.5, 0, rng.random(80, dtype=np.float32))
                 for _ in range(20)] for f in range(64)}
    payload = pack(batch, 0.0)

    @ray.remote(num_cpus=1)
    class Echo:
        def chunk(self):
            return payload

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        echo = Echo.remote()
        ray.get(echo.chunk.remote())
        times = []
        for _ in range(calls):
            t = time.perf_counter()
            ray.get(echo.chunk.remote())
            times.append(time.perf_counter() - t)
        return statistics.median(times)
    finally:
        ray.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=150, help="frames taken from each shared sequence")
    ap.add_argument("--model", help="detector (default: as vidlabel finds it)")
    ap.add_argument("--chunk", type=int, help="frames per work unit (default: vidlabel's choice)")
    args = ap.parse_args()
    options = PrelabelOptions(model=args.model, classes=("person", "car"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clips = make_clips(tmp, args.frames)
        total = frame_count(clips)
        print(f"{len(clips)} clips, {total} frames: {', '.join(c.name for c in clips)}; "
              f"{os.cpu_count()} CPUs here", flush=True)
        (tmp / "single").mkdir()
        base = single_process(clips, tmp / "single", options)
        print(f"\n{'run':<22}{'wall s':>8}{'frames/s':>10}{'start-up s':>12}{'driver %':>10}"
              f"{'store ms/frame':>16}{'idle ms/chunk':>15}{'chunks':>8}")
        print(f"{'single process':<22}{base['wall']:>8.1f}{total / base['wall']:>10.1f}"
              f"{'':>12}{'':>10}{'':>16}{'':>15}{'':>8}   (detecting alone: "
              f"{total / base['detect']:.1f} frames/s)", flush=True)
        runs = {}
        for workers in (1, 2):
            out = tmp / f"ray{workers}"
            out.mkdir()
            r = prelabel_cluster([str(c) for c in clips], [out / f"{c.name}.vlp" for c in clips], options,
                                 ClusterOptions(f"local:{workers}", chunk=args.chunk), progress=False)
            idle = (workers * r.detect_wall_seconds - r.worker_seconds) / max(1, r.chunks)
            driver = (r.store_seconds + r.link_seconds) / r.wall_seconds
            print(f"{f'Ray, {workers} worker(s)':<22}{r.wall_seconds:>8.1f}{total / r.wall_seconds:>10.1f}"
                  f"{r.startup_seconds:>12.1f}{100 * driver:>10.1f}{1000 * r.store_seconds / total:>16.2f}"
                  f"{1000 * idle:>15.0f}{r.chunks:>8}   (per worker, detecting: "
                  f"{total / r.worker_seconds:.1f} frames/s; after start-up: "
                  f"{total / (r.wall_seconds - r.startup_seconds):.1f} frames/s)", flush=True)
            runs[workers] = r
        after = {w: r.wall_seconds - r.startup_seconds for w, r in runs.items()}
        print(f"\n2 workers against 1: {after[1] / after[2]:.2f}x faster after start-up, "
              f"{runs[1].wall_seconds / runs[2].wall_seconds:.2f}x in all; Ray with 1 worker against "
              f"the single process: {base['wall'] / runs[1].wall_seconds:.2f}x")
        print("\nwhole processes, `vidlabel prelabel CLIPS -o DIR --classes person,car [--ray local:W]`:")
        for name, extra in (("single process", []), ("Ray, 1 worker", ["--ray", "local:1"]),
                            ("Ray, 2 workers", ["--ray", "local:2"])):
            wall = whole_process(clips, tmp / f"cli-{len(extra)}-{extra[-1] if extra else ''}", extra)
            print(f"  {name:<16}{wall:>7.1f} s  {total / wall:>6.1f} frames/s", flush=True)
        trip = ray_round_trip()
        print(f"\nRay round trip of one chunk's payload (64 frames x 20 candidates) to an idle actor: "
              f"{1000 * trip:.1f} ms median")


if __name__ == "__main__":
    main()
