"""The project store: one SQLite file holding a video's whole annotation state.

Why SQLite: every edit must be on disk the moment it is made, a killed process must leave a file
that reopens, and 100,000 boxes must be queryable by frame in microseconds. SQLite transactions
(WAL, synchronous=FULL) give all three with the standard library alone.

Every change to boxes, tracks, classes and frame review state happens inside an *action*
(`Project.action`), one transaction each. SQL triggers copy the before and after image of every
touched row into `changes`, so the action log is complete whatever code path wrote the row, and
undo/redo is generic: undo writes the before images back, redo the after images. The same triggers
enforce the box model's one hard rule (docs/adr/0001-box-model.md): a machine never rewrites or
deletes a human-verified box and never writes into a human-verified frame.

One writer at a time: a project opened for writing holds an exclusive `flock` on the file, so a
second writer gets `ProjectInUseError` at once instead of a silent interleaving of edits.
Inside that process one `Project` may be shared by threads (a review session re-propagates in a
worker while the person keeps editing): its one connection is opened thread-shareable and every
write (an action, a score update, undo/redo) holds the project's re-entrant `lock` for its whole
transaction, so two threads never interleave statements inside one transaction.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..datamodel import Box, Detection, IgnoreRegion, Source, Track, VideoRef
from ..errors import ProjectError, ProjectInUseError

SCHEMA_VERSION = 3
APPLICATION_ID = 0x76646C62  # "vdlb": marks a SQLite file as a vidlabel project
SQLITE_MAGIC = b"SQLite format 3\x00"

HUMAN, MACHINE = "human", "machine"

_SCHEMA_V1 = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE video(
    id INTEGER PRIMARY KEY CHECK (id = 1),
    path TEXT NOT NULL, frame_count INTEGER NOT NULL, fps REAL NOT NULL,
    width INTEGER NOT NULL, height INTEGER NOT NULL, rotation INTEGER NOT NULL DEFAULT 0,
    fingerprint TEXT NOT NULL, frame_index BLOB);
CREATE TABLE classes(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE);
CREATE TABLE tracks(id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');
CREATE TABLE boxes(
    id INTEGER PRIMARY KEY,
    frame INTEGER NOT NULL CHECK (frame >= 0),
    track_id INTEGER NOT NULL REFERENCES tracks(id) DEFERRABLE INITIALLY DEFERRED,
    class_id INTEGER NOT NULL REFERENCES classes(id) DEFERRABLE INITIALLY DEFERRED,
    x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL, h REAL NOT NULL,
    confidence REAL NOT NULL DEFAULT 1.0,
    source TEXT NOT NULL CHECK (source IN ('detector', 'tracker', 'interpolated', 'human')),
    verified INTEGER NOT NULL DEFAULT 0, outside INTEGER NOT NULL DEFAULT 0,
    occluded INTEGER NOT NULL DEFAULT 0,
    UNIQUE (track_id, frame));
CREATE INDEX boxes_by_frame ON boxes(frame);
CREATE TABLE frames(frame INTEGER PRIMARY KEY, verified INTEGER NOT NULL DEFAULT 0);
CREATE TABLE detection_runs(
    id INTEGER PRIMARY KEY, model TEXT NOT NULL, params TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE detected_frames(
    run_id INTEGER NOT NULL REFERENCES detection_runs(id), frame INTEGER NOT NULL,
    PRIMARY KEY (run_id, frame));
CREATE TABLE detections(
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES detection_runs(id),
    frame INTEGER NOT NULL, x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL, h REAL NOT NULL,
    confidence REAL NOT NULL, class_id INTEGER NOT NULL, class_scores BLOB);
CREATE INDEX detections_by_frame ON detections(run_id, frame);
CREATE TABLE box_scores(
    box_id INTEGER PRIMARY KEY REFERENCES boxes(id) ON DELETE CASCADE,
    score REAL NOT NULL, signals TEXT NOT NULL);
CREATE TABLE frame_scores(frame INTEGER PRIMARY KEY, score REAL NOT NULL, reasons TEXT NOT NULL);
CREATE TABLE actions(
    id INTEGER PRIMARY KEY, time REAL NOT NULL, actor TEXT NOT NULL, kind TEXT NOT NULL,
    detail TEXT NOT NULL, parent INTEGER REFERENCES actions(id),
    state TEXT NOT NULL DEFAULT 'done' CHECK (state IN ('done', 'undone', 'discarded')));
CREATE TABLE changes(
    id INTEGER PRIMARY KEY, action_id INTEGER NOT NULL REFERENCES actions(id),
    tbl TEXT NOT NULL, row_id INTEGER NOT NULL, before TEXT, after TEXT);
CREATE INDEX changes_by_action ON changes(action_id);
CREATE TABLE log_state(
    id INTEGER PRIMARY KEY CHECK (id = 1), action_id INTEGER, actor TEXT, enabled INTEGER NOT NULL);
INSERT INTO log_state VALUES (1, NULL, NULL, 0);
"""

