"""The replayed loop: only shown frames' ground truth is read, curves are recorded per batch,
and `vidlabel simulate` writes its JSON, table, plot and recommendation (short runs only)."""

from __future__ import annotations

import json

import pytest

from vidlabel.cli import main
from vidlabel.review.session import ReviewSession
from vidlabel.simulation.annotator import SimulatedAnnotator
from vidlabel.simulation.groundtruth import ShownFrames, load_ground_truth
from vidlabel.simulation.loop import run_loop
from vidlabel.store.files import create_project

from .conftest import SAMPLE, SAMPLE_GT


class PickedFramesOnly(ShownFrames):
    """A ground-truth view that opens a frame only when the *queue* returned it in a batch: the
    loop's own `show` calls are ignored, so a loop that read any other frame would raise."""

    def show(self, frame: int) -> None:
        pass

    def picked(self, frame: int) -> None:
        self.shown.add(frame)


@pytest.fixture()
def empty_sample_project(tmp_path):
    project, video = create_project(SAMPLE, tmp_path / "sample.vlp", classes=["person"])
    project.close()
    video.close()
    return tmp_path / "sample.vlp"


def test_the_loop_reads_ground_truth_of_picked_frames_only(empty_sample_project):
    gt = load_ground_truth(SAMPLE_GT, 80)
    view = PickedFramesOnly(gt)
    session = ReviewSession.open(empty_sample_project, SAMPLE, background=False)
    queue = session.next_batch

    def spy(k=10, strategy="hybrid", **params):
        picks = queue(k, strategy, **params)
        for p in picks:
            view.picked(p.frame)
        return picks

    session.next_batch = spy
    try:
        run = run_loop(session, SimulatedAnnotator(view), gt, "random", 5, budget=300, seed=1)
    finally:
        session.close()
    assert 0 < len(view.shown) < 80
    assert run.batches == len(run.curve.points) - 1
    seconds = [p.seconds for p in run.curve.points]
    assert seconds == sorted(seconds) and seconds[0] == 0 and seconds[-1] >= 300
    assert run.curve.points[0].quality == 0.0 < run.curve.final.quality
    # every drawn object was looked at: looks >= draws, and seconds follow the time model
    a = run.annotator.actions
    assert a["look"] >= a["draw"] > 0
    assert seconds[-1] == a["look"] + 7 * a["draw"] + 4 * a["fix"] + a["delete"] + a["end"]


def test_simulate_command_writes_results_and_recommends(tmp_path, capsys):
    out = tmp_path / "sim.json"
    code = main(["simulate", str(SAMPLE), "--gt", str(SAMPLE_GT), "--no-detector",
                 "--strategies", "stride", "--batch", "10", "--budget", "250",
                 "--baselines", "manual,interpolation-10", "--start", "0", "--end", "40",
                 "--json", str(out), "--plot", str(tmp_path / "plots")])
    assert code == 0
    doc = json.loads(out.read_text())
    assert set(doc["results"]) == {"random", "stride", "manual", "interpolation-10"}
    for entry in doc["results"].values():
        for key in ("alc", "seconds_to_95", "seconds_to_99", "final_quality", "final_recall_50",
                    "final_recall_70", "final_precision_50", "actions", "curve"):
            assert key in entry
    assert doc["results"]["random"]["alc"] == pytest.approx(0.0)
    assert doc["results"]["manual"]["final_quality"] == 1.0
    # the session's own estimate against the truth, for every strategy (baselines have none)
    stride = doc["results"]["stride"]
    assert 0 <= stride["calibration_mae"] <= 1 and doc["results"]["manual"]["calibration_mae"] is None
    stop = stride["stop"]
    assert stop is None or (stop["seconds"] > 0 and stop["estimated_quality"] >= 0.99)
    # one [seconds, estimated, true] point per batch, the curve's own true qualities
    assert stride["estimates"] and all(q in {c[1] for c in stride["curve"]} for _, _, q in stride["estimates"])
    assert doc["results"]["manual"]["estimates"] == []
    assert doc["frames"] == 40 and doc["cut"] == [0, 40]
    assert doc["recommendation"]["strategy"] in ("random", "stride")
    assert doc["recommendation"]["batch"] == 10
    assert (tmp_path / "plots" / "learning_curves.png").stat().st_size > 0
    assert (tmp_path / "plots" / "calibration.png").stat().st_size > 0
    printed = capsys.readouterr().out
    assert "| name | batch | ALC |" in printed
    assert printed.strip().splitlines()[-1].startswith("recommended: strategy ")


def test_simulate_command_refuses_unknown_strategies(capsys):
    assert main(["simulate", str(SAMPLE), "--gt", str(SAMPLE_GT), "--strategies", "psychic"]) == 2
    assert "unknown strategies" in capsys.readouterr().err


