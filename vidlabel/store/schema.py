"""The project file's format: its schema, the triggers that log and guard edits, the migrations
between schema versions, and the checks that a file is a vidlabel project at all.

The triggers are what make the action log complete and the box model's hard rule hold whatever
code path writes a row (see `store.project`); `store.log` reads what they record.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from ..errors import ProjectError

SCHEMA_VERSION = 7
APPLICATION_ID = 0x76646C62  # "vdlb": marks a SQLite file as a vidlabel project
SQLITE_MAGIC = b"SQLite format 3\x00"

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
    "tracks": ("id", "name", "candidate"),
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


def row_key(table: str) -> str:
    """The column whose value a logged change of `table` records as its `row_id`."""
    return _ROWID.get(table, "id")


def _log_triggers(tables: Iterable[str], columns: dict[str, tuple[str, ...]] = LOGGED_TABLES) -> str:
    """Triggers that copy every logged row change of `tables` (their `columns`) into `changes`."""
    sql = []
    for tbl in tables:
        cols = columns[tbl]
        key = row_key(tbl)
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
    1: _SCHEMA_V1 + _log_triggers(("classes", "tracks", "boxes", "frames"),
                                  {**LOGGED_TABLES, "tracks": ("id", "name")}) + _GUARD_TRIGGERS,
    2: _SCHEMA_V2 + _log_triggers(("ignore_regions",)),
    # Schema 3: log triggers that keep floats exact (see _REAL_COLS), so undo is bit-exact.
    3: "".join(f"DROP TRIGGER log_{t}_{e};" for t in ("boxes", "ignore_regions")
               for e in ("insert", "update", "delete")) + _log_triggers(("boxes", "ignore_regions")),
    # Schema 4: a row's history at a glance, for taking back what re-propagation wrote from a
    # keyframe that is deleted or moved (`AnnotationTables.propagated_boxes`).
    4: "CREATE INDEX changes_by_row ON changes(tbl, row_id);",
    # Schema 5: re-propagations asked for and not yet written, so that a killed session's are
    # carried out when the project is opened again (`DerivedTables.pending_repairs`).
    5: "CREATE TABLE pending_repairs(track_id INTEGER NOT NULL, frame INTEGER NOT NULL, "
       "parent INTEGER NOT NULL, PRIMARY KEY (track_id, frame, parent));",
    # Schema 6: a candidate track (weak evidence, `prelabelling.linking`) is stored and offered to
    # review but is no annotation until a person confirms it. Logged changes of tracks from
    # before it gain the column, so that undo still restores them. A box a person verifies on a candidate track confirms the track, in the same action,
    # whichever edit verified it (a fix, an accepted crop, a box drawn into the track).
    6: "ALTER TABLE tracks ADD COLUMN candidate INTEGER NOT NULL DEFAULT 0;"
       + "".join(f"CREATE TRIGGER confirm_candidate_{e} AFTER {e.upper()} ON boxes WHEN NEW.verified = 1 "
                 "BEGIN UPDATE tracks SET candidate = 0 WHERE id = NEW.track_id AND candidate = 1; END;"
                 for e in ("insert", "update"))
       + "".join(f"DROP TRIGGER log_tracks_{e};" for e in ("insert", "update", "delete"))
       + _log_triggers(("tracks",))
       + "".join(f"UPDATE changes SET {side} = json_set({side}, '$.candidate', 0) "
                 f"WHERE tbl = 'tracks' AND {side} IS NOT NULL;" for side in ("before", "after")),
    # Schema 7: answers of read-mostly commands (`vidlabel queue`), each with the revision of
    # what it was computed from, so that asking again with nothing changed costs a lookup.
    7: "CREATE TABLE answers(key TEXT PRIMARY KEY, revision TEXT NOT NULL, value TEXT NOT NULL);",
}


def is_project_file(path: str | Path) -> bool:
    """A `.vlp` file or any SQLite file (a project under another name); videos are neither."""
    path = Path(path)
    if not path.is_file():
        return False
    if path.suffix.lower() == ".vlp":
        return True
    with path.open("rb") as f:
        return f.read(16) == SQLITE_MAGIC


def check_header(path: Path) -> None:
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


def read_only_uri(path: Path) -> str:
    """The SQLite URI a reader opens. In WAL mode even a reader needs the `-shm` file beside the
    project; in a folder nobody may write (a read-only mount, a shared dataset) no writer can be
    at work either, so the file is read as immutable instead of failing as "corrupt"."""
    from urllib.parse import quote

    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    return uri + "&immutable=1" if not os.access(path.parent, os.W_OK) else uri


def schema_version(path: Path) -> int:
    """Read-only checks: integrity, application id, schema version; returns the version."""
    try:
        conn = sqlite3.connect(read_only_uri(path), uri=True)
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            # Rows that point at nothing (a box of a class or track that does not exist) can only
            # come from a file altered outside vidlabel (every write here checks its keys); read
            # on, they would leak into exports as unknown categories.
            dangling = conn.execute("PRAGMA foreign_key_check").fetchone() if check == "ok" else None
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise ProjectError(f"project file is corrupt or not a project: {exc}", str(path)) from None
    if check != "ok":
        raise ProjectError(f"project file is corrupt: {check}", str(path))
    if app_id != APPLICATION_ID:
        raise ProjectError("SQLite file is not a vidlabel project", str(path))
    if dangling is not None:
        table, row, parent, _ = dangling
        raise ProjectError(f"project file was altered: row {row} of {table} refers to a missing "
                           f"{parent} entry", str(path))
    return version
