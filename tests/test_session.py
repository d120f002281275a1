"""The review session on the bundled sample clip: corrections spread, verified work stays, undo is exact."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from vidlabel.errors import VidlabelError
from vidlabel.review.scorer import Scorer
from vidlabel.review.session import STRATEGIES, Pick, ReviewSession
from vidlabel.review.error_model import ERRORS, EVIDENCE, FEATURES, ErrorModel
from vidlabel.store.project import HUMAN, Project

from .conftest import SAMPLE, SAMPLE_GT
from .reviewkit import sample_project


def state(project):
    return (sorted((b.id, b.frame, b.track_id, b.class_id, b.xywh, b.confidence, b.source, b.verified,
                    b.outside, b.occluded) for b in project.boxes()), project.verified_frames())


def box_of(session, frame, track):
    return next(b for b in session.project.boxes(frame=frame, track_id=track))


@pytest.fixture
def sample(tmp_path):
    project, video, tracks = sample_project(tmp_path, SAMPLE, SAMPLE_GT)
    yield project, video, tracks
    video.close()
    project.close()


def keyframed(session, track, frames):
    for f in frames:
        session.accept_box(box_of(session, f, track).id)
    session.wait_idle()


def test_loop_api_names_exist():
    assert set(STRATEGIES) >= {"random", "stride", "least-confidence", "margin", "entropy",
                               "disagreement", "mixed", "committee", "hybrid"}
    assert Pick(3, 0.5, ("x",)).box_id is None


@pytest.mark.parametrize("background", [False, True])
def test_correction_spreads_between_neighbouring_keyframes_and_undo_is_exact(sample, background):
    project, video, tracks = sample
    session = ReviewSession(project, video, background=background, tracker="kcf")
    t = tracks[9]
    keyframed(session, t, [10, 50])
    verified_before = [b for b in project.boxes() if b.verified]
    before = state(project)
    outside = {b.frame: b for b in project.boxes(track_id=t) if not 10 <= b.frame <= 50}
    old = box_of(session, 30, t)
    session.move_box(old.id, (old.x - 6, old.y, old.w, old.h))
    assert session.wait_idle(timeout=120)
    after = {b.frame: b for b in project.boxes(track_id=t)}
    changed = {f for f in range(11, 50) if f != 30 and after[f].xywh != dict((b.frame, b) for b in before_boxes(before, t))[f].xywh}
    assert changed, "the stretches on both sides of the fix were re-propagated"
    assert any(f < 30 for f in changed) and any(f > 30 for f in changed)
    assert {f for f in changed} <= set(range(11, 50))
    assert all(after[f] == b for f, b in outside.items())  # beyond the neighbouring keyframes: untouched
    assert all(project.box(b.id) == b for b in verified_before)  # verified work never changes
    machine = [a for a in project.actions() if a.kind == "propagate"]
    assert machine and all(a.actor == "machine" and a.parent is not None for a in machine)
    session.undo()
    assert session.wait_idle(timeout=120)
    assert state(project) == before  # the fix and its re-propagation, undone together
    session.redo()
    assert session.wait_idle(timeout=120)
    assert {b.frame: b.xywh for b in project.boxes(track_id=t)} == {f: b.xywh for f, b in after.items()}
    session.close()


def before_boxes(snapshot, track):
    from vidlabel.datamodel import Box
    return [Box(frame=r[1], track_id=r[2], class_id=r[3], x=r[4][0], y=r[4][1], w=r[4][2], h=r[4][3],
                confidence=r[5], source=r[6], verified=r[7], outside=r[8], occluded=r[9], id=r[0])
            for r in snapshot[0] if r[2] == track]


def test_background_edits_end_like_the_same_edits_run_inline(tmp_path):
    """The worker writes exactly what inline re-propagation writes, from another thread, and
    calls back on the caller's side of `on_change` with the frames it changed."""
    results = []
    for background in (False, True):
        project, video, tracks = sample_project(tmp_path / str(background), SAMPLE, SAMPLE_GT)
        session = ReviewSession(project, video, background=background, tracker="kcf")
        t = tracks[9]
        seen: list[set[int]] = []
        session.on_change(seen.append)
        target = {b.frame: (b.x - 6, b.y, b.w, b.h) for b in project.boxes(track_id=t)}
        for f in (5, 40, 20, 60, 30):
            session.move_box(box_of(session, f, t).id, target[f])
            assert session.wait_idle(timeout=300)
        results.append(sorted((b.frame, b.track_id, b.xywh, b.source, b.verified) for b in project.boxes()))
        assert session.repropagator.errors == []
        if background:
            assert seen and all(isinstance(s, set) and s for s in seen)
            assert threading.current_thread() is threading.main_thread()
        session.close()
        video.close()
        project.close()
    assert results[0] == results[1]