@pytest.mark.slow
def test_box_picks_look_at_one_box_each_and_draw_nothing(tmp_path, capsys):
    """`NAME:box` replays single-box picks: one look per pick, never a draw."""
    out = tmp_path / "box.json"
    code = main(["simulate", str(SAMPLE), "--gt", str(SAMPLE_GT), "--strategies", "hybrid:box",
                 "--batch", "10", "--budget", "60", "--baselines", "none", "--start", "0",
                 "--end", "30", "--json", str(out)])
    assert code == 0, capsys.readouterr().err
    entry = json.loads(out.read_text())["results"]["hybrid:box"]
    actions = entry["actions"]
    assert actions["draw"] == 0 and actions["look"] > 0
    assert actions["look"] == actions["check"] + actions["fix"] + actions["delete"] + actions["end"]


def test_simulate_command_refuses_box_picks_of_a_frame_strategy(capsys):
    assert main(["simulate", str(SAMPLE), "--gt", str(SAMPLE_GT), "--strategies", "stride:box"]) == 2
    assert "ranks frames only" in capsys.readouterr().err


def test_the_charge_of_a_constructed_session_is_the_hand_count(tmp_path):
    """1 s per object shown plus the price of each correction, nothing for boxes nobody saw."""
    from vidlabel.review.effort import human_seconds

    from .reviewkit import sample_project

    project, video, tracks = sample_project(tmp_path, SAMPLE, SAMPLE_GT)
    session = ReviewSession(project, video, background=False, tracker="kcf")
    try:
        shown = [b for b in session.boxes(12) if not b.outside]
        assert len(shown) >= 3
        session.move_box(shown[0].id, (shown[0].x - 6, shown[0].y, shown[0].w, shown[0].h))  # look + fix 4
        session.delete_box(shown[1].id)                                                      # look + delete 1
        session.add_box(12, (20.0, 460.0, 40.0, 80.0), 0)                                    # look + draw 7
        session.accept_frame(12)                                       # a look per box nobody touched
        frame_review = (len(shown) + 1) + 4 + 1 + 7   # looks: every box shown and the one drawn
        other = next(b for b in session.boxes(30) if not b.outside)
        session.accept_box(other.id)                                   # a box pick: one look
        session.mark_outside(other.track_id, 31)                       # a look + end 1
        assert human_seconds(project) == frame_review + 1 + 2
    finally:
        session.close()
        video.close()
        project.close()


@pytest.mark.parametrize("strategy, params", [("hybrid", {}), ("hybrid", {"unit": "box"})])
def test_the_simulator_pays_what_the_project_s_accounting_charges(tmp_path, strategy, params):
    """The simulated annotator's own bill and the action log's `human_seconds` are the same sum,
    on a pre-labelling with misplaced boxes, a missed person and a false track."""
    from vidlabel.datamodel import Box, Source
    from vidlabel.review.effort import human_seconds

    from .reviewkit import sample_project

    project, video, tracks = sample_project(tmp_path, SAMPLE, SAMPLE_GT, shift=14.0)
    with project.action("import", "machine"):
        missed = next(iter(tracks.values()))
        for b in project.boxes(track_id=missed):
            project.delete_box(b.id)
        false = project.new_track()
        for f in range(0, 80, 2):
            project.put_box(Box(f, false, 0, 700.0, 30.0, 25.0, 50.0, confidence=0.3, source=Source.TRACKER))
    # Without the ground truth's ignore rows: a box on an ignore region is looked at and left as
    # it is, which the simulator pays and no log entry records (effort.py says so).
    rows = [r for r in SAMPLE_GT.read_text().splitlines() if float(r.split(",")[6]) != 0]
    (tmp_path / "gt.txt").write_text("\n".join(rows) + "\n")
    gt = load_ground_truth(tmp_path / "gt.txt", 80)
    session = ReviewSession(project, video, background=False, tracker="kcf")
    try:
        annotator = SimulatedAnnotator(ShownFrames(gt))
        run_loop(session, annotator, gt, strategy, 5, budget=150, **params)
        assert sum(annotator.actions[k] for k in ("fix", "draw", "delete", "end")) > 0
        assert human_seconds(project) == pytest.approx(annotator.seconds)
    finally:
        session.close()
        video.close()
        project.close()


def test_a_replay_stops_once_the_video_is_good_enough(tmp_path):
    """Pre-labels equal to the ground truth: nothing to buy, so no batch is replayed."""
    from vidlabel.simulation.loop import QUALITY_STOP

    from .reviewkit import sample_project

    project, video, _ = sample_project(tmp_path, SAMPLE, SAMPLE_GT, shift=0.0)
    gt = load_ground_truth(SAMPLE_GT, 80)
    session = ReviewSession(project, video, background=False, tracker="kcf")
    try:
        run = run_loop(session, SimulatedAnnotator(ShownFrames(gt)), gt, "hybrid", 5, budget=1000)
        assert run.curve.points[0].quality >= QUALITY_STOP and run.batches == 0
    finally:
        session.close()
        video.close()
        project.close()


