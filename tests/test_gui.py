"""The desktop app driven like a person drives it: mouse drags and key presses on the real window.

Runs on Qt's offscreen platform (set in conftest). Every check reads the project store or the
queue, never widget internals alone, so a window that looks right but saves nothing fails.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PyQt6.QtCore import QPoint, QPointF, Qt

from vidlabel.datamodel import Box
from vidlabel.gui.launch import application, open_window
from vidlabel.store.files import open_or_create_project
from vidlabel.store.project import HUMAN, MACHINE, Project

from .conftest import SAMPLE, SAMPLE_GT
from .reviewkit import put_jittered_ground_truth

pytestmark = pytest.mark.gui

# Every wait is for work that really happens, on a machine that may be slow and shared: the
# bound only turns a hang into a failure (instead of a frozen run), it is never a speed limit.
PATIENCE_MS = 300_000
PATIENCE_S = PATIENCE_MS / 1000


@pytest.fixture
def video(tmp_path):
    return shutil.copy(SAMPLE, tmp_path / "sample.mp4")


def show(qtbot, w, scored: bool = True) -> None:
    """Show and activate a window: window shortcuts only fire in the active window, and the
    offscreen platform does not always activate a new one by itself. `scored`: also wait for the
    session's first queue (it scores the project in its worker)."""
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w, timeout=PATIENCE_MS)
    w.activateWindow()
    w.windowHandle().requestActivate()
    qtbot.waitUntil(w.isActiveWindow, timeout=PATIENCE_MS)
    if scored:
        qtbot.waitUntil(lambda: w.c.ready, timeout=PATIENCE_MS)


@pytest.fixture
def window(qtbot, video, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # the defaults, not the user's keys
    application()
    w = open_window(video)
    show(qtbot, w)
    yield w
    w.close()


@pytest.fixture
def machine_window(qtbot, video, tmp_path, monkeypatch):
    """A window on the sample whose project holds machine boxes (the ground truth, jittered, with
    made-up confidences), so that the review session has something to rank."""
    project, frames = open_or_create_project(video, classes=("person",))
    rng = np.random.default_rng(0)
    with project.action("prelabel", MACHINE):
        put_jittered_ground_truth(project, SAMPLE_GT, rng)
    project.close(), frames.close()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    application()
    w = open_window(video)
    show(qtbot, w)
    yield w
    w.close()


def at(window, x: float, y: float) -> QPoint:
    """Viewport position of image pixel (x, y)."""
    return window.canvas.mapFromScene(QPointF(x, y))


def drag(qtbot, window, start: tuple[float, float], end: tuple[float, float]) -> None:
    viewport = window.canvas.viewport()
    a, b = at(window, *start), at(window, *end)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=a)
    for t in (0.25, 0.5, 0.75, 1.0):
        qtbot.mouseMove(viewport, QPoint(round(a.x() + (b.x() - a.x()) * t), round(a.y() + (b.y() - a.y()) * t)))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=b)


