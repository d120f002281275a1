"""`vidlabel prelabel --ray`: two real clips on a local Ray of 2 CPUs give exactly the projects of
the single-process command, also when a worker or the driver is killed half way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vidlabel import cli
from vidlabel.errors import PrelabelError
from vidlabel.prelabelling.cluster import ClusterOptions, _check_on_workers, _start_workers, prelabel_cluster
from vidlabel.prelabelling.cluster_worker import chunk_size, pack, unpack
from vidlabel.prelabelling.detector import runs
from vidlabel.prelabelling.pipeline import PrelabelOptions, prelabel
from vidlabel.store.project import Project

from .conftest import PETS, ROOT, SAMPLE, encode_clip, pets_available
from .test_prelabel import _detected, needs_weights

ray = pytest.importorskip("ray")
pytestmark = [pytest.mark.slow, needs_weights,
              pytest.mark.skipif(not pets_available(), reason="the shared PETS09 sequence is not here")]

OPTIONS = PrelabelOptions(classes=("person",))
CHUNK = 16  # 5 chunks of the sample, 3 of the PETS clip: chunks of one video on both workers


def _state(path: Path) -> tuple:
    """Everything pre-labelling writes, compared exactly (floats and score bytes included)."""
    with Project.open(path, readonly=True) as p:
        boxes = [(b.frame, b.track_id, b.class_id, b.x, b.y, b.w, b.h, b.confidence, b.source.value,
                  b.outside) for b in p.boxes()]
        runs = p.detection_runs()
        dets = [(d.frame, d.x, d.y, d.w, d.h, d.confidence, d.class_id,
                 None if d.class_scores is None else d.class_scores.tobytes())
                for r in runs for d in p.detections(r["id"])]
        return boxes, dets, [(r["model"], r["params"]) for r in runs], p.class_names(), \
            sorted(p.candidate_tracks())


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> list[Path]:
    import cv2

    d = tmp_path_factory.mktemp("videos")
    frames = [cv2.imread(str(p)) for p in sorted((PETS / "img1").glob("*.jpg"))[:40]]
    return [SAMPLE, encode_clip(d / "pets40.mp4", frames, rate=7)]


@pytest.fixture(scope="module")
def single(videos, tmp_path_factory) -> list[tuple]:
    out = tmp_path_factory.mktemp("single")
    return [_state(prelabel(v, out / f"{v.name}.vlp", OPTIONS, progress=False).project) for v in videos]


def _projects(folder: Path, videos: list[Path]) -> list[Path]:
    return [folder / f"{v.name}.vlp" for v in videos]


def test_chunks_cover_every_frame_once_and_keep_workers_busy():
    frames = list(range(0, 1000, 3))
    parts = list(runs(frames, 50))
    assert sum(parts, []) == frames and max(map(len, parts)) == 50
    assert chunk_size(100_000, 8) == 256 and chunk_size(10, 8) == 32 and chunk_size(4_000, 4) == 250


def test_packed_detections_are_the_detections(videos):
    from vidlabel.prelabelling.pipeline import make_detector
    from vidlabel.video import open_video

    detector = make_detector(OPTIONS)
    with open_video(videos[0]) as video:
        batch = {f: d for part in detector.run(video, [0, 1, 40]) for f, d in part.items()}
    back = unpack(pack(batch, 0.0))
    assert back.keys() == batch.keys()
    for f in batch:
        assert [(d.frame, d.x, d.y, d.w, d.h, d.confidence, d.class_id, d.class_scores.tobytes()) for d in back[f]] \
            == [(d.frame, d.x, d.y, d.w, d.h, d.confidence, d.class_id, d.class_scores.tobytes()) for d in batch[f]]


def test_two_workers_give_the_single_process_projects(local_ray, videos, single, tmp_path):
    seen = []
    run = prelabel_cluster([str(v) for v in videos], _projects(tmp_path, videos), OPTIONS,
                           ClusterOptions(chunk=CHUNK), progress=False, on_video=seen.append)
    assert run.workers == 2 and run.chunks == 5 + 3
    # each video linked as soon as its last chunk is in: in the order they finish, which two
    # workers on a busy machine do not fix
    assert sorted(s.project for s in seen) == sorted(_projects(tmp_path, videos))
    assert [_state(s.project) for s in run.summaries] == single
    again = prelabel_cluster([str(v) for v in videos], _projects(tmp_path, videos), OPTIONS,
                             ClusterOptions(chunk=CHUNK), progress=False)
    assert run.chunks == 8 and again.chunks == 0 and all(s.unchanged for s in again.summaries)


def _detecting_worker() -> int | None:
    """The pid of a Ray actor process busy detecting (Ray names it in the process title)."""
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "cmdline").read_bytes().startswith(b"ray::DetectorWorker.detect"):
                return int(proc.name)
        except OSError:
            continue
    return None


def test_a_worker_killed_mid_chunk_is_retried_and_the_result_is_equal(local_ray, videos, single, tmp_path):
    killed = []

    def kill_one(stored: int, total: int) -> None:
        pid = _detecting_worker()
        if not killed and pid is not None:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    run = prelabel_cluster([str(v) for v in videos], _projects(tmp_path, videos), OPTIONS,
                           ClusterOptions(chunk=CHUNK), progress=False, on_chunk=kill_one)
    assert killed, "no worker was found detecting, so none was killed"
    assert [_state(s.project) for s in run.summaries] == single


def test_a_killed_driver_resumes_from_the_stored_chunks(local_ray, videos, single, tmp_path):
    projects = _projects(tmp_path, videos)
    env = {**os.environ, "VIDLABEL_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "vidlabel", "prelabel", *map(str, videos), "-o", str(tmp_path),
                             "--classes", "person", "--ray", "local:2", "--chunk", str(CHUNK)],
                            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)   # its own process group: Ray's processes too
    try:
        while proc.poll() is None and _detected(projects[0]) < CHUNK:
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    stored = [_detected(p) for p in projects]
    assert proc.returncode == -signal.SIGKILL and CHUNK <= stored[0] < 80, \
        f"the driver was not killed half way (exit {proc.returncode}, {stored} frames stored)"

    run = prelabel_cluster([str(v) for v in videos], projects, OPTIONS, ClusterOptions(chunk=CHUNK),
                           progress=False)
    assert [s.resumed_frames for s in run.summaries] == stored
    assert [_state(p) for p in projects] == single


def test_a_video_a_worker_cannot_read_is_named_with_its_node(local_ray):
    workers = _start_workers(ray, OPTIONS, 1)
    try:
        with pytest.raises(PrelabelError, match=r"does not open on Ray node [\d.]+: .*same path"):
            _check_on_workers(ray, workers, ["/no/such/shared/video.mp4"], [80])
        with pytest.raises(PrelabelError, match="sees 80 frames in this video, this machine 81"):
            _check_on_workers(ray, workers, [str(SAMPLE)], [81])
    finally:
        ray.kill(workers[0])


@pytest.mark.parametrize("args, message", [
    (["--ray", "127.0.0.1:9"], "no Ray cluster answers at this address"),
    (["--ray", "local:two"], "--ray local:N needs a number of CPUs"),
    (["--ray", "local:2", "--workers", "0"], "--workers must be 1 or more"),
    (["--chunk", "8"], "--workers and --chunk are for --ray"),
    (["--ray", "local:2", "--workers", "3"], "has room for 2 detector workers now (CPUs free), not 3"),
])
def test_bad_cluster_input_is_one_line_and_writes_nothing(args, message, tmp_path, capsys):
    code = cli.main(["prelabel", str(SAMPLE), "-o", str(tmp_path / "p.vlp"), *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []


def test_an_unreadable_video_is_refused_before_ray_starts(tmp_path, capsys):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    code = cli.main(["prelabel", str(SAMPLE), str(bad), "-o", str(tmp_path / "out"), "--ray", "local:2"])
    err = capsys.readouterr().err
    assert code == 2 and "not a readable video" in err and str(bad) in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_without_ray_installed_it_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)   # what `import ray` sees where it is missing
    code = cli.main(["prelabel", str(SAMPLE), "-o", str(tmp_path / "p.vlp"), "--ray", "local:2"])
    err = capsys.readouterr().err
    assert code == 2 and "--ray needs Ray, which is not installed here" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
