"""Every correction is one undoable human action with the box model's meaning."""

from __future__ import annotations

import pytest

from vidlabel.datamodel import Box, EditKind, Source, VideoRef, keyframes
from vidlabel.errors import VidlabelError
from vidlabel.review.corrections import Editor
from vidlabel.store.project import MACHINE, Project


@pytest.fixture
def editor(tmp_path):
    p = Project.create(tmp_path / "p.vlp", VideoRef("v.mp4", 50, 7, 100, 100, "f"), ["person", "car"])
    with p.action("prelabel", MACHINE):
        for _ in range(2):
            t = p.new_track()
            for f in range(10):
                p.put_box(Box(f, t, 0, 10.0 * t + f, 10, 20, 40, 0.6, Source.DETECTOR))
    yield Editor(p)
    p.close()


def state(p: Project):
    return p.boxes(), p.verified_frames(), [t.id for t in p.tracks()], p.class_names()


def test_each_edit_is_one_action_and_undoes_exactly(editor):
    p = editor.project
    b = p.boxes(frame=3, track_id=1)[0]
    edits = [
        lambda: editor.add_box(4, (1, 2, 3, 4), 1),
        lambda: editor.move_box(b.id, (5, 5, 30, 50)),
        lambda: editor.accept_box(p.boxes(frame=5, track_id=2)[0].id),
        lambda: editor.delete_box(p.boxes(frame=6, track_id=2)[0].id),
        lambda: editor.set_occluded(p.boxes(frame=7, track_id=1)[0].id),
        lambda: editor.set_class(2, 1),
        lambda: editor.split_track(1, 5),
        lambda: editor.merge_tracks(1, 2),
        lambda: editor.mark_outside(2, 6),
        lambda: editor.accept_frame(2),
        lambda: editor.set_box_track(p.boxes(frame=8, track_id=1)[0].id, 2),   # a swap
        lambda: editor.delete_track(2),
        lambda: editor.delete_stretch(1, 2, 4),
        lambda: editor.accept_stretch(1, [0, 9]),
        lambda: editor.wrong_from_here(1, 6),
        lambda: editor.wrong_from_here(1, 6, to_track=2),
    ]
    for make in edits:
        before = state(p)
        n = len(p.actions())
        edit = make()
        assert len(p.actions()) == n + 1 and p.actions()[-1].id == edit.action_id
        assert p.actions()[-1].actor == "human"
        after = state(p)
        assert after != before
        assert editor.undo() == edit.action_id and state(p) == before
        assert editor.redo() == edit.action_id and state(p) == after
        editor.undo()


def test_fix_makes_a_human_keyframe_and_accept_keeps_source(editor):
    p = editor.project
    b = p.boxes(frame=3, track_id=1)[0]
    editor.move_box(b.id, (1, 1, 10, 10))
    fixed = p.box(b.id)
    assert fixed.source is Source.HUMAN and fixed.verified and fixed.xywh == (1, 1, 10, 10)
    other = p.boxes(frame=4, track_id=1)[0]
    editor.accept_box(other.id)
    accepted = p.box(other.id)
    assert accepted.source is Source.DETECTOR and accepted.verified and accepted.xywh == other.xywh
    assert [k.frame for k in keyframes(p.boxes(track_id=1))] == [3, 4]


def test_accept_frame_verifies_frame_and_boxes(editor):
    editor.accept_frame(5)
    p = editor.project
    assert p.verified_frames() == [5]
    assert all(b.verified for b in p.boxes(frame=5))


def test_mark_outside_removes_machine_boxes_until_next_keyframe(editor):
    p = editor.project
    editor.move_box(p.boxes(frame=8, track_id=1)[0].id, (0, 0, 5, 5))
    editor.mark_outside(1, 4)
    frames = {b.frame: b for b in p.boxes(track_id=1)}
    assert frames[4].outside and frames[4].verified
    assert set(frames) == {0, 1, 2, 3, 4, 8, 9}  # 9 lies beyond the next keyframe


def test_split_and_merge(editor):
    p = editor.project
    edit = editor.split_track(1, 5)
    new = edit.track_ids[1]
    assert [b.frame for b in p.boxes(track_id=new)] == list(range(5, 10))
    assert [b.frame for b in p.boxes(track_id=1)] == list(range(5))
    editor.merge_tracks(1, new)
    assert [b.frame for b in p.boxes(track_id=1)] == list(range(10))
    assert new not in {t.id for t in p.tracks()}


@pytest.mark.parametrize("call, message", [
    (lambda e: e.move_box(999, (0, 0, 1, 1)), "no box"),
    (lambda e: e.add_box(0, (0, 0, 1, 1), 7), "unknown class"),
    (lambda e: e.set_class(42, 0), "no track"),
    (lambda e: e.merge_tracks(1, 1), "itself"),
    (lambda e: e.delete_track(42), "no track"),
    (lambda e: e.wrong_from_here(1, 3, to_track=42), "no track"),
])
def test_bad_edits_change_nothing(editor, call, message):
    before = state(editor.project)
    with pytest.raises(VidlabelError, match=message):
        call(editor)
    assert state(editor.project) == before


@pytest.mark.parametrize("xywh", [(1, 1, 0, 5), (1, 1, 5, -2), (float("nan"), 1, 5, 5), (1, float("inf"), 5, 5)])
def test_impossible_geometry_is_a_user_error_and_writes_nothing(editor, xywh):
    p = editor.project
    before = state(p), len(p.actions(state=None))
    with pytest.raises(VidlabelError, match="box"):
        editor.add_box(0, xywh, 0)
    with pytest.raises(VidlabelError, match="box"):
        editor.move_box(p.boxes(frame=0)[0].id, xywh)
    assert (state(p), len(p.actions(state=None))) == before


