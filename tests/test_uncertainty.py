"""Uncertainty signals on constructed cases: each signal fires where it should and ranks right."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vidlabel.datamodel import Box, Source
from vidlabel.errors import ScoringError
from vidlabel.review.scorer import Scorer
from vidlabel.review.signals import (
    aggregate,
    class_distribution,
    entropy_signal,
    margin_signal,
    near_threshold_signal,
)
from vidlabel.store.project import HUMAN

from .reviewkit import THR, add_detections, add_track, make_project, scored


def box_signals(scorer, frame, track):
    return next(b for b in scorer.frames()[frame].boxes if b.track_id == track).signals


def test_borderline_box_scores_above_a_confident_one(tmp_path):
    p = make_project(tmp_path, 20)
    sure = add_track(p, [5], confidence=0.92)
    border = add_track(p, [6], xywh=(300, 100, 40, 80), confidence=THR + 0.01)
    add_detections(p, {5: [(100, 100, 40, 80, 0.92)], 6: [(300, 100, 40, 80, THR + 0.01)]})
    s = scored(p)
    assert box_signals(s, 6, border)["near_threshold"] > 0.9
    assert box_signals(s, 5, sure)["near_threshold"] == 0.0
    assert s.frame_scores()[6] > s.frame_scores()[5]
    assert "1 box near threshold" in s.frames()[6].reasons


def test_margin_and_entropy_use_normalised_class_scores_else_confidence():
    tied = class_distribution(0.5, np.array([0.5, 0.45, 0.0], np.float32))
    clear = class_distribution(0.9, np.array([0.9, 0.01, 0.01], np.float32))
    assert tied.sum() == pytest.approx(1) and clear.sum() == pytest.approx(1)
    assert margin_signal(tied) > 0.9 > 0.1 > margin_signal(clear)
    assert entropy_signal(tied) > entropy_signal(clear)
    # without a class vector the two outcomes are (conf, 1 - conf): 0.5 is the least certain
    assert margin_signal(class_distribution(0.5, None)) == pytest.approx(1)
    assert entropy_signal(class_distribution(0.5, None)) == pytest.approx(1)
    assert margin_signal(class_distribution(0.99, None)) < 0.05
    assert near_threshold_signal(THR, THR) == 1 and near_threshold_signal(0.9, THR) == 0


def test_class_vector_of_the_matched_detection_drives_margin(tmp_path):
    p = make_project(tmp_path, 10)
    a = add_track(p, [1], confidence=0.8)
    b = add_track(p, [2], confidence=0.8)
    add_detections(p, {1: [(100, 100, 40, 80, 0.8, [0.8, 0.75])], 2: [(100, 100, 40, 80, 0.8, [0.8, 0.02])]})
    s = scored(p)
    assert box_signals(s, 1, a)["margin"] > 0.9 > 0.2 > box_signals(s, 2, b)["margin"]


def test_disagreement_between_tracker_box_and_detection(tmp_path):
    p = make_project(tmp_path, 10)
    good = add_track(p, [3], xywh=(100, 100, 40, 80), source=Source.TRACKER)
    drift = add_track(p, [3], xywh=(400, 100, 40, 80), source=Source.TRACKER)
    lonely = add_track(p, [3], xywh=(250, 300, 40, 80), source=Source.TRACKER)
    add_detections(p, {3: [(101, 100, 40, 80, 0.9), (420, 110, 40, 80, 0.9), (550, 10, 30, 30, 0.8)]})
    s = scored(p)
    assert box_signals(s, 3, good)["disagreement"] < 0.1
    assert box_signals(s, 3, drift)["disagreement"] > 0.4
    assert box_signals(s, 3, lonely)["no_detection"] == 1
    extra = s.frames()[3].extra
    assert [e.name for e in extra] == ["unmatched_detection"] and extra[0].value == pytest.approx(0.8)


def test_temporal_signals(tmp_path):
    p = make_project(tmp_path, 100)
    t = add_track(p, range(10, 60), source=Source.TRACKER)
    with p.action("fix", HUMAN):
        p.put_box(Box(10, t, 0, 100, 100, 40, 80, source=Source.HUMAN, verified=True))
        p.put_box(Box(30, t, 0, 100, 100, 40, 80, confidence=0.3, source=Source.INTERPOLATED))
        p.put_box(Box(40, t, 0, 100, 100, 40, 80, confidence=0.5, source=Source.TRACKER))
        p.delete_box(p.boxes(frame=45, track_id=t)[0].id)
    s = scored(p)
    assert "birth" not in box_signals(s, 11, t)
    assert box_signals(s, 59, t)["death"] == 1
    assert box_signals(s, 30, t)["tracker_lost"] == 1
    assert box_signals(s, 40, t)["tracker_drop"] == pytest.approx(min(1, 0.4 / 0.3))
    far = [box_signals(s, f, t)["far_from_keyframe"] for f in (11, 20, 50)]
    assert far == sorted(far) and far[0] < 0.05 and far[2] > 0.7
    assert [e.name for e in s.frames()[45].extra] == ["track_gap"]
    assert s.frames()[10].score == 0  # a verified box is done


def test_unchecked_track_birth_scores_and_frame_zero_is_no_birth(tmp_path):
    p = make_project(tmp_path, 50)
    early = add_track(p, range(0, 10))
    late = add_track(p, range(20, 30), xywh=(300, 100, 40, 80))
    s = scored(p)
    assert "birth" not in box_signals(s, 0, early)
    assert box_signals(s, 20, late)["birth"] == 1
    assert box_signals(s, 20, late)["far_from_keyframe"] == 1  # no keyframe at all


def test_aggregates_and_their_errors():
    assert aggregate([0.2, 0.6], "max") == 0.6
    assert aggregate([0.2, 0.6], "sum") == pytest.approx(0.8)
    assert aggregate([0.2, 0.6], "mean") == pytest.approx(0.4)
    assert aggregate([], "mean") == 0
    with pytest.raises(ScoringError, match="unknown aggregate"):
        aggregate([1.0], "median")


def test_aggregate_is_a_parameter_of_the_frame_score(tmp_path):
    p = make_project(tmp_path, 10)
    add_track(p, [2], confidence=0.5)
    add_track(p, [2], xywh=(300, 100, 40, 80), confidence=0.9)
    scores = {how: scored(p, how=how).frame_scores()[2] for how in ("max", "sum", "mean")}
    assert scores["sum"] > scores["max"] > scores["mean"] > 0


def test_verified_frame_scores_zero_and_incremental_rescore_matches_full(tmp_path):
    p = make_project(tmp_path, 60)
    t = add_track(p, range(0, 60), source=Source.TRACKER, confidence=0.6, dx=1)
    add_track(p, range(5, 40), xywh=(300, 50, 30, 60), confidence=0.4)
    add_detections(p, {f: [(100 + f, 100, 40, 80, 0.7)] for f in range(0, 60, 2)}, frames=range(60))
    s = scored(p)
    with p.action("accept", HUMAN):
        for b in p.boxes(frame=20):
            p.put_box(b.with_(verified=True))
        p.set_frame_verified(20)
    s.rescore(tracks=[b.track_id for b in p.boxes(frame=20)], frames=[20])
    assert s.frame_scores()[20] == 0
    full = scored(p)
    assert s.frame_scores() == pytest.approx(full.frame_scores())
    assert {f: st.reasons for f, st in s.frames().items()} == {f: st.reasons for f, st in full.frames().items()}
    stored = p.frame_scores()
    assert stored[21][0] == pytest.approx(s.frame_scores()[21]) and 20 not in stored
    assert math.isclose(p.box_scores()[p.boxes(frame=21, track_id=t)[0].id][0],
                        next(b.score for b in s.frames()[21].boxes if b.track_id == t))


@pytest.mark.parametrize("n", [40, 320])  # 320: keyframes further apart than FAR_FRAMES
def test_incremental_rescoring_equals_a_full_rescore_after_random_edits(tmp_path, n):
    p = make_project(tmp_path, n)
    rng = np.random.default_rng(5)
    k = n // 40
    tracks = [add_track(p, range(a * k, b * k), xywh=(60 * i, 100, 40, 80), source=Source.TRACKER,
                        confidence=float(rng.uniform(0.3, 0.9)), dx=0.7 / k)
              for i, (a, b) in enumerate([(0, 40), (5, 30), (10, 38), (0, 12)])]
    add_detections(p, {f: [(60 * i + 0.7 * f / k + rng.normal(0, 3), 100, 40, 80, float(rng.uniform(0.1, 0.9)))
                           for i in range(4)] for f in range(0, n, 3)}, frames=range(n))
    s = scored(p)
    for step in range(25):
        t = int(rng.choice(tracks))
        boxes = p.boxes(track_id=t)
        b = boxes[int(rng.integers(len(boxes)))]
        kind = step % 5
        with p.action("edit", HUMAN):
            if kind == 0:
                p.put_box(b.with_(x=b.x + 5, source=Source.HUMAN, verified=True))
            elif kind == 1 and not b.verified:
                p.delete_box(b.id)
            elif kind == 2:
                p.put_box(b.with_(confidence=float(rng.uniform(0.1, 0.9)), source=Source.INTERPOLATED))
            elif kind == 3:
                p.set_frame_verified(b.frame)
                for other in p.boxes(frame=b.frame):
                    p.put_box(other.with_(verified=True))
            else:
                p.put_box(Box(min(n - 1, b.frame + 3), t, 0, b.x, b.y, b.w, b.h, confidence=0.5,
                              source=Source.TRACKER))
        if step % 2:  # told which track changed: it is read again whole
            s.rescore(tracks=[t], frames=[b.frame])
        else:         # told only which frames changed: the tracks' contexts follow from the mirror
            s.rescore(frames={b.frame, min(n - 1, b.frame + 3)})
        stored = p.frame_scores()  # only the frames whose score changed were written
        full = scored(p)
        assert stored == p.frame_scores(), step
        got, want = s.frames(), full.frames()
        assert {f: (st.score, st.reasons) for f, st in got.items()} == \
               {f: (st.score, st.reasons) for f, st in want.items()}, step
        assert {f: sorted((b.track_id, b.score) for b in st.boxes) for f, st in got.items()} == \
               {f: sorted((b.track_id, b.score) for b in st.boxes) for f, st in want.items()}


def test_full_rescore_stops_between_chunks_when_asked(tmp_path, monkeypatch):
    monkeypatch.setattr("vidlabel.review.scorer.RESCORE_CHUNK", 10)
    p = make_project(tmp_path, 60)
    add_track(p, range(60), confidence=0.5)
    s = Scorer(p, accept_threshold=THR)
    asked = []
    assert not s.rescore_all(stop=lambda: asked.append(1) or len(asked) > 2)
    assert len(s.frames()) == 20 and p.frame_scores() == {}  # two chunks scored, none stored
    assert s.rescore_all() and len(s.frames()) == 60 and len(p.frame_scores()) == 60


def test_the_quality_estimate_is_the_simulator_s_f1_of_the_expected_errors():
    """1,000 boxes, 10 expected wrong (5 misplaced: false boxes whose objects are missed too; 5
    false) and 5 missed objects: TP 990, FP 10, FN 10: F1 = 1980 / (1980 + 10 + 10). A box on
    the right object under another object's track costs recall only."""
    from vidlabel.review.stopping import errors_to_remove, f1, guidance

    assert f1(1000, 10, 0, 10) == pytest.approx(1980 / 2000)
    assert f1(1000, 0, 10, 0) == pytest.approx(2 * 0.99 / 1.99)     # precision 1, recall 0.99
    assert f1(0, 0, 0, 0) == 1.0 and f1(0, 0, 0, 3) == 0.0
    p = np.tile([0.05, 0.05, 0.0], (100, 1))                         # misplaced, false, identity
    g = guidance(p, 1000, 5.0, {"fix": 0, "delete": 0}, 0.0, 0, 100, 0.99)
    low, high = g["quality_interval"]
    assert g["estimated_quality"] == pytest.approx(0.99) and low < g["estimated_quality"] < high
    assert g["stop"] is False                  # nobody has verified anything: no stop yet
    assert g["errors_left"]["missed_objects"] == 5.0
    assert g["errors_left"]["misplaced"] == pytest.approx(5.0) and g["errors_left"]["false"] == pytest.approx(5.0)
    done = guidance(np.full((100, 3), 0.0003), 1000, 0.1, {"fix": 2, "accept": 5}, 60.0, 5, 95, 0.99)
    assert done["stop"] and done["seconds_to_target"] == 0.0
    # F1 0.995 needs FP + FN <= 10.05 of the 20: about half of the 15 errors must go
    removed = errors_to_remove(1000, np.array([5.0, 5.0, 0.0]), 5.0, 0.995)
    assert removed == pytest.approx(7.5, abs=0.1)


def test_missed_objects_are_learned_from_draws_and_fall_near_verified_frames():
    """Frames reviewed far from any verified frame had an object drawn on them, those reviewed
    next to one had none (what was drawn there had been propagated): the learned estimate
    expects misses far from verified frames and few next to them, where the draws-per-frame rate
    expected the same everywhere. Without examples it is the unclaimed detections."""
    from vidlabel.review.stopping import MissedObjects, missed_features

    model = MissedObjects()
    far, near = missed_features(0.0, 40), missed_features(0.0, 1)
    assert model.expected(np.array([missed_features(0.7, 40), missed_features(0.5, 1)])) == pytest.approx(1.2)
    for _ in range(10):
        model.observe(far, 1)
        model.observe(near, 0)
    assert model.expected(np.array([far])) > 0.7 and model.expected(np.array([near])) < 0.3
    assert model.expected(np.zeros((0, 2))) == 0.0