def key(qtbot, window, k, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.keyClick(window.canvas, k, modifier)


def settle(qtbot, window) -> None:
    """Wait until the session has scored and ranked everything done so far, then for the queue it
    sent and a refresh of the docks to land (the session scores and ranks in its worker)."""
    qtbot.waitUntil(lambda: window.c.ready, timeout=PATIENCE_MS)
    assert window.c.session.wait_idle(PATIENCE_S)
    with qtbot.waitSignal(window.refresher.ready, timeout=PATIENCE_MS):
        window.refresher.request()


def test_open_video_creates_project_beside_it(window, video):
    assert window.c.project.path == video.parent / "sample.mp4.vlp"
    assert window.c.project.class_names() == ["person"]
    assert window.c.frame_count == 80


def test_keyboard_stepping(qtbot, window):
    key(qtbot, window, Qt.Key.Key_Right)
    key(qtbot, window, Qt.Key.Key_D)
    assert window.c.frame == 2
    key(qtbot, window, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert window.c.frame == 12
    key(qtbot, window, Qt.Key.Key_A)
    key(qtbot, window, Qt.Key.Key_Left)
    assert window.c.frame == 10
    key(qtbot, window, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)
    key(qtbot, window, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert window.c.frame == 0  # clamped at the first frame
    assert "frame 0 of 80 (from 0)" in window.frame_label.text()


def test_draw_move_accept_undo(qtbot, machine_window):
    window = machine_window
    c, project = window.c, window.c.project
    settle(qtbot, window)
    assert window.picks, "the review session ranks the machine's frames"
    first = window.picks[0].frame
    tree = window.queue_panel.tree
    item = tree.topLevelItem(0)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(item).center())
    assert c.frame == first
    before = {b.id for b in project.boxes(frame=first)}

    drag(qtbot, window, (40, 440), (100, 560))  # an empty patch of grass: a new object
    assert c.session.wait_idle(PATIENCE_S)
    drawn = [b for b in project.boxes(frame=first) if b.id not in before]
    assert len(drawn) == 1
    b = drawn[0]
    assert b.source.value == "human" and b.verified and c.selected_track == b.track_id
    assert (b.x, b.y, b.w, b.h) == pytest.approx((40, 440, 60, 120), abs=3)
    assert b.track_id in window.canvas.items_by_track

    drag(qtbot, window, (70, 500), (170, 480))  # grab it in the middle and move it
    assert c.session.wait_idle(PATIENCE_S)
    moved = project.boxes(frame=first, track_id=b.track_id)[0]
    assert (moved.x, moved.y) == pytest.approx((b.x + 100, b.y - 20), abs=2)
    assert (moved.w, moved.h) == pytest.approx((b.w, b.h))

    queue = [p.frame for p in window.picks]
    key(qtbot, window, Qt.Key.Key_Return)  # accept the frame, go to the next queue item
    assert first in project.verified_frames()
    assert all(b.verified for b in project.boxes(frame=first))
    assert c.frame != first and c.frame in queue
    settle(qtbot, window)
    assert window.picks and first not in [p.frame for p in window.picks]  # it left the queue
    assert window.timeline.verified[first]

    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo the accept
    assert project.verified_frames() == []
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo the move
    assert project.boxes(frame=first, track_id=b.track_id)[0].x == pytest.approx(b.x)
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo the draw
    assert c.session.wait_idle(PATIENCE_S)
    assert project.boxes(track_id=b.track_id) == []  # its re-propagation went with it
    assert {x.id for x in project.boxes(frame=first)} == before
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
        | Qt.KeyboardModifier.ShiftModifier)  # redo the draw
    assert c.session.wait_idle(PATIENCE_S)
    assert project.boxes(frame=first, track_id=b.track_id)[0].x == pytest.approx(b.x)
    assert [a.kind for a in project.actions(actor=HUMAN)] == ["draw"]


def test_a_click_with_a_tremor_selects_without_fixing(qtbot, machine_window):
    """A mouse that moves less than the platform's drag distance while clicking is a click."""
    from PyQt6.QtWidgets import QApplication

    window = machine_window
    c, project = window.c, window.c.project
    settle(qtbot, window)
    box = max(project.boxes(frame=0), key=lambda b: b.w * b.h)
    centre = (box.x + box.w / 2, box.y + box.h / 2)
    jitter = (QApplication.startDragDistance() // 2 - 1) / window.canvas.transform().m11()
    for _ in range(2):   # selecting it, and clicking it again once selected
        drag(qtbot, window, centre, (centre[0] + jitter, centre[1] + jitter))
    assert c.selected_track == box.track_id
    assert project.boxes(frame=0, track_id=box.track_id)[0] == box   # not moved, not verified
    assert [a.kind for a in project.actions(actor=HUMAN)] == []
    drag(qtbot, window, centre, (centre[0] + 20, centre[1]))         # a real drag still moves it
    assert c.session.wait_idle(PATIENCE_S)
    assert project.boxes(frame=0, track_id=box.track_id)[0].x == pytest.approx(box.x + 20, abs=2)


def test_resize_with_handle_and_delete(qtbot, window):
    project = window.c.project
    drag(qtbot, window, (300, 200), (360, 300))
    b = project.boxes(frame=0)[0]
    drag(qtbot, window, (b.x + b.w, b.y + b.h), (b.x + b.w + 40, b.y + b.h + 30))  # bottom-right handle
    r = project.boxes(frame=0)[0]
    assert (r.x, r.y) == pytest.approx((b.x, b.y), abs=0.01)
    assert r.w == pytest.approx(b.w + 40, abs=2) and r.h == pytest.approx(b.h + 30, abs=2)
    key(qtbot, window, Qt.Key.Key_Delete)
    assert project.boxes(frame=0) == []


def test_class_keys_and_class_editor(qtbot, window):
    c = window.c
    c.add_class("car")
    assert window.classes_panel.names == ["person", "car"]
    key(qtbot, window, Qt.Key.Key_2)  # no box selected: class for new boxes
    drag(qtbot, window, (50, 50), (120, 90))
    b = c.project.boxes(frame=0)[0]
    assert b.class_id == 1
    key(qtbot, window, Qt.Key.Key_1)  # a box is selected: its track becomes a person
    assert c.project.boxes(frame=0)[0].class_id == 0
    window.classes_panel.renameRequested.emit(1, "vehicle")
    assert c.project.class_names() == ["person", "vehicle"]
    window.classes_panel.mergeRequested.emit(0, 1)  # every person becomes a vehicle
    assert c.project.class_names() == ["vehicle"]
    assert c.project.boxes(frame=0)[0].class_id == 0
    key(qtbot, window, Qt.Key.Key_9)
    assert "no class 9" in window.message_label.text()


def test_split_and_outside(qtbot, window):
    c = window.c
    drag(qtbot, window, (100, 100), (150, 200))
    track = c.selected_track
    key(qtbot, window, Qt.Key.Key_Right)
    drag(qtbot, window, (110, 100), (160, 200))
    second = c.selected_track
    assert second != track
    c.select(second)
    c.merge_into(track)
    assert {b.track_id for b in c.project.boxes()} == {track}
    key(qtbot, window, Qt.Key.Key_X)  # split at frame 1
    new = c.selected_track
    assert new != track
    assert [b.frame for b in c.project.boxes(track_id=new)] == [1]
    key(qtbot, window, Qt.Key.Key_E)  # it leaves view here
    assert c.project.boxes(frame=1, track_id=new)[0].outside
    assert window.canvas.items_by_track == {}  # outside boxes are not drawn


def test_statistics_and_tracks_dock(qtbot, window):
    drag(qtbot, window, (100, 100), (150, 200))
    key(qtbot, window, Qt.Key.Key_Return)
    settle(qtbot, window)  # the drawn box was re-propagated by the tracker meanwhile
    propagated = len(window.c.project.boxes()) - 1
    assert propagated > 0
    assert window.stats_panel.verified.text() == "1 / 80"
    assert window.stats_panel.values["sources"].text() == f"human 1, tracker {propagated}"
    assert window.tracks_panel.tree.topLevelItemCount() == 1
    assert window.tracks_panel.tree.topLevelItem(0).text(4) == f"{1 / (propagated + 1):.0%}"


def test_remapped_keys(qtbot, video, tmp_path, monkeypatch):
    config = tmp_path / "config" / "vidlabel"
    config.mkdir(parents=True)
    (config / "shortcuts.yaml").write_text("shortcuts:\n  next_frame: [L]\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    application()
    w = open_window(video)
    show(qtbot, w)
    try:
        qtbot.keyClick(w.canvas, Qt.Key.Key_L)
        assert w.c.frame == 1
        qtbot.keyClick(w.canvas, Qt.Key.Key_Right)  # no longer bound
        assert w.c.frame == 1
        qtbot.keyClick(w.canvas, Qt.Key.Key_D)
        assert w.c.frame == 1
        qtbot.keyClick(w.canvas, Qt.Key.Key_F1)  # the overlay lists the keys as bound now
        assert w.help.isVisible() and ("L", "next frame") in w.help.rows
        qtbot.mouseClick(w.help, Qt.MouseButton.LeftButton)
        assert not w.help.isVisible()
    finally:
        w.close()


def test_reopening_continues_the_same_project(qtbot, video, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    application()
    w = open_window(video)
    # edits work at once, before the event loop ran and the session's first queue arrived
    w.c.draw_box((10, 10, 20, 20))
    assert not w.c.ready and len(w.c.project.boxes(frame=0)) == 1
    qtbot.waitUntil(lambda: w.c.ready, timeout=PATIENCE_MS)
    assert w.c.session.wait_idle(PATIENCE_S)  # its re-propagation is written
    saved = w.c.project.boxes()
    w.close()
    with Project.open(video.parent / "sample.mp4.vlp", readonly=True) as p:
        assert p.boxes() == saved and sum(b.verified for b in saved) == 1
    w = open_window(video.parent / "sample.mp4.vlp")
    try:
        assert w.c.project.boxes() == saved
    finally:
        w.close()


def test_a_closed_project_is_one_file_that_holds_every_edit(qtbot, video, tmp_path, monkeypatch):
    """Copy only the `.vlp` after closing the window (what a person sends a colleague)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    application()
    w = open_window(video)
    show(qtbot, w)
    for frame in range(3):
        w.c.seek(frame)
        w.c.draw_box((10 + 20 * frame, 10, 20, 40))
    assert w.c.session.wait_idle(PATIENCE_S)
    saved = w.c.project.boxes()
    # A reader still open at close (a statistics worker, `vidlabel info` in another terminal)
    # kept SQLite from folding the log into the file when the writer closed last.
    reader = Project.open(video.parent / "sample.mp4.vlp", readonly=True)
    reader.boxes(frame=0)
    w.close()
    copy = tmp_path / "colleague"
    copy.mkdir()
    shutil.copy(video.parent / "sample.mp4.vlp", copy / "p.vlp")
    assert not (video.parent / "sample.mp4.vlp-wal").exists() or \
        (video.parent / "sample.mp4.vlp-wal").stat().st_size == 0
    with Project.open(copy / "p.vlp", readonly=True) as p:
        assert p.boxes() == saved and sum(b.verified for b in saved) == 3
    reader.close()


def test_ignore_regions_are_shown_but_not_editable(qtbot, window):
    from vidlabel.datamodel import IgnoreRegion

    project = window.c.project
    with project.action("import", "machine"):
        project.add_ignore_region(IgnoreRegion(3, 0, 200, 150, 80, 60))
    key(qtbot, window, Qt.Key.Key_Right, Qt.KeyboardModifier.NoModifier)
    assert window.canvas.ignore_rects() == []
    for _ in range(2):
        key(qtbot, window, Qt.Key.Key_Right)
    assert window.canvas.ignore_rects() == [(200, 150, 80, 60)]
    drag(qtbot, window, (210, 160), (260, 190))  # drawing over it makes a box; the region stays
    assert len(project.boxes(frame=3)) == 1 and len(project.ignore_regions(frame=3)) == 1


def test_export_dialog_writes_coco_in_the_background(qtbot, window, tmp_path, monkeypatch):
    import json

    drag(qtbot, window, (100, 100), (150, 200))
    drawn = window.c.selected_track
    key(qtbot, window, Qt.Key.Key_Return)
    dialog = window.show_export()
    assert dialog.output.text().endswith("sample.mp4_coco.json")
    out = tmp_path / "out" / "dataset.json"
    dialog.output.setText(str(out))
    dialog.verified_only.setChecked(True)
    with qtbot.waitSignal(dialog.finished, timeout=PATIENCE_MS):
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    data = json.loads(out.read_text())
    (ann,) = data["annotations"]
    assert ann["track_id"] == drawn and ann["bbox"][0] == pytest.approx(100, abs=2)
    assert "exported to" in window.message_label.text()
    from PyQt6.QtWidgets import QMessageBox

    asked = []
    monkeypatch.setattr(QMessageBox, "question", staticmethod(
        lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.No))
    dialog = window.show_export()
    dialog.format.setCurrentIndex(2)  # YOLO where a file is: the person is asked, says no
    dialog.output.setText(str(out))
    before = out.read_bytes()
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert asked and str(out) in asked[0]
    assert dialog.isVisible() and dialog.export_button.isEnabled() and "not exported" in dialog.status.text()
    assert out.read_bytes() == before
    dialog.reject()


@pytest.mark.slow
def test_cancelled_prelabel_leaves_a_consistent_project_and_resumes(qtbot, window):
    project = window.c.project
    dialog = window.show_prelabel()
    dialog.end.setValue(40)
    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    job = dialog.job
    stop = lambda done, total, what: dialog.cancel() if done > 0 else None  # noqa: E731
    job.progress.connect(stop)
    with qtbot.waitSignal(job.cancelled_, timeout=PATIENCE_MS):
        pass
    assert dialog.run_button.text() == "Resume" and "cancelled" in dialog.status.text()
    (run,) = project.detection_runs()
    stored = project.detected_frames(run["id"])
    assert 0 < len(stored) < 40
    # whole frames only: every detection belongs to a frame marked stored, and no track was written
    assert {d.frame for d in project.detections(run["id"])} <= stored
    assert project.tracks() == [] and project.boxes() == []
    assert [a.kind for a in project.actions(actor=MACHINE) if a.kind == "prelabel"] == []
    # the window keeps working on the same project while the dialog is shown
    assert Project.open(project.path, readonly=True).boxes() == []

    job.progress.disconnect(stop)
    with qtbot.waitSignal(dialog.prelabelled, timeout=PATIENCE_MS) as finished:
        qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    summary = finished.args[0]
    assert summary.resumed_frames == len(stored) and summary.detected_frames == 40
    assert summary.tracks > 0 and project.boxes(frame=5)
    c = window.c
    c.seek(5)
    assert window.canvas.items_by_track  # the new boxes are drawn
    settle(qtbot, window)
    assert window.picks and window.picks[0].frame < 40 and window.picks[0].reasons


def test_a_queue_jump_shows_what_the_pick_means_and_p_goes_back(qtbot, machine_window):
    window = machine_window
    c = window.c
    settle(qtbot, window)
    start = c.frame
    key(qtbot, window, Qt.Key.Key_N)
    pick = next(p for p in window.picks if p.frame == c.frame)
    assert pick.flagged_track is not None and c.selected_track == pick.flagged_track
    current = window.queue_panel.tree.currentItem()
    assert current is not None and int(current.text(1)) == pick.frame     # its row is marked
    status = window.message_label.text()
    assert f"frame {pick.frame}" in status and f"score {pick.score:.2f}" in status
    assert pick.reasons[0] in status
    key(qtbot, window, Qt.Key.Key_P)   # previous queue item
    assert c.frame == start


def test_track_keys_class_keys_undo_and_view_keys_as_a_person_uses_them(qtbot, machine_window, monkeypatch):
    from PyQt6.QtWidgets import QInputDialog

    window = machine_window
    c, project = window.c, window.c.project
    settle(qtbot, window)
    c.add_class("car")
    box = project.boxes(frame=0)[0]
    c.select(box.track_id)
    key(qtbot, window, Qt.Key.Key_2)                       # with a box selected: its track's class
    assert {b.class_id for b in project.boxes(track_id=box.track_id)} == {1}
    assert c.current_class == 0                            # and not the class of the next drawn box
    key(qtbot, window, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)   # nudge one pixel
    moved = project.boxes(frame=0, track_id=box.track_id)[0]
    assert moved.x == pytest.approx(box.x + 1) and moved.verified
    c.seek(40)
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)   # undo the nudge
    assert c.frame == 0 and "undo fix on frame 0" in window.message_label.text()
    c.select(box.track_id)
    key(qtbot, window, Qt.Key.Key_Delete, Qt.KeyboardModifier.ShiftModifier)  # delete the track
    assert project.boxes(track_id=box.track_id) == []
    assert [a.kind for a in project.actions(actor=HUMAN)][-1] == "delete track"
    key(qtbot, window, Qt.Key.Key_F1)
    assert window.help.isVisible()
    key(qtbot, window, Qt.Key.Key_Escape)                  # Escape closes the overlay
    assert not window.help.isVisible()
    monkeypatch.setattr(QInputDialog, "getInt", staticmethod(lambda *a, **k: (57, True)))
    key(qtbot, window, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    assert c.frame == 57
    key(qtbot, window, Qt.Key.Key_L)
    assert not any(i.tag.isVisible() for i in window.canvas.items_by_track.values())
    key(qtbot, window, Qt.Key.Key_BracketRight)
    assert c.speed == 2.0


def test_reopening_goes_back_to_where_the_person_left_off(qtbot, video, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    application()
    w = open_window(video)
    w.c.seek(33)
    w.close()
    again = open_window(video)
    try:
        assert again.c.frame == 33
    finally:
        again.close()


def test_a_candidate_track_is_asked_about_first_and_enter_keeps_it(qtbot, video, tmp_path, monkeypatch):
    """A candidate track is not drawn on its frames; the queue's first item shows it (selected,
    with why), and accepting that frame with Enter confirms it."""
    project, frames = open_or_create_project(video, classes=("person",))
    with project.action("prelabel", MACHINE):
        put_jittered_ground_truth(project, SAMPLE_GT, np.random.default_rng(0))
        cand = project.new_track(candidate=True)
        for f in range(20, 60):
            project.put_box(Box(f, cand, 0, 600.0, 40.0, 12.0, 26.0, confidence=0.3))
    project.close(), frames.close()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    application()
    window = open_window(video)
    show(qtbot, window)
    try:
        settle(qtbot, window)
        window.c.seek(30)
        assert cand not in window.canvas.items_by_track
        key(qtbot, window, Qt.Key.Key_N)
        assert (window.c.frame, window.c.selected_track) == (20, cand)
        assert cand in window.canvas.items_by_track
        assert "candidate track" in window.message_label.text()
        key(qtbot, window, Qt.Key.Key_Return)
        settle(qtbot, window)
        assert not window.c.project.candidate_tracks()
    finally:
        window.close()


def _sample_window(qtbot, video, tmp_path, monkeypatch, add):
    """The sample with jittered ground truth and what `add(project)` puts beside it (inside the
    pre-labelling action), opened in the window and settled; returns (window, what add returned)."""
    project, frames = open_or_create_project(video, classes=("person",))
    with project.action("prelabel", MACHINE):
        put_jittered_ground_truth(project, SAMPLE_GT, np.random.default_rng(0))
        added = add(project)
    project.close(), frames.close()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    application()
    window = open_window(video)
    show(qtbot, window)
    settle(qtbot, window)
    return window, added


def _candidate_window(qtbot, video, tmp_path, monkeypatch):
    """The sample with jittered ground truth and one candidate track (a small box on frames 20-59)."""
    def add(project):
        cand = project.new_track(candidate=True)
        for f in range(20, 60):
            project.put_box(Box(f, cand, 0, 600.0 + f, 40.0, 12.0, 26.0, confidence=0.2 + 0.01 * (f % 7)))
        return cand
    return _sample_window(qtbot, video, tmp_path, monkeypatch, add)


def test_a_track_pick_is_a_filmstrip_of_clickable_crops_accepted_at_once(qtbot, video, tmp_path, monkeypatch):
    """N on a track pick shows its crops side by side (why it was picked above them); a click on
    a crop opens that frame with the track selected; Ctrl+Enter accepts every crop in one action
    and pays one look per crop."""
    from vidlabel.review.effort import human_seconds

    window, cand = _candidate_window(qtbot, video, tmp_path, monkeypatch)
    try:
        key(qtbot, window, Qt.Key.Key_N)
        pick = window.c.track_pick
        assert pick is not None and pick.track_id == cand and len(pick.crops) >= 2
        strip = window.filmstrip
        assert strip.isVisible() and sorted(strip.buttons) == [(f, cand) for f in sorted(pick.crops)]
        assert "candidate track" in strip.title.text() and "picked because" in strip.title.text()
        assert strip.buttons[window.c.frame, cand].isChecked()
        second = sorted(pick.crops)[1]
        qtbot.mouseClick(strip.buttons[second, cand], Qt.MouseButton.LeftButton)
        assert (window.c.frame, window.c.selected_track) == (second, cand)
        assert strip.buttons[second, cand].isChecked()
        key(qtbot, window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        settle(qtbot, window)
        assert not window.c.project.candidate_tracks() and not strip.isVisible()
        verified = [b.frame for b in window.c.project.boxes(track_id=cand) if b.verified]
        assert sorted(verified) == sorted(pick.crops)
        assert human_seconds(window.c.project) == len(pick.crops)   # a look per crop, nothing else
    finally:
        window.close()


def test_deleting_a_track_from_its_filmstrip_pays_for_every_crop_looked_at(qtbot, video, tmp_path, monkeypatch):
    from vidlabel.review.effort import human_seconds

    window, cand = _candidate_window(qtbot, video, tmp_path, monkeypatch)
    try:
        key(qtbot, window, Qt.Key.Key_N)
        crops = len(window.c.track_pick.crops)
        key(qtbot, window, Qt.Key.Key_Delete, Qt.KeyboardModifier.ShiftModifier)
        settle(qtbot, window)
        assert cand not in {t.id for t in window.c.project.tracks()}
        assert not window.filmstrip.isVisible()
        assert human_seconds(window.c.project) == crops + 1     # the looks, and one delete
    finally:
        window.close()


def test_narrowing_down_where_a_track_changes_then_splitting_there(qtbot, video, tmp_path, monkeypatch):
    """B on a crop past the change adds the track's box halfway back to the filmstrip (one more
    look); opening the first crop past the change and narrowing again brings it to neighbouring
    frames, where X splits the track: the tail is a new track, and the person pays every crop
    looked at plus one fix."""
    from vidlabel.review.effort import human_seconds

    window, cand = _candidate_window(qtbot, video, tmp_path, monkeypatch)
    change = 41   # say the small box leaves its person on frame 41
    try:
        key(qtbot, window, Qt.Key.Key_N)
        c, strip = window.c, window.filmstrip
        for _ in range(10):
            past = min(f for f in c.track_pick.crops if f >= change)
            qtbot.mouseClick(strip.buttons[past, cand], Qt.MouseButton.LeftButton)
            before = len(c.track_pick.crops)
            key(qtbot, window, Qt.Key.Key_B)
            if len(c.track_pick.crops) == before:
                break
            assert len(strip.buttons) == before + 1
        assert c.frame == change and change - 1 in c.track_pick.crops
        assert "changes at frame 41" in window.message_label.text()
        crops = len(c.track_pick.crops)
        key(qtbot, window, Qt.Key.Key_X)
        settle(qtbot, window)
        assert max(b.frame for b in c.project.boxes(track_id=cand)) == change - 1
        assert c.selected_track != cand and min(b.frame for b in c.project.boxes(track_id=c.selected_track)) == change
        assert not strip.isVisible()
        assert human_seconds(c.project) == crops + 4
    finally:
        window.close()


def test_moving_a_track_s_tail_to_the_track_whose_object_it_follows(qtbot, video, tmp_path, monkeypatch):
    """Shift+X asks which track the selected track's boxes from this frame on belong to, and
    moves them there (where that track has no box) in one action: one look and a fix."""
    from PyQt6.QtWidgets import QInputDialog

    from vidlabel.review.effort import human_seconds

    window, cand = _candidate_window(qtbot, video, tmp_path, monkeypatch)
    try:
        c = window.c
        ends = {t.id: max(b.frame for b in boxes) for t in c.project.tracks()
                if t.id != cand and (boxes := c.project.boxes(track_id=t.id, include_outside=False))}
        target = min(ends, key=ends.get)          # the person who leaves first (frame 46)
        assert 40 < ends[target] < 59
        monkeypatch.setattr(QInputDialog, "getInt", staticmethod(lambda *a, **k: (target, True)))
        c.seek(40)
        c.select(cand)
        key(qtbot, window, Qt.Key.Key_X, Qt.KeyboardModifier.ShiftModifier)
        settle(qtbot, window)
        assert max(b.frame for b in c.project.boxes(track_id=cand)) == 39
        moved = [b.frame for b in c.project.boxes(track_id=target) if b.frame > ends[target]]
        assert moved == list(range(ends[target] + 1, 60))
        assert c.selected_track == target
        assert human_seconds(c.project) == 1 + 4
    finally:
        window.close()


def test_the_next_queue_items_are_decoded_before_the_person_asks(qtbot, machine_window):
    """The app decodes ahead the queue's frames and the current frame's neighbours, into the
    cache its own reads use (vidlabel.prefetch)."""
    window = machine_window
    c = window.c
    settle(qtbot, window)
    assert c.prefetcher.idle(PATIENCE_S)
    upcoming = [p.frame for p in c.picks[:10]]
    assert upcoming and all(c.video.cached(f) for f in upcoming)
    key(qtbot, window, Qt.Key.Key_N)
    assert c.prefetcher.idle(PATIENCE_S)
    assert all(c.video.cached(c.frame + d) for d in (1, 2, 3) if c.frame + d < c.frame_count)


def test_the_uncertainty_sparkline_is_one_bar_per_column_coloured_by_its_value():
    """Built as one image (it used to be 700 bars painted one by one at every queue change)."""
    from vidlabel.gui import theme
    from vidlabel.gui.timeline import sparkline

    image = sparkline(np.array([0.0, 0.5, 1.0]), 10)
    lit = [[image.pixelColor(x, y).alpha() == 255 for y in range(10)] for x in range(3)]
    assert [sum(column) for column in lit] == [0, 5, 10]
    assert all(column[-1] for column in lit[1:])   # bars stand on the bottom edge
    hot = image.pixelColor(2, 9)
    assert (hot.red(), hot.green(), hot.blue()) == (theme.UNCERTAIN.red(), theme.UNCERTAIN.green(),
                                                    theme.UNCERTAIN.blue())
    assert theme.heat_colour(1.0) == theme.UNCERTAIN and theme.heat_colour(0.0) == theme.CALM


def test_similar_tracks_in_one_filmstrip_the_accepted_one_kept_the_rest_deleted_at_once(qtbot, video, tmp_path, monkeypatch):
    """Once the person has deleted tiny tracks and accepted walkers, the queue offers the other
    tiny tracks as one filmstrip, each at its two ends; a click opens a crop with its track
    selected, K keeps that one (its crops accepted), and Ctrl+Shift+Delete deletes the rest in
    one action that pays their crops and one delete (and one undo brings them back)."""
    from vidlabel.review.effort import human_seconds

    def add(project):
        tiny = [project.new_track() for _ in range(6)]
        for k, t in enumerate(tiny):
            for f in range(20, 60):
                project.put_box(Box(f, t, 0, 560.0 + 25 * k, 40.0, 10.0, 22.0, confidence=0.3 + 0.01 * k))
        return tiny, sorted(set(project.track_ids()) - set(tiny))

    window, (tiny, walkers) = _sample_window(qtbot, video, tmp_path, monkeypatch, add)
    try:
        c, strip = window.c, window.filmstrip
        for t in tiny[:3]:
            c._edit(lambda t=t: c.session.delete_track(t, shown=2))   # as the app's keys do
        for t in walkers[:2]:
            frames_of = [b.frame for b in c.project.boxes(track_id=t)]
            c._edit(lambda t=t, f=frames_of: c.session.accept_stretch(t, [f[0], f[-1]]))
        settle(qtbot, window)
        spent = human_seconds(c.project)
        key(qtbot, window, Qt.Key.Key_N)
        pick = c.track_pick
        assert pick is not None and sorted(t for t, _ in pick.group) == tiny[3:]
        assert strip.isVisible() and sorted(strip.buttons) == sorted((f, t) for t in tiny[3:] for f in (20, 59))
        assert "3 tracks like the ones you deleted" in strip.title.text()
        qtbot.mouseClick(strip.buttons[59, tiny[4]], Qt.MouseButton.LeftButton)
        assert (c.frame, c.selected_track) == (59, tiny[4]) and strip.buttons[59, tiny[4]].isChecked()
        key(qtbot, window, Qt.Key.Key_K)                      # this one is on a wanted object
        assert sorted(b.frame for b in c.project.boxes(track_id=tiny[4]) if b.verified) == [20, 59]
        key(qtbot, window, Qt.Key.Key_Delete, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        settle(qtbot, window)
        assert not strip.isVisible() and "deleted 2 similar tracks, kept 1" in window.message_label.text()
        assert not c.project.boxes(track_id=tiny[3]) and not c.project.boxes(track_id=tiny[5])
        assert len(c.project.boxes(track_id=tiny[4])) == 40     # kept whole
        assert human_seconds(c.project) == spent + 6 + 1   # a look per crop of the three, a delete
        key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        settle(qtbot, window)
        assert len(c.project.boxes(track_id=tiny[3])) == 40 and len(c.project.boxes(track_id=tiny[4])) == 40
    finally:
        window.close()
