"""What the reliability probe of #20 found, reproduced as a user meets it: the real command in a
subprocess, real files, a file-size limit standing in for a full disk, damaged media.

Each case asserts the same contract: exit 2, one line on stderr, nothing new at the output path
(no temporaries either), and the inputs unchanged."""

from __future__ import annotations

import os
import resource
import sqlite3
import subprocess
import sys
from pathlib import Path

import av
import cv2
import pytest

from vidlabel.store.project import Project

from .conftest import ROOT, SAMPLE, SAMPLE_GT, encode_clip, synthetic_frames
from .test_prelabel import needs_weights


def vidlabel(*args: str, fsize: int | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """The command as a person runs it; `fsize` caps every file it writes (a full disk: writes
    past it fail with EFBIG, which SQLite and Python report as they would ENOSPC)."""
    limit = None if fsize is None else (lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize)))
    return subprocess.run([sys.executable, "-m", "vidlabel", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, preexec_fn=limit, timeout=600)


def refused(result: subprocess.CompletedProcess, *words: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and all(w in lines[0] for w in words), lines


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def import_sample(out: Path, fsize: int | None = None) -> subprocess.CompletedProcess:
    return vidlabel("import", SAMPLE, "--format", "mot", "--gt", SAMPLE_GT, "-o", out, fsize=fsize)


# ---------------------------------------------------------------- a full disk (items 2 and 9)
def test_an_import_on_a_full_disk_leaves_nothing_or_a_whole_project(tmp_path):
    """It used to leave a project at the output path that read as "malformed" once space was
    freed (the log was never folded in), or its temporaries."""
    inputs = {p: p.read_bytes() for p in (SAMPLE, SAMPLE_GT)}
    whole = tmp_path / "whole"
    whole.mkdir()
    assert import_sample(whole / "p.vlp").returncode == 0
    size = (whole / "p.vlp").stat().st_size
    assert listing(whole) == ["p.vlp"]   # a closed project is one file
    for limit in (4096, size // 2, size - 4096, size + 4096, 3 * size):
        folder = tmp_path / f"limit{limit}"
        folder.mkdir()
        result = import_sample(folder / "p.vlp", fsize=limit)
        if result.returncode == 0:
            assert limit >= size and listing(folder) == ["p.vlp"]
            with Project.open(folder / "p.vlp", readonly=True) as p:
                assert len(p.boxes()) == 499
        else:
            refused(result, "could not be written")
            assert listing(folder) == [], limit
    assert result.returncode == 0   # the largest limit holds the project and its log
    assert all(p.read_bytes() == data for p, data in inputs.items())


def test_an_export_on_a_full_disk_is_one_line_and_writes_nothing(tmp_path):
    project = tmp_path / "p.vlp"
    assert import_sample(project).returncode == 0
    for fmt, out in (("coco", tmp_path / "out.json"), ("yolo", tmp_path / "yolo"), ("mot", tmp_path / "mot")):
        result = vidlabel("export", project, "--format", fmt, "-o", out, fsize=2048)
        refused(result, "cannot write the export", str(out))
        assert listing(tmp_path) == ["p.vlp"], fmt


def test_stale_temporaries_of_killed_runs_are_removed_by_the_next_run(tmp_path):
    gone = subprocess.Popen(["true"])
    gone.wait()   # a process id that no longer runs, as a killed command's would be
    stale_import = tmp_path / f".p.vlp.{gone.pid}.0badc0de.importing"
    stale_creating = tmp_path / f"..p.vlp.{gone.pid}.0badc0de.importing.{gone.pid}.1234abcd.creating"
    stale_export = tmp_path / f".out.json.{gone.pid}.k3x9q2ab.tmp"
    stale_folder = tmp_path / f".yolo.{gone.pid}.k3x9q2ab.tmp"
    running = tmp_path / f".p.vlp.{os.getpid()}.feedf00d.importing"   # this test is still running
    for path in (stale_import, stale_creating, stale_export, running):
        path.write_bytes(b"x" * 1000)
    (stale_folder / "images").mkdir(parents=True)
    (stale_folder / "images" / "a.jpg").write_bytes(b"x" * 1000)
    assert import_sample(tmp_path / "p.vlp").returncode == 0
    assert vidlabel("export", tmp_path / "p.vlp", "--format", "coco", "-o", tmp_path / "out.json").returncode == 0
    assert vidlabel("export", tmp_path / "p.vlp", "--format", "yolo", "-o", tmp_path / "yolo").returncode == 0
    assert listing(tmp_path) == sorted(["p.vlp", "out.json", "yolo", running.name])


# ---------------------------------------------------------------- reading leaves nothing (item 8)
def test_read_only_commands_leave_no_log_files_beside_the_project(tmp_path):
    assert import_sample(tmp_path / "p.vlp").returncode == 0
    for args in (("info", tmp_path / "p.vlp"), ("queue", tmp_path / "p.vlp", "-k", "3"),
                 ("export", tmp_path / "p.vlp", "--format", "mot", "-o", tmp_path / "mot")):
        assert vidlabel(*args).returncode == 0, args
        assert not [n for n in listing(tmp_path) if n.endswith(("-wal", "-shm"))], args


# ---------------------------------------------------------------- damaged media (items 4 and 5)
@pytest.fixture(scope="module")
def damaged(tmp_path_factory) -> dict[str, Path]:
    """A clip with a hole of zeros in its frame data, one cut short (its header still says 60
    frames), and image folders with a corrupt JPEG and with one smaller image."""
    d = tmp_path_factory.mktemp("damaged")
    clip = encode_clip(d / "clip.mp4", synthetic_frames(60, 320, 240))
    data = bytearray(clip.read_bytes())
    n = len(data)
    data[n // 3:n // 3 + n // 5] = bytes(n // 5)
    (d / "hole.mp4").write_bytes(data)
    with av.open(str(clip)) as src, av.open(str(d / "fast.mp4"), "w", options={"movflags": "+faststart"}) as dst:
        out = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = out
                dst.mux(packet)
    (d / "cut.mp4").write_bytes((d / "fast.mp4").read_bytes()[: int((d / "fast.mp4").stat().st_size * 0.7)])
    frames = synthetic_frames(12, 320, 240)
    for name in ("corrupt", "mixed"):
        (d / name).mkdir()
        for i, image in enumerate(frames):
            cv2.imwrite(str(d / name / f"{i:06d}.jpg"), image)
    jpeg = (d / "corrupt" / "000007.jpg").read_bytes()
    (d / "corrupt" / "000007.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    cv2.imwrite(str(d / "mixed" / "000005.jpg"), cv2.resize(frames[5], (160, 120)))
    return {k: d / k for k in ("hole.mp4", "cut.mp4", "corrupt", "mixed")}


def test_a_cut_short_video_is_reported_when_read(damaged):
    result = vidlabel("info", damaged["cut.mp4"])
    assert result.returncode == 0 and "declares 60 frames but only" in result.stderr


@needs_weights
@pytest.mark.parametrize("name, words", [("hole.mp4", ("frame 17 does not decode", "--end 17")),
                                         ("cut.mp4", ("stops decoding after frame",)),
                                         ("corrupt", ("image 7 does not decode",))])
def test_prelabel_refuses_damaged_media_before_writing(tmp_path, damaged, name, words):
    """These failed at the damaged frame, leaving a half project that could never be finished."""
    before = sorted((p.name, p.stat().st_size) for p in damaged[name].parent.rglob("*"))
    result = vidlabel("prelabel", damaged[name], "-o", tmp_path / "p.vlp")
    lines = [line for line in result.stderr.splitlines() if line.startswith("vidlabel: error")]
    assert result.returncode == 2 and len(lines) == 1 and all(w in lines[0] for w in words), result.stderr
    assert listing(tmp_path) == []
    assert sorted((p.name, p.stat().st_size) for p in damaged[name].parent.rglob("*")) == before


@needs_weights
def test_prelabel_of_the_frames_before_a_hole_works(tmp_path, damaged):
    result = vidlabel("prelabel", damaged["hole.mp4"], "--end", "17", "-o", tmp_path / "p.vlp")
    assert result.returncode == 0, result.stderr
    with Project.open(tmp_path / "p.vlp", readonly=True) as p:
        assert p.video.frame_count == 60


@pytest.mark.parametrize("command", ["info", "import"])
def test_an_image_folder_of_mixed_sizes_is_refused_when_opened(tmp_path, damaged, command):
    """Detections on the smaller image were stored in its own pixels under the folder's size."""
    args = ("info", damaged["mixed"]) if command == "info" else (
        "import", damaged["mixed"], "--format", "mot", "--gt", _one_row_gt(tmp_path), "-o", tmp_path / "p.vlp")
    refused(vidlabel(*args), "image is 160x120 but the folder's first image is 320x240", "000005.jpg")
    assert "p.vlp" not in listing(tmp_path)


def _one_row_gt(folder: Path) -> Path:
    gt = folder / "gt.txt"
    gt.write_text("1,1,10,20,30,40,1,1,1\n")
    return gt


# ---------------------------------------------------------------- boxes off the image (item 6)
def test_an_export_never_holds_a_box_wholly_outside_the_image_so_it_reads_back(tmp_path):
    """A machine box that drifted off the frame is no label: left out of every export (it used
    to be written, and such a box is now refused on import)."""
    from vidlabel.datamodel import Box, Source
    from vidlabel.store.project import MACHINE

    project = tmp_path / "p.vlp"
    assert import_sample(project).returncode == 0
    with Project.open(project) as p, p.action("drift", MACHINE):
        track = p.new_track()
        p.put_boxes([Box(3, track, 0, 800.0, 100.0, 40.0, 80.0, 0.9, Source.TRACKER),
                     Box(4, track, 0, 740.0, 100.0, 40.0, 80.0, 0.9, Source.TRACKER)])
    for fmt, out, gt in (("coco", tmp_path / "o.json", tmp_path / "o.json"),
                         ("mot", tmp_path / "mot", tmp_path / "mot" / "gt" / "gt.txt")):
        assert vidlabel("export", project, "--format", fmt, "-o", out).returncode == 0
        back = vidlabel("import", SAMPLE, "--format", fmt, "--gt", gt, "-o", tmp_path / f"{fmt}.vlp")
        assert back.returncode == 0, back.stderr
        with Project.open(tmp_path / f"{fmt}.vlp", readonly=True) as p:
            assert len(p.boxes(include_outside=False)) == 500   # the sample's 499 and the one half inside


# ---------------------------------------------------------------- a tampered project (item 7)
def test_a_box_of_a_class_that_does_not_exist_is_refused_at_open(tmp_path):
    project = tmp_path / "p.vlp"
    assert import_sample(project).returncode == 0
    conn = sqlite3.connect(project)
    conn.execute("UPDATE boxes SET class_id = 7 WHERE id = (SELECT min(id) FROM boxes)")
    conn.commit()
    conn.close()
    for args in (("info", project), ("export", project, "--format", "coco", "-o", tmp_path / "o.json")):
        refused(vidlabel(*args), "project file was altered", "boxes", "classes")
    assert listing(tmp_path) == ["p.vlp"]


# ---------------------------------------------------------------- detectors the README names (item 11)
@pytest.fixture(scope="module")
def onnx_detector(tmp_path_factory) -> Path:
    """A YOLO11n of random weights exported to ONNX offline: the format path is what is tested,
    not the weights (no pretrained .pt is on the test machine)."""
    from ultralytics import YOLO

    folder = tmp_path_factory.mktemp("onnx")
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    cwd = os.getcwd()
    os.chdir(folder)   # Ultralytics writes its export beside where it runs
    try:
        return folder / YOLO("yolo11n.yaml").export(format="onnx", imgsz=320, simplify=False, verbose=False)
    finally:
        os.chdir(cwd)


def test_an_onnx_detector_prelabels_end_to_end(tmp_path, onnx_detector):
    result = vidlabel("prelabel", SAMPLE, "--model", onnx_detector, "-o", tmp_path / "p.vlp")
    assert result.returncode == 0, result.stderr[-2000:]
    with Project.open(tmp_path / "p.vlp", readonly=True) as p:
        assert p.video.frame_count == 80
        runs = p._conn.execute("SELECT model FROM detection_runs").fetchall()
        assert [Path(r[0]).name for r in runs] == ["yolo11n.onnx"]


def test_a_broken_openvino_folder_is_one_line(tmp_path):
    folder = tmp_path / "broken_openvino_model"
    folder.mkdir()
    (folder / "model.xml").write_text("<not a model")
    refused(vidlabel("prelabel", SAMPLE, "--model", folder, "-o", tmp_path / "p.vlp"),
            "cannot load the detector", str(folder))
    assert listing(tmp_path) == ["broken_openvino_model"]
