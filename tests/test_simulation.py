"""The simulated annotator, its time model, quality metrics, ALC and the baselines."""

from __future__ import annotations

import json
import math

import pytest

from vidlabel.datamodel import Box, Source
from vidlabel.errors import FormatError, UnshownFrameError
from vidlabel.review.effort import CONVENTIONAL, TimeModel
from vidlabel.simulation import baselines as B
from vidlabel.simulation.annotator import SimulatedAnnotator
from vidlabel.simulation.curves import area, normalised_alc, seconds_to
from vidlabel.simulation.groundtruth import (
    GroundTruth,
    GTBox,
    ShownFrames,
    load_ground_truth,
)
from vidlabel.simulation.metrics import score
from vidlabel.video import open_video

from .conftest import PETS, SAMPLE, SAMPLE_GT, pets_available
from .test_prelabel import needs_weights


def gt_of(rows, ignore=None, frames=None) -> GroundTruth:
    """rows: (frame, object, x, y, w, h)."""
    objs: dict[int, list[GTBox]] = {}
    for f, o, x, y, w, h in rows:
        objs.setdefault(f, []).append(GTBox(f, o, x, y, w, h))
    n = frames or max(objs) + 1
    return GroundTruth(objs, ignore or {}, n)


def box(frame, track, x, y, w=20, h=40, **kw) -> Box:
    return Box(frame, track, 0, x, y, w, h, **kw)


# -- ground truth ------------------------------------------------------------------------------
def test_mot_reader_keeps_conf_zero_rows_as_ignore_regions(tmp_path):
    p = tmp_path / "gt.txt"
    p.write_text("1,1,10,10,20,40,1,1,1\n1,2,50,10,20,40,0,1,1\n3,1,12,10,20,40,1,1,0.5\n")
    gt = load_ground_truth(p, 3)
    assert gt.frame_count == 3 and gt.box_count() == 2
    assert [o.object_id for o in gt.objects(0)] == [1]
    assert gt.ignore(0) == [(50.0, 10.0, 20.0, 40.0)]
    assert gt.objects(2)[0].xywh == (12.0, 10.0, 20.0, 40.0)
    assert gt.class_names[0] == "person"


def test_coco_ground_truth_reads_tracks_and_crowd_regions(tmp_path):
    p = tmp_path / "gt.json"
    p.write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a_000000.jpg", "frame_index": 0, "width": 640,
                    "height": 480}],
        "categories": [{"id": 1, "name": "person"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 30, 60], "area": 1800,
             "iscrowd": 0, "track_id": 4},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [300, 2, 30, 60], "area": 1800,
             "iscrowd": 1}]}))
    gt = load_ground_truth(p, 2, size=(640, 480))
    assert [(o.object_id, o.xywh) for o in gt.objects(0)] == [(4, (1.0, 2.0, 30.0, 60.0))]
    assert gt.ignore(0) == [(300.0, 2.0, 30.0, 60.0)] and gt.box_count() == 1


def test_bad_ground_truth_is_one_format_error(tmp_path):
    p = tmp_path / "gt.txt"
    p.write_text("1,1,10,10\n")
    with pytest.raises(FormatError, match="columns"):
        load_ground_truth(p, 10)
    p.write_text("11,1,10,10,20,40,1,1,1\n")
    with pytest.raises(FormatError, match="outside the video"):
        load_ground_truth(p, 10)
    with pytest.raises(FormatError, match="does not exist"):
        load_ground_truth(tmp_path / "missing.txt", 10)
    with pytest.raises(FormatError, match="unknown ground truth format"):
        load_ground_truth(p, 10, "yolo")


def test_shown_frames_refuses_unshown_frames():
    view = ShownFrames(gt_of([(0, 1, 0, 0, 10, 10), (1, 1, 1, 0, 10, 10)]))
    view.show(1)
    assert len(view.objects(1)) == 1
    with pytest.raises(UnshownFrameError):
        view.objects(0)
    with pytest.raises(UnshownFrameError):
        view.ignore(0)


# -- the annotator -----------------------------------------------------------------------------
def constructed_frame():
    """Objects 1 (boxed well, and a second time by track 13), 2 (boxed badly), 3 (missed), 4 (left
    the scene: its track 15 lingers), an ignore region with a box on it."""
    gt = gt_of([(0, 4, 300, 10, 20, 40),
                (1, 1, 0, 0, 20, 40), (1, 2, 100, 0, 20, 40), (1, 3, 200, 0, 20, 40)],
               ignore={1: [(400.0, 0.0, 20.0, 40.0)]})
    shown = [box(1, 11, 1, 0), box(1, 12, 110, 5), box(1, 13, 5, 10),
             box(1, 14, 401, 0), box(1, 15, 300, 10)]
    view = ShownFrames(gt)
    view.show(0)
    view.show(1)
    annotator = SimulatedAnnotator(view)
    annotator.remember(15, 4)   # the person saw track 15 on object 4 before
    return annotator, shown