def test_class_edits_are_corrections_each_undone_in_one_step(editor):
    p = editor.project
    assert editor.add_class("bicycle").kind == "add class"
    assert p.class_names() == ["person", "car", "bicycle"]
    editor.rename_class(2, "bike")
    editor.set_class(2, 2)
    editor.merge_classes(1, 0)     # car goes: bike moves down to id 1 and keeps its boxes
    assert p.class_names() == ["person", "bike"]
    assert {b.class_id for b in p.boxes(track_id=2)} == {1}
    for message, bad in [("empty", lambda: editor.add_class("  ")),
                         ("exists already", lambda: editor.rename_class(0, "bike")),
                         ("itself", lambda: editor.merge_classes(1, 1)),
                         ("unknown class", lambda: editor.merge_classes(5, 0))]:
        with pytest.raises(VidlabelError, match=message):
            bad()
    editor.undo()
    assert p.class_names() == ["person", "car", "bike"]
    assert {b.class_id for b in p.boxes(track_id=2)} == {2}
    for _ in range(3):
        editor.undo()
    assert p.class_names() == ["person", "car"]


def test_retracking_onto_a_track_with_a_box_there_swaps_the_two(editor):
    """Two tracks swapped on a frame is an everyday fix; it used to be refused (and crashed the
    simulator's replay)."""
    p = editor.project
    editor.accept_box(p.boxes(frame=8, track_id=2)[0].id)   # a person's box: the swap stops there
    before = {(b.frame, b.track_id): b.xywh for b in p.boxes()}
    one, two = p.boxes(frame=4, track_id=1)[0], p.boxes(frame=4, track_id=2)[0]
    editor.set_box_track(one.id, 2)
    now_two, now_one = p.boxes(frame=4, track_id=2)[0], p.boxes(frame=4, track_id=1)[0]
    assert now_two.xywh == one.xywh and now_two.verified
    assert now_one.xywh == two.xywh and not now_one.verified
    # the switch persists: the two tracks' machine boxes swap up to the next verified box
    after = {(b.frame, b.track_id): b.xywh for b in p.boxes()}
    for f in range(10):
        swapped = 4 <= f < 8
        assert after[(f, 1)] == before[(f, 2 if swapped else 1)]
        assert after[(f, 2)] == before[(f, 1 if swapped else 2)]
    assert [a.kind for a in p.actions(actor="human")][-1] == "retrack"
    editor.undo()
    assert {(b.frame, b.track_id): b.xywh for b in p.boxes()} == before
    editor.redo()
    editor.accept_box(now_one.id)
    with pytest.raises(VidlabelError, match="verified box"):   # a person's box keeps its track
        editor.set_box_track(now_two.id, 1)


def test_deleting_a_track_is_one_action_and_one_undo_restores_it_whole(editor):
    p = editor.project
    before = state(p)
    edit = editor.delete_track(2)
    assert p.boxes(track_id=2) == [] and 2 not in p.track_ids()
    assert [a.kind for a in p.actions(actor="human")] == ["delete track"]
    assert editor.undo() == edit.action_id and state(p) == before


@pytest.mark.parametrize("correct", [
    lambda e: e.delete_track(1),
    lambda e: e.delete_stretch(1, 0, 9),
    lambda e: e.wrong_from_here(1, 0),
    lambda e: e.wrong_from_here(1, 0, to_track=2),
    lambda e: e.set_class(1, 1),
    lambda e: e.split_track(1, 4),
    lambda e: e.mark_outside(1, 2),
])
def test_verified_boxes_survive_every_track_correction(editor, correct):
    p = editor.project
    keep = [editor.accept_box(p.boxes(frame=f, track_id=1)[0].id).boxes[0] for f in (3, 7)]
    correct(editor)
    for k in keep:
        now = p.box(k.id) or next(b for b in p.boxes(frame=k.frame) if b.verified and b.xywh == k.xywh)
        assert now.verified and now.xywh == k.xywh and now.frame == k.frame


def test_wrong_from_here_moves_the_tail_where_the_other_track_is_free(editor):
    p = editor.project
    editor.delete_stretch(2, 7, 9)
    tail = {b.frame: b.xywh for b in p.boxes(track_id=1) if b.frame >= 5}
    editor.wrong_from_here(1, 5, to_track=2)
    assert [b.frame for b in p.boxes(track_id=1)] == list(range(5))
    moved = {b.frame: b.xywh for b in p.boxes(track_id=2) if b.frame >= 7}
    assert moved == {f: tail[f] for f in (7, 8, 9)}   # frames 5, 6: track 2 had its own box


def test_deleting_a_second_box_of_an_object_deletes_the_track_s_run_of_duplicates(editor):
    """Track 3 sits on track 1's object on frames 2-7 (and elsewhere on frames 8-9): deleting
    its box on frame 4 as a duplicate takes its duplicates up to a verified box (frame 3) and
    on to frame 7, in one action."""
    p = editor.project
    with p.action("prelabel", MACHINE):
        t = p.new_track()
        for f in range(2, 10):
            x = 10.0 + f + (0.5 if f < 8 else 40.0)
            p.put_box(Box(f, t, 0, x, 10, 20, 40, 0.4, Source.DETECTOR))
    editor.accept_box(p.boxes(frame=3, track_id=t)[0].id)     # a person's box is kept
    edit = editor.delete_box(p.boxes(frame=4, track_id=t)[0].id)
    assert sorted(b.frame for b in p.boxes(track_id=t)) == [2, 3, 8, 9]
    assert [b.frame for b in p.boxes(track_id=1)] == list(range(10))
    editor.undo()
    assert len(p.boxes(track_id=t)) == 8 and edit.kind == EditKind.DELETE