def test_quick_successive_edits_cancel_and_restart_cleanly(tmp_path):
    """Fixes faster than the worker: running jobs are cancelled and restarted, nothing fails,
    the keyframes are all there, and undoing the fixes takes back every re-propagation they
    caused, whichever edit each stretch ended up filed under."""
    project, video, tracks = sample_project(tmp_path, SAMPLE, SAMPLE_GT)
    start = state(project)
    session = ReviewSession(project, video, background=True, tracker="kcf")
    t = tracks[9]
    target = {b.frame: (b.x - 6, b.y, b.w, b.h) for b in project.boxes(track_id=t)}
    for f in (5, 40, 20, 60, 30):
        session.move_box(box_of(session, f, t).id, target[f])
    assert session.wait_idle(timeout=300)
    assert session.repropagator.errors == []
    keys = {b.frame: b.xywh for b in project.boxes(track_id=t) if b.verified}
    assert keys == {f: target[f] for f in (5, 40, 20, 60, 30)}
    assert session.propagation_cost()["boxes_written"] > 0
    for _ in range(5):
        session.undo()
    assert session.wait_idle(timeout=300)
    assert state(project) == start
    session.close()
    video.close()


def test_queue_skips_verified_frames_and_rescoring_follows_edits(sample):
    project, video, tracks = sample
    session = ReviewSession(project, video, background=False, tracker="kcf")
    first = session.next_batch(5)
    assert len(first) == 5 and all(p.reasons for p in first)
    frame = first[0].frame
    session.accept_frame(frame)
    assert session.frame_scores()[frame] == 0
    assert frame not in [p.frame for p in session.next_batch(80, window=0)]
    boxes = session.next_batch(3, unit="box")
    assert all(p.box_id is not None and p.track_id is not None for p in boxes)
    streamed = session.next_batch(None, threshold=0.5)
    assert [p.frame for p in streamed] == sorted(p.frame for p in streamed)
    assert all(p.score >= 0.5 for p in streamed)
    session.close()


def test_stopping_guidance_counts_time_and_falls_as_frames_are_verified(sample):
    project, video, tracks = sample
    session = ReviewSession(project, video, background=False, tracker="kcf")
    start = session.stopping()
    assert start["human_seconds"] == 0 and start["verified_frames"] == 0 and start["frames"] == 80
    b = box_of(session, 12, tracks[9])
    session.move_box(b.id, (b.x - 6, b.y, b.w, b.h))     # fix: 4 s
    session.add_box(12, (10, 10, 20, 40), 0)              # draw: 7 s
    looks = 0
    for f in (12, 3, 40, 70):
        looks += len(session.boxes(f))
        session.accept_frame(f)                           # look at each box: 1 s each
    now = session.stopping()
    assert now["human_seconds"] == 4 + 7 + looks
    assert now["estimated_remaining_errors"] < start["estimated_remaining_errors"]
    assert now["verified_frames"] == 4
    session.close()


def test_interpolation_on_request_and_propagation_from_a_keyframe(sample):
    project, video, tracks = sample
    session = ReviewSession(project, video, background=False, tracker="kcf")
    t = tracks[11]
    keyframed(session, t, [20, 30])
    edit = session.interpolate_track(t, 20, 30)
    a, b = box_of(session, 20, t), box_of(session, 30, t)
    mid = box_of(session, 25, t)
    assert mid.source.value == "interpolated" and not mid.verified
    assert mid.x == pytest.approx((a.x + b.x) / 2)
    assert project.actions()[-1].id == edit.action_id and project.actions()[-1].actor == HUMAN
    with pytest.raises(VidlabelError, match="no verified visible box"):
        session.interpolate_track(t, 20, 40)
    with pytest.raises(VidlabelError, match="no verified box on frame 41"):
        session.repropagate(t, 41)
    session.repropagate(t, 30)
    session.undo()  # the request and its re-propagation
    assert box_of(session, 25, t).source.value == "interpolated"
    session.close()


