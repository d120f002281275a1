"""Ignore regions (schema 2): stored, read by frame, undone like any edit; v1 projects migrate."""

from __future__ import annotations

import sqlite3

import pytest

from vidlabel.datamodel import Box, IgnoreRegion, VideoRef
from vidlabel.errors import ProjectError
from vidlabel.store.project import Project
from vidlabel.store.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION

REF = VideoRef("/data/clip.mp4", 80, 7.0, 768, 576, "abc123")


def make_v1_project(path) -> None:
    """A project file exactly as the schema-1 vidlabel wrote it, with one box in it."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(
        f"PRAGMA application_id = {APPLICATION_ID}; BEGIN; {MIGRATIONS[1]} "
        "INSERT INTO classes VALUES (0, 'person'); INSERT INTO tracks VALUES (1, '');"
        "INSERT INTO boxes(frame, track_id, class_id, x, y, w, h, source) "
        "VALUES (3, 1, 0, 1, 2, 3, 4, 'human'); COMMIT; PRAGMA user_version = 1;")
    conn.close()


def test_v1_project_migrates_and_keeps_its_boxes(tmp_path):
    path = tmp_path / "old.vlp"
    make_v1_project(path)
    with pytest.raises(ProjectError, match="old schema"):
        Project.open(path, readonly=True)
    with Project.open(path) as p:
        assert [(b.frame, b.xywh) for b in p.boxes()] == [(3, (1, 2, 3, 4))]
        assert p.ignore_regions() == []
        with p.action("import"):
            p.add_ignore_region(IgnoreRegion(3, 0, 5, 6, 7, 8, track_id=1))
    with Project.open(path, readonly=True) as p:
        assert [r.xywh for r in p.ignore_regions(frame=3)] == [(5, 6, 7, 8)]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_regions_round_trip_by_frame_and_undo(tmp_path):
    with Project.create(tmp_path / "p.vlp", REF, ["person", "car"]) as p:
        with p.action("import"):
            a = p.add_ignore_region(IgnoreRegion(4, 1, 1.5, -2.0, 10.25, 20.0, track_id=7, occluded=True))
            p.add_ignore_region(IgnoreRegion(9, 0, 0, 0, 1, 1))
        assert p.ignore_regions(frame=4) == [a]
        assert a.id is not None and a.track_id == 7 and a.occluded and a.class_id == 1
        assert [r.frame for r in p.ignore_regions()] == [4, 9]
        p.undo()
        assert p.ignore_regions() == []
        p.redo()
        assert len(p.ignore_regions()) == 2
        with p.action("delete"):
            p.delete_ignore_region(a.id)
        assert [r.frame for r in p.ignore_regions()] == [9]


@pytest.mark.parametrize("kwargs", [dict(w=0), dict(h=-1), dict(x=float("nan")), dict(frame=-1)])
def test_invalid_regions_are_refused(kwargs):
    fields = dict(frame=0, class_id=0, x=0.0, y=0.0, w=1.0, h=1.0) | kwargs
    with pytest.raises(ValueError):
        IgnoreRegion(**fields)


def test_track_ids_from_outside_are_kept(tmp_path):
    with Project.create(tmp_path / "p.vlp", REF, ["person"]) as p:
        with p.action("import"):
            assert p.new_track(track_id=42) == 42
            p.put_box(Box(0, 42, 0, 1, 1, 2, 2))
            assert p.new_track() == 43
            with pytest.raises(ProjectError, match="track 42 already exists"):
                p.new_track(track_id=42)


def test_merging_classes_moves_regions_too(tmp_path):
    with Project.create(tmp_path / "p.vlp", REF, ["person", "pedestrian", "car"]) as p:
        with p.action("import"):
            p.add_ignore_region(IgnoreRegion(0, 1, 0, 0, 5, 5))
            p.add_ignore_region(IgnoreRegion(1, 2, 0, 0, 5, 5))
        with p.action("merge"):
            p.merge_class(1, 0)
        assert p.class_names() == ["person", "car"]
        assert [r.class_id for r in p.ignore_regions()] == [0, 1]
        p.undo()
        assert [r.class_id for r in p.ignore_regions()] == [1, 2]


def test_a_v5_project_gains_candidate_tracks_and_its_old_track_changes_still_undo(tmp_path):
    """Schema 6 adds `tracks.candidate`; track rows logged before it are rewritten with the
    column, so undoing an edit made under schema 5 still restores them."""
    path = tmp_path / "old.vlp"
    make_v1_project(path)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(   # schema 5, and a track deleted by a logged action, as vidlabel 5 did it
        "BEGIN; " + " ".join(MIGRATIONS[v] for v in range(2, 6))
        + "INSERT INTO actions(id, time, actor, kind, detail) VALUES (1, 0, 'human', 'delete-track', '{}');"
        "UPDATE log_state SET enabled = 1, action_id = 1, actor = 'human';"
        "DELETE FROM boxes; DELETE FROM tracks; UPDATE log_state SET enabled = 0;"
        "COMMIT; PRAGMA user_version = 5;")
    conn.close()
    with Project.open(path) as p:
        assert p.tracks() == [] and p.undo() == 1
        assert [(t.id, t.candidate) for t in p.tracks()] == [(1, False)] and len(p.boxes()) == 1