def test_annotator_action_counts_on_a_constructed_frame_are_exact():
    annotator, shown = constructed_frame()
    decisions = annotator.review_frame(1, shown)
    kinds = {(d.kind, d.track_id) for d in decisions}
    assert kinds == {("check", 11), ("fix", 12), ("delete", 13), ("end", 15), ("draw", None),
                     ("accept", None)}
    boxes = B.BoxSet(shown)
    for d in decisions:
        boxes.apply(d, annotator)
    assert dict(annotator.actions) == {"look": 6, "check": 1, "fix": 1, "draw": 1, "delete": 1,
                                       "end": 1}
    assert annotator.seconds == 6 * 1 + 4 + 7 + 1 + 1
    assert CONVENTIONAL.seconds(annotator.actions) == 6 + 4 + 35 + 1 + 1
    assert {b.track_id for b in boxes.frame(1)} == {11, 12, 14, boxes.frame(1)[-1].track_id}
    assert all(b.verified for b in boxes.frame(1))


def test_single_box_pick_looks_at_one_box_and_draws_nothing():
    annotator, shown = constructed_frame()
    decisions = annotator.review_box(1, 12, shown)
    assert [(d.kind, d.track_id) for d in decisions] == [("fix", 12)]
    assert annotator.actions["look"] == 1 and annotator.actions["draw"] == 0
    assert annotator.review_box(1, 99, shown) == []


def test_time_model_is_overridable():
    assert TimeModel(draw=10, look=0.5).seconds({"draw": 2, "look": 4, "fix": 1}) == 20 + 2 + 4


def test_identity_is_repaired_by_moving_the_box_to_the_remembered_track():
    gt = gt_of([(0, 1, 0, 0, 20, 40), (0, 2, 100, 0, 20, 40)])
    view = ShownFrames(gt)
    view.show(0)
    annotator = SimulatedAnnotator(view)
    annotator.remember(7, 1)
    annotator.remember(8, 2)
    # track 8 (object 2's) sits on object 1; object 1's own track 7 has no box here
    decisions = annotator.review_frame(0, [box(0, 8, 0, 0)])
    assert [(d.kind, d.track_id, d.target_track) for d in decisions[:2]] == [
        ("retrack", 8, 7), ("draw", None, 8)]


# -- metrics -----------------------------------------------------------------------------------
def test_quality_counts_identity_and_ignores_ignore_regions():
    gt = gt_of([(f, 1, 10 * f, 0, 20, 40) for f in range(4)] + [(f, 2, 200, 0, 20, 40) for f in range(4)],
               ignore={0: [(500.0, 0.0, 20.0, 40.0)]})
    produced = [box(f, 1, 10 * f, 0) for f in range(3)] + [box(3, 2, 30, 0)]   # switch at frame 3
    produced += [box(f, 2, 200, 0) for f in range(3)]
    produced += [box(0, 9, 500, 0)]                                           # on the ignore region
    produced += [box(1, 9, 700, 0)]                                           # false positive
    q = score(gt, produced)
    # 8 gt boxes; object 1 covered on frames 0-2 (track 1), frame 3 goes to track 2 (object 2's)
    assert q.recall_50 == pytest.approx(6 / 8)
    assert q.precision_50 == pytest.approx(7 / 8)   # the ignore-region box is not counted
    assert q.quality == pytest.approx(2 * (6 / 8) * (7 / 8) / (6 / 8 + 7 / 8))
    assert q.id_switches == 1


def test_recall_at_07_is_stricter():
    gt = gt_of([(0, 1, 0, 0, 20, 40)])
    q = score(gt, [box(0, 1, 4, 0)])      # IoU 16/24 = 0.67
    assert q.recall_50 == 1.0 and q.recall_70 == 0.0