def test_good_pre_labels_say_stop_after_a_short_sample(tmp_path, monkeypatch):
    """Pre-labels equal to the ground truth but for one short false track: the first batches find
    only right boxes (and the false one), and the stopping estimate says stop long before every
    frame was looked at, within 0.01 of the true quality. (The replay goes on past the quality
    at which it would end by itself, to see where the estimate says stop.)"""
    from vidlabel.datamodel import Box, Source
    from vidlabel.simulation import loop

    monkeypatch.setattr(loop, "QUALITY_STOP", 1.01)

    from .reviewkit import sample_project

    project, video, _ = sample_project(tmp_path, SAMPLE, SAMPLE_GT, shift=0.0)
    with project.action("import", "machine"):
        false = project.new_track()
        for f in range(20, 32):
            project.put_box(Box(f, false, 0, 700.0, 30.0, 25.0, 50.0, confidence=0.3, source=Source.TRACKER))
    gt = load_ground_truth(SAMPLE_GT, 80)
    session = ReviewSession(project, video, background=False, tracker="kcf")
    try:
        run = run_loop(session, SimulatedAnnotator(ShownFrames(gt)), gt, "hybrid", 5, budget=1000)
        stop = next(i for i, p in enumerate(run.curve.points) if p.stop)
        assert abs(run.curve.points[stop].estimated - run.curve.points[stop].quality) <= 0.01
        assert stop <= 4, "stopped after at most 4 batches of 5 frames (a quarter of the video)"
    finally:
        session.close()
        video.close()
        project.close()


class TallyAnnotator:
    """An annotator written elsewhere: its own judgement (IoU 0.6, no identity memory) and its own
    prices (2 s a look, 10 s a draw, 3 s any other edit), built on nothing of vidlabel's but the
    `Decision` values and the ground truth it was given."""

    PRICES = {"look": 2.0, "draw": 10.0}

    def __init__(self, gt) -> None:
        from collections import Counter

        self.gt, self.actions, self.track_calls, self.remembered = gt, Counter(), 0, 0

    @property
    def seconds(self) -> float:
        return sum(n * self.PRICES.get(k, 3.0) for k, n in self.actions.items())

    def _frame(self, frame, boxes, only=None):
        from vidlabel import Decision, EditKind
        from vidlabel.datamodel import iou_xywh

        objs, out, matched = self.gt.objects(frame), [], set()
        for b in boxes:
            if b.outside or (only is not None and b.track_id != only):
                continue
            self.actions["look"] += 1
            best = max(objs, key=lambda o: iou_xywh(b.xywh, o.xywh), default=None)
            if best is None or iou_xywh(b.xywh, best.xywh) < 0.1:
                out.append(Decision(EditKind.DELETE, frame, b.track_id))
                continue
            matched.add(best.object_id)
            kind = EditKind.CHECK if iou_xywh(b.xywh, best.xywh) >= 0.6 else EditKind.FIX
            out.append(Decision(kind, frame, b.track_id, best.xywh, 0, best.object_id))
        if only is None:
            out += [Decision(EditKind.DRAW, frame, None, o.xywh, 0, o.object_id)
                    for o in objs if o.object_id not in matched]
            out.append(Decision(EditKind.ACCEPT, frame))
        return out

    def review_frame(self, frame, boxes):
        return self._frame(frame, boxes)

    def review_box(self, frame, track_id, boxes):
        return self._frame(frame, boxes, only=track_id)

    def review_track(self, track_id, crops):
        self.track_calls += 1
        return [d for f, b in crops.items() for d in self._frame(f, [b], only=track_id)]

    def count(self, kind: str) -> None:
        self.actions[str(kind)] += 1

    def remember(self, track_id: int, object_id: int) -> None:
        self.remembered += 1


@pytest.mark.parametrize("strategy", ["hybrid", "tracks-first"])
def test_any_annotator_drives_the_loop_with_its_own_prices(tmp_path, strategy):
    """The loop takes any object of the `Annotator` protocol: its answers are carried out, its
    prices make the curve's seconds and the budget, and vidlabel's stopping estimate still runs."""
    from vidlabel import Annotator

    from .reviewkit import sample_project

    gt = load_ground_truth(SAMPLE_GT, 80)
    project, video, _ = sample_project(tmp_path, SAMPLE, SAMPLE_GT, shift=14.0)
    session = ReviewSession(project, video, background=False, tracker="kcf")
    annotator = TallyAnnotator(gt)
    assert isinstance(annotator, Annotator)
    try:
        run = run_loop(session, annotator, gt, strategy, 4, budget=250)
    finally:
        session.close()
        video.close()
        project.close()
    points = run.curve.points
    assert run.annotator is annotator and annotator.actions["look"] > 0
    assert points[-1].seconds == annotator.seconds >= 250 > points[-2].seconds
    assert [p.seconds for p in points] == sorted(p.seconds for p in points)
    assert points[-1].quality > points[0].quality
    assert all(p.estimated is not None for p in points)
    assert annotator.remembered > 0
    if strategy == "tracks-first":
        assert annotator.track_calls > 0


