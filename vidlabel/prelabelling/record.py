"""What the last pre-labelling of a project did: the one record the pre-labeller writes and the
review stage reads.

Stored as JSON under the project's `prelabel` meta key. The pre-labeller needs it to resume and
to replace only its own tracks (never a person's work); the scorer needs it to know which
detection run the boxes came from and which accept threshold linking used. One dataclass owns the
format, so the writer and the readers cannot drift apart. Importing it loads no detector.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import ClassVar

from ..datamodel import ACCEPT_THRESHOLD
from ..store.project import Project


@dataclass(frozen=True)
class PrelabelRecord:
    """The settings of one pre-labelling (`run` is its detection run) and the tracks it made."""

    META_KEY: ClassVar[str] = "prelabel"

    run: int
    frames: tuple[int, int]           # [start, end) of the video that was pre-labelled
    detect_every: int
    link: dict                         # `linking.LinkParams` as a dict
    tracker: str | None
    tracks: tuple[int, ...] = field(default=(), compare=False)

    @property
    def settings(self) -> dict:
        """The settings alone, as the pre-labelling action logs them: equal settings mean a re-run
        would write the same tracks."""
        out = asdict(self)
        out.pop("tracks")
        out["frames"] = list(self.frames)
        return out

    @property
    def accept_conf(self) -> float:
        """The accept threshold linking used (records older than the setting: the default)."""
        return self.link.get("accept_conf", ACCEPT_THRESHOLD)

    @classmethod
    def read(cls, project: Project) -> PrelabelRecord | None:
        raw = project.meta(cls.META_KEY)
        if not raw:
            return None
        data = json.loads(raw)
        return cls(run=data["run"], frames=tuple(data["frames"]), detect_every=data["detect_every"],
                   link=data.get("link", {}), tracker=data.get("tracker"),
                   tracks=tuple(data.get("tracks", ())))

    def write(self, project: Project) -> None:
        """Store the record (inside the pre-labelling's action, so one undo takes it back too)."""
        project.set_meta(self.META_KEY, json.dumps({**self.settings, "tracks": list(self.tracks)}))
