"""Summaries of a project for people: per-track spans and the project's review progress.

Qt-free so that the app's docks and scripts read the same figures. Everything comes from
aggregate queries of the store, never a pass over the boxes in Python, and the app still calls it
on a read-only connection in a worker thread so that no refresh ever sits between two frame steps.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..store.project import HUMAN, Project
from .effort import human_seconds


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
    candidate_tracks: int = 0   # of `tracks`: not yet annotation (docs/adr/0005)

    @property
    def boxes(self) -> int:
        return sum(self.boxes_by_source.values())


def summarize(project: Project) -> tuple[ProjectStats, list[TrackSummary]]:
    """Statistics and the track list, from aggregate queries (no pass over the boxes in Python)."""
    tracks = track_summaries(project)
    return project_stats(project, len(tracks)), tracks


def track_summaries(project: Project) -> list[TrackSummary]:
    """Every track with at least one visible box, in track-id order."""
    return [TrackSummary(*row) for row in project.track_spans()]


def project_stats(project: Project, tracks: int | None = None) -> ProjectStats:
    """The review progress a person wants in one glance (`tracks`: visible tracks, if counted)."""
    ref = project.video
    counts = project.box_counts()
    by_source: Counter = Counter()
    for (source, _), n in counts.items():
        by_source[source] += n
    return ProjectStats(frames=ref.frame_count if ref else 0,
                        verified_frames=len(project.verified_frames()),
                        tracks=len(project.track_spans()) if tracks is None else tracks,
                        boxes_by_source=dict(by_source),
                        verified_boxes=sum(n for (_, verified), n in counts.items() if verified),
                        candidate_tracks=len(project.candidate_tracks()),
                        human_actions=len(project.actions(actor=HUMAN)),
                        human_seconds=human_seconds(project))