# Tables whose every row change is logged, with the columns the log records.
LOGGED_TABLES: dict[str, tuple[str, ...]] = {
    "classes": ("id", "name"),
    "tracks": ("id", "name"),
    "boxes": ("id", "frame", "track_id", "class_id", "x", "y", "w", "h", "confidence", "source",
              "verified", "outside", "occluded"),
    "frames": ("frame", "verified"),
    "ignore_regions": ("id", "frame", "track_id", "class_id", "x", "y", "w", "h", "occluded"),
}
_ROWID = {"frames": "frame"}
# REAL columns are logged through quote(), which renders a float so that it reads back to the very
# same double; json_object alone keeps 15 significant digits, and undo would restore 78.5435 for
# 78.54350000000001. The image then holds the number as text; REAL affinity converts it back.
_REAL_COLS = {"x", "y", "w", "h", "confidence"}


def _log_triggers(tables: Iterable[str]) -> str:
    """Triggers that copy every logged row change of `tables` into `changes`."""
    sql = []
    for tbl in tables:
        cols = LOGGED_TABLES[tbl]
        key = _ROWID.get(tbl, "id")
        for event, ref, before, after in (
            ("INSERT", "NEW", "NULL", "{new}"),
            ("UPDATE", "NEW", "{old}", "{new}"),
            ("DELETE", "OLD", "{old}", "NULL"),
        ):
            image = {side: "json_object(" + ", ".join(
                f"'{c}', quote({side.upper()}.{c})" if c in _REAL_COLS else f"'{c}', {side.upper()}.{c}"
                for c in cols) + ")" for side in ("old", "new")}
            sql.append(
                f"CREATE TRIGGER log_{tbl}_{event.lower()} AFTER {event} ON {tbl} "
                f"WHEN (SELECT enabled FROM log_state) = 1 BEGIN "
                f"INSERT INTO changes(action_id, tbl, row_id, before, after) VALUES ("
                f"(SELECT action_id FROM log_state), '{tbl}', {ref}.{key}, "
                f"{before.format(**image)}, {after.format(**image)}); END;"
            )
    return "\n".join(sql)


_GUARD_TRIGGERS = """
CREATE TRIGGER guard_verified_update BEFORE UPDATE ON boxes
WHEN OLD.verified = 1 AND (SELECT actor FROM log_state) = 'machine'
BEGIN SELECT RAISE(ABORT, 'a machine may not rewrite a human-verified box'); END;
CREATE TRIGGER guard_verified_delete BEFORE DELETE ON boxes
WHEN OLD.verified = 1 AND (SELECT actor FROM log_state) = 'machine'
BEGIN SELECT RAISE(ABORT, 'a machine may not delete a human-verified box'); END;
CREATE TRIGGER guard_verified_frame BEFORE INSERT ON boxes
WHEN (SELECT actor FROM log_state) = 'machine'
 AND EXISTS (SELECT 1 FROM frames WHERE frame = NEW.frame AND verified = 1)
BEGIN SELECT RAISE(ABORT, 'a machine may not add a box to a human-verified frame'); END;
"""

# Schema 2: regions a ground truth marks "ignore" (MOTChallenge rows with conf 0, COCO iscrowd);
# see docs/adr/0004-ignore-regions.md. Not boxes: no track owns them and no detector should match
# them, but evaluation must not count a detection inside one as a false positive.
_SCHEMA_V2 = """
CREATE TABLE ignore_regions(
    id INTEGER PRIMARY KEY,
    frame INTEGER NOT NULL CHECK (frame >= 0),
    track_id INTEGER,
    class_id INTEGER NOT NULL REFERENCES classes(id) DEFERRABLE INITIALLY DEFERRED,
    x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL CHECK (w > 0), h REAL NOT NULL CHECK (h > 0),
    occluded INTEGER NOT NULL DEFAULT 0);
CREATE INDEX ignore_regions_by_frame ON ignore_regions(frame);
"""

