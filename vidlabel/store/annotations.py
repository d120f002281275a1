"""The tables the annotation lives in, written only inside an action: meta and video, classes,
tracks, boxes, ignore regions and frame review state; and the read-only summaries of the boxes.

A mixin of the `Project` facade (`store.project`); every write checks that an action is open, so
the log triggers record it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import replace

from ..datamodel import Box, IgnoreRegion, Source, Track, VideoRef
from ..errors import ProjectError
from .log import MACHINE, ActionLog
from .schema import LOGGED_TABLES

_BOX_COLS = LOGGED_TABLES["boxes"]
_SOURCES = {s.value: s for s in Source}  # a dict lookup: Source(...) costs more than the rest of a row


def _box_from_row(row: sqlite3.Row) -> Box:
    return Box(frame=row["frame"], track_id=row["track_id"], class_id=row["class_id"],
               x=row["x"], y=row["y"], w=row["w"], h=row["h"], confidence=row["confidence"],
               source=_SOURCES[row["source"]], verified=bool(row["verified"]),
               outside=bool(row["outside"]), occluded=bool(row["occluded"]), id=row["id"])


def _box_from_image(image: dict) -> Box:
    """A box from a logged row image, whose REAL columns are text (exact: see `schema._REAL_COLS`)."""
    return _box_from_row({**image, **{c: float(image[c]) for c in ("x", "y", "w", "h", "confidence")}})


class AnnotationTables(ActionLog):
    """Accessors of the logged tables (and of meta and video, written inside actions too)."""

    # ------------------------------------------------------------------ meta and video
    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self._require_action()
        self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    @property
    def video(self) -> VideoRef | None:
        row = self._conn.execute("SELECT * FROM video").fetchone()
        if row is None:
            return None
        return VideoRef(row["path"], row["frame_count"], row["fps"], row["width"], row["height"],
                        row["fingerprint"], row["rotation"])

    def set_video(self, ref: VideoRef, frame_index: bytes | None = None) -> None:
        self._require_action()
        self._conn.execute(
            "INSERT OR REPLACE INTO video VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)",
            (ref.path, ref.frame_count, ref.fps, ref.width, ref.height, ref.rotation,
             ref.fingerprint, frame_index))

    def video_frame_index(self) -> bytes | None:
        row = self._conn.execute("SELECT frame_index FROM video").fetchone()
        return row["frame_index"] if row else None

    # ------------------------------------------------------------------ classes
    def class_names(self) -> list[str]:
        """Class names in class-id order (the id is the index: see docs/adr/0003)."""
        return [r["name"] for r in self._conn.execute("SELECT name FROM classes ORDER BY id")]

    def class_id(self, name: str) -> int | None:
        row = self._conn.execute("SELECT id FROM classes WHERE name = ?", (name,)).fetchone()
        return row["id"] if row else None

    def add_class(self, name: str) -> int:
        """Add a class at the next index; returns the existing id when the name is known."""
        self._require_action()
        name = name.strip()
        if not name:
            raise ProjectError("class name is empty")
        existing = self.class_id(name)
        if existing is not None:
            return existing
        next_id = self._conn.execute("SELECT coalesce(max(id) + 1, 0) FROM classes").fetchone()[0]
        self._conn.execute("INSERT INTO classes(id, name) VALUES (?, ?)", (next_id, name))
        return next_id

    def rename_class(self, class_id: int, name: str) -> None:
        self._require_action()
        self._conn.execute("UPDATE classes SET name = ? WHERE id = ?", (name.strip(), class_id))

    def merge_class(self, source: int, target: int) -> None:
        """Move every box and ignore region of `source` to `target`, drop `source`, keep ids
        contiguous."""
        self._require_action()
        self._conn.execute("PRAGMA defer_foreign_keys = ON")
        self._move_class(source, target)
        self._conn.execute("DELETE FROM classes WHERE id = ?", (source,))
        for (cid,) in self._conn.execute("SELECT id FROM classes WHERE id > ? ORDER BY id",
                                         (source,)).fetchall():
            name = self._conn.execute("SELECT name FROM classes WHERE id = ?", (cid,)).fetchone()[0]
            self._conn.execute("DELETE FROM classes WHERE id = ?", (cid,))
            self._conn.execute("INSERT INTO classes(id, name) VALUES (?, ?)", (cid - 1, name))
            self._move_class(cid, cid - 1)

    def _move_class(self, old: int, new: int) -> None:
        for table in ("boxes", "ignore_regions"):
            self._conn.execute(f"UPDATE {table} SET class_id = ? WHERE class_id = ?", (new, old))

    # ------------------------------------------------------------------ tracks
    def new_track(self, name: str = "", track_id: int | None = None, candidate: bool = False) -> int:
        """A new track; `track_id` keeps an id from outside (an import), else the next free id."""
        self._require_action()
        if track_id is not None and self._conn.execute(
                "SELECT 1 FROM tracks WHERE id = ?", (track_id,)).fetchone():
            raise ProjectError(f"track {track_id} already exists", str(self.path))
        return self._conn.execute("INSERT INTO tracks(id, name, candidate) VALUES (?, ?, ?)",
                                  (track_id, name, int(candidate))).lastrowid

    def tracks(self) -> list[Track]:
        rows = self._conn.execute(
            "SELECT t.id, t.name, t.candidate, (SELECT class_id FROM boxes b WHERE b.track_id = t.id "
            "GROUP BY class_id ORDER BY count(*) DESC LIMIT 1) AS class_id FROM tracks t ORDER BY t.id")
        return [Track(r["id"], r["class_id"] if r["class_id"] is not None else -1, r["name"],
                      bool(r["candidate"])) for r in rows]

    def track_ids(self) -> set[int]:
        """The ids of all tracks: what `tracks()` gives without each track's class, which needs
        a pass over the track's boxes (30 ms on a 100,000-box project; edits check ids only)."""
        return {r[0] for r in self._conn.execute("SELECT id FROM tracks")}

    def candidate_tracks(self) -> set[int]:
        """The tracks still waiting for a person's confirmation (see `Track.candidate`)."""
        return {r[0] for r in self._conn.execute("SELECT id FROM tracks WHERE candidate = 1")}

    def confirm_track(self, track_id: int) -> bool:
        """Make a candidate track an annotation; True if it was a candidate."""
        self._require_action()
        return self._conn.execute("UPDATE tracks SET candidate = 0 WHERE id = ? AND candidate = 1",
                                  (track_id,)).rowcount > 0

    def delete_track(self, track_id: int) -> None:
        self._require_action()
        self._conn.execute("DELETE FROM boxes WHERE track_id = ?", (track_id,))
        self._conn.execute("DELETE FROM tracks WHERE id = ?", (track_id,))

    # ------------------------------------------------------------------ boxes
    def boxes(self, frame: int | None = None, track_id: int | None = None,
              frames: tuple[int, int] | None = None, include_outside: bool = True,
              candidates: bool = True) -> list[Box]:
        """Boxes filtered by frame, track and/or a half-open frame range, in (frame, track) order;
        `candidates=False` leaves out the boxes of candidate tracks (what is not yet annotation)."""
        sql, args = "SELECT * FROM boxes WHERE 1", []
        if not candidates:
            sql += " AND track_id NOT IN (SELECT id FROM tracks WHERE candidate = 1)"
        if frame is not None:
            sql, args = sql + " AND frame = ?", args + [frame]
        if track_id is not None:
            sql, args = sql + " AND track_id = ?", args + [track_id]
        if frames is not None:
            sql, args = sql + " AND frame >= ? AND frame < ?", args + list(frames)
        if not include_outside:
            sql += " AND outside = 0"
        return [_box_from_row(r) for r in self._conn.execute(sql + " ORDER BY frame, track_id", args)]

    def box(self, box_id: int) -> Box | None:
        row = self._conn.execute("SELECT * FROM boxes WHERE id = ?", (box_id,)).fetchone()
        return _box_from_row(row) if row else None

    def put_box(self, box: Box) -> Box:
        """Insert a box, or replace the one its track already has on that frame."""
        self._require_action()
        values = [getattr(box, c) if c != "source" else box.source.value for c in _BOX_COLS[1:]]
        row = self._conn.execute("SELECT id FROM boxes WHERE track_id = ? AND frame = ?",
                                 (box.track_id, box.frame)).fetchone()
        if row is not None:
            sets = ", ".join(f"{c} = ?" for c in _BOX_COLS[1:])
            self._conn.execute(f"UPDATE boxes SET {sets} WHERE id = ?", values + [row["id"]])
            return box.with_(id=row["id"])
        cur = self._conn.execute(
            f"INSERT INTO boxes({','.join(_BOX_COLS[1:])}) VALUES ({','.join('?' * (len(_BOX_COLS) - 1))})",
            values)
        return box.with_(id=cur.lastrowid)

    def put_boxes(self, boxes: Iterable[Box]) -> None:
        for b in boxes:
            self.put_box(b)

    def delete_box(self, box_id: int) -> None:
        self._require_action()
        self._conn.execute("DELETE FROM boxes WHERE id = ?", (box_id,))

    def propagated_boxes(self, track_id: int, frames: tuple[int, int]) -> list[tuple[Box, Box | None]]:
        """The track's unverified boxes in `frames` (start inclusive, end exclusive) that a
        re-propagation wrote last, each with what its place held before re-propagation first
        wrote there (None: nothing; else the pre-label's or an interpolation's box).

        Read from the action log: the changes still done on each box, newest first, walked back
        over re-propagation's writes. So a box is taken back to the evidence it had without the
        keyframes re-propagation ran from."""
        boxes = [b for b in self.boxes(track_id=track_id, frames=frames) if not b.verified]
        if not boxes:
            return []
        history: dict[int, list[sqlite3.Row]] = {}
        marks = ",".join("?" * len(boxes))
        for row in self._conn.execute(
                "SELECT c.row_id, c.before, a.kind, a.actor FROM changes c JOIN actions a "
                f"ON a.id = c.action_id WHERE c.tbl = 'boxes' AND c.row_id IN ({marks}) "
                "AND a.state = 'done' ORDER BY c.id DESC", [b.id for b in boxes]):
            history.setdefault(row["row_id"], []).append(row)
        out = []
        for box in boxes:
            rows = history.get(box.id, [])
            walked = 0
            while walked < len(rows) and (rows[walked]["kind"], rows[walked]["actor"]) == ("propagate", MACHINE):
                walked += 1
            if walked:
                before = rows[walked - 1]["before"]
                out.append((box, _box_from_image(json.loads(before)) if before else None))
        return out

    def box_count(self) -> int:
        return self._conn.execute("SELECT count(*) FROM boxes").fetchone()[0]

    # ------------------------------------------------------------------ ignore regions
    def add_ignore_region(self, region: IgnoreRegion) -> IgnoreRegion:
        """Store a ground truth's "ignore" area (docs/adr/0004); returns it with its id."""
        self._require_action()
        cur = self._conn.execute(
            "INSERT INTO ignore_regions(frame, track_id, class_id, x, y, w, h, occluded) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (region.frame, region.track_id, region.class_id, region.x, region.y, region.w,
             region.h, int(region.occluded)))
        return replace(region, id=cur.lastrowid)

    def ignore_regions(self, frame: int | None = None) -> list[IgnoreRegion]:
        """Ignore regions of one frame, or of all frames, in (frame, track, id) order.

        An evaluator (the simulator, a COCO/MOT export) must neither reward nor punish a
        detection that falls inside one of these.
        """
        sql, args = "SELECT * FROM ignore_regions", []
        if frame is not None:
            sql, args = sql + " WHERE frame = ?", [frame]
        return [IgnoreRegion(r["frame"], r["class_id"], r["x"], r["y"], r["w"], r["h"],
                             r["track_id"], bool(r["occluded"]), r["id"])
                for r in self._conn.execute(sql + " ORDER BY frame, track_id, id", args)]

    def delete_ignore_region(self, region_id: int) -> None:
        self._require_action()
        self._conn.execute("DELETE FROM ignore_regions WHERE id = ?", (region_id,))

    # ------------------------------------------------------------------ frame review state
    def set_frame_verified(self, frame: int, verified: bool = True) -> None:
        self._require_action()
        self._conn.execute("INSERT OR REPLACE INTO frames(frame, verified) VALUES (?, ?)",
                           (frame, int(verified)))

    def verified_frames(self) -> list[int]:
        return [r[0] for r in self._conn.execute("SELECT frame FROM frames WHERE verified = 1 ORDER BY frame")]

    def frame_is_verified(self, frame: int) -> bool:
        """One frame's flag (the app asks at every step; the list of all of them grows with the work)."""
        row = self._conn.execute("SELECT 1 FROM frames WHERE frame = ? AND verified = 1", (frame,)).fetchone()
        return row is not None

    # ------------------------------------------------------------------ summaries (read-only)
    def track_spans(self) -> list[tuple[int, int, int, int, int, int]]:
        """`(track_id, class_id, first, last, boxes, verified)` of every track with a visible box.

        One aggregate query instead of reading every box: the app's track list refreshes after
        each edit, which must stay cheap on a 100,000-box project. `class_id` is the track's most
        frequent class.
        """
        return [tuple(r) for r in self._conn.execute(
            "SELECT b.track_id, (SELECT class_id FROM boxes c WHERE c.track_id = b.track_id "
            "AND c.outside = 0 GROUP BY class_id ORDER BY count(*) DESC, class_id LIMIT 1), "
            "min(b.frame), max(b.frame), count(*), sum(b.verified) "
            "FROM boxes b WHERE b.outside = 0 GROUP BY b.track_id ORDER BY b.track_id")]

    def box_counts(self) -> dict[tuple[str, bool], int]:
        """Visible boxes counted by `(source, verified)`."""
        return {(r[0], bool(r[1])): r[2] for r in self._conn.execute(
            "SELECT source, verified, count(*) FROM boxes WHERE outside = 0 GROUP BY source, verified")}
