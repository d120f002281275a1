"""Summaries of a project for people: per-track spans and the project's review progress.

Qt-free so that the app's docks, `vidlabel info` and scripts read the same figures. The app calls
these on a read-only connection in a worker thread, because on a 100,000-box project one pass over
the boxes takes long enough to be felt if it ran between two frame steps.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .boxes import Box
from .store import HUMAN, Project

# Seconds a person spends per human action kind, after the simulated annotator's time model
# (issue 11): drawing by extreme clicking 7 s (Papadopoulos et al. 2017), a fix 4 s, deleting or
# ending a track 1 s, and 1 s for every box looked at when checking or accepting a frame.
SECONDS_PER_ACTION = {"draw": 7.0, "fix": 4.0, "delete": 1.0, "end": 1.0, "check": 1.0,
                      "occluded": 1.0, "class": 1.0, "retrack": 2.0, "merge": 2.0, "split": 2.0,
                      "interpolate": 1.0}
SECONDS_PER_BOX_LOOKED_AT = 1.0


@dataclass(frozen=True)
class TrackSummary:
    """One row of the track list: which object, where in the video, how much a person vouched for."""

    track_id: int
    class_id: int
    first: int
    last: int
    boxes: int
    verified: int

    @property
    def verified_share(self) -> float:
        return self.verified / self.boxes if self.boxes else 0.0


@dataclass(frozen=True)
class ProjectStats:
    frames: int
    verified_frames: int
    tracks: int
    boxes_by_source: dict[str, int] = field(default_factory=dict)
    verified_boxes: int = 0
    human_actions: int = 0
    human_seconds: float = 0.0

    @property
    def boxes(self) -> int:
        return sum(self.boxes_by_source.values())


def summarize(project: Project) -> tuple[ProjectStats, list[TrackSummary]]:
    """Statistics and the track list from one pass over the boxes (the costly part)."""
    boxes = project.boxes(include_outside=False)
    return project_stats(project, boxes), track_summaries(boxes)


def track_summaries(boxes: list[Box]) -> list[TrackSummary]:
    """Every track with at least one visible box among `boxes`, in track-id order."""
    rows: dict[int, list] = {}
    classes: dict[int, Counter] = {}
    for b in boxes:
        if b.outside:
            continue
        row = rows.get(b.track_id)
        if row is None:
            rows[b.track_id] = [b.frame, b.frame, 1, int(b.verified)]
            classes[b.track_id] = Counter([b.class_id])
            continue
        row[0], row[1] = min(row[0], b.frame), max(row[1], b.frame)
        row[2] += 1
        row[3] += int(b.verified)
        classes[b.track_id][b.class_id] += 1
    return [TrackSummary(tid, classes[tid].most_common(1)[0][0], *row) for tid, row in sorted(rows.items())]


def human_seconds(project: Project) -> float:
    """Estimated human time spent on the project, from its log of human actions still in effect."""
    total = 0.0
    for action in project.actions(actor=HUMAN):
        if action.kind == "accept":
            total += SECONDS_PER_BOX_LOOKED_AT * max(1, int(action.detail.get("boxes", 0)))
        else:
            total += SECONDS_PER_ACTION.get(action.kind, 1.0)
    return total


def project_stats(project: Project, boxes: list[Box] | None = None) -> ProjectStats:
    """The review progress a person wants in one glance (`boxes`: the project's, if already read)."""
    ref = project.video
    by_source: Counter = Counter()
    verified = 0
    for b in project.boxes(include_outside=False) if boxes is None else boxes:
        if b.outside:
            continue
        by_source[b.source.value] += 1
        verified += b.verified
    return ProjectStats(frames=ref.frame_count if ref else 0,
                        verified_frames=len(project.verified_frames()),
                        tracks=len({t.id for t in project.tracks()}),
                        boxes_by_source=dict(by_source), verified_boxes=verified,
                        human_actions=len(project.actions(actor=HUMAN)),
                        human_seconds=human_seconds(project))