MIGRATIONS: dict[int, str] = {
    1: _SCHEMA_V1 + _log_triggers(("classes", "tracks", "boxes", "frames")) + _GUARD_TRIGGERS,
    2: _SCHEMA_V2 + _log_triggers(("ignore_regions",)),
    # Schema 3: log triggers that keep floats exact (see _REAL_COLS), so undo is bit-exact.
    3: "".join(f"DROP TRIGGER log_{t}_{e};" for t in ("boxes", "ignore_regions")
               for e in ("insert", "update", "delete")) + _log_triggers(("boxes", "ignore_regions")),
}

_BOX_COLS = LOGGED_TABLES["boxes"]


@dataclass(frozen=True)
class Action:
    id: int
    time: float
    actor: str
    kind: str
    detail: dict
    parent: int | None
    state: str


_SOURCES = {s.value: s for s in Source}  # a dict lookup: Source(...) costs more than the rest of a row


def _box_from_row(row: sqlite3.Row) -> Box:
    return Box(frame=row["frame"], track_id=row["track_id"], class_id=row["class_id"],
               x=row["x"], y=row["y"], w=row["w"], h=row["h"], confidence=row["confidence"],
               source=_SOURCES[row["source"]], verified=bool(row["verified"]),
               outside=bool(row["outside"]), occluded=bool(row["occluded"]), id=row["id"])


def _check_header(path: Path) -> None:
    """Reject files that are plainly not SQLite before SQLite sees them."""
    if not path.exists():
        raise ProjectError("project file does not exist", str(path))
    if path.is_dir():
        raise ProjectError("project path is a folder, not a project file", str(path))
    size = path.stat().st_size
    if size == 0:
        raise ProjectError("project file is empty, not a vidlabel project", str(path))
    with path.open("rb") as f:
        if f.read(16) != SQLITE_MAGIC:
            raise ProjectError("not a vidlabel project (not an SQLite file)", str(path))