# -- curves ------------------------------------------------------------------------------------
def test_alc_on_hand_computed_curves():
    # x = log2(s) on [3, 7]; (0 s, 0.5) collapses to x=3, (32 s, 1.0) is x=5, flat to x=7
    curve = [(0.0, 0.5), (32.0, 1.0)]
    assert area(curve, 128) == pytest.approx((0.5 + 1.0) / 2 * 2 + 1.0 * 2)
    rand = [(0.0, 0.0), (128.0, 1.0)]
    assert area(rand, 128) == pytest.approx(2.0)
    assert normalised_alc(curve, area(rand, 128), 128) == pytest.approx((3.5 - 2) / (4 - 2))
    assert normalised_alc(rand, area(rand, 128), 128) == pytest.approx(0.0)
    assert normalised_alc([(0.0, 1.0)], area(rand, 128), 128) == pytest.approx(1.0)
    # points beyond the manual cost are cut at it; points before 8 s: the latest counts
    assert area([(0.0, 0.0), (4.0, 0.25), (512.0, 1.0)], 128) == pytest.approx(
        (0.25 + (0.25 + 0.75 * (7 - 3) / (9 - 3))) / 2 * 4)
    assert seconds_to(curve, 0.99) == 32.0 and seconds_to(curve, 0.4) == 0.0
    assert seconds_to(rand, 1.01) is None
    assert math.isclose(area([(0.0, 0.3)], 128), 0.3 * 4)


# -- baselines ---------------------------------------------------------------------------------
def test_fully_manual_draws_and_looks_at_every_object():
    gt = gt_of([(0, 1, 0, 0, 20, 40), (0, 2, 50, 0, 20, 40), (2, 1, 4, 0, 20, 40)], frames=3)
    run = B.fully_manual(gt, SimulatedAnnotator)
    assert dict(run.annotator.actions) == {"look": 3, "check": 0, "fix": 0, "draw": 3,
                                           "delete": 0, "end": 0}
    assert run.curve.final.seconds == 3 * 8 and run.curve.final.quality == 1.0
    assert run.curve.points[0].quality == 0.0


def test_fixed_interpolation_fixes_carried_boxes_at_keyframes():
    gt = gt_of([(f, 1, 2 * f, 0, 20, 40) for f in range(11)])   # linear motion, 2 px a frame
    run = B.fixed_interpolation(gt, SimulatedAnnotator, 5)
    # frame 0 drawn; at frames 5 and 10 the carried box is 10 px off (IoU 1/3): fixed
    assert dict(run.annotator.actions) == {"look": 3, "check": 0, "fix": 2, "draw": 1,
                                           "delete": 0, "end": 0}
    assert run.curve.final.quality == 1.0
    assert [round(p.seconds) for p in run.curve.points] == [0, 8, 13, 18, 18]


def test_adaptive_interpolation_finds_an_object_between_keyframes():
    gt = gt_of([(f, 1, 100, 0, 20, 40) for f in range(3, 7)], frames=11)
    run = B.adaptive_interpolation(gt, SimulatedAnnotator)
    assert run.curve.final.quality == 1.0
    # frames 0 and 10 are empty; the scan of 1..9 sees object 1 missing on 4 frames and draws it
    # at the first worst frame (3); later stretches are scanned and extended by keyframes
    assert run.annotator.actions["draw"] >= 1
    assert run.annotator.actions["look"] >= 4


def test_tracker_only_fixes_every_frame_to_full_quality():
    gt = load_ground_truth(SAMPLE_GT, 80).cut(0, 8)
    with open_video(SAMPLE) as video:
        run = B.tracker_only(gt, SimulatedAnnotator, video)
    a = run.annotator.actions
    assert a["draw"] == len({o.object_id for f in gt.frames() for o in gt.objects(f)})
    assert a["look"] == gt.box_count() and run.curve.final.recall_50 == 1.0


def test_detector_only_reviews_pre_labels_in_frame_order():
    gt = gt_of([(f, 1, 10, 0, 20, 40) for f in range(3)])
    pre = [box(f, 5, 10, 0, source=Source.DETECTOR) for f in range(3)] + [box(1, 6, 300, 0)]
    run = B.detector_only(gt, SimulatedAnnotator, pre)
    assert dict(run.annotator.actions) == {"look": 4, "check": 3, "fix": 0, "draw": 0,
                                           "delete": 0, "end": 1}
    assert run.curve.points[0].quality == pytest.approx(2 * 1 * 0.75 / 1.75)
    assert run.curve.final.quality == 1.0


@pytest.mark.skipif(not pets_available(), reason="PETS09-S2L1 not present")
def test_sanity_figure_fully_manual_pets09_costs_35808_seconds():
    gt = load_ground_truth(PETS / "gt" / "gt.txt", 795)
    assert gt.box_count() == 4476
    run = B.fully_manual(gt, SimulatedAnnotator, record_every=gt.frame_count)
    assert run.annotator.actions["draw"] == 4476 and run.annotator.actions["look"] == 4476
    assert run.curve.final.seconds == 35808.0 == B.manual_cost(gt, SimulatedAnnotator)