def test_open_and_close_own_the_project_and_video(sample, tmp_path):
    project, video, _ = sample
    path = project.path
    project.close()
    with ReviewSession.open(path, background=False) as session:
        assert session.video.frame_count == 80 and session.frame_scores()
    again = ReviewSession.open(path, background=False)  # the lock was released
    again.close()


def test_every_undo_restores_the_state_before_its_edit_machine_rewrites_included(sample):
    project, video, tracks = sample
    session = ReviewSession(project, video, background=False, tracker="kcf")
    t, u = tracks[9], tracks[11]
    snapshots = [state(project)]
    edits = [
        lambda: session.accept_box(box_of(session, 10, t).id),
        lambda: session.accept_box(box_of(session, 50, t).id),
        lambda: session.move_box(box_of(session, 30, t).id, (370.0, 180.0, 30.0, 80.0)),
        lambda: session.delete_box(box_of(session, 33, u).id),
        lambda: session.mark_outside(u, 60),
        lambda: session.accept_frame(20),
        lambda: session.add_box(40, (20.0, 30.0, 25.0, 60.0), 0),
    ]
    for edit in edits:
        edit()
        snapshots.append(state(project))
    assert len({repr(s) for s in snapshots}) == len(snapshots)  # every edit changed something
    assert any(a.actor == "machine" for a in project.actions())
    def fresh_scores():
        scorer = Scorer(project, session.scorer.accept_threshold)
        scorer.rescore_all()
        return scorer.frame_scores()

    for expected in reversed(snapshots[:-1]):
        session.undo()
        assert state(project) == expected
        assert session.frame_scores() == pytest.approx(fresh_scores())  # rescored incrementally
    for expected in snapshots[1:]:
        session.redo()
        assert state(project) == expected
    session.close()


def test_committee_runs_the_second_detector_once_and_ranks_by_disagreement(sample):
    project, video, _ = sample
    session = ReviewSession(project, video, background=False, tracker="kcf")
    picks = session.next_batch(5, strategy="committee")
    runs = project.detection_runs()
    assert len(runs) == 2 and "yolov8n" in runs[1]["model"]
    assert project.detected_frames(runs[1]["id"]) == set(range(80))
    assert len(picks) == 5 and all("detectors disagree" in p.reasons[0] for p in picks)
    assert picks[0].score >= picks[-1].score > 0
    # the fixture's first run holds detections on every 10th frame only: the others disagree most
    assert all(p.frame % 10 for p in picks)
    session.accept_frame(picks[0].frame)
    again = session.next_batch(5, strategy="committee")  # cached: no second pass, no third run
    assert len(project.detection_runs()) == 2 and picks[0].frame not in [p.frame for p in again]
    session.close()


