"""Work proportional to what changed, on a long project: 30,000 frames, about 120,000 boxes.

Builds once (cached in --workdir) a 30,000-frame video (`bench_app.make_video`: 640x360, x264,
a keyframe every 50 frames) and a project on it with about four boxes a frame and raw detector
candidates (`bench_review.synthetic_project`). Then times, as whole
processes the way a person runs them (wall seconds, median of --repeat runs), beside
`python -c "import vidlabel"` measured in the same run:

* `vidlabel info PROJECT`
* `vidlabel queue PROJECT -k 10`, first after the project was changed (every frame scored and
  the scores stored) and then again with nothing changed (the stored scores read back)
* `vidlabel export PROJECT --format yolo --every N` for N = 1000, 100 and 10: the time per
  frame written, which a reader that decoded the whole video for each would not keep level

    python benchmarks/bench_large.py [--frames 30000] [--repeat 3] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("VIDLABEL_OFFLINE", "1")
from bench_app import make_video  # noqa: E402
from bench_review import synthetic_project  # noqa: E402

from vidlabel.store.project import HUMAN, MACHINE  # noqa: E402
from vidlabel.video import open_video  # noqa: E402


def build(workdir: Path, frames: int) -> Path:
    video, project_path = workdir / f"long-{frames}.mp4", workdir / f"long-{frames}.vlp"
    if project_path.exists():
        return project_path
    t = time.perf_counter()
    make_video(video, frames)
    with open_video(video) as v:
        ref = v.ref()
        index = v.index_bytes
    project = synthetic_project(workdir / "building.vlp", frames, video=ref, spacing=(60, 150))
    with project.action("video index", MACHINE):   # as create_project stores it: no demuxing on open
        project.set_video(ref, index)
    project.close()
    os.replace(workdir / "building.vlp", project_path)
    print(f"built {video.name} and {project_path.name} in {time.perf_counter() - t:.0f} s")
    return project_path


def wall(args: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def touch(project_path: Path) -> None:
    """One human edit, so that the stored scores are out of date."""
    from vidlabel.store.project import Project

    with Project.open(project_path) as p:
        box = p.boxes(frame=0)[0]
        with p.action("fix", HUMAN):
            p.put_box(box.with_(x=box.x + 1))


def row(what: str, seconds: float, note: str = "") -> None:
    print(f"{what:<44} {seconds:8.2f}   {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "vidlabel-bench-large")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    args.workdir.mkdir(parents=True, exist_ok=True)
    project = build(args.workdir, args.frames)
    cli = [sys.executable, "-m", "vidlabel"]
    from vidlabel.store.project import Project
    with Project.open(project) as p:   # for writing: a project of an older schema migrates
        print(f"project: {p.video.frame_count} frames, {p.box_count()} boxes, {len(p.tracks())} tracks")
    print(f"{'command':<44} {'wall s':>8}")
    row("python -c 'import vidlabel' (comparison)", wall([sys.executable, "-c", "import vidlabel"], args.repeat))
    row("vidlabel info", wall([*cli, "info", str(project)], args.repeat))
    first = []
    for _ in range(args.repeat):
        touch(project)
        first.append(wall([*cli, "queue", str(project), "-k", "10"], 1))
    row("vidlabel queue -k 10, after an edit", statistics.median(first))
    row("vidlabel queue -k 10, nothing changed", wall([*cli, "queue", str(project), "-k", "10"], args.repeat))
    for every in (1000, 100, 10):
        out = args.workdir / "yolo"
        shutil.rmtree(out, ignore_errors=True)
        seconds = wall([*cli, "export", str(project), "--format", "yolo", "--every", str(every),
                        "-o", str(out), "--overwrite"], args.repeat)
        written = len(list((out / "images").rglob("*.jpg")))
        row(f"vidlabel export --format yolo --every {every}", seconds,
            f"{written} frames, {1000 * seconds / max(written, 1):.1f} ms per frame written")


if __name__ == "__main__":
    main()
