"""The project store: every field round-trips, nothing half-written survives a kill, bad files fail clearly."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from vidlabel.datamodel import Box, Detection, Source, VideoRef
from vidlabel.errors import ProjectError, ProjectInUseError
from vidlabel.store.project import MACHINE, Project
from vidlabel.store.schema import SCHEMA_VERSION

from .conftest import ROOT

REF = VideoRef("/data/clip.mp4", 80, 7.0, 768, 576, "abc123", rotation=0)


@pytest.fixture
def project(tmp_path):
    p = Project.create(tmp_path / "p.vlp", REF, classes=["person", "car"])
    yield p
    p.close()


def add_track(p: Project, frames, cls=0, verified=False, source=Source.DETECTOR) -> int:
    tid = p.new_track()
    for f in frames:
        p.put_box(Box(f, tid, cls, 10.0 + f, 20.0, 30.0, 60.0, 0.8, source, verified))
    return tid


def test_every_field_round_trips(tmp_path):
    path = tmp_path / "p.vlp"
    with Project.create(path, REF, classes=["person", "car"]) as p:
        with p.action("draw") as aid:
            tid = p.new_track("walker")
            box = p.put_box(Box(5, tid, 1, 1.5, -2.25, 30.125, 60.5, 0.42, Source.INTERPOLATED,
                                verified=True, outside=False, occluded=True))
            p.put_box(Box(6, tid, 1, 0, 0, 0, 0, 0.0, Source.HUMAN, verified=True, outside=True))
            p.set_frame_verified(5)
        run = p.start_detection_run("yolo11n", {"conf": 0.05})
        p.add_detections(run, {5: [Detection(5, 1, 2, 3, 4, 0.3, 1, np.array([0.1, 0.3], np.float32))],
                               6: []})
        p.set_box_scores([(box.id, 0.7, {"least_confidence": 0.58})])
        p.set_frame_scores([(5, 0.7, ["track 1 near threshold"])])
    with Project.open(path, readonly=True) as p:
        assert p.video == REF
        assert p.class_names() == ["person", "car"]
        b5, b6 = p.boxes(track_id=tid)
        assert b5 == Box(5, tid, 1, 1.5, -2.25, 30.125, 60.5, 0.42, Source.INTERPOLATED, True, False, True, id=box.id)
        assert b6.outside and b6.verified and b6.source is Source.HUMAN
        assert p.tracks()[0].name == "walker" and p.tracks()[0].class_id == 1
        assert p.track_ids() == {tid}
        assert p.verified_frames() == [5]
        (d,) = p.detections(run, frame=5)
        assert (d.x, d.y, d.w, d.h, d.confidence, d.class_id) == (1, 2, 3, 4, pytest.approx(0.3), 1)
        assert np.allclose(d.class_scores, [0.1, 0.3])
        assert p.detected_frames(run) == {5, 6}
        assert p.box_scores()[box.id] == (0.7, {"least_confidence": 0.58})
        assert p.frame_scores() == {5: (0.7, ["track 1 near threshold"])}
        (act,) = [a for a in p.actions() if a.kind == "draw"]
        assert act.id == aid and act.actor == "human"


def test_scores_of_deleted_boxes_are_dropped_and_frame_scores_update_in_place(project):
    with project.action("draw"):
        tid = add_track(project, [1, 2])
    kept, gone = project.boxes(track_id=tid)
    with project.action("delete"):
        project.delete_box(gone.id)
    # a scorer that read both boxes before the deletion writes both scores afterwards
    project.set_box_scores([(kept.id, 0.5, {}), (gone.id, 0.6, {})])
    assert project.box_scores() == {kept.id: (0.5, {})}
    project.set_frame_scores([(1, 0.5, ["a"]), (2, 0.6, ["b"]), (3, 0.7, ["c"])])
    project.update_frame_scores([(2, 0.0, []), (3, 0.9, ["d"]), (4, 0.1, ["e"])])
    assert project.frame_scores() == {1: (0.5, ["a"]), 3: (0.9, ["d"]), 4: (0.1, ["e"])}


def test_writes_outside_an_action_are_refused(project):
    with pytest.raises(RuntimeError, match="inside"):
        project.new_track()


def test_undo_redo_restore_exact_states(project):
    with project.action("prelabel", MACHINE):
        tid = add_track(project, range(10))
    before = project.boxes()
    with project.action("fix") as fix:
        project.put_box(project.boxes(frame=3)[0].with_(x=99.0, source=Source.HUMAN, verified=True))
        project.set_frame_verified(3)
    with project.action("repropagate", MACHINE, parent=fix):
        for b in project.boxes(track_id=tid):
            if not b.verified:
                project.put_box(b.with_(x=b.x + 1, source=Source.TRACKER))
        project.delete_box(project.boxes(frame=9)[0].id)
    after = project.boxes()
    assert project.undo() == fix
    assert project.boxes() == before and project.verified_frames() == []
    assert project.redo() == fix
    assert project.boxes() == after and project.verified_frames() == [3]
    assert project.undo() == fix
    with project.action("delete"):  # a new edit clears the redo stack
        project.delete_box(project.boxes(frame=0)[0].id)
    assert project.redo() is None


def test_a_crafted_change_log_cannot_turn_undo_into_sql(tmp_path, project):
    """A table name from the file pasted into SQL once let one undo delete every verified box."""
    with project.action("draw") as draw:
        add_track(project, range(3), verified=True, source=Source.HUMAN)
    with project.action("draw"):
        add_track(project, [5], verified=True, source=Source.HUMAN)
    kept = project.boxes()
    project.close()
    conn = sqlite3.connect(tmp_path / "p.vlp")
    last = conn.execute("SELECT max(id) FROM actions").fetchone()[0]
    conn.execute("UPDATE changes SET tbl = 'boxes WHERE verified = 1 OR ? --' "
                 "WHERE action_id = ? AND tbl = 'boxes'", (last,))
    conn.commit(), conn.close()
    with Project.open(tmp_path / "p.vlp") as p:
        with pytest.raises(ProjectError, match="the project file was altered"):
            p.undo()
        assert p.boxes() == kept and len(kept) == 4 and p.action_state(draw) == "done"


def test_undo_of_class_merge_keeps_ids_contiguous(project):
    with project.action("add"):
        add_track(project, range(3), cls=1)
        project.add_class("bike")
    snapshot = (project.class_names(), project.boxes())
    with project.action("merge"):
        project.merge_class(0, 1)
    assert project.class_names() == ["car", "bike"]
    assert {b.class_id for b in project.boxes()} == {0}
    project.undo()
    assert (project.class_names(), project.boxes()) == snapshot


def test_machine_never_rewrites_human_verified_work(project):
    with project.action("draw"):
        tid = add_track(project, [4], verified=True, source=Source.HUMAN)
        project.set_frame_verified(7)
    box = project.boxes()[0]
    with pytest.raises(sqlite3.IntegrityError, match="human-verified box"):
        with project.action("propagate", MACHINE):
            project.put_box(box.with_(x=0.0))
    with pytest.raises(sqlite3.IntegrityError, match="human-verified box"):
        with project.action("propagate", MACHINE):
            project.delete_box(box.id)
    with pytest.raises(sqlite3.IntegrityError, match="human-verified frame"):
        with project.action("propagate", MACHINE):
            project.put_box(Box(7, tid, 0, 1, 1, 5, 5))
    assert project.boxes() == [box]


KILLER = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, {root!r})
    from vidlabel.datamodel import Box
    from vidlabel.store.project import Project
    p = Project.open(sys.argv[1])
    with p.action("bulk"):
        t = p.new_track()
        for f in range(2000):
            p.put_box(Box(f, t, 0, 1, 1, 5, 5))
            if f == 1000:
                os.kill(os.getpid(), 9)
""")


