"""Track picks and the track error model learned from the person's verdicts."""

from __future__ import annotations

import pytest

from vidlabel.datamodel import Box, Source
from vidlabel.review.session import ReviewSession
from vidlabel.review.track_review import TrackErrorModel, crop_frames, track_features
from vidlabel.store.files import create_project
from vidlabel.store.project import MACHINE

from .conftest import SAMPLE


def scene(tmp_path, tiny: list[float]):
    """Three real walkers (tall, confidently detected) and tiny weak tracks of the confidences
    given (what a guideline that leaves far-away people out does not want)."""
    project, video = create_project(SAMPLE, tmp_path / "p.vlp", ["person"])
    real, false = [], []
    with project.action("prelabel", MACHINE):
        for k in range(3):
            t = project.new_track()
            real.append(t)
            for f in range(0, 60):
                project.put_box(Box(f, t, 0, 100.0 + 150 * k + f, 200.0, 40.0, 100.0,
                                    confidence=0.85, source=Source.DETECTOR))
        for k, conf in enumerate(tiny):
            t = project.new_track()
            false.append(t)
            for f in range(10, 50):
                project.put_box(Box(f, t, 0, 20.0 + 60 * k, 30.0 + f / 4, 10.0, 22.0,
                                    confidence=conf, source=Source.DETECTOR))
    return project, video, real, false


def test_a_track_pick_shows_the_ends_and_the_least_sure_frames():
    scores = {f: 0.1 for f in range(10, 50)} | {23: 0.9, 31: 0.8, 40: 0.7}
    assert crop_frames(scores) == (10, 23, 31, 49)


def test_the_model_learns_what_the_person_deletes():
    model = TrackErrorModel()
    tiny, tall = [0.6, 1.0, 3.0, 3.7, 0.5, 0.5], [0.6, 1.0, 4.6, 4.1, 0.5, 0.5]   # only size differs
    assert model.p_false(tiny) == pytest.approx(0.4)          # before verdicts: the evidence
    for _ in range(3):
        model.observe(tiny, True)
        model.observe(tall, False)
    assert model.learned and model.p_false(tiny) > 0.5 > model.p_false(tall)


def test_after_three_tiny_tracks_are_deleted_a_fourth_ranks_first_as_a_track_pick(tmp_path):
    project, video, real, false = scene(tmp_path, [0.4, 0.42, 0.45, 0.62])
    session = ReviewSession(project, video, background=False, tracker="kcf")
    try:
        first = session.next_batch(5, "tracks-first")
        offered = [p.track_id for p in first if p.crops]
        assert set(offered) == set(false[:3])   # by their own weak evidence; the 0.62 one is not
        for t in false[:3]:
            session.delete_track(t, shown=4)
        for t in real[:2]:                      # and the person accepted two real ones
            session.accept_stretch(t, [10, 30])
        again = session.next_batch(5, "tracks-first")
        assert again[0].crops and again[0].track_id == false[3]
        assert again[0].score > 0.5 and "P(false)" in again[0].reasons[0]
        assert all(not p.crops or p.track_id not in real for p in again)
    finally:
        session.close()
        video.close()
        project.close()


def test_track_features_read_confidence_detection_share_size_and_length():
    boxes = [Box(f, 1, 0, 0, 0, 10, 20, confidence=0.5, source=Source.DETECTOR if f % 2 else Source.TRACKER)
             for f in range(10)]
    conf, share, height, length, x, y = track_features(boxes, 100, 40)
    assert conf == pytest.approx(0.5) and share == pytest.approx(0.5)
    assert (x, y) == (pytest.approx(0.05), pytest.approx(0.25))
    assert height == pytest.approx(2.9957, abs=1e-3) and length == pytest.approx(2.3026, abs=1e-3)


def candidate_scene(tmp_path):
    """The scene's three walkers, and one candidate track (a tiny weak figure, frames 10-49)."""
    project, video, real, false = scene(tmp_path, [])
    with project.action("prelabel", MACHINE):
        cand = project.new_track(candidate=True)
        for f in range(10, 50):
            project.put_box(Box(f, cand, 0, 700.0, 30.0, 10.0, 22.0, confidence=0.3,
                                source=Source.DETECTOR))
    return project, video, real, cand


