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
import os
import sqlite3
import threading
import time
from contextlib import suppress
from collections.abc import Iterable
from pathlib import Path

from ..datamodel import VideoRef
from ..errors import ProjectError, ProjectInUseError
from .annotations import AnnotationTables
from .derived import DerivedTables
from .log import HUMAN, MACHINE
from .schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, check_header, read_only_uri, schema_version
from .temps import place_new_file, remove_project_files, remove_stale_temps, unique_temp_name

__all__ = ["HUMAN", "MACHINE", "Project"]


class Project(AnnotationTables, DerivedTables):
    """An open vidlabel project. Use `Project.create` or `Project.open`, then `close()`.

    Reads work anywhere; writes must happen inside `with project.action(kind, actor):`.
    The log and the accessors come from the mixins: `store.log`, `store.annotations`,
    `store.derived`.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, lock_fd: int | None) -> None:
        self.path = path
        self._conn = conn
        self._lock_fd = lock_fd
        self._action_id: int | None = None
        self.lock = threading.RLock()  # held by every write transaction; see the module docstring

    # ------------------------------------------------------------------ opening and closing
    @classmethod
    def create(cls, path: str | Path, video: VideoRef | None = None,
               classes: Iterable[str] = (), video_index: bytes | None = None) -> "Project":
        """Create a new project file; refuses to overwrite an existing file.

        The whole first state (schema, video, its frame index, classes) is written and folded into
        one file under a temporary name, and only then given its real name: a full disk or a kill
        at any point leaves nothing under `path`, never a project without its video."""
        path = Path(path)
        if path.exists():
            raise ProjectError("project file already exists", str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(path)
        tmp = unique_temp_name(path, ".creating")
        try:
            conn = sqlite3.connect(tmp, isolation_level=None)
            try:
                conn.executescript(
                    f"PRAGMA application_id = {APPLICATION_ID}; PRAGMA journal_mode = DELETE;"
                    "BEGIN; " + "".join(MIGRATIONS[v] for v in range(1, SCHEMA_VERSION + 1))
                    + f"INSERT INTO meta VALUES ('created', '{time.time()}'); COMMIT;"
                    f"PRAGMA user_version = {SCHEMA_VERSION};")
            finally:
                conn.close()
            project = cls.open(tmp)
            try:
                with project.action("create", MACHINE):
                    if video is not None:
                        project.set_video(video, video_index)
                    for name in classes:
                        project.add_class(name)
            finally:
                project.close(whole=True)
            place_new_file(tmp, path)  # a half-created project never appears under its real name
        except BaseException:
            remove_project_files(tmp)
            raise
        return cls.open(path)

    @classmethod
    def open(cls, path: str | Path, readonly: bool = False) -> "Project":
        """Open an existing project; checks it before anything is written to it."""
        path = Path(path)
        check_header(path)
        version = schema_version(path)
        if version > SCHEMA_VERSION:
            raise ProjectError(
                f"project was written by a newer vidlabel (schema {version}, this one reads up "
                f"to {SCHEMA_VERSION}); upgrade vidlabel", str(path))
        lock_fd = None
        if readonly:
            if version < SCHEMA_VERSION:
                raise ProjectError(f"project has an old schema ({version}); open it for writing "
                                   "once to migrate it", str(path))
            conn = sqlite3.connect(read_only_uri(path), uri=True, isolation_level=None,
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

    def close(self, whole: bool = False) -> None:
        """Close; a writer first folds the write-ahead log into the project file and empties it,
        so that the `.vlp` alone holds every edit (a closed project is one file to copy). The
        checkpoint waits (busy timeout) for readers of other connections to finish; one that never
        does leaves the latest edits in the `-wal` file, still safe, folded in at the next open.
        `whole`: raise unless the file alone holds everything, as it must before a temporary
        project is given its real name (only the main file is renamed)."""
        try:
            if self._conn is not None and not self.readonly:
                self._fold_log()
        finally:
            if self._conn is not None:
                self._conn.close()
                self._conn = None  # type: ignore[assignment]
            if self._lock_fd is not None:
                os.close(self._lock_fd)  # releases the flock
                self._lock_fd = None
        wal = Path(f"{self.path}-wal")
        if whole and wal.exists() and wal.stat().st_size:
            raise ProjectError("the project could not be written completely (disk full?)", str(self.path))

    def _fold_log(self) -> None:
        """Fold the write-ahead log into the file and leave the file in rollback-journal mode, so
        that readers (`info`, `export`, a read-only open) need no `-wal`/`-shm` files and leave
        none behind. Switching needs no other connection open; when one is (another process
        reading), the file stays in WAL mode, which is as safe, and the next writer's close tries
        again. A full disk raises here, with every committed edit still in the log."""
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._conn.execute("PRAGMA busy_timeout = 0")   # never wait for a reader to go
        with suppress(sqlite3.OperationalError):
            self._conn.execute("PRAGMA journal_mode = DELETE")

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def readonly(self) -> bool:
        return self._lock_fd is None