def test_kill_mid_transaction_leaves_no_partial_change(tmp_path):
    path = tmp_path / "p.vlp"
    with Project.create(path, REF, classes=["person"]) as p:
        with p.action("one"):
            add_track(p, [0, 1])
    proc = subprocess.run([sys.executable, "-c", KILLER.format(root=str(ROOT)), str(path)])
    assert proc.returncode == -9
    with Project.open(path) as p:
        assert len(p.boxes()) == 2
        assert [a.kind for a in p.actions()] == ["create", "one"]
        with p.action("after"):  # and it is writable again
            add_track(p, [5])


def test_second_writer_is_refused(tmp_path, project):
    code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from vidlabel.store.project import Project; Project.open({str(project.path)!r})"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode != 0 and "ProjectInUseError" in proc.stderr
    with pytest.raises(ProjectInUseError):
        Project.open(project.path)
    with Project.open(project.path, readonly=True) as reader:  # readers are welcome
        assert reader.class_names() == ["person", "car"]


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"this is not a database at all" * 10, "not an SQLite file"),
])
def test_non_projects_give_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.vlp"
    path.write_bytes(content)
    with pytest.raises(ProjectError, match=message):
        Project.open(path)
    assert path.read_bytes() == content


def test_truncated_and_corrupt_projects_are_refused_unchanged(tmp_path):
    path = tmp_path / "p.vlp"
    with Project.create(path, REF, classes=["person"]) as p:
        with p.action("many"):
            add_track(p, range(3000))
    data = path.read_bytes()
    truncated = tmp_path / "trunc.vlp"
    truncated.write_bytes(data[: len(data) // 2])
    corrupt = tmp_path / "corrupt.vlp"
    corrupt.write_bytes(data[:8192] + bytes(range(256)) * 64 + data[8192 + 16384:])
    for bad in (truncated, corrupt):
        before = bad.read_bytes()
        with pytest.raises(ProjectError, match="corrupt"):
            Project.open(bad)
        assert bad.read_bytes() == before


def test_other_sqlite_files_and_newer_schemas_are_refused(tmp_path):
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t(x)").connection.close()
    with pytest.raises(ProjectError, match="not a vidlabel project"):
        Project.open(other)
    path = tmp_path / "p.vlp"
    Project.create(path, REF).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(ProjectError, match="newer vidlabel"):
        Project.open(path)
    assert path.read_bytes() == before


def test_create_refuses_to_overwrite(project):
    with pytest.raises(ProjectError, match="already exists"):
        Project.create(project.path)


def test_a_project_in_a_read_only_folder_is_read_and_nothing_is_left_beside_it(tmp_path, monkeypatch):
    """A reader in WAL mode needs a -shm file: on a read-only mount that used to read as
    "corrupt or not a project". Root writes anywhere, so the folder's state is faked."""
    with Project.create(tmp_path / "p.vlp", REF, classes=["person"]) as p, p.action("prelabel", MACHINE):
        add_track(p, range(5))
    monkeypatch.setattr("vidlabel.store.schema.os.access", lambda path, mode: False)
    with Project.open(tmp_path / "p.vlp", readonly=True) as p:
        assert len(p.boxes()) == 5 and p.class_names() == ["person"]
    assert sorted(f.name for f in tmp_path.iterdir()) == ["p.vlp"]