class Project:
    """An open vidlabel project. Use `Project.create` or `Project.open`, then `close()`.

    Reads work anywhere; writes must happen inside `with project.action(kind, actor):`.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, lock_fd: int | None) -> None:
        self.path = path
        self._conn = conn
        self._lock_fd = lock_fd
        self._action_id: int | None = None
        self._actor: str | None = None
        self.lock = threading.RLock()  # held by every write transaction; see the module docstring

    # ------------------------------------------------------------------ opening and closing
    @classmethod
    def create(cls, path: str | Path, video: VideoRef | None = None,
               classes: Iterable[str] = ()) -> "Project":
        """Create a new project file; refuses to overwrite an existing file."""
        path = Path(path)
        if path.exists():
            raise ProjectError("project file already exists", str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".creating")
        tmp.unlink(missing_ok=True)
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.executescript(
                f"PRAGMA application_id = {APPLICATION_ID}; PRAGMA journal_mode = DELETE;"
                "BEGIN; " + "".join(MIGRATIONS[v] for v in range(1, SCHEMA_VERSION + 1))
                + f"INSERT INTO meta VALUES ('created', '{time.time()}'); COMMIT;"
                f"PRAGMA user_version = {SCHEMA_VERSION};")
        finally:
            conn.close()
        os.replace(tmp, path)  # a half-created project never appears under its real name
        project = cls.open(path)
        with project.action("create", MACHINE):
            if video is not None:
                project.set_video(video)
            for name in classes:
                project.add_class(name)
        return project

    @classmethod
    def open(cls, path: str | Path, readonly: bool = False) -> "Project":
        """Open an existing project; checks it before anything is written to it."""
        path = Path(path)
        _check_header(path)
        version = cls._inspect(path)
        if version > SCHEMA_VERSION:
            raise ProjectError(
                f"project was written by a newer vidlabel (schema {version}, this one reads up "
                f"to {SCHEMA_VERSION}); upgrade vidlabel", str(path))
        lock_fd = None
        if readonly:
            if version < SCHEMA_VERSION:
                raise ProjectError(f"project has an old schema ({version}); open it for writing "
                                   "once to migrate it", str(path))
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                                   check_same_thread=False)
        else:
            lock_fd = cls._lock(path)
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 5000")
        project = cls(path, conn, lock_fd)
        if not readonly:
            project._migrate(version)
            # A process killed inside an action leaves no half action (SQLite rolls it back),
            # but the log switch must be off for writes made outside any action.
            conn.execute("UPDATE log_state SET enabled = 0, action_id = NULL, actor = NULL")
        return project

    @staticmethod
    def _inspect(path: Path) -> int:
        """Read-only checks: integrity, application id, schema version."""
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                app_id = conn.execute("PRAGMA application_id").fetchone()[0]
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                check = conn.execute("PRAGMA quick_check").fetchone()[0]
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            raise ProjectError(f"project file is corrupt or not a project: {exc}", str(path)) from None
        if check != "ok":
            raise ProjectError(f"project file is corrupt: {check}", str(path))
        if app_id != APPLICATION_ID:
            raise ProjectError("SQLite file is not a vidlabel project", str(path))
        return version

    @staticmethod
    def _lock(path: Path) -> int:
        fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ProjectInUseError("project is open for writing in another process", str(path)) from None
        return fd

    def _migrate(self, version: int) -> None:
        """Bring an older project up to date, one schema step per transaction.

        `executescript` commits any open transaction first, so each step is one script with its
        own BEGIN/COMMIT: a crash leaves the file at the previous version, never between.
        """
        for target in range(version + 1, SCHEMA_VERSION + 1):
            try:
                self._conn.executescript(f"BEGIN IMMEDIATE; {MIGRATIONS[target]} "
                                         f"PRAGMA user_version = {target}; COMMIT;")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None  # type: ignore[assignment]
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def readonly(self) -> bool:
        return self._lock_fd is None

    # ------------------------------------------------------------------ transactions and log
    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self.lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def _write_derived(self) -> Iterator[None]:
        """A write of derived data (scores): as `_write`, but its own transaction is committed
        without waiting for the disk (WAL with synchronous=NORMAL: the file stays consistent, a
        power cut may lose the last scores, which the next session recomputes anyway). Scoring
        writes after every edit, from a worker, under the lock the person's next edit needs:
        not syncing saves that edit a wait of one or two disk flushes. Joins this thread's open
        action, if any; the check runs under the lock, so another thread's open action is
        waited for, not joined."""
        with self.lock:
            if self._action_id is not None:
                yield
                return
            self._conn.execute("PRAGMA synchronous = NORMAL")
            try:
                with self._transaction():
                    yield
            finally:
                self._conn.execute("PRAGMA synchronous = FULL")

    @contextmanager
    def action(self, kind: str, actor: str = HUMAN, detail: dict | None = None,
               parent: int | None = None) -> Iterator[int]:
        """One user-visible change: a single transaction, logged for undo and effort accounting.

        Nested calls join the outer action. A human action that starts a new history clears the
        redo stack. `parent` ties a machine follow-up (a re-propagation) to the edit that caused
        it, so that undoing the edit undoes its consequences too.
        """
        if self.readonly:
            raise ProjectError("project is open read-only", str(self.path))
        if actor not in (HUMAN, MACHINE):
            raise ValueError(f"actor must be {HUMAN!r} or {MACHINE!r}")
        with self.lock, self._action(kind, actor, detail, parent) as action_id:
            yield action_id

    @contextmanager
    def _action(self, kind: str, actor: str, detail: dict | None,
                parent: int | None) -> Iterator[int]:
        if self._action_id is not None:  # under the lock: only this thread can have one open
            yield self._action_id
            return
        with self._transaction():
            if parent is None:
                self._conn.execute("UPDATE actions SET state = 'discarded' WHERE state = 'undone'")
            cur = self._conn.execute(
                "INSERT INTO actions(time, actor, kind, detail, parent) VALUES (?, ?, ?, ?, ?)",
                (time.time(), actor, kind, json.dumps(detail or {}), parent))
            self._action_id, self._actor = cur.lastrowid, actor
            self._conn.execute("UPDATE log_state SET enabled = 1, action_id = ?, actor = ?",
                               (self._action_id, actor))
            try:
                yield self._action_id
            finally:
                self._conn.execute("UPDATE log_state SET enabled = 0, action_id = NULL, actor = NULL")
                self._action_id = self._actor = None

    def _require_action(self) -> None:
        if self._action_id is None:
            raise RuntimeError("project writes must happen inside `with project.action(...)`")

    def actions(self, actor: str | None = None, state: str | None = "done") -> list[Action]:
        sql, args = "SELECT * FROM actions WHERE 1", []
        if actor:
            sql, args = sql + " AND actor = ?", args + [actor]
        if state:
            sql, args = sql + " AND state = ?", args + [state]
        return [Action(r["id"], r["time"], r["actor"], r["kind"], json.loads(r["detail"]),
                       r["parent"], r["state"]) for r in self._conn.execute(sql + " ORDER BY id", args)]

    def action_state(self, action_id: int) -> str | None:
        """'done', 'undone' or 'discarded' (None: no such action); a follow-up checks its parent."""
        row = self._conn.execute("SELECT state FROM actions WHERE id = ?", (action_id,)).fetchone()
        return row["state"] if row else None

    def touched_frames(self, action_id: int) -> set[int]:
        """Frames whose boxes or review state an action and its follow-ups changed, so that a
        reader (the review session's scorer) can refresh just those after an undo or redo."""
        frames: set[int] = set()
        for row in self._conn.execute(
                "SELECT before, after FROM changes WHERE tbl IN ('boxes', 'frames') AND action_id IN "
                "(SELECT ? UNION SELECT id FROM actions WHERE parent = ?)", (action_id, action_id)):
            for image in (row["before"], row["after"]):
                if image:
                    frames.add(int(json.loads(image)["frame"]))
        return frames

    def undo(self) -> int | None:
        """Undo the latest top-level action and its follow-ups; returns its id (None: nothing)."""
        with self.lock:
            row = self._conn.execute(
                "SELECT id FROM actions WHERE state = 'done' AND parent IS NULL AND kind != 'create' "
                "ORDER BY id DESC LIMIT 1").fetchone()
            if row is None:
                return None
            self._replay(row["id"], undo=True)
            return row["id"]

    def redo(self) -> int | None:
        """Redo the most recently undone action; returns its id (None: nothing to redo)."""
        with self.lock:
            row = self._conn.execute(
                "SELECT id FROM actions WHERE state = 'undone' AND parent IS NULL "
                "ORDER BY id LIMIT 1").fetchone()
            if row is None:
                return None
            self._replay(row["id"], undo=False)
            return row["id"]

    def _replay(self, action_id: int, undo: bool) -> None:
        ids = [action_id] + [r["id"] for r in self._conn.execute(
            "SELECT id FROM actions WHERE parent = ? AND state = ?",
            (action_id, "done" if undo else "undone"))]
        order = "DESC" if undo else "ASC"
        marks = ",".join("?" * len(ids))
        with self._transaction():
            self._conn.execute("PRAGMA defer_foreign_keys = ON")
            changes = self._conn.execute(
                f"SELECT tbl, row_id, before, after FROM changes WHERE action_id IN ({marks}) "
                f"ORDER BY id {order}", ids).fetchall()
            for ch in changes:
                image = ch["before"] if undo else ch["after"]
                self._write_image(ch["tbl"], ch["row_id"], json.loads(image) if image else None)
            self._conn.execute(f"UPDATE actions SET state = ? WHERE id IN ({marks})",
                               ["undone" if undo else "done", *ids])

    def _write_image(self, tbl: str, row_id: int, image: dict | None) -> None:
        key = _ROWID.get(tbl, "id")
        self._conn.execute(f"DELETE FROM {tbl} WHERE {key} = ?", (row_id,))
        if image is not None:
            cols = LOGGED_TABLES[tbl]
            self._conn.execute(f"INSERT INTO {tbl}({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
                               [image[c] for c in cols])

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
    def new_track(self, name: str = "", track_id: int | None = None) -> int:
        """A new track; `track_id` keeps an id from outside (an import), else the next free id."""
        self._require_action()
        if track_id is not None and self._conn.execute(
                "SELECT 1 FROM tracks WHERE id = ?", (track_id,)).fetchone():
            raise ProjectError(f"track {track_id} already exists", str(self.path))
        return self._conn.execute("INSERT INTO tracks(id, name) VALUES (?, ?)",
                                  (track_id, name)).lastrowid

    def tracks(self) -> list[Track]:
        rows = self._conn.execute(
            "SELECT t.id, t.name, (SELECT class_id FROM boxes b WHERE b.track_id = t.id "
            "GROUP BY class_id ORDER BY count(*) DESC LIMIT 1) AS class_id FROM tracks t ORDER BY t.id")
        return [Track(r["id"], r["class_id"] if r["class_id"] is not None else -1, r["name"]) for r in rows]

    def track_ids(self) -> set[int]:
        """The ids of all tracks: what `tracks()` gives without each track's class, which needs
        a pass over the track's boxes (30 ms on a 100,000-box project; edits check ids only)."""
        return {r[0] for r in self._conn.execute("SELECT id FROM tracks")}

    def delete_track(self, track_id: int) -> None:
        self._require_action()
        self._conn.execute("DELETE FROM boxes WHERE track_id = ?", (track_id,))
        self._conn.execute("DELETE FROM tracks WHERE id = ?", (track_id,))

    # ------------------------------------------------------------------ boxes
    def boxes(self, frame: int | None = None, track_id: int | None = None,
              frames: tuple[int, int] | None = None, include_outside: bool = True) -> list[Box]:
        """Boxes filtered by frame, track and/or a half-open frame range, in (frame, track) order."""
        sql, args = "SELECT * FROM boxes WHERE 1", []
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
