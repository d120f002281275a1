"""`vidlabel prelabel` on the bundled sample with the real detector weights.

The detector runs only a few times here (80 frames each, about 25 ms a frame): one uninterrupted
run shared by most tests, one run killed half way and resumed, one short range with
`--detect-every`.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

from vidlabel import cli
from vidlabel.datamodel import Box, Source, iou_matrix
from vidlabel.errors import ModelNotFoundError
from vidlabel.prelabelling.pipeline import PrelabelOptions, prelabel
from vidlabel.prelabelling.record import PrelabelRecord
from vidlabel.propagation.trackers import available_trackers
from vidlabel.store.project import Project
from vidlabel.weights import resolve_detector

from .conftest import ROOT, SAMPLE, SAMPLE_GT


def _weights() -> str | None:
    try:
        return resolve_detector()
    except ModelNotFoundError:
        return None


WEIGHTS = _weights()
needs_weights = pytest.mark.skipif(
    WEIGHTS is None, reason="no detector weights: put an export in ../shared/models/ or models/, "
                            "or set VIDLABEL_MODEL")
pytestmark = [pytest.mark.slow]

OPTIONS = PrelabelOptions(classes=("person",))


def _rows(project_path) -> list[tuple]:
    with Project.open(project_path, readonly=True) as p:
        return [(b.frame, b.track_id, b.class_id, round(b.x, 3), round(b.y, 3), round(b.w, 3),
                 round(b.h, 3), round(b.confidence, 5), b.source.value, b.outside) for b in p.boxes()]


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("prelabel") / "full.vlp"
    summary = prelabel(SAMPLE, path, OPTIONS, progress=False)
    return path, summary


@needs_weights
def test_boxes_on_every_frame_where_the_ground_truth_has_people(full_run):
    path, summary = full_run
    gt = np.loadtxt(SAMPLE_GT, delimiter=",")
    with Project.open(path, readonly=True) as p:
        assert p.class_names() == ["person"]
        found_all = []
        for frame in sorted({int(f) - 1 for f in gt[:, 0]}):
            people = gt[(gt[:, 0] == frame + 1) & (gt[:, 6] != 0)][:, 2:6]
            boxes = p.boxes(frame=frame, include_outside=False)
            assert boxes, f"no box on frame {frame}"
            found = iou_matrix(people, np.array([b.xywh for b in boxes])).max(axis=1) >= 0.5
            assert found.mean() >= 0.5, f"frame {frame}: {found.sum()} of {len(people)} people boxed"
            found_all.extend(found)
    assert np.mean(found_all) >= 0.8
    assert summary.detected_frames == 80 and summary.tracks >= 4


@needs_weights
def test_ids_persist_across_frames(full_run):
    path, _ = full_run
    gt = np.loadtxt(SAMPLE_GT, delimiter=",")
    with Project.open(path, readonly=True) as p:
        boxes = p.boxes(include_outside=False)
    by_frame = defaultdict(list)
    for b in boxes:
        by_frame[b.frame].append(b)
    # For each person, the share of their matched frames that carry their most common track id.
    shares = []
    for person in np.unique(gt[:, 1]):
        rows = gt[(gt[:, 1] == person) & (gt[:, 6] != 0)]
        ids = []
        for r in rows:
            cands = by_frame[int(r[0]) - 1]
            if cands:
                iou = iou_matrix(r[None, 2:6], np.array([b.xywh for b in cands]))[0]
                if iou.max() >= 0.5:
                    ids.append(cands[int(iou.argmax())].track_id)
        if len(ids) >= 10:
            shares.append(Counter(ids).most_common(1)[0][1] / len(ids))
    # Crossings on this clip still swap an identity or two; most people keep theirs throughout.
    assert len(shares) >= 6
    assert np.mean(np.array(shares) >= 0.9) >= 2 / 3, shares
    assert np.median(shares) >= 0.95, shares


@needs_weights
def test_sources_confidences_and_ends_are_stored(full_run):
    path, summary = full_run
    with Project.open(path, readonly=True) as p:
        boxes = p.boxes()
        candidates = p.candidate_tracks()
        run = p.detection_runs()[0]
        dets = defaultdict(list)
        for d in p.detections(run["id"]):
            dets[d.frame].append(d)
        assert p.actions(actor="machine")[-1].kind == "prelabel"
    assert all(b.source in (Source.DETECTOR, Source.INTERPOLATED) for b in boxes)
    assert all(0 < b.confidence <= 1 and not b.verified for b in boxes)
    # A detector box is a stored candidate (its geometry smoothed over time), with the
    # candidate's own confidence and class scores.
    overlaps = []
    for b in boxes:
        if b.source is Source.DETECTOR and not b.outside:
            same = [d for d in dets[b.frame] if d.confidence == pytest.approx(b.confidence)]
            assert same, f"no candidate with the confidence of {b}"
            iou = iou_matrix(np.array([b.xywh]), np.array([d.xywh for d in same]))[0]
            d = same[int(iou.argmax())]
            overlaps.append(iou.max())
            assert d.class_scores is not None and d.class_scores.shape == (80,)
            assert d.class_scores[0] == pytest.approx(d.confidence)
    assert np.median(overlaps) >= 0.85  # smoothing moves a box a little, an outlier more
    assert min(d.confidence for ds in dets.values() for d in ds) < OPTIONS.conf  # weak ones kept
    # Every track ends with an outside box (unless it reaches the last frame) and nothing after it.
    by_track = defaultdict(list)
    for b in boxes:
        by_track[b.track_id].append(b)
    for track in by_track.values():
        outside = [b for b in track if b.outside]
        assert len(outside) <= 1
        if outside:
            assert track[-1].outside
        else:
            assert track[-1].frame == 79
    # The summary counts the annotation: candidate tracks' boxes are questions, not boxes yet.
    assert sum(summary.boxes.values()) == sum(not b.outside and b.track_id not in candidates for b in boxes)
    assert summary.candidates == len(candidates)


def _detected(path) -> int:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.1) as conn:
            return conn.execute("SELECT count(*) FROM detected_frames").fetchone()[0]
    except sqlite3.Error:
        return 0


@needs_weights
def test_a_killed_run_resumes_and_equals_an_uninterrupted_one(full_run, tmp_path):
    path = tmp_path / "killed.vlp"
    env = {**os.environ, "VIDLABEL_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "vidlabel", "prelabel", str(SAMPLE), "-o", str(path),
                             "--classes", "person"], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while proc.poll() is None and _detected(path) < 24:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    killed_at = _detected(path)
    assert proc.returncode == -signal.SIGKILL and 0 < killed_at < 80, \
        f"the run was not killed half way (exit {proc.returncode}, {killed_at} frames stored)"
    assert _rows(path) == []  # linking had not run yet

    summary = prelabel(SAMPLE, path, OPTIONS, progress=False)
    assert summary.resumed_frames == killed_at
    assert _rows(path) == _rows(full_run[0])


@needs_weights
def test_rerun_after_completion_changes_nothing(full_run):
    path, _ = full_run
    before = _rows(path)
    summary = prelabel(SAMPLE, path, OPTIONS, progress=False)
    assert summary.unchanged and summary.resumed_frames == 80
    assert _rows(path) == before


@needs_weights
def test_range_and_detect_every(tmp_path):
    path = tmp_path / "range.vlp"
    s = prelabel(SAMPLE, path, PrelabelOptions(classes=("person",), start=10, end=40, detect_every=5),
                 progress=False)
    assert s.frames == (10, 40)
    with Project.open(path, readonly=True) as p:
        run = p.detection_runs()[0]["id"]
        assert sorted(p.detected_frames(run)) == [10, 15, 20, 25, 30, 35, 39]
        visible = p.boxes(include_outside=False)
        assert visible and all(10 <= b.frame < 40 for b in visible)
        assert all(b.frame <= 40 for b in p.boxes())
        sources = Counter(b.source for b in visible)
        assert sources[Source.INTERPOLATED] > sources[Source.DETECTOR] > 0


@needs_weights
def test_without_classes_only_the_classes_of_tracks_join_the_project(tmp_path):
    """Weak candidates of other classes are kept (for uncertainty) but do not fill the palette."""
    path = tmp_path / "all.vlp"
    prelabel(SAMPLE, path, PrelabelOptions(start=0, end=30), progress=False)
    with Project.open(path) as p:
        names = p.detection_runs()[0]["params"]["names"]
        run = p.detection_runs()[0]["id"]
        used = {p.class_names()[b.class_id] for b in p.boxes()}
        assert used and set(p.class_names()) == used
        unknown = [d for d in p.detections(run) if d.class_id < 0]
        assert unknown, "the sample's weak candidates include classes no track has"
        assert {names[-d.class_id - 1] for d in unknown}.isdisjoint(used)
        # A class added later by name claims its stored candidates.
        name = names[-unknown[0].class_id - 1]
        with p.action("add class", "human"):
            cid = p.add_class(name)
        assert {d.class_id for d in p.detections(run) if d.id == unknown[0].id} == {cid}
        # One undo of the pre-labelling takes its tracks and the classes it added.
        p.undo()
        p.undo()
        assert p.boxes() == [] and p.class_names() == []


@needs_weights
def test_tracker_fills_the_gaps_when_asked(tmp_path):
    name = next(n for n in ("kcf", "mil", "csrt") if available_trackers()[n])
    s = prelabel(SAMPLE, tmp_path / "tracked.vlp",
                 PrelabelOptions(classes=("person",), end=21, detect_every=5, tracker=name), progress=False)
    assert s.boxes["tracker"] > 0 and s.boxes["detector"] > 0  # the tracker was used, not interpolation
    # What holds whatever the detector found: a detector box is one of its frame's stored
    # detections (smoothing moves its geometry, never its confidence), so it lies on a detected
    # frame; a frame the detector did not run on is filled by the tracker or interpolation; and
    # a track begins and ends on a detection. Not that every box on a detected frame is a
    # detector box: a track may have had no detection there, and then the tracker fills it.
    with Project.open(tmp_path / "tracked.vlp", readonly=True) as p:
        run = PrelabelRecord.read(p).run
        detected = p.detected_frames(run)
        assert detected == {0, 5, 10, 15, 20}
        stored = {(d.frame, d.class_id, d.confidence) for d in p.detections(run)}
        tracks = defaultdict(list)
        for b in p.boxes(include_outside=False):
            tracks[b.track_id].append(b)
            if b.source is Source.DETECTOR:
                assert (b.frame, b.class_id, b.confidence) in stored, b
            if b.frame not in detected:
                assert b.source in (Source.TRACKER, Source.INTERPOLATED), b
        for boxes in tracks.values():
            boxes.sort(key=lambda b: b.frame)
            assert boxes[0].source is Source.DETECTOR and boxes[-1].source is Source.DETECTOR, boxes


@pytest.mark.parametrize("args, message", [
    (["--model", "/nonexistent/yolo.pt"], "--model /nonexistent/yolo.pt: no such model file"),
    (["--classes", "person,unicorn"], "'unicorn' is not one of the model's classes: person, bicycle"),
    (["--start", "100"], "outside the video's frames 0..79"),
    (["--start", "-1"], "--start must be 0 or more"),
    (["--end", "500"], "--end 500 is past the video's frame count 80"),
    (["--start", "5", "--end", "5"], "--end 5 must be after --start 5"),
    (["--detect-every", "0"], "--detect-every must be at least 1"),
    (["--conf", "nan"], "--conf must be between 0 and 1, got nan"),
    (["--conf", "1.5"], "--conf must be between 0 and 1, got 1.5"),
    (["--tracker", "nonesuch"], "unknown tracker 'nonesuch'; available:"),
])
def test_bad_input_is_one_clear_error_and_writes_nothing(args, message, tmp_path, capsys):
    if WEIGHTS is None and "--classes" in args:
        pytest.skip("no detector weights")
    code = cli.main(["prelabel", str(SAMPLE), "-o", str(tmp_path / "p.vlp"), *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []


def test_a_project_with_human_work_is_refused_before_detecting(tmp_path, capsys):
    from vidlabel.store.files import create_project

    project, video = create_project(SAMPLE, tmp_path / "p.vlp", ["person"])
    with project, video, project.action("draw", "human"):
        project.put_boxes([Box(3, project.new_track(), 0, 10.0, 10.0, 30.0, 60.0,
                               source=Source.HUMAN, verified=True)])
    before = (tmp_path / "p.vlp").read_bytes()
    code = cli.main(["prelabel", str(SAMPLE), "-o", str(tmp_path / "p.vlp")])
    assert code == 2 and "verified work that pre-labelling did not make" in capsys.readouterr().err
    assert (tmp_path / "p.vlp").read_bytes() == before   # not a single detection stored


def test_every_command_finds_a_video_s_project_in_the_same_place(tmp_path, monkeypatch):
    """`vidlabel prelabel clip.mp4` writes the project `vidlabel app clip.mp4` opens."""
    from vidlabel.commands.prelabel import project_paths
    from vidlabel.store.files import default_project_path, user_projects_dir

    clip = tmp_path / "clip.mp4"
    assert project_paths([str(clip)], None) == [default_project_path(clip)] == [tmp_path / "clip.mp4.vlp"]
    assert project_paths([str(clip)], str(tmp_path / "out.vidlabel")) == [tmp_path / "out.vidlabel"]
    assert project_paths([str(clip), "b.mp4"], str(tmp_path)) == [tmp_path / "clip.mp4.vlp", tmp_path / "b.mp4.vlp"]
    # A shared, read-only dataset folder: the project goes to the per-user folder instead.
    monkeypatch.setenv("VIDLABEL_PROJECTS", str(tmp_path / "mine"))
    monkeypatch.setattr("vidlabel.store.files.os.access", lambda path, mode: Path(path) != tmp_path)
    per_user = default_project_path(clip)
    assert per_user.parent == user_projects_dir() == tmp_path / "mine" and per_user.name.startswith("clip.mp4-")


def test_a_bad_video_is_one_clear_error_and_leaves_no_project(tmp_path, capsys):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    code = cli.main(["prelabel", str(bad), "-o", str(tmp_path / "p.vlp")])
    err = capsys.readouterr().err
    assert code == 2 and "not a readable video" in err and str(bad) in err
    assert not (tmp_path / "p.vlp").exists()


def test_several_videos_need_a_folder(tmp_path, capsys):
    code = cli.main(["prelabel", str(SAMPLE), str(SAMPLE.with_name("other.mp4")), "-o",
                     str(tmp_path / "one.vlp")])
    assert code == 2 and "several videos need a folder" in capsys.readouterr().err
