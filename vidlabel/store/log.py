"""The action log: the transaction of every write, actions and the row changes logged for them,
undo and redo.

A mixin of the `Project` facade (`store.project`), whose docstring explains the design: the
triggers of `store.schema` record the changes, this class opens and closes the actions they are
recorded under and writes their images back.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import ProjectError
from .schema import LOGGED_TABLES, row_key

# Who an action is by. The guard triggers of `store.schema` name "machine" too.
HUMAN, MACHINE = "human", "machine"


@dataclass(frozen=True)
class Action:
    id: int
    time: float
    actor: str
    kind: str
    detail: dict
    parent: int | None
    state: str


class ActionLog:
    """Transactions, actions, undo and redo of a project; the tables' accessors write through it."""

    # Set by the `Project` facade, which opens the connection and holds the file lock.
    path: Path
    _conn: sqlite3.Connection
    lock: threading.RLock
    readonly: bool
    _action_id: int | None  # the action open in the thread that holds `lock`, if any

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
        """A write of derived data (scores): as `_transaction`, but its own transaction is
        committed without waiting for the disk (WAL with synchronous=NORMAL: the file stays
        consistent, a power cut may lose the last scores, which the next session recomputes
        anyway). Scoring writes after every edit, from a worker, under the lock the person's next
        edit needs: not syncing saves that edit a wait of one or two disk flushes. Joins this
        thread's open action, if any; the check runs under the lock, so another thread's open
        action is waited for, not joined."""
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
            self._action_id = cur.lastrowid
            self._conn.execute("UPDATE log_state SET enabled = 1, action_id = ?, actor = ?",
                               (self._action_id, actor))
            try:
                yield self._action_id
            finally:
                self._conn.execute("UPDATE log_state SET enabled = 0, action_id = NULL, actor = NULL")
                self._action_id = None

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

    def logged(self, action_id: int) -> Action | None:
        """One action of the log by id (what an undo just took back, say)."""
        r = self._conn.execute("SELECT * FROM actions WHERE id = ?", (action_id,)).fetchone()
        return None if r is None else Action(r["id"], r["time"], r["actor"], r["kind"],
                                             json.loads(r["detail"]), r["parent"], r["state"])

    def action_state(self, action_id: int) -> str | None:
        """'done', 'undone' or 'discarded' (None: no such action); a follow-up checks its parent."""
        row = self._conn.execute("SELECT state FROM actions WHERE id = ?", (action_id,)).fetchone()
        return row["state"] if row else None

    def touched_frames(self, action_id: int, follow_ups: bool = True) -> set[int]:
        """Frames whose boxes or review state an action (and its follow-ups) changed, so that a
        reader (the review session's scorer) can refresh just those after an undo or redo."""
        frames: set[int] = set()
        ids, args = ("SELECT ? UNION SELECT id FROM actions WHERE parent = ?", (action_id, action_id)) \
            if follow_ups else ("SELECT ?", (action_id,))
        for row in self._conn.execute(
                f"SELECT before, after FROM changes WHERE tbl IN ('boxes', 'frames') AND action_id IN ({ids})",
                args):
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
        """Write a logged row image back. The table name comes from the file, so it is checked
        against the fixed list of logged tables before it is put into SQL: a crafted change log
        must not turn one undo into an arbitrary statement (the whole replay rolls back)."""
        if tbl not in LOGGED_TABLES or (image is not None and set(image) != set(LOGGED_TABLES[tbl])):
            raise ProjectError(f"the change log holds a change vidlabel never writes (table {tbl!r}); "
                               "the project file was altered, so undo and redo stop here", str(self.path))
        key = row_key(tbl)
        self._conn.execute(f"DELETE FROM {tbl} WHERE {key} = ?", (row_id,))
        if image is not None:
            cols = LOGGED_TABLES[tbl]
            self._conn.execute(f"INSERT INTO {tbl}({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
                               [image[c] for c in cols])