def test_a_candidate_is_no_annotation_until_a_person_confirms_it(tmp_path):
    project, video, real, cand = candidate_scene(tmp_path)
    session = ReviewSession(project, video, background=False, tracker="kcf")
    try:
        assert {b.track_id for b in session.all_boxes()} == set(real)
        assert cand not in {b.track_id for b in session.boxes(20)}
        # every strategy asks about it first, as a track pick of its ends and least sure boxes
        for strategy in ("hybrid", "random", "tracks-first"):
            first = session.next_batch(3, strategy)[0]
            assert (first.track_id, first.crops[0], first.crops[-1]) == (cand, 10, 49)
        session.accept_stretch(cand, list(first.crops))
        session.wait_idle()
        assert not project.candidate_tracks()
        assert sum(b.track_id == cand for b in session.all_boxes()) == 40
        assert all(not p.crops for p in session.next_batch(3, "hybrid"))
        session.undo()   # one undo: a candidate again, its boxes unverified
        session.wait_idle()
        assert project.candidate_tracks() == {cand}
        assert not any(b.verified for b in project.boxes(track_id=cand))
    finally:
        session.close()


def test_a_box_drawn_on_a_candidate_adopts_it_and_an_accepted_frame_drops_it(tmp_path):
    project, video, real, cand = candidate_scene(tmp_path)
    session = ReviewSession(project, video, background=False, tracker="kcf")
    try:
        session.accept_frame(12)   # the person saw frame 12 complete without the candidate
        assert not project.boxes(frame=12, track_id=cand) and project.candidate_tracks() == {cand}
        edit = session.add_box(30, (701.0, 31.0, 10.0, 22.0), 0)   # drawn on what it follows
        assert edit.track_ids == (cand,) and not project.candidate_tracks()
        assert sum(b.track_id == cand for b in session.all_boxes()) == 39
    finally:
        session.close()


def test_tracks_like_the_deleted_ones_are_offered_at_once_and_deleted_in_one_action(tmp_path):
    """After three tiny tracks are deleted and two walkers accepted, the other tiny tracks come
    first in every strategy as one "delete all similar" pick, each shown at its two ends. Deleting
    them is one action that pays their crops and one delete, never touches a verified box, and
    one undo restores every track whole."""
    from vidlabel.review.effort import human_seconds

    project, video, real, false = scene(tmp_path, [0.4, 0.42, 0.45, 0.62, 0.6, 0.58])
    session = ReviewSession(project, video, background=False, tracker="kcf")
    try:
        assert all(not p.group for p in session.next_batch(5, "hybrid"))   # nothing learned yet
        for t in false[:3]:
            session.delete_track(t, shown=4)
        for t in real[:2]:
            session.accept_stretch(t, [10, 30])
        rest = false[3:]
        kept = project.boxes(frame=20, track_id=rest[0])[0]
        project_before = {t: len(project.boxes(track_id=t)) for t in rest}
        for strategy in ("hybrid", "tracks-first", "random"):
            group = session.next_batch(5, strategy)[0]
            assert sorted(t for t, _ in group.group) == sorted(rest)
            assert all(frames == (10, 49) for _, frames in group.group)
            assert "like the ones deleted" in group.reasons[0]
        later = session.next_batch(5, "tracks-first")[1:]
        assert all(p.track_id not in rest for p in later)      # not asked about twice in a batch
        session.accept_box(kept.id)                           # the person kept one crop
        spent = human_seconds(project)
        session.delete_tracks(rest, shown=2 * len(rest))
        session.wait_idle()
        assert human_seconds(project) == spent + 2 * len(rest) + 1
        assert [b.id for b in project.boxes(track_id=rest[0])] == [kept.id]
        assert not any(project.boxes(track_id=t) for t in rest[1:])
        session.undo()
        session.wait_idle()
        assert {t: len(project.boxes(track_id=t)) for t in rest} == project_before
    finally:
        session.close()
        video.close()
        project.close()


def test_similar_tracks_need_two_more_likely_false_than_not():
    from vidlabel.review.track_review import similar_false

    tracks = [(3.0, 0.9, 7, (10, 20, 30, 49)), (1.0, 0.4, 8, (0, 9))]
    assert similar_false(tracks, []) == ()                                  # one is not a group
    candidates = [(0.1, 0.2, 9, (5, 6, 7))]                                 # P(real) 0.2
    assert similar_false(tracks, candidates) == ((7, (10, 49)), (9, (5, 7)))
    assert similar_false(tracks, candidates, n=1) == ()