# -- the summary ---------------------------------------------------------------------------------
def _rec(name, kind, batch, seed, xy):
    from vidlabel.simulation.curves import CurvePoint
    from vidlabel.simulation.report import RunRecord
    return RunRecord(name, kind, batch, seed, [CurvePoint(s, q, actions={"draw": int(s)})
                                                for s, q in xy])


def test_summary_normalises_per_batch_averages_seeds_and_recommends_the_largest_area():
    from vidlabel.simulation.report import (
        markdown_table,
        recommendation_line,
        summarise,
    )
    records = [
        _rec("random", "strategy", 5, 0, [(0, 0.0), (128, 1.0)]),
        _rec("random", "strategy", 5, 1, [(0, 0.0), (128, 0.5)]),
        _rec("random", "strategy", 10, 0, [(0, 0.0), (128, 1.0)]),
        _rec("hybrid", "strategy", 5, 0, [(0, 0.5), (32, 1.0)]),
        _rec("hybrid", "strategy", 10, 0, [(0, 0.5), (16, 1.0)]),
        _rec("manual", "baseline", None, 0, [(0, 0.0), (128, 1.0)]),
    ]
    doc = summarise(records, 128)
    rand5 = (area([(0, 0.0), (128, 1.0)], 128) + area([(0, 0.0), (128, 0.5)], 128)) / 2
    assert doc["random_area"]["5"] == pytest.approx(rand5)
    assert doc["recommendation"] == {"strategy": "hybrid", "batch": 10,
                                     "alc": doc["results"]["hybrid"]["alc"],
                                     "seconds_to_99": 16}
    a10 = area([(0, 0.5), (16, 1.0)], 128)
    assert doc["results"]["hybrid"]["alc"] == pytest.approx((a10 - 2.0) / (4 - 2.0))
    assert doc["by_batch"]["hybrid"]["5"]["alc"] == pytest.approx((3.5 - rand5) / (4 - rand5))
    assert doc["results"]["random"]["batch"] == 10 and doc["results"]["manual"]["alc"] == 0.0
    assert [s["seed"] for s in doc["by_batch"]["random"]["5"]["seeds"]] == [0, 1]
    assert doc["by_batch"]["random"]["5"]["seconds_to_99"] is None   # seed 1 never got there
    assert "| hybrid | 10 |" in markdown_table(doc)
    assert recommendation_line(doc).startswith("recommended: strategy hybrid with batch size 10")


def test_a_box_on_nothing_ends_its_track_and_the_machines_continuation():
    gt = gt_of([(f, 1, 0, 0, 20, 40) for f in range(4)])
    pre = [box(f, 1, 0, 0) for f in range(4)] + [box(f, 2, 300, 0) for f in range(4)]
    view = ShownFrames(gt)
    view.show(1)
    annotator = SimulatedAnnotator(view)
    boxes = B.BoxSet(pre)
    for d in annotator.review_frame(1, boxes.frame(1)):
        boxes.apply(d, annotator)
    assert annotator.actions["end"] == 1 and annotator.actions["delete"] == 0
    assert [b.frame for b in boxes.all() if b.track_id == 2] == [0]   # later machine boxes gone



@needs_weights
def test_only_the_ground_truth_s_used_classes_that_the_detector_knows_are_pre_labelled():
    """A MOT file names every MOTChallenge class up to the highest id it uses (KITTI's cars are
    class 3, so "person on vehicle" is named too): the simulator pre-labels the used ones the
    detector has, and says so in one line when there is none."""
    from vidlabel.errors import VidlabelError
    from vidlabel.simulation.experiment import Experiment, _detectable

    objs = {0: [GTBox(0, 1, 10, 10, 40, 20, class_id=2), GTBox(0, 2, 90, 10, 20, 40, class_id=6)]}
    names = ("person", "person on vehicle", "car", "bicycle", "motorbike", "non motorized vehicle",
             "static person")
    assert _detectable(Experiment(SAMPLE, GroundTruth(objs, {}, 1, names))) == ("car",)
    only_static = {0: [GTBox(0, 2, 90, 10, 20, 40, class_id=6)]}
    with pytest.raises(VidlabelError, match="none of the ground truth's classes"):
        _detectable(Experiment(SAMPLE, GroundTruth(only_static, {}, 1, names)))
