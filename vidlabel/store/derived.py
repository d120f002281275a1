"""Derived data, written outside the action log: box and frame scores, raw detection runs.

A mixin of the `Project` facade (`store.project`). None of it is an edit a person could undo
(scores are recomputed from the boxes, detections are what a detector saw), so a write is a
transaction of its own, not an action; a score write joins an action open in its thread.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

import numpy as np

from ..datamodel import Detection
from .log import ActionLog


class DerivedTables(ActionLog):
    """Accessors of the scores and of the detection runs with their candidates."""

    # ------------------------------------------------------------------ scores (derived, not logged)
    def set_box_scores(self, scores: Iterable[tuple[int, float, dict]]) -> None:
        """Store box scores; the score of a box that no longer exists is dropped.

        A scorer computes in another thread than the person edits: a box it read may be deleted
        before its score is written. That score describes nothing any more (the deletion's own
        rescore follows), and writing it would break the foreign key to `boxes`. (The score
        writers encode before they take the lock: the person's next edit waits for the lock.)
        """
        rows = [(i, s, json.dumps(sig), i) for i, s, sig in scores]
        with self._write_derived():
            self._conn.executemany(
                "INSERT OR REPLACE INTO box_scores SELECT ?, ?, ? "
                "WHERE EXISTS (SELECT 1 FROM boxes WHERE id = ?)", rows)

    # ------------------------------------------------------------------ pending re-propagation
    def add_pending_repairs(self, anchors: Iterable[tuple[int, int, int]]) -> None:
        """Remember re-propagations (track, frame, parent edit) the session has yet to write: an
        edit is saved at once, and a kill before its repair must not lose the repair."""
        with self._write_derived():
            self._conn.executemany("INSERT OR IGNORE INTO pending_repairs VALUES (?, ?, ?)", list(anchors))

    def drop_pending_repair(self, track_id: int, frame: int, parent: int) -> None:
        with self._write_derived():
            self._conn.execute("DELETE FROM pending_repairs WHERE track_id = ? AND frame = ? AND parent = ?",
                               (track_id, frame, parent))

    def pending_repairs(self) -> list[tuple[int, int, int]]:
        return [tuple(r) for r in self._conn.execute(
            "SELECT track_id, frame, parent FROM pending_repairs ORDER BY parent, track_id, frame")]

    def box_scores(self) -> dict[int, tuple[float, dict]]:
        return {r[0]: (r[1], json.loads(r[2])) for r in self._conn.execute("SELECT * FROM box_scores")}

    def set_frame_scores(self, scores: Iterable[tuple[int, float, list]]) -> None:
        rows = [(f, s, json.dumps(r)) for f, s, r in scores]
        with self._write_derived():
            self._conn.execute("DELETE FROM frame_scores")
            self._conn.executemany("INSERT INTO frame_scores VALUES (?, ?, ?)", rows)

    def update_frame_scores(self, scores: Iterable[tuple[int, float, list]]) -> None:
        """Replace the scores of just these frames (a rescore after one edit touches a few of
        30,000); a frame whose score fell to 0 loses its row, as `frame_scores` lists only frames
        worth a look."""
        rows = list(scores)
        gone = [(f,) for f, s, _ in rows if s <= 0]
        kept = [(f, s, json.dumps(r)) for f, s, r in rows if s > 0]
        with self._write_derived():
            self._conn.executemany("DELETE FROM frame_scores WHERE frame = ?", gone)
            self._conn.executemany("INSERT OR REPLACE INTO frame_scores VALUES (?, ?, ?)", kept)

    def frame_scores(self) -> dict[int, tuple[float, list]]:
        return {r[0]: (r[1], json.loads(r[2])) for r in self._conn.execute("SELECT * FROM frame_scores")}

    # ------------------------------------------------------------------ stored answers
    def revision(self) -> str:
        """What every score is computed from, as one string: it changes with any action done,
        undone or redone (boxes, tracks, frames, classes, ignore regions, the pre-labelling
        record), any detection stored, and any re-propagation still pending."""
        with self.lock:
            rows = [tuple(self._conn.execute(sql).fetchone()) for sql in (
                "SELECT COUNT(*), MAX(id), TOTAL(id * (state = 'done')) FROM actions",
                "SELECT COUNT(*), MAX(id) FROM detections",
                "SELECT COUNT(*) FROM detected_frames",
                "SELECT COUNT(*) FROM pending_repairs")]
        return json.dumps(rows)

    def answer(self, key: str, revision: str) -> str | None:
        """The answer stored under `key` if it was computed at `revision`, else None."""
        row = self._conn.execute("SELECT value FROM answers WHERE key = ? AND revision = ?",
                                 (key, revision)).fetchone()
        return row[0] if row else None

    def store_answer(self, key: str, revision: str, value: str) -> None:
        with self._write_derived():
            self._conn.execute("INSERT OR REPLACE INTO answers VALUES (?, ?, ?)", (key, revision, value))

    # ------------------------------------------------------------------ raw detections
    def start_detection_run(self, model: str, params: dict) -> int:
        """A detection run is keyed by model and parameters, so a resumed run finds its frames."""
        key = json.dumps(params, sort_keys=True)
        row = self._conn.execute("SELECT id FROM detection_runs WHERE model = ? AND params = ?",
                                 (model, key)).fetchone()
        if row:
            return row["id"]
        with self._transaction():
            return self._conn.execute("INSERT INTO detection_runs(model, params, created) VALUES (?, ?, ?)",
                                      (model, key, time.time())).lastrowid

    def detection_runs(self) -> list[dict]:
        return [dict(id=r["id"], model=r["model"], params=json.loads(r["params"]), created=r["created"])
                for r in self._conn.execute("SELECT * FROM detection_runs ORDER BY id")]

    def add_detections(self, run_id: int, frame_dets: dict[int, list[Detection]]) -> None:
        """Store candidates for whole frames at once; a frame is either fully stored or absent."""
        with self._transaction():
            for frame, dets in frame_dets.items():
                self._conn.execute("DELETE FROM detections WHERE run_id = ? AND frame = ?", (run_id, frame))
                self._conn.executemany(
                    "INSERT INTO detections(run_id, frame, x, y, w, h, confidence, class_id, class_scores) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(run_id, frame, d.x, d.y, d.w, d.h, d.confidence, d.class_id,
                      None if d.class_scores is None else np.asarray(d.class_scores, np.float32).tobytes())
                     for d in dets])
                self._conn.execute("INSERT OR IGNORE INTO detected_frames VALUES (?, ?)", (run_id, frame))

    def detected_frames(self, run_id: int) -> set[int]:
        return {r[0] for r in self._conn.execute("SELECT frame FROM detected_frames WHERE run_id = ?", (run_id,))}

    def detections(self, run_id: int, frame: int | None = None) -> list[Detection]:
        """A run's candidates with project class ids.

        A candidate whose class the project did not have when it was stored carries
        `-(model index + 1)` (pre-labelling adds a class only when a track uses it, ADR 0003);
        it is read as the project's class of that name once one exists, and stays negative
        (a class no box has) until then.
        """
        sql, args = "SELECT * FROM detections WHERE run_id = ?", [run_id]
        if frame is not None:
            sql, args = sql + " AND frame = ?", args + [frame]
        resolve = self._unknown_classes(run_id)
        return [Detection(r["frame"], r["x"], r["y"], r["w"], r["h"], r["confidence"],
                          resolve.get(r["class_id"], r["class_id"]),
                          None if r["class_scores"] is None else np.frombuffer(r["class_scores"], np.float32),
                          r["id"])
                for r in self._conn.execute(sql + " ORDER BY frame, id", args)]

    def _unknown_classes(self, run_id: int) -> dict[int, int]:
        """Stored negative class ids of a run -> the project class of the same name, where one exists."""
        row = self._conn.execute("SELECT params FROM detection_runs WHERE id = ?", (run_id,)).fetchone()
        names = json.loads(row["params"]).get("names", []) if row else []
        ids = {r["name"].lower(): r["id"] for r in self._conn.execute("SELECT id, name FROM classes")}
        return {-(k + 1): ids[n.lower()] for k, n in enumerate(names) if n.lower() in ids}
