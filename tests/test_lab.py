"""The strategy lab's schedule (simulation/lab.py): successive halving, replays in stretches,
worker processes, and dropped replays reported as such and never recommended."""

from __future__ import annotations

import json

import pytest

from vidlabel.cli import main
from vidlabel.review.session import ReviewSession
from vidlabel.simulation.annotator import SimulatedAnnotator
from vidlabel.simulation.curves import CurvePoint
from vidlabel.simulation.groundtruth import ShownFrames, load_ground_truth
from vidlabel.simulation.lab import Outcome, Spec, planned, rungs, survivors
from vidlabel.simulation.loop import Replay, run_loop
from vidlabel.simulation.report import RunRecord, markdown_table, summarise
from vidlabel.store.files import create_project

from .conftest import SAMPLE, SAMPLE_GT
from .reviewkit import sample_project


def outcome(name: str, xy, finished: bool = False) -> Outcome:
    return Outcome(Spec(name, 5, 0, name), [CurvePoint(s, q) for s, q in xy], finished)


def test_rungs_grow_fourfold_up_to_the_budget():
    assert rungs(6400) == [100, 400, 1600, 6400]
    assert rungs(6400, exhaustive=True) == [6400]


def test_the_better_half_by_area_so_far_goes_on_and_random_always_does():
    pool = [outcome("random", [(0, 0.1), (100, 0.2)]),
            outcome("good", [(0, 0.5), (100, 0.9)]),
            outcome("fair", [(0, 0.5), (100, 0.8)]),
            outcome("poor", [(0, 0.5), (100, 0.6)]),
            outcome("worst", [(0, 0.5), (100, 0.55)])]
    assert {s.name for s in survivors(pool, 100)} == {"random", "good", "fair"}


def test_a_finished_replay_takes_its_place_in_the_half_but_is_not_continued():
    pool = [outcome("done", [(0, 0.5), (50, 0.996)], finished=True),
            outcome("fair", [(0, 0.5), (100, 0.8)]),
            outcome("poor", [(0, 0.5), (100, 0.6)])]
    assert {s.name for s in survivors(pool, 100)} == {"fair"}
    failed = Outcome(Spec("broken", 5, 0, "broken"), failed="failed: boom")
    assert survivors([failed, *pool[1:]], 100) == {pool[1].spec}


def test_a_replay_in_stretches_is_the_same_replay(tmp_path):
    """What halving relies on: advancing to 100 s and then to 300 s gives the curve that one
    run to 300 s gives (nothing pre-labelled: the annotator draws, trackers carry)."""
    gt = load_ground_truth(SAMPLE_GT, 80)
    curves = []
    for stretches in ((300,), (100, 300)):
        project, video = create_project(SAMPLE, tmp_path / f"{len(stretches)}.vlp", classes=["person"])
        session = ReviewSession(project, video, background=False, tracker="kcf")
        try:
            replay = Replay(session, SimulatedAnnotator(ShownFrames(gt)), gt, "hybrid", 5)
            for budget in stretches:
                run = replay.advance(budget)
            curves.append([(p.seconds, round(p.quality, 9)) for p in run.curve.points])
        finally:
            session.close()
            video.close()
            project.close()
    assert curves[0] == curves[1] and len(curves[0]) > 3


def test_run_loop_is_one_stretch(tmp_path):
    gt = load_ground_truth(SAMPLE_GT, 80)
    project, video, _ = sample_project(tmp_path, SAMPLE, SAMPLE_GT, shift=6.0)
    session = ReviewSession(project, video, background=False, tracker="kcf")
    try:
        run = run_loop(session, SimulatedAnnotator(ShownFrames(gt)), gt, "hybrid", 5, budget=100)
        assert run.curve.final.seconds >= 100 or run.curve.final.quality >= 0.995
    finally:
        session.close()
        video.close()
        project.close()


def test_a_dropped_replay_is_marked_in_the_table_and_never_recommended():
    def rec(name, batch, xy, dropped=None):
        return RunRecord(name, "strategy", batch, 0, [CurvePoint(s, q) for s, q in xy], dropped)
    doc = summarise([rec("random", 5, [(0, 0.0), (128, 0.5)]),
                     rec("steady", 5, [(0, 0.5), (128, 0.9)]),
                     rec("quick", 5, [(0, 0.5), (16, 0.95)], dropped=16.0)], 128)
    assert doc["recommendation"]["strategy"] == "steady"
    assert doc["results"]["quick"]["dropped_at"] == 16.0 and doc["results"]["steady"]["dropped_at"] is None
    row = next(r for r in markdown_table(doc).splitlines() if r.startswith("| quick"))
    assert "(dropped at 16 s)" in row and "never" not in row


@pytest.mark.slow
def test_halving_on_two_workers_drops_the_behind_and_recommends_a_finished_replay(tmp_path, capsys):
    out = tmp_path / "lab.json"
    code = main(["simulate", str(SAMPLE), "--gt", str(SAMPLE_GT), "--no-detector",
                 "--strategies", "stride,least-confidence,hybrid", "--batch", "5",
                 "--budget", "800", "--baselines", "interpolation-10", "--start", "0", "--end", "40",
                 "--workers", "2", "--json", str(out)])
    assert code == 0, capsys.readouterr().err
    doc = json.loads(out.read_text())
    assert doc["schedule"] == {"exhaustive": False, "rungs": [12.5, 50.0, 200.0, 800.0], "workers": 2}
    dropped = [n for n, e in doc["results"].items() if e.get("dropped_at")]
    assert len(dropped) >= 1 and "random" not in dropped
    assert doc["recommendation"]["strategy"] not in dropped
    assert "interpolation-10" in doc["results"]
    assert "successive halving at 12, 50, 200 s" in capsys.readouterr().out


def test_the_work_planned_follows_the_halving_ahead():
    specs = [Spec(n, 5, 0, n) for n in ("random", "a", "b", "c")]
    left = planned([100, 400, 1600, 6400], 0, specs, {specs[1]: 50.0})
    # this rung: 4 x 100 s less the 50 s done; then 2, 1 and 1 of the three, with random, go on
    assert left == 350 + 3 * 300 + 2 * 1200 + 2 * 4800
    assert planned([100, 400], 1, specs[:2], {s: 400.0 for s in specs}) == 0
    # once replays are seen to finish by 500 s, none is expected to run to the budget
    assert planned([100, 400, 1600, 6400], 0, specs, {}, horizon=500) == 400 + 3 * 300 + 2 * 100