def test_queue_command_prints_picks_with_reasons_and_the_estimate(sample, capsys):
    from vidlabel.cli import main

    project, _, _ = sample
    path = project.path
    project.close()
    assert main(["queue", str(path), "-k", "3", "--strategy", "least-confidence"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len([line for line in out if line.startswith("frame ")]) == 3
    assert "estimated errors left" in out[-2] and "verified frames 0/80" in out[-2]
    assert out[-1].startswith("est. quality ") and "min to 0.99" in out[-1]   # no stop unverified
    assert main(["queue", str(path), "--threshold", "0.99"]) == 0
    assert main(["queue", str(path), "--strategy", "stride", "--threshold", "0.5"]) == 2  # no streaming
    assert "no streaming mode" in capsys.readouterr().err


def test_asking_the_queue_again_with_nothing_changed_reads_the_stored_answer(sample, capsys, monkeypatch):
    from vidlabel.cli import main
    from vidlabel.review.session import ReviewSession
    from vidlabel.store.project import HUMAN, Project

    project, _, _ = sample
    path = project.path
    project.close()
    assert main(["queue", str(path), "-k", "3"]) == 0
    first = capsys.readouterr().out
    opened = []
    real_init = ReviewSession.__init__
    monkeypatch.setattr(ReviewSession, "__init__", lambda self, *a, **kw: opened.append(a) or real_init(self, *a, **kw))
    assert main(["queue", str(path), "-k", "3"]) == 0
    assert capsys.readouterr().out == first and not opened       # read back: no session, no scoring
    assert main(["queue", str(path), "-k", "4"]) == 0 and len(opened) == 1   # another question
    with Project.open(path) as p:                                  # a person's edit since
        box = p.boxes(frame=int(first.split()[1]))[0]
        with p.action("check", HUMAN):
            p.put_box(box.with_(verified=True))
    capsys.readouterr()
    assert main(["queue", str(path), "-k", "3"]) == 0 and len(opened) == 2
    assert capsys.readouterr().out != first
    with Project.open(path) as p:
        p.undo()                                                   # back as it was: the same answer
    assert main(["queue", str(path), "-k", "3"]) == 0
    assert capsys.readouterr().out == first


class _Held:
    """Holds the scoring worker in a wrapped method until released."""

    def __init__(self) -> None:
        self.release, self.reached, self.calls = threading.Event(), threading.Event(), 0

    def wrap(self, fn):
        def held(*args, **kw):
            if threading.current_thread() is not threading.main_thread():
                self.calls += 1
                self.reached.set()
                self.release.wait()
            return fn(*args, **kw)
        return held


def test_edits_return_before_their_rescoring_and_watchers_hear_in_order(sample, monkeypatch):
    project, video, tracks = sample
    held = _Held()
    monkeypatch.setattr(Scorer, "rescore", held.wrap(Scorer.rescore))
    session = ReviewSession(project, video, background=True, tracker="kcf")
    updates = []
    session.watch_queue(updates.append, k=5)
    session.scoring.wait()
    assert session.scored and updates and updates[-1].revision == session.revision
    frame = updates[-1].picks[0].frame
    session.accept_frame(frame)  # returns with the rescoring held in the worker
    assert held.reached.wait(60) and frame in project.verified_frames()
    assert session.scoring.finished < session.revision and len(updates) == 1
    held.release.set()
    assert frame not in [p.frame for p in session.next_batch(80, window=0)]  # it waited for the rescore
    assert session.frame_scores()[frame] == 0
    assert session.wait_idle(timeout=300)
    assert [u.revision for u in updates] == sorted(u.revision for u in updates)
    assert updates[-1].revision == session.revision and frame not in {p.frame for p in updates[-1].picks}
    assert updates[-1].stopping["verified_frames"] == 1
    assert session.scoring.errors == []
    session.close()


def test_closing_during_the_start_up_scoring_stops_it_between_chunks(sample, monkeypatch):
    project, video, tracks = sample
    monkeypatch.setattr("vidlabel.review.scorer.RESCORE_CHUNK", 10)
    held = _Held()
    monkeypatch.setattr(Project, "set_box_scores", held.wrap(Project.set_box_scores))  # once a chunk
    session = ReviewSession(project, video, background=True, tracker="kcf")
    assert held.reached.wait(60)
    closing = threading.Thread(target=session.close)
    closing.start()
    assert session.scoring.stopping.wait(60)
    held.release.set()
    closing.join()
    assert held.calls == 1 and not session.scored  # 8 chunks of 10 frames; one was scored


def test_inline_sessions_report_before_the_edit_returns(sample):
    project, video, tracks = sample
    session = ReviewSession(project, video, background=False, tracker="kcf")
    updates = []
    session.watch_queue(updates.append, k=3)
    assert len(updates) == 1
    session.accept_frame(updates[0].picks[0].frame)
    assert updates[-1].revision == session.revision
    assert updates[0].picks[0].frame not in {p.frame for p in updates[-1].picks}
    session.close()


def test_a_failed_start_up_scoring_is_reported_not_silent(sample, monkeypatch):
    project, video, tracks = sample

    def broken(self, stop):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Scorer, "rescore_all", broken)
    session = ReviewSession(project, video, background=True, tracker="kcf")
    updates = []
    session.watch_queue(updates.append)
    session.scoring.wait()
    assert not session.scored
    assert len(updates) == 1 and updates[0].picks == () and "disk on fire" in updates[0].problem
    session.close()


def _features(evidence: float, **signals: float) -> list[float]:
    row = [0.0] * FEATURES
    row[EVIDENCE] = evidence
    for i, name in enumerate(("least_confidence", "near_threshold")):
        row[i] = signals.get(name, 0.0)
    return row


def test_expected_errors_are_the_sum_of_the_box_probabilities():
    model = ErrorModel()
    for score, error in [(0.1, ""), (0.5, "false"), (0.55, ""), (0.9, "misplaced"), (1.0, "false")]:
        model.observe(_features(score), error)
    rows = np.array([_features(s) for s in np.linspace(0, 1, 41)])
    assert not model.learned
    assert model.expected(rows) == pytest.approx(sum(model.probabilities(r)[0] for r in rows))
    assert model.expected(np.zeros((0, FEATURES))) == 0


def test_before_the_regression_the_evidence_is_scaled_to_the_errors_the_verdicts_found():
    """Forty boxes with evidence 0.5 checked right and one found wrong: the evidence alone says
    half of such boxes are wrong, the verdicts say about one in twenty; the estimate follows the
    verdicts (calibration in the large, one pseudo-count), and splits by the kinds found."""
    model = ErrorModel()
    assert model.probabilities(np.array([_features(0.5)]))[0] == 0.5       # no verdict: the evidence
    for _ in range(40):
        model.observe(_features(0.5))
    model.observe(_features(0.5), "false")
    assert not model.learned
    p = model.kinds(np.array([_features(0.5)]))[0]
    assert p.sum() == pytest.approx(0.5 * 2 / 21.5)
    assert p[ERRORS.index("false")] > p[ERRORS.index("misplaced")] == p[ERRORS.index("identity")]


def test_the_error_model_tells_a_second_box_on_an_object_from_a_misplaced_one():
    """Verdicts: boxes overlapping another box were deleted (false: a second box on an object),
    lone low-confidence ones were fixed (misplaced). The model gives each kind to its pattern,
    and the stopping estimate counts a false box against precision only."""
    from vidlabel.review.stopping import estimate_quality

    rng = np.random.default_rng(1)
    model = ErrorModel()
    overlap = FEATURES - 2                        # box_features: overlap with another box
    for _ in range(300):
        row = _features(0.5, least_confidence=float(rng.uniform()))
        row[overlap] = float(rng.uniform() < 0.3)
        if row[overlap] and rng.uniform() < 0.8:
            model.observe(row, "false")
        else:
            model.observe(row, "misplaced" if rng.uniform() < row[0] * 0.6 else "")
    assert model.learned
    second, lone = _features(0.5, least_confidence=0.2), _features(0.5, least_confidence=0.9)
    second[overlap] = 1.0
    p = model.kinds(np.array([second, lone]))
    assert p[0, ERRORS.index("false")] > 0.6 and p[1, ERRORS.index("misplaced")] > 0.35
    assert p[0, ERRORS.index("misplaced")] < 0.2 and p[1, ERRORS.index("false")] < 0.1
    false_only = estimate_quality(100, np.tile([0.0, 0.1, 0.0], (100, 1)), 0.0)[0]
    misplaced = estimate_quality(100, np.tile([0.1, 0.0, 0.0], (100, 1)), 0.0)[0]
    assert false_only == pytest.approx(2 * 0.9 / 1.9) and misplaced == pytest.approx(0.9)


def test_the_error_model_learns_which_boxes_are_wrong_from_verdicts_whatever_the_prior_says():
    """Verdicts say low-confidence boxes are wrong while the hand-weighted evidence says
    nothing (0.5 for all): once there are enough of both kinds, the learned model ranks by
    confidence, and its mean probability on the examples is their error rate (calibration)."""
    rng = np.random.default_rng(0)
    model = ErrorModel()
    conf = rng.uniform(0, 1, 400)
    wrong = rng.uniform(0, 1, 400) < 1 - conf
    for c, w in zip(conf, wrong):
        model.observe(_features(0.5, least_confidence=1 - c), "misplaced" if w else "")
    assert model.learned
    p = model.probabilities(np.array([_features(0.5, least_confidence=1 - c) for c in (0.9, 0.5, 0.1)]))
    assert p[0] < 0.3 < p[1] < 0.7 < p[2]
    fitted = model.probabilities(np.array(model.x))
    assert fitted.mean() == pytest.approx(wrong.mean(), abs=0.01)


def test_deleting_a_drawn_box_takes_back_what_was_propagated_from_it(sample):
    """A box drawn on empty ground is carried forward and backward; deleting it must not leave
    those ghost boxes behind, and one undo brings box and propagation back."""
    project, video, _ = sample
    session = ReviewSession(project, video, background=False, tracker="kcf")
    before = state(project)
    drawn = session.add_box(40, (20.0, 460.0, 50.0, 90.0), 0)   # grass in the sample's corner
    track = drawn.track_ids[0]
    session.wait_idle()
    carried = project.boxes(track_id=track)
    assert len(carried) > 5, "the drawn box was propagated"
    with_propagation = state(project)
    session.delete_box(box_of(session, 40, track).id)
    session.wait_idle()
    assert project.boxes(track_id=track) == []
    assert state(project) == before
    session.undo()
    session.wait_idle()
    assert state(project) == with_propagation
    session.close()


def test_deleting_a_keyframe_restores_the_pre_labels_it_overwrote(sample):
    project, video, tracks = sample
    session = ReviewSession(project, video, background=False, tracker="kcf")
    t = tracks[9]
    pre_labels = {b.frame: b for b in project.boxes(track_id=t)}
    old = box_of(session, 30, t)
    session.move_box(old.id, (old.x - 8, old.y + 3, old.w, old.h))
    session.wait_idle()
    rewritten = {b.frame for b in project.boxes(track_id=t) if b.frame != 30 and b != pre_labels[b.frame]}
    assert rewritten, "the fix was re-propagated over the pre-labels around it"
    session.delete_box(box_of(session, 30, t).id)
    session.wait_idle()
    now = {b.frame: b for b in project.boxes(track_id=t)}
    assert 30 not in now
    assert all(now[f] == pre_labels[f] for f in rewritten), "the pre-labels came back as they were"
    session.close()


def test_a_repair_a_killed_session_never_wrote_is_done_when_the_project_opens_again(sample):
    """The fix is saved at once; its re-propagation used to be lost when the process died first.
    A real SIGKILL, of a session whose re-propagation worker is held (as a slow tracker would)."""
    import signal
    import subprocess
    import sys

    from .conftest import ROOT

    project, video, tracks = sample
    t = tracks[9]
    pre = {b.frame: b for b in project.boxes(track_id=t)}
    path = project.path
    project.close()
    child = subprocess.Popen([sys.executable, "-c", f"""
import threading, vidlabel.propagation.scheduler as scheduler
from vidlabel.review.session import ReviewSession
scheduler.repair = lambda *a, **k: threading.Event().wait()   # the worker never gets to write
s = ReviewSession.open({str(path)!r}, {str(video.path)!r}, tracker="kcf")
b = next(b for b in s.project.boxes(frame=30, track_id={t}))
s.move_box(b.id, (b.x - 8, b.y, b.w, b.h))
print("fixed", flush=True)
threading.Event().wait()
"""], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "fixed"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    with Project.open(path) as p:
        assert len(p.pending_repairs()) == 1 and p.boxes(frame=30, track_id=t)[0].verified
        assert {b.frame: b for b in p.boxes(track_id=t) if b.frame != 30} == \
            {f: b for f, b in pre.items() if f != 30}   # nothing around the fix was repaired
    again = ReviewSession.open(path, video.path, background=False, tracker="kcf")
    try:
        moved = {b.frame for b in again.project.boxes(track_id=t) if b.frame != 30 and b != pre[b.frame]}
        assert moved, "the pending repair ran when the project was opened again"
        assert again.project.pending_repairs() == []
    finally:
        again.close()