def test_a_track_pick_narrows_down_where_a_track_changed_and_splits_there(tmp_path):
    """A track that jumps to another person at frame 41: shown its first and last crops, the
    annotator says it changes; the tool halves the stretch between the two, one look per crop,
    and the split lands exactly on frame 41 (not on the crop where it was seen), paid as the
    looks plus one fix, the same sum the action log charges."""
    from vidlabel.datamodel import Box, Source
    from vidlabel.review.effort import human_seconds
    from vidlabel.review.strategies import Pick
    from vidlabel.simulation.loop import answer_track

    from .reviewkit import sample_project

    project, video, tracks = sample_project(tmp_path, SAMPLE, SAMPLE_GT, shift=0.0)
    a, b = tracks[9], tracks[13]
    with project.action("import", "machine"):   # from frame 41 track a follows person 13
        for box in project.boxes(track_id=a, frames=(41, 80)):
            project.delete_box(box.id)
        for box in project.boxes(track_id=b, frames=(41, 80)):
            project.delete_box(box.id)
            project.put_box(Box(box.frame, a, 0, *box.xywh, confidence=0.7, source=Source.TRACKER))
    gt = load_ground_truth(SAMPLE_GT, 80)
    session = ReviewSession(project, video, background=False, tracker="kcf")
    try:
        annotator = SimulatedAnnotator(ShownFrames(gt))
        answer_track(session, Pick(0, 1.0, (), a, None, a, (0, 79)), annotator)
        session.wait_idle()
        assert max(x.frame for x in project.boxes(track_id=a)) == 40
        tail = {x.track_id for x in project.boxes(frames=(41, 80))} - set(tracks.values())
        assert len(tail) == 1 and min(x.frame for x in project.boxes(track_id=tail.pop())) == 41
        probes = annotator.actions["look"] - 2
        assert 0 < probes <= 7                 # log2 of the 78 frames between the crops
        assert annotator.actions["fix"] == 1   # the split
        assert human_seconds(project) == pytest.approx(annotator.seconds)
    finally:
        session.close()
        video.close()
        project.close()


def test_similar_tracks_are_answered_crop_by_crop_and_the_false_ones_deleted_at_once(tmp_path):
    """A "delete all similar" pick of two tracks on nothing and one real track: the annotator is
    asked about each as a track pick (the protocol's one question), the two false tracks go in
    one action with one delete paid, the real one's crops are accepted, and the simulator's
    bill equals the action log's."""
    from vidlabel.datamodel import Box, Source
    from vidlabel.review.effort import human_seconds
    from vidlabel.review.strategies import Pick
    from vidlabel.simulation.loop import answer

    from .reviewkit import sample_project

    project, video, tracks = sample_project(tmp_path, SAMPLE, SAMPLE_GT, shift=0.0)
    real = tracks[9]
    frames = sorted({b.frame for b in project.boxes(track_id=real)})
    with project.action("prelabel", "machine"):
        false = [project.new_track() for _ in range(2)]
        for k, t in enumerate(false):
            for f in range(20, 60):
                project.put_box(Box(f, t, 0, 5.0 + 30 * k, 5.0, 8.0, 16.0, confidence=0.3, source=Source.DETECTOR))
    gt = load_ground_truth(SAMPLE_GT, 80)
    session = ReviewSession(project, video, background=False, tracker="kcf")
    try:
        annotator = SimulatedAnnotator(ShownFrames(gt))
        pick = Pick(20, 1.0, (), false[0], group=((false[0], (20, 59)), (real, (frames[0], frames[-1])),
                                                   (false[1], (20, 59))))
        answer(session, pick, annotator)
        session.wait_idle()
        assert not any(project.boxes(track_id=t) for t in false)
        assert [b.frame for b in project.boxes(track_id=real) if b.verified] == [frames[0], frames[-1]]
        assert annotator.actions["look"] == 6 and annotator.actions["delete"] == 1
        kinds = [a.kind for a in project.actions(actor="human", state=None)]
        assert kinds.count("delete tracks") == 1
        assert human_seconds(project) == pytest.approx(annotator.seconds) == 7
    finally:
        session.close()
        video.close()
        project.close()
