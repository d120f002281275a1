"""One project shared by threads: writes from two threads never mix inside one transaction."""

from __future__ import annotations

import json
import threading

from vidlabel.datamodel import Box
from vidlabel.store.project import HUMAN, MACHINE, Project


def test_concurrent_actions_stay_separate_and_undoable(tmp_path):
    project = Project.create(tmp_path / "p.vlp", classes=["person"])
    with project.action("tracks", HUMAN):
        tracks = [project.new_track() for _ in range(4)]
    errors: list[BaseException] = []

    def writer(track_id: int, actor: str) -> None:
        try:
            for frame in range(40):
                with project.action("put", actor, {"track": track_id}):
                    project.put_box(Box(frame, track_id, 0, frame, 1, 10, 10))
                    project.put_box(Box(frame, track_id, 0, frame, 2, 10, 10))
                project.set_box_scores([(1, 0.5, {})])  # a write outside the log, from any thread
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t, HUMAN if t % 2 else MACHINE)) for t in tracks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert project.box_count() == 4 * 40
    rows = project._conn.execute(
        "SELECT a.detail, c.after FROM changes c JOIN actions a ON a.id = c.action_id "
        "WHERE a.kind = 'put'").fetchall()
    assert len(rows) == 4 * 40 * 2
    for detail, after in rows:  # every logged change belongs to the action that made it
        assert json.loads(after)["track_id"] == json.loads(detail)["track"]
    while project.undo() is not None:
        pass
    assert project.box_count() == 0
    project.close()


def test_undo_restores_floats_bit_exactly(tmp_path):
    project = Project.create(tmp_path / "p.vlp", classes=["person"])
    awkward = (78.54350000000001, 0.1 + 0.2, 1e-17 + 3, 2 / 3)
    with project.action("draw", HUMAN):
        t = project.new_track()
        box = project.put_box(Box(0, t, 0, *awkward, confidence=1 / 3))
    with project.action("move", HUMAN):
        project.put_box(box.with_(x=1.0, y=2.0, confidence=0.5))
    project.undo()
    assert project.box(box.id) == box
    project.undo()
    project.redo()
    assert project.box(box.id) == box
    project.close()


def test_touched_frames_covers_an_action_and_its_follow_ups(tmp_path):
    project = Project.create(tmp_path / "p.vlp", classes=["person"])
    with project.action("draw", HUMAN) as edit:
        t = project.new_track()
        project.put_box(Box(3, t, 0, 1, 1, 5, 5))
    with project.action("propagate", MACHINE, parent=edit):
        project.put_box(Box(4, t, 0, 1, 1, 5, 5))
        project.put_box(Box(9, t, 0, 1, 1, 5, 5))
    with project.action("accept", HUMAN) as other:
        project.set_frame_verified(12)
    assert project.touched_frames(edit) == {3, 4, 9}
    assert project.touched_frames(other) == {12}
    project.close()
