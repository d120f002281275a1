"""The window never waits for scoring: edits return at once, results follow, in the right order.

The review session scores, rescores and ranks in its worker thread (vidlabel/review/session.py). These
tests hold that worker at a chosen point with a gate, act as a person meanwhile (mouse, keys),
check that the window answered and saved without the worker, then open the gate and check that
what follows lands correctly. The gate makes "while the rescore runs" certain, with no timing.
"""

from __future__ import annotations

import gc
import shutil
import threading

import numpy as np
import pytest
from PyQt6.QtCore import Qt

from vidlabel.datamodel import Box, Source
from vidlabel.gui.launch import application, open_window
from vidlabel.propagation.scheduler import Repropagator
from vidlabel.review.scorer import Scorer
from vidlabel.review.strategies import make_strategy
from vidlabel.store.files import open_or_create_project
from vidlabel.store.project import MACHINE, Project

from .conftest import SAMPLE, SAMPLE_GT
from .reviewkit import put_jittered_ground_truth
from .test_gui import PATIENCE_MS, PATIENCE_S, drag, key, settle, show

pytestmark = pytest.mark.gui

EXTRA_TRACKS = 40  # synthetic tracks on every frame besides the sample's people: ~3,500 boxes


class Gate:
    """Holds worker threads at a wrapped function until the test opens it (the UI thread passes)."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.opened.set()
        self.reached = threading.Event()

    def close(self) -> None:
        self.reached.clear()
        self.opened.clear()

    def open(self) -> None:
        self.opened.set()

    def wrap(self, fn):
        def held(*args, **kw):
            if threading.current_thread() is not threading.main_thread() and not self.opened.is_set():
                self.reached.set()
                self.opened.wait()
            return fn(*args, **kw)
        return held


@pytest.fixture
def gate():
    g = Gate()
    yield g
    g.open()  # never leave a worker held: closing the window waits for it


@pytest.fixture
def busy_video(tmp_path, monkeypatch):
    """The sample with its people as machine tracks plus EXTRA_TRACKS more on every frame.

    Re-propagation is switched off: these tests look at scoring, and accepting a frame would
    have the tracker follow some 45 tracks for minutes."""
    monkeypatch.setattr(Repropagator, "submit", lambda self, anchors, persist=True: None)
    video = shutil.copy(SAMPLE, tmp_path / "sample.mp4")
    project, frames = open_or_create_project(video, classes=("person",))
    rng = np.random.default_rng(0)
    with project.action("prelabel", MACHINE):
        put_jittered_ground_truth(project, SAMPLE_GT, rng)
        for i in range(EXTRA_TRACKS):
            t = project.new_track()
            for f in range(frames.frame_count):
                project.put_box(Box(f, t, 0, 20 + 17 * i, 5 + 2 * f, 16, 30,
                                    confidence=float(rng.uniform(0.3, 0.95)), source=Source.DETECTOR))
    project.close(), frames.close()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    application()
    return video


@pytest.fixture
def busy_window(qtbot, busy_video):
    w = open_window(busy_video)
    show(qtbot, w)
    settle(qtbot, w)
    yield w
    w.close()


def test_an_accept_returns_before_its_rescoring_and_the_queue_follows_it(qtbot, busy_window, gate,
                                                                         monkeypatch):
    window, c = busy_window, busy_window.c
    monkeypatch.setattr(Scorer, "rescore", gate.wrap(Scorer.rescore))
    top = window.picks[0].frame
    before = [p.frame for p in window.picks]
    c.seek(top)
    gate.close()
    key(qtbot, window, Qt.Key.Key_Return)  # accept the frame, go to the next pick
    # back in the event loop with the accept saved, while its rescoring is held in the worker
    qtbot.waitUntil(gate.reached.is_set, timeout=PATIENCE_MS)
    assert top in c.project.verified_frames() and c.frame != top and c.frame in before
    assert c.session.scoring.finished < c.session.revision
    assert [p.frame for p in window.picks] == before  # the queue waits for the rescoring
    key(qtbot, window, Qt.Key.Key_Right)  # the window steps meanwhile
    assert window.canvas.items_by_track and "frame" in window.frame_label.text()
    with qtbot.waitSignal(c.queueChanged, timeout=PATIENCE_MS):
        gate.open()
    assert window.picks and top not in [p.frame for p in window.picks]
    shown = [int(window.queue_panel.tree.topLevelItem(i).text(1))
             for i in range(window.queue_panel.tree.topLevelItemCount())]
    assert shown == [p.frame for p in window.picks] and window.timeline.picks == shown
    settle(qtbot, window)  # the scores behind the timeline are the rescored ones
    assert window.timeline.verified[top] and window.timeline.scores[top] == 0


def test_a_queue_ranked_before_the_latest_edit_is_never_shown(qtbot, busy_window, gate, monkeypatch):
    window, c = busy_window, busy_window.c
    monkeypatch.setattr("vidlabel.review.session.make_strategy", gate.wrap(make_strategy))
    arrived, shown = [], []
    c._queueRanked.connect(lambda _session, update: arrived.append(update))
    c.queueChanged.connect(lambda update: shown.append(update))
    top = window.picks[0].frame
    other = next(f for f in range(c.frame_count) if f not in {p.frame for p in window.picks})
    c.seek(other)
    gate.close()
    box = c.boxes()[0]
    c.move_box(box.id, (box.x + 3, box.y, box.w, box.h))  # edit A: its ranking is held
    qtbot.waitUntil(gate.reached.is_set, timeout=PATIENCE_MS)
    c.seek(top)
    c.accept_frame()  # edit B, while the ranking after A still holds the old scores
    with qtbot.waitSignal(c.queueChanged, timeout=PATIENCE_MS):
        gate.open()
    assert c.session.wait_idle(PATIENCE_S)
    qtbot.waitUntil(lambda: shown[-1].revision == c.session.revision, timeout=PATIENCE_MS)
    stale = [u for u in arrived if top in {p.frame for p in u.picks}]
    assert stale, "the ranking held during edit B predates it"
    assert all(top not in {p.frame for p in u.picks} for u in shown)
    assert top not in [p.frame for p in window.picks]


def test_deleting_a_box_while_its_rescore_runs(qtbot, busy_window, gate, monkeypatch):
    window, c = busy_window, busy_window.c
    # held after the rescore read the frame's boxes, before it scores and stores them
    monkeypatch.setattr(Project, "set_box_scores", gate.wrap(Project.set_box_scores))
    c.seek(40)
    box = next(b for b in c.boxes() if not b.verified)
    c.select(box.track_id)
    gate.close()
    drag(qtbot, window, (box.x + box.w / 2, box.y + box.h / 2),
         (box.x + box.w / 2 + 16, box.y + box.h / 2))  # a fix (past the drag distance): its rescore reads the box
    qtbot.waitUntil(gate.reached.is_set, timeout=PATIENCE_MS)
    key(qtbot, window, Qt.Key.Key_Delete)  # deleted while the rescore holds it
    assert c.project.box(box.id) is None
    gate.open()
    assert c.session.wait_idle(PATIENCE_S)
    assert c.session.scoring.errors == [] and c.session.repropagator.errors == []
    assert box.id not in c.project.box_scores()
    state = c.session.scorer.frame_state(40)
    assert box.id not in {b.box_id for b in state.boxes}
    settle(qtbot, window)
    assert window.picks


def test_edits_and_undo_work_while_the_session_scores_the_project(qtbot, busy_video, gate, monkeypatch):
    monkeypatch.setattr(Scorer, "rescore_all", gate.wrap(Scorer.rescore_all))
    gate.close()
    window = open_window(busy_video)
    try:
        show(qtbot, window, scored=False)
        c = window.c
        qtbot.waitUntil(gate.reached.is_set, timeout=PATIENCE_MS)  # the start-up scoring is held
        assert not gc.isenabled()  # no full collections while the session builds its mirror
        key(qtbot, window, Qt.Key.Key_N)
        assert "not ranked yet" in window.message_label.text()
        drag(qtbot, window, (40, 440), (100, 560))
        (drawn,) = [b for b in c.project.boxes(frame=0) if b.source is Source.HUMAN]
        key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert c.project.box(drawn.id) is None and "nothing to undo" not in window.message_label.text()
        key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
            | Qt.KeyboardModifier.ShiftModifier)
        assert c.project.box(drawn.id) == drawn
        assert not c.ready
        gate.open()
        settle(qtbot, window)
        assert c.ready and window.picks and c.session.scoring.errors == []
        assert gc.isenabled() and gc.get_freeze_count() > 0  # the mirror is frozen out of them
        assert c.session.scorer.frame_state(0).verified is False
        assert drawn.id in {b.box_id for b in c.session.scorer.frame_state(0).boxes}
    finally:
        gate.open()
        window.close()



def test_closing_while_the_session_scores_stops_it_and_collects_again(qtbot, busy_video, gate,
                                                                      monkeypatch):
    monkeypatch.setattr("vidlabel.review.scorer.RESCORE_CHUNK", 10)  # 8 chunks of the sample's 80 frames
    monkeypatch.setattr(Project, "set_box_scores", gate.wrap(Project.set_box_scores))
    gate.close()
    window = open_window(busy_video)
    show(qtbot, window, scored=False)
    session = window.c.session
    qtbot.waitUntil(gate.reached.is_set, timeout=PATIENCE_MS)
    # closing waits for the held chunk: let it go once the close asked the scoring to stop
    releaser = threading.Thread(target=lambda: (session.scoring.stopping.wait(), gate.open()))
    releaser.start()
    window.close()
    releaser.join()
    assert not session.scored and gc.isenabled()
