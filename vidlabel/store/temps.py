"""Temporary names beside an output, and the clean-up of those a killed process left behind.

Every file vidlabel creates (a project, an imported project, an export) is built under a hidden
name beside its real one and renamed into place when complete, so a failure never leaves a half
file under the real name. A process killed mid-way cannot remove its own temporary, so each name
carries its maker's process id, and the next run that writes the same output removes the ones
whose maker is gone (up to 70 MB each for an export with frames).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path

from ..errors import ProjectError


def temp_prefix(path: Path) -> str:
    """The hidden prefix of this process's temporaries for `path`: `.NAME.PID.`."""
    return f".{path.name}.{os.getpid()}."


def unique_temp_name(path: Path, suffix: str) -> Path:
    """A hidden name beside `path` that no other process uses: two commands making the same
    project must not share (and delete) one temporary file."""
    return path.with_name(f"{temp_prefix(path)}{secrets.token_hex(4)}{suffix}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # another user's process
        return True
    return True


def remove_stale_temps(path: Path) -> list[Path]:
    """Remove the temporaries for `path` (see `temp_prefix`; a temporary of a temporary has more
    leading dots) whose process no longer runs; returns what was removed. Those of a process still
    running, this one's included, are left alone."""
    pattern = re.compile(r"\.+" + re.escape(path.name) + r"\.(\d+)\.")
    removed = []
    try:
        entries = list(path.parent.iterdir())
    except OSError:   # no folder yet, or not readable: nothing of ours can be there
        return removed
    for entry in entries:
        match = pattern.match(entry.name)
        if match is None or _alive(int(match.group(1))):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            continue   # a read-only folder, or removed meanwhile: it stays for a later run
        removed.append(entry)
    return removed


def place_new_file(tmp: Path, path: Path) -> None:
    """Give a finished file its real name: synced to disk first, then linked atomically and never
    over another file, so of two processes creating one project exactly one wins and the other
    gets a clear error. (Where the file system has no hard links, a rename after a check.)"""
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    try:
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise ProjectError("project file already exists", str(path)) from None
        except OSError:   # no hard links here (FAT, some network file systems)
            if path.exists():
                raise ProjectError("project file already exists", str(path)) from None
            os.rename(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)   # the new name itself survives a power cut
    finally:
        os.close(folder)


def remove_project_files(path: Path) -> None:
    """A project file and SQLite's files beside it (log, index, journal)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
